"""Baselines: record today's findings, hide them later; line moves never wake them; new ones show;
stale entries are reported."""

from __future__ import annotations

import json
import os

from ipt_lint.lint import lint_text
from ipt_lint.policy.baseline import Baseline, finding_key, normalise_rule

from ..cli.helpers import H, findings_of, invoke, run_cli, write

# Two findings with table and chain: IPT204 on `:OLD` and IPT201 on the rule after `-j DROP`.
BEFORE = (
    H + "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OLD - [0:0]\n"
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    "-A INPUT -j DROP\n"
    "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n"
    "-A OLD -j ACCEPT\nCOMMIT\n"
)
# The same dump with lines added above both findings: every line number changed.
MOVED = (
    H + "# a new comment block\n# second line\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n"
    ":NEWCHAIN - [0:0]\n:OLD - [0:0]\n"
    "-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    "-A INPUT -j NEWCHAIN\n"
    "-A INPUT -j DROP\n"
    "[5:300] -A INPUT  -p tcp -m tcp --dport 80 -j ACCEPT\n"
    "-A NEWCHAIN -p udp -m udp --dport 53 -j ACCEPT\n"
    "-A OLD -j ACCEPT\nCOMMIT\n"
)


def test_the_dumps_draw_what_these_tests_rely_on():
    assert [(f.code, f.line) for f in lint_text(BEFORE, "d.rules").findings] == [("IPT204", 5), ("IPT201", 8)]
    moved = [(f.code, f.line) for f in lint_text(MOVED, "d.rules").findings]
    assert moved == [("IPT204", 8), ("IPT201", 14)]


def test_key_ignores_line_numbers_counters_and_blanks():
    a = [finding_key(f) for f in lint_text(BEFORE, "d.rules").findings]
    b = [finding_key(f) for f in lint_text(MOVED, "d.rules").findings]
    assert a == b
    assert normalise_rule("[5:300] -A INPUT  -p tcp\t-j ACCEPT ") == "-A INPUT -p tcp -j ACCEPT"


def test_baselined_findings_stay_hidden_when_lines_move_and_new_ones_show(in_tmp):
    dump = write(in_tmp / "fw" / "rules.v4", BEFORE)
    res = invoke("--write-baseline", "baseline.json", "fw/rules.v4")
    assert res.exit_code == 0, res.output
    assert "recorded 2 findings" in res.stderr
    assert invoke("--baseline", "baseline.json", "fw/rules.v4").exit_code == 0

    dump.write_text(MOVED)
    res = invoke("--format", "json", "--baseline", "baseline.json", "fw/rules.v4")
    assert res.exit_code == 0, res.stdout
    doc = json.loads(res.stdout)
    assert doc["findings"] == []
    assert doc["summary"]["baseline"]["hidden"] == 2 and doc["summary"]["baseline"]["stale"] == 0

    # a new finding in the moved dump still shows, and only it
    dump.write_text(MOVED.replace("-A OLD -j ACCEPT\n", "-A NEWCHAIN -j MISSING\n-A OLD -j ACCEPT\n"))
    res = invoke("--format", "json", "--baseline", "baseline.json", "fw/rules.v4")
    assert res.exit_code == 1
    assert findings_of(res.stdout) == [("IPT101", 16)]


def test_a_changed_rule_is_a_new_finding(in_tmp):
    dump = write(in_tmp / "rules.v4", BEFORE)
    invoke("--write-baseline", "b.json", "rules.v4")
    dump.write_text(BEFORE.replace("--dport 80 -j ACCEPT", "--dport 8080 -j ACCEPT"))
    res = invoke("--format", "json", "--baseline", "b.json", "rules.v4")
    assert findings_of(res.stdout) == [("IPT201", 8)]
    # ... and the old entry for the --dport 80 rule is stale
    doc = json.loads(res.stdout)
    assert doc["summary"]["baseline"]["stale"] == 1
    (entry,) = doc["summary"]["baseline"]["stale_entries"]
    assert entry["code"] == "IPT201" and "--dport 80 " in entry["rule"]
    assert res.stderr == (
        "ipt-lint: note: 1 baseline entry in b.json no longer matches a finding (fixed or changed); "
        "refresh it with --write-baseline b.json\n"
    )


