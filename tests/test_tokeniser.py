"""iptables' tokeniser rules (syntax.md §6.1), checked on the nodes the parser builds."""

from __future__ import annotations

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
