"""`ipt-lint --live`: the real tools inside a network namespace this test creates, and the errors
(not root, tools missing, a tool failing or hanging) with fake tools on PATH."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

import ipt_lint.cli.live as live

from .helpers import REPO, env_for_subprocess, invoke

V4 = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:OLD - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j DROP
-A INPUT -p tcp -m tcp --dport 80 -m comment --comment "ipt-lint: ignore=unreachable-rule -- kept for the failover script" -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
-A OLD -j ACCEPT
COMMIT
"""

V6 = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:OLD6 - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
"""


@pytest.fixture
def netns(kernel):
    name = f"iptl-live-{os.getpid()}"
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def _in_ns(ns, *cmd, input=None):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], input=input, capture_output=True, timeout=120,
                          env=env_for_subprocess(), cwd=str(REPO.parent))


def test_live_lints_the_namespace_rules(netns):
    for tool, text in (("iptables-restore", V4), ("ip6tables-restore", V6)):
        proc = _in_ns(netns, tool, input=text.encode())
        assert proc.returncode == 0, proc.stderr
    proc = _in_ns(netns, sys.executable, "-m", "ipt_lint", "--live", "--isolated", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["path"], f["family"]) for f in doc["files"]] == [
        ("live:iptables-save", "ipv4"),
        ("live:ip6tables-save", "ipv6"),
    ]
    got = sorted((f["file"], f["code"], f["chain"]) for f in doc["findings"])
    assert got == [
        ("live:ip6tables-save", "IPT204", "OLD6"),
        ("live:iptables-save", "IPT201", "INPUT"),  # the 443 rule; the 80 rule's comment suppresses its own
        ("live:iptables-save", "IPT204", "OLD"),
    ]
    assert [f["rule"] for f in doc["findings"] if f["code"] == "IPT201"][0].endswith("--dport 443 -j ACCEPT")
    (s,) = doc["suppressed"]
    assert s["code"] == "IPT201" and s["suppression"]["reason"] == "kept for the failover script"


def test_live_sarif_names(netns):
    assert _in_ns(netns, "iptables-restore", input=V4.encode()).returncode == 0
    proc = _in_ns(netns, sys.executable, "-m", "ipt_lint", "--live", "--isolated", "--format", "sarif")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(proc.stdout)["runs"][0]["results"]}
    assert uris == {"live:iptables-save"}


def test_live_needs_root(monkeypatch, in_tmp):
    monkeypatch.setattr(live.os, "geteuid", lambda: 1000)
    res = invoke("--live")
    assert res.exit_code == 2
    assert res.stderr.startswith("ipt-lint: error: --live needs root") and res.stderr.count("\n") == 1


def _fake_tools(tmp_path, **scripts):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, body in scripts.items():
        p = bindir / name
        p.write_text("#!/bin/sh\n" + body + "\n")
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(bindir)


def test_live_tools_missing(monkeypatch, in_tmp):
    monkeypatch.setattr(live.os, "geteuid", lambda: 0)
    bindir = _fake_tools(in_tmp, **{"iptables-save": "exit 0"})
    res = invoke("--live", env={"PATH": bindir})
    assert res.exit_code == 2
    assert res.stderr == "ipt-lint: error: --live needs `ip6tables-save' on PATH (Debian/Ubuntu: apt-get install iptables)\n"


def test_live_with_fake_tools(monkeypatch, in_tmp):
    monkeypatch.setattr(live.os, "geteuid", lambda: 0)
    v4 = V4.replace("\n", "\\n")
    bindir = _fake_tools(
        in_tmp,
        **{"iptables-save": f"printf '{v4}'", "ip6tables-save": "exit 0", "ipset": "echo 'ipset v7: no kernel support' >&2; exit 1"},
    )
    res = invoke("--live", "--isolated", "--format", "concise", env={"PATH": bindir})
    assert res.exit_code == 1, res.output
    assert [line.split(":")[0:2] for line in res.stdout.splitlines()] == [["live", "iptables-save"]] * 2
    assert "ipset save' failed (exit 1): ipset v7: no kernel support; linting without the ipsets" in res.stderr


def test_live_ipset_output_reaches_the_options(monkeypatch, in_tmp):
    monkeypatch.setattr(live.os, "geteuid", lambda: 0)
    import ipt_lint.cli.lint_cmd as lint_cmd

    seen = []
    real = lint_cmd.lint_text

    def spy(data, name, *, options, selection, family):
        with open(options.ipset_file) as fh:
            seen.append((name, family, fh.read()))
        return real(data, name, options=options, selection=selection, family=family)

    monkeypatch.setattr(lint_cmd, "lint_text", spy)
    bindir = _fake_tools(
        in_tmp, **{"iptables-save": "exit 0", "ip6tables-save": "exit 0", "ipset": 'echo "create web hash:ip family inet"'}
    )
    res = invoke("--live", "--isolated", env={"PATH": bindir})
    assert res.exit_code == 0, res.output
    assert seen == [
        ("live:iptables-save", "ipv4", "create web hash:ip family inet\n"),
        ("live:ip6tables-save", "ipv6", "create web hash:ip family inet\n"),
    ]


def test_live_tool_failure_and_timeout(monkeypatch, in_tmp):
    monkeypatch.setattr(live.os, "geteuid", lambda: 0)
    bindir = _fake_tools(in_tmp, **{"iptables-save": "echo 'iptables-save: permission denied' >&2; exit 4",
                                    "ip6tables-save": "exit 0"})
    res = invoke("--live", env={"PATH": bindir})
    assert res.exit_code == 2
    assert res.stderr == "ipt-lint: error: --live: `iptables-save' failed (exit 4): iptables-save: permission denied\n"
    monkeypatch.setattr(live, "TIMEOUT_SECONDS", 0.5)
    bindir = _fake_tools(in_tmp, **{"iptables-save": f"exec {shutil.which('sleep')} 30"})
    res = invoke("--live", env={"PATH": bindir})
    assert res.exit_code == 2 and "did not finish within 0.5 s" in res.stderr
