"""model/lazy.py, what `trace` loads dumps with: once every chain is read, the lazily loaded
Ruleset is the eagerly built one; the cheap first pass reads a line's chain as the tokeniser
does; Needles find every argument of a line; rules keep their identity and their producer."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipt_lint.model import Needles, build_model, load_lazily
from ipt_lint.model.lazy import _chain_word
from ipt_lint.parse import line_node, parse_bytes
from ipt_lint.parse.ast import RuleLine
from ipt_lint.platforms import recognise

REPO = Path(__file__).resolve().parents[1]
DUMPS = sorted((REPO / "samples").glob("*.rules")) + sorted((REPO / "tests" / "fixtures").rglob("*.rules"))

TRICKY = """-A -A  "-s" -"i" ""-o x"y" "a b" \\" \\ \t ! -j DNAT --in-int eth0 FOO "--comment" 'q' =
    --source=10.0.0.0/8 -m physdev "" "" -s10.0.0.1 #""".split(" ")


def everything(ruleset):
    """Every table, chain (policy, declaration) and rule, read in full."""
    return [
        (t.name, [(c.name, c.builtin, c.policy, c.span, list(c.rules)) for c in t.chains.values()])
        for t in ruleset.tables.values()
    ]


@pytest.mark.parametrize("path", DUMPS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_lazily_loaded_dump_read_in_full_is_the_eagerly_built_one(path):
    data = path.read_bytes()
    eager, _ = build_model(parse_bytes(data, str(path)))
    lazy = load_lazily(data, str(path))
    assert lazy.family == eager.family
    assert everything(lazy) == everything(eager)


@pytest.mark.parametrize("path", DUMPS[:12], ids=lambda p: p.name)
def test_lazily_built_rules_keep_their_identity_and_producer(path):
    data = path.read_bytes()
    eager, _ = build_model(parse_bytes(data, str(path)))
    lazy = load_lazily(data, str(path))
    rec_eager, rec_lazy = recognise(eager), recognise(lazy)  # before most chains are built
    for t in eager.tables:
        for name, chain in eager.tables[t].chains.items():
            lazy_chain = lazy.tables[t].chains[name]
            first = list(lazy_chain.rules)
            assert all(a is b for a, b in zip(first, lazy_chain.rules))
            assert [rec_lazy.producer(r) for r in first] == [rec_eager.producer(r) for r in chain.rules]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=8))
def test_the_first_pass_reads_the_chain_of_an_append_line_as_the_tokeniser_does(words):
    line = "-A " + " ".join(words)
    name = _chain_word(line)
    node = line_node(line, "t", 1, [])
    if name is not None and isinstance(node, RuleLine):
        assert node.tokens[:2] == ("-A", name)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=8))
def test_needles_find_every_argument_of_a_line(words):
    line = "-A X " + " ".join(words)
    node = line_node(line, "t", 1, [])
    if not isinstance(node, RuleLine):
        return
    for token in node.tokens:
        assert Needles(token).may_hold(line), (line, token)


# --- reading a chain rule by rule (textfacts, Chain.rule / host_dst / rules_with) -------------

DST_WORDS = """-d -d --dst --destination --dest=10.0.0.1 --de --d -s "-d" -"d" ! ! 10.0.0.1/32 10.0.0.1
    1.2.3.4/32 255.255.255.255/32 01.2.3.4/32 10.0.0.0/8 ::1/128 -p tcp --dport 80 --dports -m multiport
    comment --comment "a -d b" "x" "1.2.3.4/32 y" -j ACCEPT DNAT --to-destination 1.2.3.4 \\ \t
    addrtype --dst-type LOCAL ""-d""".split(" ")


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(DST_WORDS), min_size=0, max_size=7), st.booleans())
def test_what_a_line_text_tells_is_what_its_rule_is(words, prefix):
    """textfacts answers only what the built rule confirms: one rule when gives_one_rule(); the
    destination, exactly as the chain index keys the built rule, when host_destination() says."""
    from ipt_lint.model.build import _Builder
    from ipt_lint.model.textfacts import gives_one_rule, host_destination
    from ipt_lint.model.types import AddrMatch, Chain, Net
    from ipt_lint.parse import ParsedDump
    from ipt_lint.parse.structure import build_rule
    from ipt_lint.semantics.chainindex import _dst_key

    line = "-A X " + ("-d 10.1.2.3/32 " if prefix else "") + " ".join(words)
    node = line_node(line, "t", 1, [])
    rule = build_rule(node, "ipv4", line)[0] if node is not None else None
    if gives_one_rule(line):
        assert rule is not None and rule.command == "-A" and rule.chain == "X", line
    a = host_destination(line, "ipv4")
    if a is None or rule is None:
        return  # (the lazy loader asks only of lines that give a rule)
    builder = _Builder(ParsedDump("t", "ipv4", (), (), ()))
    model = builder.rule_model(rule, "filter", 0, frozenset({"X"}))
    assert model.dst == AddrMatch(False, (Net(a, 0xFFFFFFFF, 32),)), line
    assert _dst_key(model) == [(a, a)], line
    assert host_destination(line, "ipv6") is None


def _lazy_and_eager(path):
    data = path.read_bytes()
    return load_lazily(data, str(path)), build_model(parse_bytes(data, str(path)))[0]


KUBE = REPO / "tests" / "fixtures" / "kube"


