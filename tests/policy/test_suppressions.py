"""Suppressions inside a dump: the three forms, codes and names, reasons, IPT901 and IPT902."""

from __future__ import annotations

import json

import pytest

from ipt_lint.lint import lint_text
from ipt_lint.policy import Selection
from ipt_lint.policy.suppressions import parse_directive

from ..cli.helpers import H, invoke

TAIL = "COMMIT\n"


def dump(*lines: str) -> str:
    return H + "*filter\n:INPUT ACCEPT [0:0]\n" + "".join(line + "\n" for line in lines) + TAIL


def codes(result) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in result.findings]


def test_unsuppressed_baseline_of_these_tests():
    # line 4 draws IPT101; everything below depends on it
    assert codes(lint_text(dump("-A INPUT -j MISSING"), "d.rules")) == [("IPT101", 4)]


@pytest.mark.parametrize(
    "directive",
    [
        "# ipt-lint: ignore=IPT101 -- the chain is created by the VPN unit",
        "# ipt-lint: ignore=undefined-chain -- the chain is created by the VPN unit",
        "# ipt-lint: ignore=ipt101 -- the chain is created by the VPN unit",
        "#ipt-lint:ignore = IPT107, IPT101 -- the chain is created by the VPN unit",
    ],
)
def test_comment_above_suppresses_and_keeps_the_reason(directive):
    extra = "-m nosuchmatch " if "IPT107" in directive else ""
    r = lint_text(dump(directive, f"-A INPUT {extra}-j MISSING"), "d.rules")
    assert codes(r) == []
    assert {s.finding.code for s in r.suppressed} == ({"IPT101", "IPT107"} if extra else {"IPT101"})
    assert all(s.reason == "the chain is created by the VPN unit" and s.line == 4 for s in r.suppressed)


def test_suppression_covers_only_the_line_directly_below():
    r = lint_text(dump("# ipt-lint: ignore=IPT101", "-A INPUT -p tcp -m tcp --dport 23 -j DROP", "-A INPUT -j MISSING"), "d.rules")
    assert codes(r) == [("IPT901", 4), ("IPT101", 6)]
    assert "line 5" in r.findings[0].message


def test_stacked_comment_lines_all_apply_to_the_line_below():
    r = lint_text(
        dump("# ipt-lint: ignore=IPT101 -- one", "# an ordinary comment", "# ipt-lint: ignore=IPT107 -- two",
             "-A INPUT -m nosuchmatch -j MISSING"),
        "d.rules",
    )
    assert codes(r) == []
    assert sorted((s.finding.code, s.reason) for s in r.suppressed) == [("IPT101", "one"), ("IPT107", "two")]


def test_a_blank_line_ends_the_suppression():
    text = H + "*filter\n:INPUT ACCEPT [0:0]\n# ipt-lint: ignore=IPT101\n\n-A INPUT -j MISSING\nCOMMIT\n"
    r = lint_text(text, "d.rules")
    assert codes(r) == [("IPT901", 4), ("IPT101", 6)]
    assert "no line follows directly below" in r.findings[0].message


def test_ignore_file_covers_every_line():
    r = lint_text(
        H + "# ipt-lint: ignore-file=IPT101 -- legacy dump\n*filter\n:INPUT ACCEPT [0:0]\n"
        "-A INPUT -j MISSING\n-A INPUT -j ALSO_MISSING\nCOMMIT\n",
        "d.rules",
    )
    assert codes(r) == []
    assert [(s.finding.line, s.kind, s.reason) for s in r.suppressed] == [
        (5, "ignore-file", "legacy dump"),
        (6, "ignore-file", "legacy dump"),
    ]


def test_rule_comment_suppresses_its_own_rule():
    r = lint_text(dump('-A INPUT -m comment --comment "ipt-lint: ignore=IPT101 -- VPN" -j MISSING'), "d.rules")
    assert codes(r) == []
    assert [(s.finding.code, s.reason, s.kind) for s in r.suppressed] == [("IPT101", "VPN", "ignore")]


def test_rule_comment_directive_may_follow_other_text():
    r = lint_text(dump('-A INPUT -m comment --comment "vpn hook; ipt-lint: ignore=undefined-chain" -j MISSING'), "d.rules")
    assert codes(r) == []


def test_rule_comment_does_not_reach_other_rules():
    r = lint_text(
        dump('-A INPUT -m comment --comment "ipt-lint: ignore=IPT101" -p tcp -m tcp --dport 23 -j DROP', "-A INPUT -j MISSING"), "d.rules"
    )
    assert codes(r) == [("IPT901", 4), ("IPT101", 5)]


