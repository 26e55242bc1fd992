"""Every dump in samples/ and ../shared/dumps/ draws exactly what a careful human review expects.

The review is the table below: for each dump, every finding an operator who read the dump line by
line (with ../shared/docs/runtimes.md for the runtimes' own shapes) expects from `ipt-lint` with
default options, as (code, line, severity), each with the one-line reason why. samples/README.md is
the prose version of the same review; keep the two in step.

The comparison is exact, over the whole multiset of findings at every severity: a finding the
review does not name, a missing one, another line or another severity all fail. `lint_text` is the
pipeline the CLI runs for each dump (ipt_lint/cli/lint_cmd.py); one test also runs the CLI itself
(`ipt-lint --isolated --format json`) over the samples to hold the two equal.

Where the tool and the review disagree, the tool is fixed: the review is never bent to the
output.

../shared is optional: its dumps are skipped with the reason when it is absent, and fail instead
when IPT_LINT_REQUIRE_SHARED=1 (tests/conftest.py).
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from ipt_lint.checks.base import Severity
from ipt_lint.checks.context import LintOptions
from ipt_lint.cli.lint_cmd import is_dump_name
from ipt_lint.lint import lint_text

from .conftest import find_shared

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"

E, W, I = "error", "warning", "info"


class Expect(NamedTuple):
    code: str
    line: int
    severity: str
    why: str


X = Expect

# --------------------------------------------------------------------------------------------
# The review. Keys: "samples/NAME" (in the repository) and "shared/NAME" (../shared/dumps/NAME).

REVIEW: dict[str, list[Expect]] = {
    # Docker 27.x, classic FORWARD layout, userland-proxy on, FORWARD policy DROP, INPUT ACCEPT
    # with no rules (no host firewall, but nothing to report for it: no allow-list, no DNAT).
    "samples/docker27-published.rules": [
        X("DKR404", 19, I, "`-i docker0 -o docker0 -j ACCEPT`: icc on, containers on docker0 reach each other on every port"),
        X("EXP302", 20, W, "adminer 172.17.0.2:8080 by direct routing: 27.x's per-port ACCEPT never checks that DNAT happened, no raw drop"),
        X("EXP302", 21, W, "web 172.18.0.2:80 by direct routing, same per-port ACCEPT"),
        X("EXP302", 22, W, "postgres 172.18.0.3:5432 by direct routing, same per-port ACCEPT"),
        X("DKR401", 29, W, "DOCKER-USER holds only `-j RETURN`: nothing restricts who reaches the published ports"),
        X("EXP305", 48, W, "adminer on 127.0.0.1:8081: 27.x has no raw `! -i lo` drop, a LAN neighbour's 127.0.0.1 is DNATed before the martian check; not a sensitive port"),
        X("EXP301", 49, W, "web 8080 published on 0.0.0.0, reached from any source; 8080 is not in allow-public"),
        X("EXP301", 50, E, "postgres 5432 published on 0.0.0.0, reached from any source: a database, error"),
    ],
    # Docker 28.3 (DOCKER-FORWARD/-BRIDGE/-CT, empty DOCKER-USER, per-container raw drops). The raw
    # drops (lines 5, 7) stop direct routing and line 6 keeps Grafana's loopback publish local:
    # no EXP302, no EXP305.
    "samples/docker28-loopback.rules": [
        X("DKR401", 21, I, "DOCKER-USER is empty, but the only port it would guard is 443, which is allow-public: a note"),
        X("DKR404", 35, I, "`DOCKER-FORWARD -i docker0 -j ACCEPT`: icc on docker0 (empty today; every plain `docker run` lands there)"),
        X("EXP301", 57, I, "nginx 443 on 0.0.0.0 from any source, but tcp/443 is allow-public: meant to be public"),
    ],
    # ufw 0.36 (deny incoming/routed, allow 22, `ufw deny 6379`) with Docker 27.x running redis -p 6379:6379.
    "samples/ufw-docker.rules": [
        X("IPT204", 22, I, "ufw-logging-allow: ufw's stock helper chain, used only by logged allow rules; unused is normal"),
        X("IPT204", 28, I, "ufw-skip-to-policy-forward: stock ufw chain, nothing in ufw-after-forward uses it here"),
        X("IPT204", 30, I, "ufw-skip-to-policy-output: stock ufw chain, unused"),
        X("IPT204", 36, I, "ufw-user-limit: stock ufw chain for `ufw limit`, there is no limit rule"),
        X("IPT204", 37, I, "ufw-user-limit-accept: stock ufw chain for `ufw limit`, unused"),
        X("DKR404", 53, I, "`-i docker0 -o docker0 -j ACCEPT`: icc on docker0"),
        X("EXP302", 66, W, "redis 172.17.0.2:6379 by direct routing: 27.x per-port ACCEPT, no raw drop"),
        X("DKR401", 71, W, "DOCKER-USER holds only `-j RETURN`: nothing restricts the published Redis"),
        X("EXP303", 117, W, "`ufw deny 6379` (tcp) never sees the DNATed Redis: it crosses FORWARD, where Docker accepts it above ufw"),
        # not line 118: there is no udp DNAT, so the udp deny does what it says
        X("EXP301", 136, E, "redis 6379 published on 0.0.0.0, reached from any source: a cache, error"),
    ],
    # kube-proxy iptables mode worker, KUBE-FIREWALL present (so no K8S501), FORWARD and INPUT ACCEPT.
    "samples/kube-node.rules": [
        X("EXP302", 15, W, "FORWARD policy ACCEPT and nothing drops new inbound: routing 10.244.0.0/16 via the node reaches every pod"),
        X("EXP302", 71, W, "PREROUTING -j KUBE-SERVICES has no source or interface limit: routing 10.96.0.0/12 via the node reaches every ClusterIP"),
        X("EXP301", 88, W, "NodePort 30080 on every node address (only the final --dst-type LOCAL rule), KUBE-FORWARD accepts it; on its earliest endpoint DNAT"),
    ],
    # Podman 4.9 / netavark 1.x iptables driver, hand-written INPUT DROP (ssh only), FORWARD ACCEPT.
    "samples/podman-netavark.rules": [
        X("EXP303", 3, W, "the INPUT policy DROP would deny 8080, but the DNAT sends it through FORWARD: the host firewall is bypassed"),
        X("EXP302", 4, W, "FORWARD policy ACCEPT, netavark adds no drop: every container port by routing, unpublished db 10.88.0.3:5432 too"),
        X("IPT204", 9, I, "NETAVARK_ISOLATION_3: netavark's stock chain, jumped to only for isolate=strict networks; unused is normal"),
        X("EXP301", 43, W, "web 8080 on every address from any source: netavark adds no FORWARD filter and the ACCEPT policy lets it in"),
        # no IPT206 on line 4: FORWARD's only ACCEPTs are netavark's own, and a DROP policy would
        # break the published port (netavark has no ACCEPT for DNATed inbound).
    ],
    # Hand-written iptables-legacy filter, INPUT DROP, no containers.
    "samples/plain-server.rules": [
        X("IPT202", 13, W, "`ssh from office VPN only` comes after an unrestricted --dport 22 ACCEPT: the restriction is not in force"),
        X("IPT203", 15, W, "the abuse-ticket DROP of 192.0.2.66 sits after the 22/80/443 ACCEPTs and the rest falls to policy DROP: it does nothing"),
    ],
    # ip6tables-save of a Docker 27.x host (ip6tables on by default), ULA compose network.
    "samples/docker27-ipv6.rules": [
        X("EXP302", 16, W, "[fd5e:7a3c:91b2::2]:80 by routing the ULA prefix via the host: 27.x per-port ACCEPT, no raw drop"),
        X("DKR401", 21, W, "the IPv6 DOCKER-USER holds only `-j RETURN`: nothing restricts IPv6 sources"),
        X("EXP301", 36, W, "8080 over IPv6 from any source, on every host address; not allow-public"),
    ],
    # Docker 27.x, three networks: wireguard on docker0, web on one compose network, postgres
    # published on 127.0.0.1 on another. DOCKER-USER only RETURN, FORWARD DROP.
    "shared/01-docker27-two-networks.rules": [
        X("DKR404", 23, I, "`-i docker0 -o docker0 -j ACCEPT`: icc on docker0"),
        X("EXP302", 24, W, "web 172.18.0.2:80 by direct routing (27.x per-port ACCEPT)"),
        X("EXP302", 25, W, "web 172.18.0.2:443 by direct routing"),
        X("EXP302", 26, W, "postgres 172.19.0.2:5432 by direct routing: published on 127.0.0.1 only, yet its per-port ACCEPT takes routed packets"),
        X("EXP302", 27, W, "wireguard 172.17.0.2 udp/51820 by direct routing"),
        X("DKR401", 36, W, "DOCKER-USER holds only `-j RETURN`"),
        X("EXP301", 58, W, "wireguard udp/51820 on 0.0.0.0 from any source; not sensitive, not allow-public"),
        X("EXP301", 59, W, "web 8080 -> :80 on 0.0.0.0 from any source; the host port 8080 is not allow-public"),
        X("EXP301", 60, W, "web 8443 -> :443 on 0.0.0.0 from any source; the host port 8443 is not allow-public"),
        X("EXP305", 61, E, "postgres on 127.0.0.1:5432 reached by LAN neighbours on 27.x (DNAT before the martian check): a database, error"),
    ],
    # The correctly hardened Docker 28 host: DOCKER-USER lets replies through, allows 80/443 on eth0,
    # 5432 from 192.168.1.0/24 on eth0, drops the rest of eth0; raw drops stop direct routing.
    # Nothing at warning or above (test_hardened_docker_host_draws_nothing_at_warning_or_above).
    "shared/04-docker28-docker-user-restricted.rules": [
        X("EXP303", 11, I, "INPUT DROP does not govern the published ports, but DOCKER-USER handles them explicitly: a note"),
        X("DKR404", 40, I, "`DOCKER-FORWARD -i docker0 -j ACCEPT`: icc on docker0 (empty)"),
        X("EXP301", 66, I, "80 from any source on eth0: allow-public and explicitly returned in DOCKER-USER"),
        X("EXP301", 67, I, "443 from any source on eth0: allow-public and explicitly returned in DOCKER-USER"),
        X("EXP301", 68, I, "5432 is limited to 192.168.1.0/24 on eth0 only: open on other interfaces if the host has any, a condition"),
    ],
    # ufw + Docker 27.x, `ufw deny 8080` and `ufw deny 3306` while web 8080 and MySQL 3306 are published.
    "shared/05-ufw-docker27-vulnerable.rules": [
        X("IPT204", 22, I, "ufw-logging-allow: stock ufw helper chain, unused"),
        X("IPT204", 28, I, "ufw-skip-to-policy-forward: stock ufw helper chain, unused"),
        X("IPT204", 30, I, "ufw-skip-to-policy-output: stock ufw helper chain, unused"),
        X("IPT204", 36, I, "ufw-user-limit: stock ufw chain, no `ufw limit` rule"),
        X("IPT204", 37, I, "ufw-user-limit-accept: stock ufw chain, unused"),
        X("DKR404", 57, I, "`-i docker0 -o docker0 -j ACCEPT`: icc on docker0"),
        X("EXP302", 70, W, "web 172.18.0.2:80 by direct routing (27.x per-port ACCEPT)"),
        X("EXP302", 71, W, "mysql 172.18.0.3:3306 by direct routing"),
        X("DKR401", 78, W, "DOCKER-USER holds only `-j RETURN`"),
        X("EXP303", 125, W, "`ufw deny 8080` (tcp) never sees the DNATed web traffic"),
        X("EXP303", 127, W, "`ufw deny 3306` (tcp) never sees the DNATed MySQL traffic"),
        # not 126/128: no udp DNAT, the udp denies work
        X("EXP301", 149, W, "web 8080 on 0.0.0.0 from any source"),
        X("EXP301", 150, E, "MySQL 3306 on 0.0.0.0 from any source: a database, error"),
    ],
    # The same host with chaifeng/ufw-docker's DOCKER-USER and `ufw route allow ... to 172.18.0.2
    # port 80`: the world reaches web only, by the admin's explicit rule; RFC 1918 sources are
    # returned to Docker on purpose (ufw-docker's documented trust of private networks).
    "shared/06-ufw-docker27-ufw-docker-fix.rules": [
        X("IPT204", 23, I, "ufw-logging-allow: stock ufw helper chain, unused"),
        X("IPT204", 29, I, "ufw-skip-to-policy-forward: stock ufw helper chain, unused"),
        X("IPT204", 31, I, "ufw-skip-to-policy-output: stock ufw helper chain, unused"),
        X("IPT204", 37, I, "ufw-user-limit: stock ufw chain, no `ufw limit` rule"),
        X("IPT204", 38, I, "ufw-user-limit-accept: stock ufw chain, unused"),
        X("DKR404", 82, I, "ufw-docker's `DOCKER-USER -i docker0 -o docker0 -j ACCEPT` keeps icc on docker0"),
        X("DKR403", 136, I, "the route allow `from any` also lets docker0 containers into br-c0ffee, but only to web:80, which everyone reaches anyway"),
        X("EXP302", 136, I, "web 172.18.0.2:80 by routing, allowed explicitly by the admin's `ufw route allow`"),
        X("EXP303", 139, I, "`ufw deny 8080` is bypassed, but the route allow opens web explicitly"),
        X("EXP303", 141, I, "`ufw deny 3306`: public sources are dropped by ufw-docker; only RFC 1918 sources, returned on purpose, still reach MySQL"),
        X("EXP301", 163, I, "web 8080 from any source, allowed explicitly by the route allow on line 136"),
    ],
    # kube-proxy node with three NodePorts (web eTP=Cluster, grafana eTP=Local, ingress-nginx https),
    # KUBE-FIREWALL present, FORWARD and INPUT ACCEPT.
    "shared/09-kube-proxy-iptables-node.rules": [
        X("EXP302", 15, W, "FORWARD policy ACCEPT: routing 10.244.0.0/16 via the node reaches every pod"),
        X("EXP302", 79, W, "PREROUTING -j KUBE-SERVICES unrestricted: routing 10.96.0.0/12 via the node reaches every ClusterIP"),
        X("EXP301", 98, W, "ingress-nginx NodePort 32443 on every node address from any source; 32443 is not allow-public"),
        X("EXP301", 102, W, "grafana NodePort 31300 (eTP=Local, local endpoint; no masquerade mark, the FORWARD ACCEPT policy lets it in)"),
        X("EXP301", 112, W, "web NodePort 30080 on every node address from any source"),
    ],
}

# The two Docker 27 samples read as one host's IPv4/IPv6 pair (`--ipv6-dump`): 8080 is open from
# anywhere in both families and nothing is restricted in either, so there is no gap: EXP304 stays
# silent and the IPv4 dump draws exactly its own review. (Pairs that do draw EXP304 are the
# fixtures under tests/fixtures/exposure/ipv6-gap, tests/checks/test_exposure.py.)
PAIRS = [("samples/docker27-published.rules", "samples/docker27-ipv6.rules")]


# --------------------------------------------------------------------------------------------


def _path(key: str, shared: Path | None = None) -> Path:
    where, name = key.split("/", 1)
    if where == "samples":
        return SAMPLES / name
    assert shared is not None
    return shared / "dumps" / name


@cache
def _lint(path: str, ipv6_dump: str | None = None):
    """One lint per dump (and per pair) for the whole module: default options, as the CLI."""
    options = LintOptions(ipv6_dump=ipv6_dump) if ipv6_dump else None
    result = lint_text(Path(path).read_bytes(), path, options=options)
    assert not result.errors, result.errors
    return result


def _triples(findings) -> Counter:
    return Counter((f.code, f.line, str(f.severity)) for f in findings)


def _expected(key: str) -> Counter:
    return Counter((e.code, e.line, e.severity) for e in REVIEW[key])


def _report(key: str, result, expected: Counter) -> str:
    actual = _triples(result.findings)
    why = {(e.code, e.line, e.severity): e.why for e in REVIEW[key]}
    lines = [f"{key}: the tool and the review disagree"]
    for t in sorted(expected - actual, key=lambda t: (t[1], t[0])):
        lines.append(f"  missing    {t[0]}@{t[1]} {t[2]:7}  review: {why.get(t, '')}")
    for f in result.findings:
        t = (f.code, f.line, str(f.severity))
        if (actual - expected)[t]:
            lines.append(f"  unexpected {t[0]}@{t[1]} {t[2]:7}  tool: {f.message}")
    return "\n".join(lines)


def _shared_dump(key: str, shared_dir: Path) -> Path:
    path = _path(key, shared_dir)
    if not path.is_file():
        pytest.fail(f"{path} is reviewed here but missing from ../shared/dumps", pytrace=False)
    return path


def _check(key: str, path: Path, request) -> None:
    result = _lint(str(path))
    expected = _expected(key)
    assert _triples(result.findings) == expected, _report(key, result, expected)


SAMPLE_KEYS = sorted(k for k in REVIEW if k.startswith("samples/"))
SHARED_KEYS = sorted(k for k in REVIEW if k.startswith("shared/"))


# --- the review ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", SAMPLE_KEYS)
def test_review_samples(key, request):
    _check(key, _path(key), request)


@pytest.mark.shared
@pytest.mark.parametrize("key", SHARED_KEYS)
def test_review_shared(key, shared_dir, request):
    _check(key, _shared_dump(key, shared_dir), request)


@pytest.mark.shared
def test_hardened_docker_host_draws_nothing_at_warning_or_above(shared_dir):
    """Issue #4: a correctly hardened Docker host draws nothing at warning or above."""
    result = _lint(str(_shared_dump("shared/04-docker28-docker-user-restricted.rules", shared_dir)))
    loud = [(f.code, f.line, str(f.severity), f.message) for f in result.findings if f.severity >= Severity.WARNING]
    assert loud == []


