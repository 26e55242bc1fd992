"""Rule-logic questions the checks ask: is a rule covered by the rules before it?"""

from __future__ import annotations

from ipt_lint.semantics.space import DPORT, FRAG, FRAG_FIRST

from .helpers import engine_of, filter_table


def rules(e):
    return list(e.ruleset.chain("filter", "INPUT").rules)


def test_rule_covered_by_a_broader_earlier_rule():
    e = engine_of(filter_table("-A INPUT -s 10.0.0.0/8 -j DROP", "-A INPUT -s 10.1.0.0/16 -p tcp -j ACCEPT"))
    c = e.coverage(rules(e)[1])
    assert c.covered and c.certain and [r.line for r in c.by] == [5]


def test_rule_covered_only_by_several_earlier_rules_together():
    e = engine_of(
        filter_table(
            "-A INPUT -p tcp -m tcp --dport 1:1000 -j ACCEPT",
            "-A INPUT -p tcp -m tcp --dport 1001:65535 -j DROP",
            "-A INPUT -p tcp -m tcp --dport 0 -j RETURN",
            "-A INPUT -p tcp -m tcp -j REJECT",
            "-A INPUT -p tcp -j REJECT",
        )
    )
    c = e.coverage(rules(e)[3])
    assert c.covered and [r.line for r in c.by] == [5, 6, 7]
    # without `-m tcp` the rule also matches later fragments, which carry no port: not covered
    assert not e.coverage(rules(e)[4]).covered


def test_partial_overlap_is_not_covered_and_says_what_remains():
    e = engine_of(filter_table("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp -j DROP"))
    c = e.coverage(rules(e)[1])
    assert not c.covered and c.certain
    unfragmented = FRAG_FIRST.bit_length() - 1
    assert c.remaining.contains({DPORT: 23, FRAG: unfragmented})
    assert not c.remaining.contains({DPORT: 22, FRAG: unfragmented})


def test_non_terminal_earlier_rules_do_not_cover():
    e = engine_of(filter_table("-A INPUT -s 10.0.0.0/8 -j LOG", "-A INPUT -s 10.1.0.0/16 -j DROP"))
    assert not e.coverage(rules(e)[1]).covered


def test_an_uncertain_earlier_rule_never_proves_coverage():
    e = engine_of(filter_table("-A INPUT -m limit --limit 1/s -j ACCEPT", "-A INPUT -p tcp -j DROP"))
    c = e.coverage(rules(e)[1])
    assert not c.covered and not c.certain


def test_a_rewriting_earlier_rule_makes_the_answer_uncertain():
    text = (
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff\n"
        "-A PREROUTING -m mark --mark 0x1 -j ACCEPT\n"
        "-A PREROUTING -m mark --mark 0x1 -j DROP\nCOMMIT\n"
    )
    e = engine_of(text)
    chain = e.ruleset.chain("mangle", "PREROUTING").rules
    c = e.coverage(chain[2])
    assert not c.certain and "rewrites" in c.note
