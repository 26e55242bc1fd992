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
