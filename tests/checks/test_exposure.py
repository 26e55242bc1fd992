"""EXP301-EXP305 (checks/exposure.py): the samples draw what samples/README.md's review says, options
change what counts, every finding carries a witness and a fix the engine verified, and the IPv4/IPv6
pairs under tests/fixtures/exposure/ipv6-gap draw exactly their `# expect:` lines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipt_lint.checks.base import Severity
from ipt_lint.checks.context import LintContext, LintOptions
from ipt_lint.checks.exposure import (
    ExposureAnalysis,
    exposure_analysis,
    is_loopback_only,
    split_endpoint,
)
from ipt_lint.checks.fixes import NO_VERIFIED_FIX, Fix, apply_fix
from ipt_lint.checks.sensitive_ports import (
    DEFAULT_LIST,
    PortList,
    parse_port_spec,
    sensitive_ports,
)
from ipt_lint.lint import lint_text
from ipt_lint.model.build import build_model
from ipt_lint.parse import parse_bytes, parse_text
from ipt_lint.semantics import engine_for

from ..fixture_expectations import expectations

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
PAIRS = REPO / "tests" / "fixtures" / "exposure" / "ipv6-gap"
CODES = ("EXP", "K8S")

E, W, I = "error", "warning", "info"

# What each sample draws from EXP3xx/K8S5xx: (code, line, severity). Matches samples/README.md:
SAMPLE_FINDINGS = {
    # Postgres open to the world (error), web 8080 public too (warning), the "loopback-only" adminer
    # reached from the LAN (EXP305), and every published container port reachable by routing (EXP302).
    "docker27-published.rules": [
        ("EXP302", 20, W), ("EXP302", 21, W), ("EXP302", 22, W),
        ("EXP305", 48, W), ("EXP301", 49, W), ("EXP301", 50, E),
    ],
    # only nginx 443, public on purpose (allow-public: info); no loopback, no direct-access finding.
    "docker28-loopback.rules": [("EXP301", 57, I)],
    # Redis bypasses `ufw deny 6379` (EXP303 on the tcp deny only), Redis open (error), direct routing.
    "ufw-docker.rules": [("EXP302", 66, W), ("EXP303", 117, W), ("EXP301", 136, E)],
    # NodePort 30080 on every address (EXP301 kube), every pod and every ClusterIP by routing (EXP302);
    # KUBE-FIREWALL is in place, so no K8S501.
    "kube-node.rules": [("EXP302", 15, W), ("EXP302", 71, W), ("EXP301", 88, W)],
    # 8080 despite INPUT DROP (EXP303 on the policy), open (EXP301), the whole podman network by
    # routing through the FORWARD ACCEPT policy (EXP302).
    "podman-netavark.rules": [("EXP303", 3, W), ("EXP302", 4, W), ("EXP301", 43, W)],
    # no containers, no DNAT: nothing for these families.
    "plain-server.rules": [],
    # 8080 over IPv6 from anywhere, and the published container port by direct routing.
    "docker27-ipv6.rules": [("EXP302", 16, W), ("EXP301", 36, W)],
}

SHARED_FINDINGS = {
    "01-docker27-two-networks.rules": [
        ("EXP302", 24, W), ("EXP302", 25, W), ("EXP302", 26, W), ("EXP302", 27, W),
        ("EXP301", 58, W), ("EXP301", 59, W), ("EXP301", 60, W), ("EXP305", 61, E),
    ],
    # the false-positive guard: a correctly hardened Docker 28 host draws only info
    "04-docker28-docker-user-restricted.rules": [("EXP303", 11, I), ("EXP301", 66, I), ("EXP301", 67, I), ("EXP301", 68, I)],
    "05-ufw-docker27-vulnerable.rules": [
        ("EXP302", 70, W), ("EXP302", 71, W), ("EXP303", 125, W), ("EXP303", 127, W), ("EXP301", 149, W), ("EXP301", 150, E),
    ],
    "06-ufw-docker27-ufw-docker-fix.rules": [("EXP302", 136, I), ("EXP303", 139, I), ("EXP303", 141, I), ("EXP301", 163, I)],
    "09-kube-proxy-iptables-node.rules": [
        ("EXP302", 15, W), ("EXP302", 79, W), ("EXP301", 98, W), ("EXP301", 102, W), ("EXP301", 112, W),
    ],
}


def lint(path: Path, **options):
    return lint_text(path.read_bytes(), str(path), options=LintOptions(**options) if options else None)


def ours(result):
    return sorted((f.code, f.line, str(f.severity)) for f in result.findings if f.code.startswith(CODES))


def context(path: Path, **options) -> LintContext:
    parsed = parse_bytes(path.read_bytes(), str(path))
    rs, diags = build_model(parsed)
    return LintContext(parsed, rs, list(parsed.diagnostics) + diags, LintOptions(**options))


# --------------------------------------------------------------------------------------------
# samples and shared dumps


@pytest.mark.parametrize("name", sorted(SAMPLE_FINDINGS))
def test_samples_draw_what_the_review_says(name):
    result = lint(SAMPLES / name)
    assert not result.errors
    assert ours(result) == sorted(SAMPLE_FINDINGS[name]), [(f.code, f.line, str(f.severity), f.message) for f in result.findings]


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(SHARED_FINDINGS))
def test_shared_dumps(shared_dir, name):
    result = lint(shared_dir / "dumps" / name)
    assert not result.errors
    assert ours(result) == sorted(SHARED_FINDINGS[name]), [(f.code, f.line, str(f.severity), f.message) for f in result.findings]


@pytest.mark.shared
def test_hardened_docker_host_draws_nothing_at_warning(shared_dir):
    """../shared/dumps/04: DOCKER-USER allows 80/443 on eth0, 5432 from 192.168.1.0/24 on eth0 and
    drops the rest of eth0. Without --external the paths through other interfaces are conditions
    (info); with --external eth0 they do not count at all."""
    path = shared_dir / "dumps" / "04-docker28-docker-user-restricted.rules"
    for options in ({}, {"external_interfaces": ("eth0",)}):
        got = [f for f in lint(path, **options).findings if f.code.startswith(CODES) and f.severity >= Severity.WARNING]
        assert got == [], [(f.code, f.line, f.message) for f in got]
    with_external = ours(lint(path, external_interfaces=("eth0",)))
    assert ("EXP301", 68, I) not in with_external  # 5432: only 192.168.1.0/24 on eth0
    assert ("EXP301", 66, I) in with_external  # 80: public on purpose


def test_every_finding_has_witness_related_and_a_fix():
    for name in SAMPLE_FINDINGS:
        for f in lint(SAMPLES / name).findings:
            if not f.code.startswith(CODES):
                continue
            assert isinstance(f.witness, dict) and f.witness.get("proto"), (name, f.code, f.line)
            assert f.fix, (name, f.code, f.line)
            assert f.security
            if f.code in ("EXP301", "EXP303"):
                assert f.related, (name, f.code, f.line)


def test_fixes_on_the_samples_are_verified_except_where_no_rule_is_safe():
    unverified = []
    for name in SAMPLE_FINDINGS:
        for f in lint(SAMPLES / name).findings:
            if f.code.startswith(CODES) and f.fix.startswith(NO_VERIFIED_FIX):
                unverified.append((name, f.code, f.line))
    # the kube pod network: dropping forwarded traffic to pods would cut the pods of other nodes off
    assert unverified == [("kube-node.rules", "EXP302", 15)]


def test_printed_fix_closes_the_exposure_in_a_fresh_engine():
    """Independent of the verifier: parse the printed commands back, apply them, ask a new engine."""
    path = SAMPLES / "docker27-published.rules"
    result = lint(path)
    f = next(f for f in result.findings if f.code == "EXP301" and f.line == 50)
    fix = Fix.from_commands(f.fix.splitlines())
    before = engine_for(result.ruleset).exposures()
    after = engine_for(apply_fix(result.ruleset, fix)).exposures()
    assert any(e.kind == "published" and e.port == 5432 for e in before)
    assert not any(e.kind == "published" and e.port == 5432 for e in after)
    key = lambda e: (e.kind, e.proto, e.port, e.port_end, e.destination)
    assert sorted(map(key, after)) == sorted(key(e) for e in before if not (e.kind == "published" and e.port == 5432))


def test_messages_name_the_container_runtime_and_reach():
    by_line = {f.line: f for f in lint(SAMPLES / "docker27-published.rules").findings}
    m = by_line[50].message
    assert "tcp/5432" in m and "172.18.0.3:5432" in m and "br-3f9a1c7e52d0" in m and "PostgreSQL" in m
    assert "any source" in m and "127.0.0.1" in m
    assert by_line[50].fix.startswith("iptables -I DOCKER-USER 1 ")
    assert "--ctorigdstport 5432" in by_line[50].fix
    assert "127.0.0.1" in by_line[48].message and by_line[48].fix.startswith("iptables -t raw -I PREROUTING 1 -d 127.0.0.1/32 ! -i lo")
    podman = {f.line: f for f in lint(SAMPLES / "podman-netavark.rules").findings}
    assert "container 2a2dd300522f on network podman" in podman[43].message
    assert podman[43].fix.startswith("iptables -I FORWARD 1 ")
    kube = {f.line: f for f in lint(SAMPLES / "kube-node.rules").findings}
    assert "service web/frontend:http" in kube[88].message and "kube-proxy" in kube[88].message


# --------------------------------------------------------------------------------------------
# options


def test_sensitive_ports_setting_replaces_the_list():
    path = SAMPLES / "docker27-published.rules"
    default = {f.line: f.severity for f in lint(path).findings if f.code == "EXP301"}
    assert default == {49: Severity.WARNING, 50: Severity.ERROR}
    mine = {f.line: f.severity for f in lint(path, sensitive_ports=("tcp/8080",)).findings if f.code == "EXP301"}
    assert mine == {49: Severity.ERROR, 50: Severity.WARNING}


def test_allow_public_setting():
    path = SAMPLES / "docker27-published.rules"
    sev = {f.line: f.severity for f in lint(path, allow_public=("tcp/8080", "tcp/5432")).findings if f.code == "EXP301"}
    assert sev == {49: Severity.INFO, 50: Severity.INFO}
    path = SAMPLES / "docker28-loopback.rules"
    sev = {f.line: f.severity for f in lint(path, allow_public=("tcp/80",)).findings if f.code == "EXP301"}
    assert sev == {57: Severity.WARNING}


def test_external_interfaces_make_conditional_paths_count():
    """tests/fixtures/exposure/exp301-interface-conditional.rules: DOCKER-USER drops eth0 only."""
    path = REPO / "tests" / "fixtures" / "exposure" / "exp301-interface-conditional.rules"
    plain = [f for f in lint(path).findings if f.code == "EXP301"]
    assert [(f.severity, "interfaces other than eth0, if the host has any" in f.message) for f in plain] == [(Severity.INFO, True)]
    assert "! -i eth0" in plain[0].fix
    assert [f for f in lint(path, external_interfaces=("eth0",)).findings if f.code == "EXP301"] == []
    eth1 = [f for f in lint(path, external_interfaces=("eth1",)).findings if f.code == "EXP301"]
    assert [f.severity for f in eth1] == [Severity.WARNING] and "on eth1" in eth1[0].message
    assert "-i eth1 " in eth1[0].fix


def test_port_lists():
    assert parse_port_spec("tcp/5000-5009").covers("tcp", 5005)
    assert parse_port_spec("53").covers("udp", 53) and parse_port_spec("53").covers("tcp", 53)
    with pytest.raises(ValueError):
        parse_port_spec("tcp/70000")
    assert DEFAULT_LIST.match("tcp", 6379).label == "Redis"
    assert DEFAULT_LIST.match("tcp", 2375).label == "Docker API"
    assert DEFAULT_LIST.match("tcp", 80) is None
    assert PortList.parse(["tcp/80", "tcp/443"]).covers_all("tcp", 443, 443)
    assert not PortList.parse(["tcp/80"]).covers_all("tcp", 80, 81)
    assert sensitive_ports(LintOptions()) is DEFAULT_LIST
    assert sensitive_ports(LintOptions(sensitive_ports=("udp/1",))).match("tcp", 5432) is None


def test_port_list_match_is_the_first_entry_that_covers():
    lists = [DEFAULT_LIST, PortList.parse(["80", "tcp/80-90", "udp/53", "tcp/8000-9000"])]
    for ports in lists:
        for proto in ("tcp", "udp", "sctp"):
            for lo, hi in ((80, None), (85, 95), (53, 53), (1, 65535), (8999, 9001), (6379, None), (7, 7)):
                want = next((e for e in ports.entries if e.covers(proto, lo, hi)), None)
                assert ports.match(proto, lo, hi) is want, (proto, lo, hi)


def test_split_endpoint():
    assert split_endpoint("172.18.0.3:5432") == ("172.18.0.3", 5432)
    assert split_endpoint("[fd00::2]:80") == ("fd00::2", 80)
    assert split_endpoint("10.0.0.0/8") == (None, None)
    assert split_endpoint("<host>:22") == (None, None)


# --------------------------------------------------------------------------------------------
# one analysis per dump


def test_exposures_are_computed_once_per_dump(monkeypatch):
    from ipt_lint.checks.registry import all_checks
    from ipt_lint.semantics.engine import Engine

    calls = []
    real = Engine.exposure_report

    def counting(self, interfaces=()):
        calls.append(self)
        return real(self, interfaces)

    monkeypatch.setattr(Engine, "exposure_report", counting)
    ctx = context(SAMPLES / "ufw-docker.rules")
    for check in all_checks():
        if check.code.startswith(CODES):
            list(check.run(ctx))
    # once for the analysis; fix verification asks again only for the few packets a fix can touch
    assert sum(1 for e in calls if e is ctx.engine) == 1
    assert isinstance(exposure_analysis(ctx), ExposureAnalysis)
    assert exposure_analysis(ctx) is exposure_analysis(ctx)


def test_generated_kube_dump_is_quick():
    """A 1k-rule kube-proxy dump (benchmarks/gen_kube.py): the whole EXP/K8S family in a few seconds."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from gen_kube import generate
    finally:
        sys.path.pop(0)
    text, _ = generate(1000)
    from ipt_lint.policy import Selection

    t = time.perf_counter()
    result = lint_text(text, "kube-1k.rules", selection=Selection.from_options(["EXP", "K8S"], [], {}, {}, None))
    elapsed = time.perf_counter() - t
    assert not result.errors
    assert any(f.code == "EXP301" for f in result.findings)
    assert elapsed < 20, elapsed


