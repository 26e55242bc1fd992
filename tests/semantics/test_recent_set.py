"""`-m recent --set` always matches (it only records the source); --rcheck stays undecided."""

from ipt_lint.lint import lint_text
from ipt_lint.semantics import engine_for

DUMP = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -m recent --set --name A --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.0.0.5:80
-A PREROUTING -p tcp -m tcp --dport 8081 -m recent --rcheck --seconds 60 --name A --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.0.0.6:80
COMMIT
"""


def _engine():
    return engine_for(lint_text(DUMP, "recent.rules").ruleset, routes=("10.0.0.0/24=br0",))


def _rule(engine, line):
    return {r.line: r for r in engine.ruleset.rules()}[line]


def test_recent_set_is_exact_and_always_matches():
    e = _engine()
    rm = e.rule_match(_rule(e, 6))
    assert rm.exact


def test_recent_rcheck_stays_undecided():
    e = _engine()
    rm = e.rule_match(_rule(e, 7))
    assert not rm.exact and any("recent" in u for u in rm.uncertain)
