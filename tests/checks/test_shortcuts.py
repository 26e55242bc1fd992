"""The checks' shortcuts give exactly the answers of the plain computations they skip.

Each shortcut is compared with the computation it stands in for, on random input:

* the chain graph's longest path (one depth-first walk) with Tarjan's cycles (IPT205) and with
  a plain longest-path relaxation; IPT108's "no path that long" with its depth walk;
* IPT201: each chain's first stop found with only the chains that end, and the semantic stops
  read per chain, with the scans they replace;
* the dump-wide search for `-lint` with reading every comment for suppressions, and its letter
  classes with what re.IGNORECASE matches, code point by code point;
* K8S501's subtraction of NodePort ranges with PacketSet.__sub__, box for box.
"""

from __future__ import annotations

import random
import re
from types import SimpleNamespace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ipt_lint.checks.chains import (
    NFT_JUMP_STACK_SIZE,
    _semantic_stops,
    chains_that_always_end,
    deep_jumps_walk,
    first_stop,
    stops_of,
    too_deep_jumps,
)
from ipt_lint.checks.kube import minus, nothing_to_merge
from ipt_lint.model import build_model
from ipt_lint.model.graph import ChainGraph
from ipt_lint.parse import parse_text
from ipt_lint.policy.suppressions import _MAYBE_DIRECTIVE, collect, collect_everywhere
from ipt_lint.semantics.packetset import PacketSet, merge_boxes

from ..semantics.helpers import engine_of

EXAMPLES = settings(max_examples=200, derandomize=True, deadline=None, database=None)


def _table(text: str, name: str = "filter"):
    ruleset, _ = build_model(parse_text(text, "t.rules"))
    return ruleset.tables[name]


# --- chain graphs -------------------------------------------------------------------------------

_TARGETS = ("-j ACCEPT", "-j DROP", "-j RETURN", "-j REJECT", "-j LOG", "")
_CONDITIONS = ("", "", "-s 0.0.0.0/0 ", "-p tcp -m tcp --dport 22 ", "-s 10.0.0.0/8 ")


@st.composite
def jump_tables(draw) -> str:
    """Filter tables of up to 24 chains, most jumping to the next one (so that some paths are
    longer than NFT_JUMP_STACK_SIZE), with random extra jumps, gotos, loops and verdicts."""
    n = draw(st.integers(1, 24))
    names = [f"C{i}" for i in range(n)]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{c} - [0:0]" for c in names]
    lines.append("-A INPUT -j C0")
    for i, chain in enumerate(names):
        if i + 1 < n and draw(st.integers(0, 9)) > 0:
            lines.append(f"-A {chain} {draw(st.sampled_from(_CONDITIONS))}-j C{i + 1}".replace("  ", " "))
        for _ in range(draw(st.integers(0, 3))):
            cond = draw(st.sampled_from(_CONDITIONS))
            kind = draw(st.integers(0, 3))
            if kind == 0:
                target = draw(st.sampled_from(_TARGETS))
            else:
                jump = "-g" if kind == 3 else "-j"
                # mostly forward; a backward jump closes a cycle
                k = draw(st.integers(i, n - 1)) if draw(st.integers(0, 4)) else draw(st.integers(0, n - 1))
                target = f"{jump} {names[k]}"
            lines.append(f"-A {chain} {cond}{target}".rstrip())
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _plain_graph(table) -> ChainGraph:
    """ChainGraph.of as it was written first: the rules' own name strings as keys."""
    g = ChainGraph(table.name)
    for chain in table.chains.values():
        for rule in chain.rules:
            t = rule.target
            if t is not None and t.kind in ("jump", "goto") and t.name in table.chains:
                g.edges[chain.name].append((t.name, rule))
                g.callers[t.name].append(rule)
    return g


def _plain_longest(graph: ChainGraph) -> int:
    """Longest path in jumps, by relaxing every edge once per chain (acyclic graphs only)."""
    names = set(graph.edges) | {t for out in graph.edges.values() for t, _ in out}
    height = dict.fromkeys(names, 0)
    for _ in range(len(names)):
        for name, out in graph.edges.items():
            for target, _ in out:
                height[name] = max(height[name], height[target] + 1)
    return max(height.values(), default=0)