@pytest.mark.parametrize("path", DUMPS, ids=lambda p: str(p.relative_to(REPO)))
def test_rules_read_one_at_a_time_are_the_rules_of_the_chain(path):
    """Chain.rule(i) in any order, rules_with() and rule_on_line(): each rule as the eager build
    has it (index included), and the same object once the whole chain is read."""
    import random

    lazy, eager = _lazy_and_eager(path)
    rng = random.Random(path.name)
    for t in eager.tables:
        for name, chain in eager.tables[t].chains.items():
            lc = lazy.tables[t].chains[name]
            assert lc.count() == len(chain.rules)
            order = list(range(len(chain.rules)))
            rng.shuffle(order)
            got = {}
            for i in order[: max(1, len(order) // 2)]:
                a = lc.host_dst(i)
                r = got[i] = lc.rule(i)
                assert r == chain.rules[i] and r.index == i
                if a is not None:
                    assert r.dst is not None and r.dst.nets[0].value == a
            needles = Needles("-d", "DNAT")
            some = lc.rules_with(needles)  # every rule holding one after `-A CHAIN`, in order
            for r in chain.rules[:3]:
                assert lc.rule_on_line(r.line) == r
            full = lc.rules
            assert full == chain.rules
            assert all(full[i] is r for i, r in got.items())
            ids = [id(r) for r in some]
            assert ids == [id(r) for r in full if id(r) in set(ids)]
            assert {id(r) for r in full if needles.may_hold(r.text[len(name) + 3 :])} <= set(ids)


def test_a_trace_reads_few_rules_of_kube_services(tmp_path):
    """The point of it: a trace to one address builds the KUBE-SERVICES rules about that
    address (and those without a `-d` key), not all of them."""
    from ipt_lint.cli.trace_cmd import load_engine
    from ipt_lint.semantics import PacketSpec

    sys_path = str(REPO / "benchmarks")
    import sys

    sys.path.insert(0, sys_path)
    from gen_kube import generate

    path = tmp_path / "kube.rules"
    path.write_text(generate(4000, 5)[0])
    engine = load_engine(str(path), None, (), (), None, lazy=True)
    engine.trace(PacketSpec("eth0", "203.0.113.9", "10.0.0.1", "tcp", 40000, 30000))
    svc = engine.ruleset.chain("nat", "KUBE-SERVICES")
    assert svc.pending is not None
    read = len(svc.built) + len(svc.pending.early)
    assert read < svc.count() / 4, (read, svc.count())


@pytest.mark.parametrize(
    "text",
    [
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::1/128 -j ACCEPT\nCOMMIT\n",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p ipv6-icmp -j ACCEPT\nCOMMIT\n",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -d 10.0.0.1/32 -j ACCEPT\nCOMMIT\n",
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DNAT --to-destination [2001:db8::5]:80\nCOMMIT\n",
    ],
)
def test_without_a_header_comment_the_family_comes_from_the_unread_lines(text):
    """detect_family reads the lines the first pass left unread (it once skipped them, and an
    IPv6 dump without its header comment loaded as IPv4)."""
    data = text.encode()
    assert load_lazily(data, "t").family == build_model(parse_bytes(data, "t"))[0].family


SRC_WORDS = """-s -s --src --source --sou=10.0.0.1 --so --s -d "-s" -"s" ! ! 10.0.0.0/8 10.244.0.0/16 "10.0.0.1 x"
    -p tcp --sport 80 -m comment --comment "a -s b" kube-system --set-xmark 0x1/0x1 -j MARK \\ \t""".split(" ")


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(SRC_WORDS), min_size=0, max_size=7), st.sampled_from(["", "-s 10.9.0.0/16 ", "! -s a "]))
def test_the_source_texts_of_a_line_hold_every_source_of_its_rule(words, prefix):
    """textfacts.source_texts (topology's pod networks) is a superset of the rule's `-s` values."""
    from ipt_lint.model.textfacts import source_texts
    from ipt_lint.parse.structure import build_rule

    line = "-A X " + prefix + " ".join(words)
    got = source_texts(line)
    node = line_node(line, "t", 1, [])
    if got is None or node is None:
        return
    rule = build_rule(node, "ipv4", line)[0]
    for o in rule.builtins:
        if o.name == "-s" and o.values:
            assert o.values[0] in got, line


NAMES = ["X", "KUBE-NODEPORTS", "a-s", "-s-s", "DNATX", "physdev"]
WORDS = ["-s", "KUBE-NODEPORTS", "DNAT", "physdev", "name:", "-i", "\\"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from([w for w in TRICKY + WORDS if "\n" not in w]),
                                                          max_size=5)), max_size=8))
def test_the_index_of_unread_lines_finds_every_argument_holding_a_word(rows):
    """_Loader.lines_holding (what Needles questions read) misses no line with an argument that
    holds the word, however often the word is also in the chain's own name."""
    head = "*filter\n" + "".join(f":{n} - [0:0]\n" for n in NAMES)
    body = "".join(f"-A {n} {' '.join(ws)}\n" for n, ws in rows)
    text = head + body + "COMMIT\n"
    ruleset = load_lazily(text.encode(), "t", "ipv4")
    loader = ruleset.unread
    lines = loader.lines
    for word in WORDS:
        got = loader.lines_holding(word)
        for number, line in enumerate(lines, 1):
            if loader.owner[number] is None:
                continue
            node = line_node(line, "t", number, [])
            if isinstance(node, RuleLine) and any(word in t for t in node.tokens[2:]):
                assert number in got, (word, line)
