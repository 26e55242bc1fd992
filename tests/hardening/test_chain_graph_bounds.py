"""The chain-graph work is linear and recursion-free, and the jump depth iptables-nft refuses is
reported.

* `chains_that_always_end` (IPT201, IPT206) is a worklist over callers: it gives the same answer as
  the plain fixed point it replaced (kept below as the reference) on generated tables and on every
  real dump, and its time grows linearly with the depth of a jump chain declared in file order,
  where the fixed point needed one pass over all chains per level (quadratic: 63 s on 10,000).
* IPT108 for a chain 16 levels below a built-in chain (nf_tables' NFT_JUMP_STACK_SIZE; measured
  with iptables-nft-restore 1.8.9: `RULE_APPEND failed (Too many links)`, see
  test_restore_limits.py for the real binaries), and nothing for 15, for chains no built-in chain
  reaches, or for cycles (IPT205's business).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipt_lint.checks.chains import NFT_JUMP_STACK_SIZE, chains_that_always_end, stops_traversal, too_deep_jumps
from ipt_lint.model import build_model
from ipt_lint.model.graph import ChainGraph
from ipt_lint.parse import parse_text

from . import bigdumps
from ._profiles import fuzz
from .invariants import lint
from .strategies import corpus_paths
from .test_resource_bounds import shallow_stack
from .timing import MAX_GROWTH, SIZE_FACTOR, growth


def reference_always_end(table) -> dict[str, bool]:
    """The round-robin fixed point chains_that_always_end used to be (quadratic, but plainly right)."""
    ending = {name: False for name in table.chains}

    def may_return(rule):
        t = rule.target
        if t.kind == "verdict":
            return t.name == "RETURN"
        if t.kind == "goto":
            return not ending.get(t.name, False)
        return False

    changed = True
    while changed:
        changed = False
        for chain in table.chains.values():
            if chain.builtin or ending[chain.name]:
                continue
            for rule in chain.rules:
                t = rule.target
                if t is not None and not rule.unconditional and may_return(rule):
                    break
                if not rule.unconditional:
                    continue
                final = False
                if t is not None:
                    if t.kind == "verdict":
                        final = t.name in ("ACCEPT", "DROP")
                    elif t.kind == "extension":
                        final = t.name == "REJECT"
                    elif t.kind in ("jump", "goto"):
                        final = ending.get(t.name, False)
                if final:
                    ending[chain.name] = True
                    changed = True
                if stops_traversal(rule, table, ending) or final:
                    break
    return ending


def _ruleset(text: str):
    ruleset, _ = build_model(parse_text(text, "t.rules"))
    return ruleset


_TARGETS = ("-j ACCEPT", "-j DROP", "-j RETURN", "-j REJECT", "-j LOG", "-j QUEUE", "", "-j MARK --set-mark 1")


@st.composite
def chain_tables(draw) -> str:
    """Small filter tables whose chains jump and go to each other, with and without conditions,
    cycles and self-loops included."""
    n = draw(st.integers(1, 8))
    names = [f"U{i}" for i in range(n)]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{c} - [0:0]" for c in names]
    for chain in ["INPUT", *names]:
        for _ in range(draw(st.integers(0, 5))):
            cond = draw(st.sampled_from(["", "", "-p tcp -m tcp --dport 22 ", "-s 10.0.0.0/8 "]))
            kind = draw(st.integers(0, 2))
            if kind == 0:
                target = draw(st.sampled_from(_TARGETS))
            else:
                target = f"{'-j' if kind == 1 else '-g'} {draw(st.sampled_from(names))}"
            lines.append(f"-A {chain} {cond}{target}".rstrip())
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


@fuzz(150)
@given(chain_tables())
def test_worklist_agrees_with_the_fixed_point(text):
    table = _ruleset(text).tables["filter"]
    assert chains_that_always_end(table) == reference_always_end(table), text


def test_worklist_agrees_on_every_real_dump(request):
    try:
        shared = request.getfixturevalue("shared_dir")
    except pytest.skip.Exception:
        shared = None
    n = 0
    for path in corpus_paths(shared):
        ruleset = _ruleset(path.read_bytes().decode("utf-8", "replace"))
        for table in ruleset.tables.values():
            assert chains_that_always_end(table) == reference_always_end(table), (path, table.name)
            n += 1
    assert n > 10


def test_deep_chains_end_or_not():
    # C0 -> ... -> C(n-1) -> DROP: every chain of the path ends every packet it sees (a jump
    # to a chain that always ends, last in each chain)
    table = _ruleset(bigdumps.deep_chain(300)).tables["filter"]
    got = chains_that_always_end(table)
    assert got == reference_always_end(table)
    assert all(got[f"C{i}"] for i in range(300))
    # ... closed into a loop, none of them does
    table = _ruleset(bigdumps.deep_chain(300, cycle=True)).tables["filter"]
    assert not any(chains_that_always_end(table).values())


def test_always_end_grows_linearly_with_the_depth_of_a_jump_chain():
    def make(depth):
        table = _ruleset(bigdumps.deep_chain(depth)).tables["filter"]
        return lambda: chains_that_always_end(table)

    small, large, ratio = growth(make, 250)
    assert ratio < MAX_GROWTH, (
        f"{SIZE_FACTOR}x the depth took {ratio:.0f}x the time ({small * 1e3:.1f} ms -> {large * 1e3:.1f} ms)"
    )


def test_no_recursion_in_the_deep_chain_analyses():
    text = bigdumps.deep_chain(1500)
    table = _ruleset(text).tables["filter"]
    with shallow_stack():
        chains_that_always_end(table)
        too_deep_jumps(table, ChainGraph.of(table))


# ----------------------------------------------------------------------------------------------
# IPT108: a chain too deep for nf_tables


def _chain_dump(depth: int, *, jump: str = "-j", base: str | None = "INPUT", extra: str = "") -> str:
    names = [f"C{i}" for i in range(depth)]
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{c} - [0:0]" for c in names]
    if base:
        lines.append(f"-A {base} {jump} C0")
    lines += [f"-A C{i} {jump} C{i + 1}" for i in range(depth - 1)]
    lines.append(f"-A C{depth - 1} -j ACCEPT")
    lines.append(extra)
    lines.append("COMMIT")
    return "\n".join(line for line in lines if line) + "\n"


def _depth_findings(text: str):
    return [f for f in lint(text, "depth.rules").findings if f.code == "IPT108"]


def test_the_limit_is_the_one_measured():
    assert NFT_JUMP_STACK_SIZE == 16


@pytest.mark.parametrize("jump", ["-j", "-g"])
def test_fifteen_user_chains_below_a_builtin_chain_are_fine(jump):
    assert _depth_findings(_chain_dump(15, jump=jump)) == []


@pytest.mark.parametrize("jump", ["-j", "-g"])
def test_the_sixteenth_is_refused_at_the_jump_into_it(jump):
    text = _chain_dump(16, jump=jump)
    (f,) = _depth_findings(text)
    line = text.splitlines()[f.line - 1]
    assert line == f"-A C14 {jump} C15"  # the rule iptables-nft-restore names first
    assert f.severity.name == "ERROR" and f.chain == "C14" and f.table == "filter"
    assert "INPUT -> C0" in f.message and "Too many links" in f.message


def test_a_long_chain_draws_one_finding_whatever_its_length():
    assert len(_depth_findings(_chain_dump(40))) == 1
    assert len(_depth_findings(bigdumps.deep_chain(2000, reverse_declarations=True))) == 1


def test_chains_no_builtin_chain_reaches_are_not_checked():
    assert _depth_findings(_chain_dump(20, base=None)) == []  # loads on nft: nothing validates them


def test_the_longest_path_counts():
    # INPUT jumps to C0 and straight to C10: C15 is still 16 levels down through C0
    (f,) = _depth_findings(_chain_dump(16, extra="-A INPUT -j C10"))
    assert f.chain == "C14"


def test_cycles_are_left_to_ipt205():
    text = _chain_dump(5, extra="-A C4 -j C0")
    result = lint(text, "cycle.rules")
    assert [f.code for f in result.findings if f.code in ("IPT108", "IPT205")] == ["IPT205"]


def test_depth_in_every_table():
    text = (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        + "".join(f":N{i} - [0:0]\n" for i in range(17))
        + "-A OUTPUT -j N0\n"
        + "".join(f"-A N{i} -j N{i + 1}\n" for i in range(16))
        + "COMMIT\n"
    )
    (f,) = _depth_findings(text)
    assert f.table == "nat" and f.chain == "N14"