def test_identical_findings_are_counted(in_tmp):
    rule = "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n"
    dump = write(in_tmp / "rules.v4", BEFORE.replace(rule, rule * 2))
    invoke("--write-baseline", "b.json", "rules.v4")
    entries = json.loads((in_tmp / "b.json").read_text())["findings"]
    assert [e["count"] for e in entries if e["code"] == "IPT201"] == [2]
    assert invoke("--baseline", "b.json", "rules.v4").exit_code == 0
    dump.write_text(BEFORE.replace(rule, rule * 3))
    res = invoke("--format", "json", "--baseline", "b.json", "rules.v4")
    assert findings_of(res.stdout) == [("IPT201", 10)]  # the third copy is new


def test_stale_entries_only_for_files_linted_now(in_tmp):
    write(in_tmp / "a.rules", BEFORE)
    write(in_tmp / "b.rules", BEFORE)
    invoke("--write-baseline", "b.json", "a.rules", "b.rules")
    res = invoke("--format", "json", "--baseline", "b.json", "a.rules")  # as pre-commit does
    assert res.exit_code == 0
    assert json.loads(res.stdout)["summary"]["baseline"]["stale"] == 0
    assert res.stderr == ""
    write(in_tmp / "b.rules", BEFORE.replace(":OLD - [0:0]\n", "").replace("-A OLD -j ACCEPT\n", ""))
    res = invoke("--format", "json", "--baseline", "b.json", "a.rules", "b.rules")
    assert json.loads(res.stdout)["summary"]["baseline"]["stale"] == 1


def test_stale_entries_not_for_codes_not_selected(in_tmp):
    write(in_tmp / "a.rules", BEFORE)
    invoke("--write-baseline", "b.json", "a.rules")
    res = invoke("--format", "json", "--select", "IPT201", "--baseline", "b.json", "a.rules")
    assert json.loads(res.stdout)["summary"]["baseline"] == {"file": "b.json", "hidden": 1, "stale": 0, "stale_entries": []}


def test_baseline_paths_are_relative_to_the_baseline_file(in_tmp):
    write(in_tmp / "fw" / "rules.v4", BEFORE)
    invoke("--write-baseline", "ci/baseline.json", "fw/rules.v4")
    doc = json.loads((in_tmp / "ci" / "baseline.json").read_text())
    assert {e["file"] for e in doc["findings"]} == {"../fw/rules.v4"}
    assert all("line" not in e for e in doc["findings"])
    os.chdir(in_tmp / "fw")
    res = invoke("--baseline", "../ci/baseline.json", "rules.v4")
    assert res.exit_code == 0, res.output


def test_baseline_from_config_is_relative_to_the_config(in_tmp):
    write(in_tmp / "fw" / "rules.v4", BEFORE)
    invoke("--write-baseline", "ci/baseline.json", "fw/rules.v4")
    write(in_tmp / ".ipt-lint.toml", 'baseline = "ci/baseline.json"\n')
    os.chdir(in_tmp / "fw")
    assert invoke("rules.v4").exit_code == 0
    assert invoke("--isolated", "rules.v4").exit_code == 1


def test_write_baseline_exits_0_and_prints_no_report(in_tmp):
    write(in_tmp / "rules.v4", BEFORE)
    proc = run_cli("--write-baseline", "b.json", "rules.v4", cwd=in_tmp)
    assert proc.returncode == 0 and proc.stdout == b""
    loaded = Baseline.load(str(in_tmp / "b.json"))
    assert sorted(e.code for e in loaded.entries) == ["IPT201", "IPT204"]


def test_stdin_findings_can_be_baselined(in_tmp):
    proc = run_cli("--write-baseline", "b.json", "--stdin-filename", "live.rules", "-", input=BEFORE, cwd=in_tmp)
    assert proc.returncode == 0
    proc = run_cli("--baseline", "b.json", "--stdin-filename", "live.rules", "-", input=MOVED, cwd=in_tmp)
    assert proc.returncode == 0, proc.stdout


def test_bad_baseline_files_exit_2(in_tmp):
    write(in_tmp / "rules.v4", BEFORE)
    for content, fragment in (
        (None, "no such baseline file"),
        ("{", "not a JSON baseline"),
        ('{"version": 9, "findings": []}', "not an ipt-lint baseline"),
        ('{"version": 1, "findings": [{"code": "IPT201"}]}', "entry 1"),
    ):
        if content is not None:
            (in_tmp / "b.json").write_text(content)
        proc = run_cli("--baseline", "b.json", "rules.v4", cwd=in_tmp)
        assert proc.returncode == 2, content
        err = proc.stderr.decode()
        assert fragment in err and len(err.strip().splitlines()) == 1