def test_dump_the_engine_cannot_follow_draws_no_exposure():
    text = (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -j CONNMARK --or-mark 1024:\nCOMMIT\n"
    )
    result = lint_text(text, "broken.rules")
    assert not result.errors
    assert [f.code for f in result.findings if f.code.startswith(CODES)] == []


def test_loopback_only():
    rs, _ = build_model(parse_text((SAMPLES / "docker27-published.rules").read_text(), "x"))
    by_port = {e.port: e for e in engine_for(rs).exposures() if e.kind == "published"}
    assert is_loopback_only(by_port[8081]) and not is_loopback_only(by_port[5432])


# --------------------------------------------------------------------------------------------
# EXP304: IPv4/IPv6 pairs


def pair_names():
    return sorted(p.name[: -len(".v4.dump")] for p in PAIRS.glob("*.v4.dump"))


@pytest.mark.parametrize("name", pair_names())
def test_ipv6_pairs_draw_their_expectations(name):
    v4, v6 = PAIRS / f"{name}.v4.dump", PAIRS / f"{name}.v6.dump"
    paired = lint_text(v4.read_bytes(), str(v4), options=LintOptions(ipv6_dump=str(v6)))
    alone = lint_text(v6.read_bytes(), str(v6))
    assert not paired.errors and not alone.errors
    for path, findings in ((v4, [f for f in paired.findings if f.file == str(v4)]),
                           (v6, [f for f in paired.findings if f.file == str(v6)] + alone.findings)):
        expected = expectations(path.read_text())
        codes = {c for c, _ in expected}
        got = {(f.code, f.line) for f in findings if f.severity >= Severity.WARNING or f.code in codes}
        assert got == expected, (path.name, [(f.code, f.line, f.message) for f in findings])