@pytest.mark.parametrize("v4,v6", PAIRS, ids=lambda k: k.split("/")[-1])
def test_review_ipv4_ipv6_pairs(v4, v6):
    result = _lint(str(_path(v4)), str(_path(v6)))
    in_v6 = [(f.code, f.line, f.message) for f in result.findings if f.file != str(_path(v4))]
    assert in_v6 == []
    expected = _expected(v4)
    assert _triples(result.findings) == expected, _report(v4, result, expected)


# --- completeness and the review's own consistency ---------------------------------------------


def test_every_sample_dump_is_reviewed():
    dumps = {f"samples/{p.name}" for p in SAMPLES.iterdir() if p.is_file() and is_dump_name(p.name)}
    assert dumps == set(SAMPLE_KEYS)


@pytest.mark.shared
def test_every_shared_dump_is_reviewed(shared_dir):
    dumps = {f"shared/{p.name}" for p in (shared_dir / "dumps").iterdir() if p.is_file()}
    assert dumps == set(SHARED_KEYS)


def test_the_review_is_well_formed():
    for key, expects in REVIEW.items():
        for e in expects:
            assert e.severity in (E, W, I), (key, e)
            assert e.why and len(e.why) <= 160, (key, e)
        path = _path(key, find_shared() or Path("/nonexistent"))
        if path.is_file():
            lines = path.read_text().splitlines()
            for e in expects:
                assert 1 <= e.line <= len(lines) and lines[e.line - 1].strip(), (key, e, "no such line")


# --- the command line says the same ------------------------------------------------------------


def _cli_findings(paths: list[Path]) -> dict[str, Counter]:
    from ipt_lint.cli.main import cli

    res = CliRunner().invoke(cli, ["--isolated", "--format", "json", *map(str, paths)])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.stdout)
    out: dict[str, Counter] = {str(p): Counter() for p in paths}
    for f in doc["findings"]:
        out[f["file"]][(f["code"], f["line"], f["severity"])] += 1
    return out


def test_cli_json_agrees_with_the_pipeline_on_the_samples():
    paths = [_path(k) for k in SAMPLE_KEYS]
    by_file = _cli_findings(paths)
    for key, path in zip(SAMPLE_KEYS, paths):
        assert by_file[str(path)] == _triples(_lint(str(path)).findings), key


@pytest.mark.shared
def test_cli_json_agrees_with_the_pipeline_on_the_shared_dumps(shared_dir):
    paths = [_shared_dump(k, shared_dir) for k in SHARED_KEYS]
    by_file = _cli_findings(paths)
    for key, path in zip(SHARED_KEYS, paths):
        assert by_file[str(path)] == _triples(_lint(str(path)).findings), key
