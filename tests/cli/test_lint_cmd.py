"""The lint command in a real process: exit codes, stdin, many files, -j, progress, directories."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

from .helpers import CLEAN, SYNTAX, UNDEFINED, UNKNOWN_MODULE, env_for_subprocess, findings_of, run_cli, write


def test_exit_codes(in_tmp):
    write(in_tmp / "c.rules", CLEAN)
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "w.rules", UNKNOWN_MODULE)
    assert run_cli("c.rules", cwd=in_tmp).returncode == 0
    assert run_cli("u.rules", cwd=in_tmp).returncode == 1
    assert run_cli("w.rules", cwd=in_tmp).returncode == 1
    assert run_cli("--fail-on", "error", "w.rules", cwd=in_tmp).returncode == 0
    assert run_cli("--fail-on", "never", "u.rules", cwd=in_tmp).returncode == 0
    proc = run_cli("c.rules", "missing.rules", cwd=in_tmp)
    assert proc.returncode == 2 and proc.stderr.decode() == "ipt-lint: error: missing.rules: no such file\n"
    proc = run_cli("--select", "NOPE", "c.rules", cwd=in_tmp)
    assert proc.returncode == 2 and b"NOPE" in proc.stderr and b"Traceback" not in proc.stderr
    proc = run_cli(cwd=in_tmp)
    assert proc.returncode == 2 and b"no dump given" in proc.stderr


def test_stdin_with_stdin_filename(in_tmp):
    proc = run_cli("--format", "concise", "--stdin-filename", "edge/rules.v4", "-", input=UNDEFINED, cwd=in_tmp)
    assert proc.returncode == 1
    assert proc.stdout.decode().startswith("edge/rules.v4:4:10: IPT101 [error]")
    proc = run_cli("-", input=CLEAN, cwd=in_tmp)
    assert proc.returncode == 0
    proc = run_cli("-", "-", input=CLEAN, cwd=in_tmp)
    assert proc.returncode == 2


def test_syntax_error_is_a_finding_not_a_crash(in_tmp):
    proc = run_cli("--format", "json", "-", input=SYNTAX, cwd=in_tmp)
    assert proc.returncode == 1 and findings_of(proc.stdout) == [("IPT100", 4)]


def _many(in_tmp, n=12):
    paths = []
    for i in range(n):
        text = [CLEAN, UNDEFINED, UNKNOWN_MODULE][i % 3]
        paths.append(str(write(in_tmp / f"d{i:02}.rules", text).relative_to(in_tmp)))
    return paths


def test_jobs_give_the_same_report_in_input_order(in_tmp):
    paths = _many(in_tmp)
    paths = paths[::-1]  # not sorted: the report must follow the order given
    serial = run_cli("--format", "json", *paths, cwd=in_tmp)
    parallel = run_cli("--format", "json", "-j", "4", *paths, cwd=in_tmp)
    assert serial.returncode == parallel.returncode == 1
    assert serial.stdout == parallel.stdout
    doc = json.loads(parallel.stdout)
    assert [f["path"] for f in doc["files"]] == paths
    assert [f["file"] for f in doc["findings"]] == [p for p in paths if p not in ("d00.rules", "d03.rules", "d06.rules", "d09.rules")]
    assert run_cli("-j", "0", "--format", "json", *paths, cwd=in_tmp).stdout == serial.stdout


def test_jobs_with_an_unreadable_file_exit_2(in_tmp):
    paths = _many(in_tmp, 4)
    proc = run_cli("-j", "3", *paths[:2], "nope.rules", *paths[2:], cwd=in_tmp)
    assert proc.returncode == 2 and proc.stderr.decode() == "ipt-lint: error: nope.rules: no such file\n"


def test_a_directory_is_not_a_dump(in_tmp):
    write(in_tmp / "fw" / "a.rules", UNDEFINED)
    proc = run_cli("fw", cwd=in_tmp)
    assert proc.returncode == 2 and proc.stderr.decode() == "ipt-lint: error: fw: is a directory, not a dump\n"


def test_no_progress_bar_when_stderr_is_not_a_terminal(in_tmp):
    paths = _many(in_tmp)
    proc = run_cli(*paths, cwd=in_tmp)
    assert proc.stderr == b""


def _run_with_tty_stderr(args, cwd):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipt_lint", *args], cwd=cwd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        stderr=slave, env=env_for_subprocess({"TERM": "xterm", "COLUMNS": "100"}),
    )
    os.close(slave)
    chunks = []
    deadline = time.time() + 60
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    out = proc.stdout.read()
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_for_many_files(in_tmp):
    paths = _many(in_tmp)
    code, out, err = _run_with_tty_stderr(["--format", "json", *paths], in_tmp)
    assert code == 1
    assert "linting" in err and f"/{len(paths)}" in err
    assert json.loads(out)["summary"]["files"] == len(paths)  # stdout untouched by the bar
    code, out, err = _run_with_tty_stderr(["--format", "json", *paths[:2]], in_tmp)
    assert "linting" not in err  # two files: no bar


def test_reports_keep_the_rule_count_without_the_model(in_tmp):
    write(in_tmp / "u.rules", UNDEFINED)
    write(in_tmp / "b.rules", UNKNOWN_MODULE.replace("COMMIT", "-A INPUT -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT"))
    for jobs in ("1", "2"):
        doc = json.loads(run_cli("--format", "json", "-j", jobs, "u.rules", "b.rules", cwd=in_tmp).stdout)
        assert [(f["path"], f["rules"]) for f in doc["files"]] == [("u.rules", 1), ("b.rules", 2)]
