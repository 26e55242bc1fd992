"""DNAT + FORWARD on the shared example dumps and the samples: what the docs say the kernel does
(runtimes.md §1, §5, §7), checked through trace and exposure."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_lint.model import build_model
from ipt_lint.parse import parse_text
from ipt_lint.semantics import engine_for

from .helpers import trace

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def load(path: Path, **kw):
    rs, _ = build_model(parse_text(path.read_text(), str(path)))
    return engine_for(rs, **kw)


@pytest.fixture(scope="module")
def dumps(shared_dir):
    d = shared_dir / "dumps"
    cache = {}

    def get(name, **kw):
        key = (name, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = load(d / name, **kw)
        return cache[key]

    return get


def sample(name: str, **kw):
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"samples/{name} is not there")
    return load(path, **kw)


def outcome(r):
    return (r.verdict, r.delivery, r.final_destination, r.out_interface)


# --- 01: Docker 27, two networks -------------------------------------------------------------


def test_docker27_published_ports(dumps):
    e = dumps("01-docker27-two-networks.rules")
    assert outcome(trace(e, dport=8080)) == ("ACCEPT", "forward", "172.18.0.2:80", "br-5e8f0d9a1c2b")
    assert outcome(trace(e, proto="udp", dport=51820)) == ("ACCEPT", "forward", "172.17.0.2:51820", "docker0")
    # published on 127.0.0.1 only: the host address is not DNAT'd (INPUT policy ACCEPT: host)
    assert outcome(trace(e, dport=5432))[:2] == ("ACCEPT", "local")
    # ... but 127.0.0.1 from the link is DNAT'd before routing can call it a martian (<= 27.x)
    assert outcome(trace(e, dst="127.0.0.1", dport=5432)) == ("ACCEPT", "forward", "172.19.0.2:5432", "br-a1b2c3d4e5f6")


def test_docker27_direct_routing_and_isolation(dumps):
    e = dumps("01-docker27-two-networks.rules")
    assert trace(e, dst="172.18.0.2", dport=80).verdict == "ACCEPT"  # nothing stops direct routing in 27.x
    assert trace(e, dst="172.18.0.2", dport=22).verdict == "DROP"  # no ACCEPT: FORWARD policy
    # container on one network to a container on another: DOCKER-ISOLATION-STAGE-2
    r = trace(e, src="172.18.0.2", dst="172.19.0.2", dport=5432, iface="br-5e8f0d9a1c2b")
    assert r.verdict == "DROP" and r.main.steps[-1].chain == "DOCKER-ISOLATION-STAGE-2"


def test_docker27_exposures(dumps):
    e = dumps("01-docker27-two-networks.rules")
    pub = {(x.proto, x.port): x for x in e.exposures() if x.kind == "published"}
    assert set(pub) == {("tcp", 8080), ("tcp", 8443), ("udp", 51820), ("tcp", 5432)}
    assert pub[("tcp", 5432)].host_addresses == ("127.0.0.1",)
    assert pub[("tcp", 8080)].destination == "172.18.0.2:80" and pub[("tcp", 8080)].runtime == "docker"
    assert pub[("tcp", 8080)].path[0].line == 59  # the DNAT line first
    routed = {(x.proto, x.port, x.destination) for x in e.exposures() if x.kind == "routed"}
    assert ("tcp", 80, "172.18.0.2") in routed


# --- 04: Docker 28, DOCKER-USER restricted on eth0 ------------------------------------------------


def test_docker28_docker_user_restricts_only_eth0(dumps):
    e = dumps("04-docker28-docker-user-restricted.rules")
    assert trace(e, dport=5432).verdict == "DROP"
    assert outcome(trace(e, src="192.168.1.50", dport=5432))[:3] == ("ACCEPT", "forward", "172.18.0.3:5432")
    # the same packet through any other interface is not restricted at all
    assert trace(e, dport=5432, iface="eth1").verdict == "ACCEPT"
    assert trace(e, dport=80).verdict == "ACCEPT"


def test_docker28_blocks_direct_routing_in_raw(dumps):
    e = dumps("04-docker28-docker-user-restricted.rules")
    r = trace(e, dst="172.18.0.2", dport=80)
    assert r.verdict == "DROP" and r.main.steps[-1].table == "raw"


def test_docker28_host_firewall(dumps):
    e = dumps("04-docker28-docker-user-restricted.rules")
    assert trace(e, src="192.168.1.5", dport=22).delivery == "local"
    assert trace(e, dport=22).verdict == "DROP"


def test_docker28_exposure_names_the_other_interfaces(dumps):
    e = dumps("04-docker28-docker-user-restricted.rules")
    x = next(x for x in e.exposures() if x.kind == "published" and x.port == 5432)
    combos = {(a.sources.describe(), a.interfaces.describe()) for a in x.access}
    assert ("192.168.1.0/24", "eth0") in combos
    assert ("any", "any interface other than eth0") in combos
    assert x.certain


# --- 05/06: ufw + Docker 27 -----------------------------------------------------------------------


def test_ufw_deny_does_not_stop_published_ports(dumps):
    e = dumps("05-ufw-docker27-vulnerable.rules")
    assert outcome(trace(e, dport=8080))[:3] == ("ACCEPT", "forward", "172.18.0.2:80")
    assert outcome(trace(e, dport=3306))[:3] == ("ACCEPT", "forward", "172.18.0.3:3306")
    assert trace(e, dport=22).delivery == "local"
    assert trace(e, dport=23).verdict == "DROP"
    kinds = {(x.kind, x.proto, x.port) for x in e.exposures()}
    assert {("published", "tcp", 8080), ("published", "tcp", 3306), ("host", "tcp", 22), ("host", "tcp", 443)} <= kinds
    assert ("host", "tcp", 8080) not in kinds


def test_ufw_docker_fix_limits_to_private_sources(dumps):
    e = dumps("06-ufw-docker27-ufw-docker-fix.rules")
    r = trace(e, dport=3306)
    assert r.verdict == "DROP" and r.certain
    assert trace(e, src="192.168.1.9", dport=3306).verdict == "ACCEPT"
    assert trace(e, dport=8080).final_destination == "172.18.0.2:80"  # `ufw route allow` for port 80
    x = next(x for x in e.exposures() if x.kind == "published" and x.port == 3306)
    assert not x.sources.any and "192.168.0.0/16" in x.sources.include and "10.0.0.0/8" in x.sources.include


# --- 09: kube-proxy ------------------------------------------------------------------------------


def test_kube_nodeport_reaches_every_endpoint_by_chance(dumps):
    e = dumps("09-kube-proxy-iptables-node.rules")
    r = trace(e, dport=30080)
    finals = {o.witness.final.endpoint() for o in r.outcomes}
    assert finals == {"10.244.1.5:8080", "10.244.2.7:8080", "10.244.3.4:8080"}
    assert all(o.verdict == "ACCEPT" and o.delivery == "forward" for o in r.outcomes)
    # accepted by KUBE-FORWARD on the 0x4000 mark set in nat KUBE-MARK-MASQ
    assert any(s.chain == "KUBE-FORWARD" and s.effect == "ACCEPT" for s in r.main.steps)


def test_kube_external_traffic_policy_local(dumps):
    e = dumps("09-kube-proxy-iptables-node.rules")
    r = trace(e, dport=31300)
    assert {o.witness.final.endpoint() for o in r.outcomes} == {"10.244.1.9:3000"}


def test_kube_service_without_endpoints_rejects(dumps):
    e = dumps("09-kube-proxy-iptables-node.rules", routes=("10.96.0.0/12=eth1",))
    assert trace(e, dst="10.96.200.5", dport=5432).verdict == "REJECT"


def test_kube_exposures_are_nodeports(dumps):
    e = dumps("09-kube-proxy-iptables-node.rules")
    pub = {(x.port, x.destination) for x in e.exposures() if x.kind == "published"}
    assert (30080, "10.244.1.5:8080") in pub and (32443, "10.244.2.11:443") in pub
    assert all(x.runtime == "kube" for x in e.exposures() if x.kind == "published")


# --- samples -------------------------------------------------------------------------------------


def test_sample_plain_server():
    e = sample("plain-server.rules")
    assert trace(e, dport=443).verdict == "ACCEPT"
    assert trace(e, dport=8080).verdict == "DROP"
    # the abuse DROP comes after the ssh ACCEPT: it does not stop ssh
    assert trace(e, src="192.0.2.66", dport=22).verdict == "ACCEPT"
    ping = trace(e, proto="icmp", dport=None)
    assert not ping.certain and {o.verdict for o in ping.outcomes} == {"ACCEPT", "DROP"}
    assert ping.verdict == "ACCEPT"  # the main journey is the one where the undecided rule matches
    assert any("limit" in u.reason for u in ping.uncertain_rules)


def test_sample_podman_netavark():
    e = sample("podman-netavark.rules")
    assert outcome(trace(e, dport=8080)) == ("ACCEPT", "forward", "10.88.0.2:80", "podman0")
    x = next(x for x in e.exposures() if x.kind == "published")
    assert x.runtime == "podman" and x.destination == "10.88.0.2:80"


def test_sample_docker28_loopback_publish_is_closed():
    e = sample("docker28-loopback.rules")
    assert trace(e, dst="127.0.0.1", dport=3000).verdict == "DROP"
    assert trace(e, dport=443).final_destination == "172.18.0.3:443"


def test_sample_docker27_ipv6():
    e = sample("docker27-ipv6.rules")
    r = trace(e, src="2001:db8::9", dst="2001:db8::1", dport=8080)
    assert outcome(r)[:3] == ("ACCEPT", "forward", "[fd5e:7a3c:91b2::2]:80")


def test_sample_ufw_docker():
    e = sample("ufw-docker.rules")
    assert trace(e, dport=6379).final_destination == "172.17.0.2:6379"


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.rules")) or ["none"])
def test_every_sample_traces_and_exposes_without_error(name):
    e = sample(name)
    fam_dst = "2001:db8::1" if e.space.family == "ipv6" else "198.51.100.1"
    fam_src = "2001:db8::9" if e.space.family == "ipv6" else "203.0.113.9"
    r = trace(e, src=fam_src, dst=fam_dst, dport=80)
    assert r.verdict in ("ACCEPT", "DROP", "REJECT")
    for x in e.exposures():
        assert x.witness.packet.proto_name == x.proto
        assert x.path