def test_ipv6_gap_finding_sits_in_the_open_file_with_the_other_as_related():
    v4, v6 = PAIRS / "docker-user-v4-only.v4.dump", PAIRS / "docker-user-v4-only.v6.dump"
    result = lint_text(v4.read_bytes(), str(v4), options=LintOptions(ipv6_dump=str(v6)))
    (f,) = [f for f in result.findings if f.code == "EXP304"]
    assert f.file == str(v6) and f.rule.startswith("-A DOCKER ! -i br-9d0c4e1a7f35")
    assert "restricted over IPv4" in f.message
    assert f.related and f.related[0].file == str(v4)
    assert f.fix.startswith("ip6tables -I DOCKER-USER 1 ")


def test_ipv6_gap_through_the_cli(tmp_path):
    from ipt_lint.cli.main import cli

    for name in ("host-input",):
        (tmp_path / "rules.v4").write_bytes((PAIRS / f"{name}.v4.dump").read_bytes())
        (tmp_path / "rules.v6").write_bytes((PAIRS / f"{name}.v6.dump").read_bytes())
    runner = CliRunner()
    v4, v6 = str(tmp_path / "rules.v4"), str(tmp_path / "rules.v6")
    # paired by name when both are given
    res = runner.invoke(cli, ["--isolated", "--format", "json", "--select", "EXP304", v4, v6])
    doc = json.loads(res.stdout)
    assert [(f["code"], f["file"], f["line"]) for f in doc["findings"]] == [("EXP304", v6, 6)]
    assert doc["findings"][0]["fix"].startswith("ip6tables -I INPUT 1 ")
    # explicitly
    res = runner.invoke(cli, ["--isolated", "--format", "json", "--select", "EXP304", v4, "--ipv6-dump", v6])
    assert [(f["code"], f["file"]) for f in json.loads(res.stdout)["findings"]] == [("EXP304", v6)]
    # one dump alone: nothing to compare
    res = runner.invoke(cli, ["--isolated", "--format", "json", "--select", "EXP304", v4])
    assert json.loads(res.stdout)["findings"] == []
    # usage errors
    res = runner.invoke(cli, ["--isolated", v4, v6, "--ipv6-dump", v6])
    assert res.exit_code == 2 and "--ipv6-dump pairs one IPv4 dump" in res.stderr
    res = runner.invoke(cli, ["--isolated", v4, "--ipv6-dump", str(tmp_path / "missing")])
    assert res.exit_code == 2


def test_pair_keys():
    from ipt_lint.cli.lint_cmd import pair_key

    assert pair_key("/etc/iptables/rules.v4") == ("ipv4", "/etc/iptables/rules.#")
    assert pair_key("/etc/iptables/rules.v6") == ("ipv6", "/etc/iptables/rules.#")
    assert pair_key("host1.v6.rules")[1] == pair_key("host1.v4.rules")[1]
    assert pair_key("iptables-save.txt")[1] == pair_key("ip6tables-save.txt")[1]
    assert pair_key("live:ip6tables") == ("ipv6", "live:#")
    assert pair_key("docker27-published.rules") is None
