"""iptables' tokeniser rules (syntax.md §6.1), checked on the nodes the parser builds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ipt_lint.parse import parse_line
from ipt_lint.parse.ast import RuleLine


def args(line):
    node = parse_line(line, "f", 1)
    assert isinstance(node, RuleLine)
    return [a.text for a in node.args]


def test_quote_mid_token_joins():
    assert args('-A INPUT --comment ab"c d"')[-1] == "abc d"


def test_closing_quote_ends_token():
    assert args('-A INPUT --comment "ab"cd')[-2:] == ["ab", "cd"]


def test_backslash_escapes_anything_inside_quotes():
    assert args(r'-A INPUT --comment "a\"b\\c\n"')[-1] == 'a"b\\cn'


def test_backslash_is_literal_outside_quotes():
    assert args(r"-A INPUT --comment a\b")[-1] == "a\\b"


def test_single_quotes_are_literal():
    assert args("-A INPUT --comment 'it'")[-1] == "'it'"


def test_empty_quoted_argument():
    assert args('-A INPUT --comment ""')[-1] == ""


def test_unterminated_quote_runs_to_end_of_line():
    node = parse_line('-A INPUT --comment "abc def -j ACCEPT', "f", 1)
    last = node.args[-1]
    assert last.text == "abc def -j ACCEPT" and last.unterminated


def test_columns_are_one_based_and_point_at_the_token():
    node = parse_line("-A INPUT  -p tcp", "f", 7)
    assert [(a.text, a.column) for a in node.args] == [("-A", 1), ("INPUT", 4), ("-p", 11), ("tcp", 14)]
    assert node.span.line == 7


def test_counters_prefix():
    node = parse_line("[12:3456] -A INPUT -j ACCEPT", "f", 1)
    assert node.counters.packets == "12" and node.counters.bytes == "3456"


DECL_WORDS = ["X", "KUBE-SVC-A", "x:y", "a[b", "-", "ACCEPT", "DROP[", "D]", "", "[0:0]", "[1:2:3]", "[a]b:c]", "[:1]",
              "[1:]", "[[1:2]", "[1:2", "1:2]", "[1:2]x", "[a[:b]"]


@settings(max_examples=800, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(DECL_WORDS), min_size=1, max_size=4), st.sampled_from([" ", "  ", "\t"]))
def test_the_split_reading_of_a_chain_declaration_is_the_regular_expressions(words, blank):
    """fastpath.plain_decl answers only where _CHAIN matches, and with its groups."""
    from ipt_lint.parse.ast import ChainDecl, Counters, Span
    from ipt_lint.parse.fastpath import _CHAIN, plain_decl

    text = ":" + blank.join(words)
    got = plain_decl(text, "f", 3)
    if got is None:
        return
    m = _CHAIN.match(text)
    assert m is not None, text
    assert got == ChainDecl(Span("f", 3, 1), m.group(1), m.group(2), Counters(m.group(3), m.group(4))), text