def test_ignore_file_in_a_rule_comment_covers_the_dump():
    r = lint_text(
        dump('-A INPUT -m comment --comment "ipt-lint: ignore-file=IPT101" -p tcp -m tcp --dport 23 -j DROP', "-A INPUT -j MISSING"),
        "d.rules",
    )
    assert codes(r) == []


def test_unused_suppression_is_reported_per_code():
    r = lint_text(dump("# ipt-lint: ignore=IPT101,IPT107 -- x", "-A INPUT -j MISSING"), "d.rules")
    assert codes(r) == [("IPT901", 4)]
    f = r.findings[0]
    assert "IPT107" in f.message and "IPT101" not in f.message.replace("IPT107", "")
    assert str(f.severity) == "warning" and f.name == "unused-suppression"


def test_unused_suppression_only_for_codes_that_ran():
    text = dump("# ipt-lint: ignore=IPT107", "-A INPUT -j MISSING")
    assert ("IPT901", 4) in codes(lint_text(text, "d.rules"))
    # IPT107 not selected: its check did not run, so the suppression cannot be judged
    r = lint_text(text, "d.rules", selection=Selection.from_options(ignore=["IPT107"]))
    assert codes(r) == [("IPT101", 5)]


def test_unknown_code_is_ipt902_not_ipt901():
    r = lint_text(dump("# ipt-lint: ignore=EXP999,IPT101", "-A INPUT -j MISSING"), "d.rules")
    assert codes(r) == [("IPT902", 4)]
    assert "EXP999" in r.findings[0].message and r.findings[0].name == "unknown-code"


@pytest.mark.parametrize(
    "directive, fragment",
    [
        ("# ipt-lint: disable=IPT101", "unknown ipt-lint directive `disable'"),
        ("# ipt-lint: ignore", "needs at least one code"),
        ("# ipt-lint: ignore= -- no codes", "needs at least one code"),
        ("# ipt-lint: !!", "malformed"),
    ],
)
def test_malformed_directives_are_ipt902(directive, fragment):
    r = lint_text(dump(directive, "-A INPUT -j MISSING"), "d.rules")
    assert codes(r) == [("IPT902", 4), ("IPT101", 5)]
    assert fragment in r.findings[0].message


def test_prose_mentioning_ipt_lint_is_not_a_directive():
    r = lint_text(dump("# checked with ipt-lint: see the wiki", "-A INPUT -j MISSING"), "d.rules")
    assert codes(r) == [("IPT101", 5)]


def test_hygiene_findings_obey_selection_and_severity():
    text = dump("# ipt-lint: ignore=IPT107", "-A INPUT -p tcp -m tcp --dport 23 -j DROP")
    assert codes(lint_text(text, "d.rules", selection=Selection.from_options(ignore=["IPT901"]))) == []
    r = lint_text(text, "d.rules", selection=Selection.from_options(severity={"unused-suppression": "error"}))
    assert [(f.code, str(f.severity)) for f in r.findings] == [("IPT901", "error")]


def test_hygiene_findings_can_be_silenced_file_wide():
    text = H + "# ipt-lint: ignore-file=IPT901,IPT902 -- generated file\n" + dump(
        "# ipt-lint: ignore=IPT107", "# ipt-lint: ignore=NOPE", "-A INPUT -p tcp -m tcp --dport 23 -j DROP"
    )[len(H):]
    r = lint_text(text, "d.rules")
    assert codes(r) == []
    assert sorted(s.finding.code for s in r.suppressed) == ["IPT901", "IPT902"]


def test_severity_override_happens_before_suppression_so_suppressed_findings_keep_it():
    r = lint_text(dump("# ipt-lint: ignore=IPT101", "-A INPUT -j MISSING"), "d.rules",
                  selection=Selection.from_options(severity={"IPT101": "info"}))
    assert [str(s.finding.severity) for s in r.suppressed] == ["info"]


def test_parse_directive():
    assert parse_directive("ignore=EXP301, published-port-open -- public web") == (
        "ignore", ["EXP301", "published-port-open"], "public web", None
    )
    assert parse_directive("ignore-file=IPT204") == ("ignore-file", ["IPT204"], None, None)


def test_json_shows_suppressed_findings_with_reasons(in_tmp):
    (in_tmp / "d.rules").write_text(dump("# ipt-lint: ignore=IPT101 -- made by the VPN unit", "-A INPUT -j MISSING"))
    res = invoke("--format", "json", "d.rules")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["findings"] == []
    assert doc["summary"]["suppressed"] == 1
    assert doc["summary"]["suppressed_by_code"] == {"IPT101": 1}
    (s,) = doc["suppressed"]
    assert s["code"] == "IPT101" and s["line"] == 5
    assert s["suppression"] == {"line": 4, "kind": "ignore", "reason": "made by the VPN unit"}