@EXAMPLES
@given(jump_tables())
def test_longest_path_agrees_with_tarjan_and_with_relaxation(text):
    table = _table(text)
    graph = ChainGraph.of(table)
    plain = _plain_graph(table)
    assert graph.edges == plain.edges and list(graph.edges) == list(plain.edges)
    assert graph.callers == plain.callers and list(graph.callers) == list(plain.callers)
    cycles = graph.tarjan_cycles()
    longest = graph.longest_path()
    assert (longest is None) == bool(cycles), text
    if longest is not None:
        assert longest == _plain_longest(graph), text
    assert graph.cycles() == cycles


def _straight(depth: int, loop: bool = False) -> str:
    """INPUT -> C0 -> ... -> C(depth-1): a path of exactly `depth` jumps (`loop`: and back
    from the last chain to the one before it)."""
    names = [f"C{i}" for i in range(depth)]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{c} - [0:0]" for c in names] + ["-A INPUT -j C0"]
    lines += [f"-A C{i} -j C{i + 1}" for i in range(depth - 1)]
    lines += [f"-A C{depth - 1} -j C{depth - 2}"] if loop else []
    return "\n".join([*lines, "COMMIT"]) + "\n"


@EXAMPLES
@given(jump_tables())
@example(_straight(NFT_JUMP_STACK_SIZE - 1))
@example(_straight(NFT_JUMP_STACK_SIZE))
@example(_straight(NFT_JUMP_STACK_SIZE + 1))
@example(_straight(NFT_JUMP_STACK_SIZE + 2, loop=True))  # too deep, and a cycle
def test_too_deep_jumps_agrees_with_the_depth_walk(text):
    table = _table(text)
    assert too_deep_jumps(table, ChainGraph.of(table)) == deep_jumps_walk(table, ChainGraph.of(table)), text


def test_jump_tables_reach_both_sides_of_the_depth_limit():
    # the comparison above means something only if both answers occur
    seen = set()

    @EXAMPLES
    @given(jump_tables())
    def look(text):
        table = _table(text)
        seen.add(bool(deep_jumps_walk(table, ChainGraph.of(table))))
        seen.add(ChainGraph.of(table).longest_path() is None)

    look()
    assert seen == {True, False}


@EXAMPLES
@given(jump_tables())
def test_stops_of_agrees_with_first_stop_of_every_chain(text):
    # stops_of looks up only the chains that end
    table = _table(text)
    ending = chains_that_always_end(table)
    expected = {}
    for chain in table.chains.values():
        stop = first_stop(chain, table, ending)
        if stop is not None:
            expected[chain.name] = stop
    assert stops_of(SimpleNamespace(), table) == expected


class _Coverage:
    def __init__(self, stops):
        self.stops = stops


@EXAMPLES
@given(jump_tables(), st.randoms(use_true_random=False))
def test_semantic_stops_per_chain_agree_with_the_scan(text, rnd):
    # stops as CoverageAnalysis records them: each rule after a chain's stopper -> (stopper, why)
    table = _table(text)
    stops = {}
    for chain in table.chains.values():
        if len(chain.rules) >= 2 and rnd.random() < 0.5:
            k = rnd.randrange(len(chain.rules) - 1)
            for r in chain.rules[k + 1 :]:
                stops[id(r)] = (chain.rules[k], f"line {chain.rules[k].line}")
    per_chain = _semantic_stops(_Coverage(stops))
    for chain in table.chains.values():
        later = next((r for r in chain.rules if id(r) in stops), None)
        expected = stops[id(later)] if later is not None else None
        assert per_chain.get((table.name, chain.name)) == expected


# --- suppressions -------------------------------------------------------------------------------


def test_directive_letters_are_every_code_point_ignorecase_matches():
    classes = {
        "l": "lL",
        "i": "iI\u0130\u0131",
        "n": "nN",
        "t": "tT",
    }
    for letter, members in classes.items():
        letter_re = re.compile(letter, re.IGNORECASE)
        got = {chr(c) for c in range(0x110000) if letter_re.fullmatch(chr(c))}
        assert got == set(members), letter
        for ch in members:  # ... and the pattern holds them
            assert _MAYBE_DIRECTIVE.search(("-lint").replace(letter, ch, 1))


