"""sarif, github, junit, gitlab; -o FILE; --statistics."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import jsonschema
import pytest

from ipt_lint.checks.base import Check, CheckDoc, Finding, Severity
from ipt_lint.checks.registry import ALL_CHECKS
from ipt_lint.cli.explain import explain_text
from ipt_lint.lint import lint_text
from ipt_lint.report import github, gitlab, sarif

from .helpers import CLEAN, H, SYNTAX, UNDEFINED, UNKNOWN_MODULE, UNUSED_CHAIN, invoke, run_cli, write


@pytest.fixture(scope="module")
def sarif_validator(shared_dir):
    schema = json.loads((shared_dir / "data" / "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


# --- SARIF ----------------------------------------------------------------------------------


def sarif_of(in_tmp, *files, args=()):
    res = invoke("--format", "sarif", *args, *files)
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def test_sarif_is_valid_and_complete(in_tmp, sarif_validator):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    write(in_tmp / "c.rules", CLEAN)
    doc = sarif_of(in_tmp, "u.rules", "w.rules", "c.rules")
    sarif_validator.validate(doc)
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [cls.code for cls in ALL_CHECKS]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("IPT101", "error"), ("IPT107", "warning")]
    first = results[0]
    assert rules[first["ruleIndex"]]["id"] == "IPT101"
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "u.rules"
    assert loc["region"]["startLine"] == 4 and loc["region"]["startColumn"] == 10
    assert loc["region"]["snippet"]["text"] == "-A INPUT -j MISSING"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_rule_help_is_the_checks_documentation(in_tmp):
    write(in_tmp / "c.rules", CLEAN)
    rules = sarif_of(in_tmp, "c.rules")["runs"][0]["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    for cls in ALL_CHECKS:
        r = by_id[cls.code]
        assert r["name"] == cls.name
        assert r["shortDescription"]["text"] == cls.summary
        assert r["help"]["text"] == explain_text(cls)
        assert cls.doc.fix.strip() in r["help"]["markdown"]
        assert r["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning", "info": "note"}[str(cls.severity)]


def test_sarif_levels_follow_severity_overrides(in_tmp):
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    doc = sarif_of(in_tmp, "w.rules", args=("--severity", "IPT107=info"))
    run = doc["runs"][0]
    assert run["results"][0]["level"] == "note"
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "IPT107")
    assert rule["defaultConfiguration"]["level"] == "note"


def test_sarif_fingerprints_stable_when_unrelated_lines_move(in_tmp):
    write(in_tmp / "d.rules", UNUSED_CHAIN)
    before = sarif_of(in_tmp, "d.rules")["runs"][0]["results"]
    moved = UNUSED_CHAIN.replace("*filter\n", "*filter\n# new comment\n").replace(
        "-A INPUT -p tcp", "-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp"
    )
    write(in_tmp / "d.rules", moved)
    after = sarif_of(in_tmp, "d.rules")["runs"][0]["results"]
    assert [r["ruleId"] for r in before] == [r["ruleId"] for r in after] == ["IPT204"]
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in (before[0], after[0])]
    assert lines[0] != lines[1]
    assert before[0]["partialFingerprints"] == after[0]["partialFingerprints"]
    # ... but a different file, or a change to the rule itself, gives another fingerprint
    write(in_tmp / "other.rules", UNUSED_CHAIN)
    other = sarif_of(in_tmp, "other.rules")["runs"][0]["results"][0]
    assert other["partialFingerprints"] != before[0]["partialFingerprints"]
    write(in_tmp / "d.rules", UNUSED_CHAIN.replace(":OLD - [0:0]", ":OLD - [7:99]"))
    changed_counters = sarif_of(in_tmp, "d.rules")["runs"][0]["results"][0]
    assert changed_counters["partialFingerprints"] == before[0]["partialFingerprints"]


def test_sarif_fingerprints_unique_for_identical_rules(in_tmp):
    rule = "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n"
    write(in_tmp / "d.rules", H + "*filter\n:INPUT DROP [0:0]\n-A INPUT -j DROP\n" + rule * 2 + "COMMIT\n")
    results = sarif_of(in_tmp, "d.rules")["runs"][0]["results"]
    fps = [r["partialFingerprints"]["iptLint/v1"] for r in results]
    assert len(fps) == 2 and len(set(fps)) == 2 and fps[0].split(":")[0] == fps[1].split(":")[0]


class _FakeExposure(Check):
    code = "EXP399"
    name = "fake-exposure"
    severity = Severity.ERROR
    summary = "A test-only security check."
    security = True
    doc = CheckDoc(what="w", why="y", example_bad="b", example_good="g", fix="f")


def _fake_result(findings):
    return SimpleNamespace(file="d.rules", findings=findings, errors=[])


def test_sarif_security_severity_on_security_rules_and_results(monkeypatch, sarif_validator):
    monkeypatch.setattr(sarif, "ALL_CHECKS", (*ALL_CHECKS, _FakeExposure))
    findings = [
        Finding("EXP399", "fake-exposure", sev, "tcp/5432 is reachable from anywhere", "d.rules", line, 1,
                table="nat", chain="DOCKER", rule=f"-A DOCKER -p tcp --dport {line}", security=True,
                witness={"src": "203.0.113.9", "dport": 5432})
        for sev, line in ((Severity.ERROR, 3), (Severity.WARNING, 4), (Severity.INFO, 5))
    ]
    findings.append(Finding("IPT101", "undefined-chain", Severity.ERROR, "m", "d.rules", 6, 1))
    doc = sarif.document([_fake_result(findings)])
    sarif_validator.validate(doc)
    run = doc["runs"][0]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "EXP399")
    assert rule["properties"]["security-severity"] == "8.0" and "security" in rule["properties"]["tags"]
    plain = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "IPT101")
    assert "security-severity" not in plain["properties"]
    sev = [r["properties"].get("security-severity") for r in run["results"]]
    assert sev == ["8.0", "5.5", "2.0", None]
    assert [float(s) >= 7.0 for s in sev[:1]] == [True] and 4.0 <= float(sev[1]) < 7.0 and float(sev[2]) < 4.0
    assert run["results"][0]["properties"]["witness"] == {"src": "203.0.113.9", "dport": 5432}
    assert run["results"][0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "nat/DOCKER"


@pytest.mark.parametrize("cls", [c for c in ALL_CHECKS if getattr(c, "security", False)], ids=lambda c: c.code)
def test_every_registered_security_check_has_a_security_severity(cls):
    rule = next(r for r in sarif.document([])["runs"][0]["tool"]["driver"]["rules"] if r["id"] == cls.code)
    assert float(rule["properties"]["security-severity"]) > 0


def test_sarif_uris():
    assert sarif.artifact_uri("dumps/my rules.v4") == "dumps/my%20rules.v4"
    assert sarif.artifact_uri("./a.rules") == "a.rules"
    assert sarif.artifact_uri("/etc/iptables/rules.v4") == "file:///etc/iptables/rules.v4"
    assert sarif.artifact_uri("live:iptables-save") == "live:iptables-save"


def test_sarif_reports_internal_errors_as_notifications(sarif_validator):
    r = SimpleNamespace(file="d.rules", findings=[], errors=["d.rules: internal error in IPT999 boom: ValueError: x"])
    doc = sarif.document([r])
    sarif_validator.validate(doc)
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False and "ValueError" in inv["toolExecutionNotifications"][0]["message"]["text"]


# --- GitHub ---------------------------------------------------------------------------------


def test_github_annotations(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    res = invoke("--format", "github", "u.rules", "w.rules")
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=u.rules,line=4,col=10,title=IPT101 undefined-chain::jump to chain `MISSING'")
    assert "%0Afix: " in lines[0]
    assert lines[1].startswith("::warning file=w.rules,line=4,col=")


def test_github_levels_and_escaping():
    f = Finding("IPT107", "unknown-module-or-option", Severity.INFO, "100% sure\r\nnext: a,b", "odd:name,x%.rules", 3, 2)
    line = github.annotation(f)
    assert line == (
        "::notice file=odd%3Aname%2Cx%25.rules,line=3,col=2,title=IPT107 unknown-module-or-option"
        "::100%25 sure%0D%0Anext: a,b"
    )
    assert "\n" not in line and "\r" not in line


def test_github_escapes_dump_controlled_text_in_the_file_name(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    res = run_cli("--format", "github", "--stdin-filename", "a\n::set-output name=x::y", "-", input=UNDEFINED, cwd=in_tmp)
    out = res.stdout.decode()
    assert out.count("\n") == 1 and out.startswith("::error file=a%0A%3A%3Aset-output name=x%3A%3Ay,line=4")


# --- JUnit ----------------------------------------------------------------------------------


def test_junit(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "c.rules", CLEAN)
    write(in_tmp / "s.rules", SYNTAX + "-A INPUT -j MISSING\x1b[31m\n")
    res = invoke("--format", "junit", "u.rules", "c.rules", "s.rules")
    assert res.exit_code == 1
    root = ET.fromstring(res.stdout.encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["u.rules", "c.rules", "s.rules"]
    u, c, s = suites
    assert (u.get("tests"), u.get("failures")) == ("1", "1")
    (case,) = u.findall("testcase")
    assert case.get("name") == "IPT101 undefined-chain at line 4:10"
    failure = case.find("failure")
    assert failure.get("type") == "error" and "MISSING" in failure.get("message")
    assert "fix: " in failure.text and "rule: -A INPUT -j MISSING" in failure.text
    assert (c.get("tests"), c.get("failures")) == ("1", "0") and c.find("testcase/failure") is None
    assert int(s.get("failures")) >= 2
    assert "\x1b" not in res.stdout and "\\x1b" in res.stdout
    assert root.get("failures") == str(1 + int(s.get("failures")))


# --- GitLab ---------------------------------------------------------------------------------


def test_gitlab_code_quality(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    res = invoke("--format", "gitlab", "./u.rules", "w.rules")
    assert res.exit_code == 1
    issues = json.loads(res.stdout)
    assert [(i["check_name"], i["severity"], i["location"]) for i in issues] == [
        ("IPT101", "critical", {"path": "u.rules", "lines": {"begin": 4}}),
        ("IPT107", "major", {"path": "w.rules", "lines": {"begin": 4}}),
    ]
    for i in issues:
        assert set(i) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert i["description"].startswith(i["check_name"] + " ")
    assert len({i["fingerprint"] for i in issues}) == 2


def test_gitlab_severities_for_security_and_info():
    findings = [
        Finding("EXP399", "x", Severity.ERROR, "m", "d", 1, 1, rule="a", security=True),
        Finding("IPT107", "y", Severity.ERROR, "m", "d", 2, 1, rule="b"),
        Finding("IPT107", "y", Severity.INFO, "m", "d", 3, 1, rule="c"),
    ]
    assert [i["severity"] for i in gitlab.issues([_fake_result(findings)])] == ["blocker", "critical", "info"]
    assert gitlab.issues([_fake_result(findings)])[0]["categories"] == ["Security"]


# --- -o FILE, --statistics, IPT_LINT_FORMAT -------------------------------------------------


def test_output_file_gets_the_report_and_terminal_a_summary(in_tmp, sarif_validator):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    proc = run_cli("--format", "sarif", "-o", "out.sarif", "u.rules", "w.rules", cwd=in_tmp)
    assert proc.returncode == 1
    assert proc.stdout.decode() == (
        "ipt-lint: 2 problems (1 error, 1 warning) in 2 files; sarif report written to out.sarif\n"
    )
    sarif_validator.validate(json.loads((in_tmp / "out.sarif").read_text()))
    proc = run_cli("--output-file", "out.txt", "u.rules", cwd=in_tmp)
    text = (in_tmp / "out.txt").read_text()
    assert "IPT101 undefined-chain error" in text and "\x1b[" not in text
    assert proc.stdout.decode().startswith("ipt-lint: 1 problem (1 error) in 1 file")


def test_output_file_unwritable_is_exit_2(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    proc = run_cli("-o", str(in_tmp / "no" / "such" / "dir" / "x"), "u.rules", cwd=in_tmp)
    assert proc.returncode == 2 and b"cannot write the report" in proc.stderr


def test_env_selects_format(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    proc = run_cli("u.rules", cwd=in_tmp, env={"IPT_LINT_FORMAT": "gitlab"})
    assert json.loads(proc.stdout)[0]["check_name"] == "IPT101"


def test_statistics(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "v.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    res = invoke("--statistics", "u.rules", "v.rules", "w.rules")
    assert res.exit_code == 1
    assert [line.split("\t")[:2] for line in res.stdout.splitlines()] == [["2", "IPT101"], ["1", "IPT107"]]
    res = invoke("--statistics", "--format", "json", "u.rules", "v.rules", "w.rules")
    assert json.loads(res.stdout) == [
        {"code": "IPT101", "name": "undefined-chain", "severity": "error", "count": 2},
        {"code": "IPT107", "name": "unknown-module-or-option", "severity": "warning", "count": 1},
    ]
    res = invoke("--statistics", "--format", "sarif", "-o", "r.sarif", "u.rules")
    assert res.stdout.splitlines()[0].split("\t")[:2] == ["1", "IPT101"]
    assert res.stdout.splitlines()[1].startswith("ipt-lint: 1 problem")
    assert json.loads((in_tmp / "r.sarif").read_text())["version"] == "2.1.0"


def test_every_format_handles_a_clean_run(in_tmp):
    write(in_tmp / "c.rules", CLEAN)
    for fmt in ("text", "concise", "json", "sarif", "github", "junit", "gitlab"):
        res = invoke("--format", fmt, "c.rules")
        assert res.exit_code == 0, (fmt, res.output)


def test_lint_text_api_still_returns_findings():
    r = lint_text(UNDEFINED, "u.rules")
    assert [f.code for f in r.findings] == ["IPT101"] and r.suppressed == [] and r.baselined == []
