"""The foundation's command line: exit codes, formats, stdin, rules/explain, and the bad-input list
of the foundation issue, each run the way a user runs it (a real subprocess) or through CliRunner."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from ipt_lint.checks.registry import ALL_CHECKS
from ipt_lint.cli.main import cli
from ipt_lint.lint import lint_text
from ipt_lint.report.text import render

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "tests" / "fixtures" / "structure"


def run(*args, stdin: bytes | None = None):
    return subprocess.run(
        [sys.executable, "-m", "ipt_lint", *args], input=stdin, capture_output=True, timeout=120
    )


def test_clean_dump_exits_0():
    p = run(str(FIX / "clean.rules"))
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert b"No problems found" in p.stdout


def test_error_finding_exits_1_and_no_traceback():
    p = run(str(FIX / "syntax-errors.rules"))
    assert p.returncode == 1
    assert b"Traceback" not in p.stderr + p.stdout
    assert b"IPT100" in p.stdout


@pytest.mark.parametrize("path,message", [("/nonexistent/dump.rules", b"no such file"), ("/", b"is a directory")])
def test_unreadable_path_exits_2_with_one_line(path, message):
    p = run(path)
    assert p.returncode == 2
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message.decode() in lines[0]


def test_empty_file_no_findings_exit_0():
    p = run(str(FIX / "empty.rules"), "--format", "json")
    assert p.returncode == 0
    assert json.loads(p.stdout)["findings"] == []


def test_stdin_with_stdin_filename():
    data = (FIX / "missing-commit.rules").read_bytes()
    p = run("-", "--stdin-filename", "edge/rules.v4", "--format", "concise", stdin=data)
    assert p.returncode == 1
    assert p.stdout.decode().startswith("edge/rules.v4:3:1: IPT103 [error]")


def test_json_document_shape():
    p = run(str(FIX / "undefined-chain.rules"), "--format", "json")
    doc = json.loads(p.stdout)
    assert doc["version"] == 1
    assert doc["files"][0]["path"].endswith("undefined-chain.rules")
    f = doc["findings"][0]
    for key in ("code", "name", "severity", "message", "file", "line", "column", "table", "chain", "rule", "related"):
        assert key in f
    assert f["code"] == "IPT101" and f["line"] == 9 and f["table"] is None or f["code"] == "IPT101"
    assert doc["summary"]["error"] == 2


def test_fail_on_levels(tmp_path):
    dump = tmp_path / "warn.rules"  # an unknown match module: one IPT107 warning, nothing else
    dump.write_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -m nosuchmatch -j ACCEPT\nCOMMIT\n")
    path = str(dump)
    assert run(path).returncode == 1
    assert run(path, "--fail-on", "error").returncode == 0
    assert run(path, "--fail-on", "never").returncode == 0


def test_select_and_ignore_by_code_prefix_and_name():
    path = str(FIX / "syntax-errors.rules")
    out = run(path, "--format", "json", "--ignore", "syntax-error").stdout
    assert all(f["code"] != "IPT100" for f in json.loads(out)["findings"])
    out = run(path, "--format", "json", "--select", "IPT2").stdout
    assert all(f["code"].startswith("IPT2") for f in json.loads(out)["findings"])
    bad = run(path, "--select", "NOPE999")
    assert bad.returncode == 2 and b"NOPE999" in bad.stderr


def test_rules_lists_every_check():
    result = CliRunner().invoke(cli, ["rules", "--color", "never"], terminal_width=200)
    assert result.exit_code == 0
    for cls in ALL_CHECKS:
        assert cls.code in result.output and cls.name in result.output


def test_explain_by_code_and_name():
    by_code = CliRunner().invoke(cli, ["explain", "IPT101"])
    by_name = CliRunner().invoke(cli, ["explain", "undefined-chain"])
    assert by_code.exit_code == 0 and by_code.output == by_name.output
    for section in ("What it finds", "Why it matters", "Example", "Fix", "When to ignore"):
        assert section in by_code.output
    assert CliRunner().invoke(cli, ["explain", "XYZ123"]).exit_code == 2


def test_version_and_help_teach_by_example():
    assert run("--version").stdout.decode().startswith("ipt-lint, version")
    helptext = run("--help").stdout.decode()
    assert "Examples:" in helptext and "ipt-lint explain" in helptext


def test_text_report_layout_fixed_width():
    result = lint_text((FIX / "undefined-chain.rules").read_bytes(), "undefined-chain.rules")
    buf = io.StringIO()
    render([result], Console(file=buf, width=100, color_system=None, markup=False, highlight=False))
    out = buf.getvalue().splitlines()
    assert out[0] == "undefined-chain.rules:9:12 IPT101 undefined-chain error"
    assert out[2] == "    9 | -A FORWARD -j DOCKER-FORWARD"
    assert out[3] == "      | " + " " * 11 + "^"
    assert out[-1].startswith("Found 2 problems (2 errors) in 1 file")


def test_markup_and_escapes_in_dump_text_print_literally():
    text = (
        "*filter\n:INPUT DROP [0:0]\n"
        '-A INPUT -m comment --comment "[red]boom[/red] \x1b[2J" -j NOWHERE\nCOMMIT\n'
    )
    result = lint_text(text, "evil.rules")
    buf = io.StringIO()
    render([result], Console(file=buf, width=200, force_terminal=True, markup=False))
    out = buf.getvalue()
    assert "[red]boom[/red]" in out
    assert "\x1b[2J" not in out and "\\x1b[2J" in out