_WORD = ("ipt-lint", "IPT-LINT", "Ipt-Lint", "\u0130pt-l\u0131nt", "ipt-lin", "ipt_lint", "lint", "ipt lint")
_BODY = ("ignore=IPT101", "ignore-file=IPT204 -- why", "ignore=NOPE", "bogus=IPT101", "ignore=", "")


def _disguised(rnd: random.Random, text: str) -> str:
    """`text` with backslashes and quote pairs sprinkled in, as a quoted rule comment may have."""
    out = []
    for ch in text:
        r = rnd.random()
        if r < 0.15:
            out.append("\\" + ch)
        elif r < 0.2:
            out.append('""' + ch)
        else:
            out.append(ch)
    return "".join(out)


def _suppression_dump(rnd: random.Random) -> str:
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":APP - [0:0]"]
    for _ in range(rnd.randrange(1, 8)):
        directive = f"{rnd.choice(_WORD)}{rnd.choice(['', ' '])}:{rnd.choice(['', ' '])}{rnd.choice(_BODY)}"
        shape = rnd.randrange(5)
        if shape == 0:
            lines.append(f"#{rnd.choice(['', ' '])}{directive}")
        elif shape == 1:
            lines.append(f'-A INPUT -m comment --comment "{_disguised(rnd, "web; " + directive)}" -j MISSING')
        elif shape == 2:
            lines.append(f"-A INPUT -m comment --comment {_disguised(rnd, directive).replace(' ', '')} -j APP")
        elif shape == 3:
            lines.append(f'-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "{directive}" -j ACCEPT')
        else:
            lines.append("-A INPUT -j MISSING")
        if rnd.random() < 0.2:
            lines.append("")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def test_the_whole_text_search_finds_every_dump_with_a_suppression():
    rnd = random.Random(17)
    outcomes = set()
    for _ in range(1500):
        parsed = parse_text(_suppression_dump(rnd), "s.rules")
        expected = collect_everywhere(parsed)
        assert collect(parsed) == expected, parsed.source_lines
        outcomes.add(bool(expected[0] or expected[1]))
    assert outcomes == {True, False}


# --- K8S501: NodePort ranges out of the localnet question -----------------------------------------

_ENGINE = """
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
"""


def _random_packets(engine, rnd: random.Random) -> PacketSet:
    out = PacketSet(engine.space)
    for _ in range(rnd.randrange(1, 4)):
        fields = {}
        if rnd.random() < 0.7:
            fields["proto"] = rnd.choice(["tcp", "udp", "sctp", "icmp"])
            if fields["proto"] != "icmp" and rnd.random() < 0.8:
                lo = rnd.randrange(30000, 30100)
                fields["dport"] = (lo, lo + rnd.choice([0, 0, 1, 50]))
        if rnd.random() < 0.4:
            fields["dst"] = rnd.choice(["127.0.0.0/8", "127.0.0.1", "10.0.0.0/8", "0.0.0.0/0"])
        if rnd.random() < 0.3:
            fields["in_iface"] = rnd.choice(["eth0", "lo"])
        out = out | engine.packets(**fields)
    return out


def test_minus_gives_the_boxes_of_packetset_sub():
    engine = engine_of(_ENGINE)
    rnd = random.Random(23)
    merged = skipped = 0
    for _ in range(400):
        start = _random_packets(engine, rnd)
        for _ in range(rnd.randrange(1, 12)):
            other = _random_packets(engine, rnd)
            expected = start - other
            got = minus(start, other)
            assert got.boxes == expected.boxes
            start = expected
        if nothing_to_merge(list(start.boxes)):
            skipped += 1
        else:
            merged += 1
    assert merged and skipped  # both ways were taken


def test_nothing_to_merge_means_merge_boxes_returns_them_as_they_are():
    engine = engine_of(_ENGINE)
    rnd = random.Random(29)
    said_yes = said_no = 0
    for _ in range(3000):
        boxes = [b for _ in range(rnd.randrange(0, 5)) for b in _random_packets(engine, rnd).boxes]
        if rnd.random() < 0.3 and boxes:
            # a copy that differs in one field only, or not at all
            b = list(rnd.choice(boxes))
            f = rnd.randrange(len(b))
            if rnd.random() < 0.8:
                b[f] = engine.space.full[f]
            boxes.append(tuple(b))
        if nothing_to_merge(boxes):
            said_yes += 1
            assert merge_boxes(boxes) == boxes
        else:
            said_no += 1
    assert said_yes and said_no
