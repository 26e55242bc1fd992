"""Self-tests of the kernel lab, and the kernel facts later tests rely on.

Every test here builds its own namespaces (a few tens of milliseconds), loads a ruleset with the
real iptables-restore and sends real packets. Dropped probes cost one 1 s timeout each, so probes
are batched with ``probe_many`` wherever possible.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .lab import Container, Lab, LabError, Landing, Topology, cleanup_stale, restore_test

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("kernel")]

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "samples").glob("*.rules"))

HOST = "198.51.100.1"

EMPTY = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
"""


def filter_table(*rules: str, forward: str = "ACCEPT", chains: tuple[str, ...] = ()) -> str:
    lines = ["*filter", ":INPUT ACCEPT [0:0]", f":FORWARD {forward} [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{c} - [0:0]" for c in chains]
    return "\n".join([*lines, *rules, "COMMIT", ""])


def docker_like(forward_policy: str = "DROP", user_rules: tuple[str, ...] = ()) -> str:
    """A Docker 27-shaped ruleset: 8080->web:80/tcp, 5353->web:53/udp on docker0."""
    return "\n".join([
        "*filter",
        ":INPUT ACCEPT [0:0]",
        f":FORWARD {forward_policy} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        ":DOCKER-USER - [0:0]",
        "-A FORWARD -j DOCKER-USER",
        "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A FORWARD -o docker0 -j DOCKER",
        "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
        "-A FORWARD -i docker0 -o docker0 -j ACCEPT",
        "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT",
        "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT",
        *user_rules,
        "-A DOCKER-USER -j RETURN",
        "COMMIT",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
        "-A DOCKER -i docker0 -j RETURN",
        "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
        "-A DOCKER ! -i docker0 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53",
        "COMMIT",
        "",
    ])


def one_container(**kw) -> Topology:
    return Topology(
        bridges={"docker0": "172.17.0.1/16"},
        containers=[Container("web", "docker0", "172.17.0.2", [("tcp", 80), ("tcp", 22), ("udp", 53)])],
        host_listen=[("tcp", 22), ("tcp", 8080), ("udp", 5353)],
        **kw,
    )


def landed(results: list[Landing]) -> list[tuple]:
    return [(r.outcome, r.where, r.port) for r in results]


D = "delivered"
X = ("dropped", None, None)
R = ("rejected", None, None)


# --------------------------------------------------------------------------------------------
# the harness itself


def test_empty_ruleset_delivers_to_host_listener():
    with Lab(one_container()) as lab:
        lab.load(EMPTY)
        got = lab.probe_many([
            ("tcp", HOST, 22),
            ("udp", HOST, 5353),
            ("tcp", HOST, 23),  # no listener: RST
            ("udp", HOST, 5354),  # no listener: ICMP port unreachable
        ])
    assert landed(got) == [(D, "host", 22), (D, "host", 5353), R, R]
    assert got[2].detail == "ECONNREFUSED" and got[3].detail == "ECONNREFUSED"


def test_input_drop_is_dropped_and_reject_is_rejected():
    with Lab(one_container()) as lab:
        lab.load(filter_table(
            "-A INPUT -p tcp -m tcp --dport 22 -j DROP",
            "-A INPUT -p udp -m udp --dport 5353 -j DROP",
            "-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with icmp-port-unreachable",
        ))
        dropped_tcp, dropped_udp, rejected = lab.probe_many([("tcp", HOST, 22), ("udp", HOST, 5353), ("tcp", HOST, 8080)])
        lab.load(filter_table(
            "-A INPUT -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset",
            "-A INPUT -p udp -m udp --dport 5353 -j REJECT --reject-with icmp-port-unreachable",
            "-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with icmp-host-prohibited",
        ))
        rst, udp_rej, prohibited = lab.probe_many([("tcp", HOST, 22), ("udp", HOST, 5353), ("tcp", HOST, 8080)])
    assert dropped_tcp == Landing("dropped") and dropped_udp == Landing("dropped")
    assert rejected == Landing("rejected") and rejected.detail == "ECONNREFUSED"
    assert rst == Landing("rejected") and udp_rej == Landing("rejected")
    assert prohibited == Landing("rejected") and prohibited.detail == "EHOSTUNREACH"


def test_load_replaces_everything_from_the_previous_load():
    with Lab(one_container()) as lab:
        lab.load("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n")
        assert lab.probe("tcp", HOST, 22).outcome == "dropped"
        lab.load(EMPTY)  # no *raw in this dump: the raw DROP must not survive
        assert lab.probe("tcp", HOST, 22) == Landing(D, "host", 22)
        assert "-A PREROUTING" not in lab.save()


def test_load_raises_with_restore_stderr():
    with Lab(one_container()) as lab:
        with pytest.raises(LabError, match="iptables-restore"):
            lab.load("*filter\n-A NOSUCHCHAIN -j ACCEPT\nCOMMIT\n")


def test_docker_style_dnat_lands_in_container_at_container_port():
    with Lab(one_container()) as lab:
        lab.load(docker_like())
        got = lab.probe_many([
            ("tcp", HOST, 8080),  # published 8080 -> web:80 (the host's own :8080 listener is bypassed)
            ("udp", HOST, 5353),  # published 5353/udp -> web:53
            ("tcp", "172.17.0.1", 8080),  # addrtype LOCAL: the bridge gateway address publishes too
            ("tcp", HOST, 22),  # not published: the host's own sshd
        ])
    assert landed(got) == [(D, "web", 80), (D, "web", 53), (D, "web", 80), (D, "host", 22)]


def test_direct_container_access_follows_forward_chain():
    with Lab(one_container()) as lab:
        lab.load(filter_table(forward="ACCEPT"))
        open_fwd = lab.probe_many([("tcp", "172.17.0.2", 22), ("udp", "172.17.0.2", 53), ("tcp", "172.17.0.2", 81)])
        lab.load(docker_like(forward_policy="DROP"))
        docker = lab.probe_many([("tcp", "172.17.0.2", 80), ("tcp", "172.17.0.2", 22)])
    # FORWARD ACCEPT: every container port is reachable by routing; a closed one answers RST
    assert landed(open_fwd) == [(D, "web", 22), (D, "web", 53), R]
    # Docker <=27 with FORWARD DROP: the per-port ACCEPT matches the container address and port
    # without checking that DNAT happened, so the published container port is reachable directly
    assert landed(docker) == [(D, "web", 80), X]


def test_probe_origins_and_sources():
    topo = one_container(outside_extra=["198.51.100.77/24", "203.0.113.9/24"], second_uplink=("eth1", "192.0.2.1/24", "192.0.2.2/24"))
    with Lab(topo) as lab:
        lab.load(filter_table(
            "-A INPUT -s 198.51.100.77/32 -j DROP",
            "-A INPUT -i eth1 -p tcp -m tcp --dport 8080 -j DROP",
            "-A FORWARD -i docker0 -o docker0 -j ACCEPT",
        ))
        got = lab.probe_many([
            dict(proto="tcp", dst=HOST, dport=22, src="198.51.100.77"),
            dict(proto="tcp", dst=HOST, dport=22, src="203.0.113.9"),  # off-link source: host routes it back
            dict(proto="tcp", dst="192.0.2.1", dport=22, via="eth1"),
            dict(proto="tcp", dst="192.0.2.1", dport=8080, via="eth1"),
            dict(proto="tcp", dst=HOST, dport=8080, via="eth1"),  # enters on eth1, addressed to eth0's address
            dict(proto="tcp", dst="172.17.0.1", dport=22, via="web"),  # from a container to the host
        ])
        with pytest.raises(ValueError):
            lab.probe("tcp", HOST, 22, src="198.51.100.99")
        with pytest.raises(ValueError):
            lab.probe("tcp", HOST, 22, via="nosuch")
    assert landed(got) == [X, (D, "host", 22), (D, "host", 22), X, X, (D, "host", 22)]


def test_namespaces_are_removed_even_on_error():
    lab = Lab(one_container())
    with pytest.raises(RuntimeError):
        with lab:
            names = list(lab.ns.values())
            assert names and all(n.startswith(lab.id) for n in names)
            raise RuntimeError("boom")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names)


def test_stale_namespaces_of_dead_processes_are_cleaned_up():
    # A prefix of its own, so parallel workers' cleanups cannot race this test.
    prefix = "iptlint-selftest"
    child = subprocess.Popen(["true"])
    child.wait()
    stale = f"{prefix}-{child.pid}-0-host"
    mine = f"{prefix}-{os.getpid()}-999-host"
    try:
        for name in (stale, mine):
            subprocess.run(["ip", "netns", "add", name], check=True)
        removed = cleanup_stale(prefix)
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
        assert stale in removed and stale not in listed
        assert mine in listed  # a live process's namespace is left alone
    finally:
        for name in (stale, mine):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_ipv6_lab():
    topo = Topology(
        bridges={"docker0": "fd00:17::1/64"},
        containers=[Container("web", "docker0", "fd00:17::2", [("tcp", 80), ("udp", 53)])],
        host_listen=[("tcp", 22)],
        family=6,
    )
    v6 = docker_like().replace("172.17.0.2/32", "fd00:17::2/128").replace("172.17.0.0/16", "fd00:17::/64")
    v6 = v6.replace("172.17.0.2:80", "[fd00:17::2]:80").replace("172.17.0.2:53", "[fd00:17::2]:53")
    with Lab(topo) as lab:
        assert lab.topology.host_address == "2001:db8::1/64"
        lab.load(v6)
        got = lab.probe_many([
            ("tcp", "2001:db8::1", 22),
            ("tcp", "2001:db8::1", 8080),
            ("udp", "2001:db8::1", 5353),
            ("tcp", "fd00:17::2", 80),
            ("tcp", "fd00:17::2", 22),
        ])
        assert "DNAT --to-destination [fd00:17::2]:80" in lab.save()
    assert landed(got) == [(D, "host", 22), (D, "web", 80), (D, "web", 53), (D, "web", 80), X]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_passes_iptables_restore_test(path: Path):
    text = path.read_text()
    family = 6 if text.lstrip().startswith("# Generated by ip6tables-save") else 4
    proc = restore_test(text, family)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------------------------
# kernel behaviour the semantic engine must reproduce


def test_bridged_traffic_crosses_filter_forward():
    """br_netfilter: container-to-container traffic on one bridge is filtered with -i BR -o BR."""
    topo = Topology(
        bridges={"docker0": "172.17.0.1/16"},
        containers=[Container("a", "docker0", "172.17.0.2", [("tcp", 80)]), Container("b", "docker0", "172.17.0.3", [("tcp", 80)])],
    )
    with Lab(topo) as lab:
        if not lab.br_netfilter:
            pytest.skip("br_netfilter is not available in this kernel (bridged traffic bypasses iptables)")
        lab.load(filter_table("-A FORWARD -i docker0 -o docker0 -j DROP"))
        blocked = lab.probe("tcp", "172.17.0.3", 80, via="a")
        lab.load(EMPTY)
        allowed = lab.probe("tcp", "172.17.0.3", 80, via="a")
    assert blocked == Landing("dropped") and allowed == Landing(D, "b", 80)


def test_docker_user_sees_the_translated_destination():
    """DOCKER-USER runs after DNAT: --dport <host port> never matches, --ctorigdstport does."""
    with Lab(one_container()) as lab:
        lab.load(docker_like(user_rules=("-A DOCKER-USER -p tcp -m tcp --dport 8080 -j DROP",)))
        host_port_rule = lab.probe("tcp", HOST, 8080)
        lab.load(docker_like(user_rules=("-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 8080 -j DROP",)))
        orig_tuple_rule = lab.probe("tcp", HOST, 8080)
    assert host_port_rule == Landing(D, "web", 80)
    assert orig_tuple_rule == Landing("dropped")


def test_loopback_destination_from_the_wire():
    """127.0.0.1 arriving on eth0 is a martian, unless nat PREROUTING DNATs it first."""
    with Lab(one_container()) as lab:
        lab.load(docker_like().replace(
            "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080",
            "-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 8080",
        ))
        got = lab.probe_many([("tcp", "127.0.0.1", 8080), ("tcp", "127.0.0.1", 22)])
    assert landed(got) == [(D, "web", 80), X]


def test_route_localnet_exposes_loopback_services_unless_filtered():
    """kube-proxy sets route_localnet=1: then 127.0.0.1 from the wire reaches host services, which
    is what kubelet's KUBE-FIREWALL rule is for."""
    with Lab(one_container(host_sysctls={"net.ipv4.conf.all.route_localnet": "1"})) as lab:
        lab.load(EMPTY)
        open_ = lab.probe("tcp", "127.0.0.1", 22)
        lab.load(filter_table(
            "-A INPUT -j KUBE-FIREWALL",
            '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections"'
            " -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
            chains=("KUBE-FIREWALL",),
        ))
        guarded = lab.probe("tcp", "127.0.0.1", 22)
    assert open_ == Landing(D, "host", 22) and guarded == Landing("dropped")


# --------------------------------------------------------------------------------------------
# the samples behave as samples/README.md says


def test_sample_docker27_published():
    topo = Topology(
        bridges={"docker0": "172.17.0.1/16", "br-3f9a1c7e52d0": "172.18.0.1/16"},
        containers=[
            Container("web", "br-3f9a1c7e52d0", "172.18.0.2", [("tcp", 80), ("tcp", 22)]),
            Container("postgres", "br-3f9a1c7e52d0", "172.18.0.3", [("tcp", 5432)]),
            Container("adminer", "docker0", "172.17.0.2", [("tcp", 8080)]),
        ],
        host_listen=[("tcp", 22)],
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/docker27-published.rules").read_text())
        got = lab.probe_many([
            ("tcp", HOST, 8080),
            ("tcp", HOST, 5432),
            ("tcp", HOST, 8081),  # loopback-only publish: not on the public address
            ("tcp", "127.0.0.1", 8081),  # ... but a LAN neighbour sending to 127.0.0.1 gets in
            ("tcp", "172.17.0.2", 8080),  # direct routing to a published container port
            ("tcp", "172.18.0.3", 5432),
            ("tcp", "172.18.0.2", 22),  # unpublished container port: FORWARD policy DROP
            ("tcp", HOST, 22),
        ])
    assert landed(got) == [
        (D, "web", 80), (D, "postgres", 5432), R, (D, "adminer", 8080),
        (D, "adminer", 8080), (D, "postgres", 5432), X, (D, "host", 22),
    ]


def test_sample_docker28_loopback():
    topo = Topology(
        bridges={"docker0": "172.17.0.1/16", "br-6c1e0f4b9a27": "172.18.0.1/16"},
        containers=[
            Container("grafana", "br-6c1e0f4b9a27", "172.18.0.2", [("tcp", 3000)]),
            Container("nginx", "br-6c1e0f4b9a27", "172.18.0.3", [("tcp", 443), ("tcp", 80)]),
        ],
        host_listen=[("tcp", 22)],
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/docker28-loopback.rules").read_text())
        got = lab.probe_many([
            ("tcp", HOST, 443),
            ("tcp", "172.18.0.1", 443),
            ("tcp", "127.0.0.1", 3000),  # raw -d 127.0.0.1/32 ! -i lo DROP
            ("tcp", "172.18.0.2", 3000),  # raw per-container DROP
            ("tcp", "172.18.0.3", 443),
            ("tcp", HOST, 22),
        ])
        icc = lab.probe("tcp", "172.18.0.3", 80, via="grafana")
    assert landed(got) == [(D, "nginx", 443), (D, "nginx", 443), X, X, X, (D, "host", 22)]
    assert icc == Landing(D, "nginx", 80)


def test_sample_ufw_docker():
    topo = Topology(
        bridges={"docker0": "172.17.0.1/16"},
        containers=[Container("redis", "docker0", "172.17.0.2", [("tcp", 6379)])],
        host_listen=[("tcp", 22), ("tcp", 8080)],
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/ufw-docker.rules").read_text())
        got = lab.probe_many([("tcp", HOST, 22), ("tcp", HOST, 6379), ("tcp", HOST, 8080), ("tcp", "172.17.0.2", 6379)])
    assert landed(got) == [(D, "host", 22), (D, "redis", 6379), X, (D, "redis", 6379)]


def test_sample_kube_node():
    topo = Topology(
        bridges={"cni0": "10.244.1.1/16"},  # every endpoint on-link, so any endpoint choice answers
        containers=[
            Container("frontend-a", "cni0", "10.244.1.5", [("tcp", 8080)]),
            Container("frontend-b", "cni0", "10.244.2.7", [("tcp", 8080)]),
            Container("dns-a", "cni0", "10.244.0.2", [("udp", 53)]),
            Container("dns-b", "cni0", "10.244.0.3", [("udp", 53)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 10250)],
        host_address="192.168.10.21/24",
        outside_address="192.168.10.50/24",
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/kube-node.rules").read_text())
        got = lab.probe_many([
            ("tcp", "192.168.10.21", 30080),  # NodePort on the node address
            ("tcp", "10.244.1.1", 30080),  # ... and on every other local address
            ("tcp", "127.0.0.1", 30080),  # ... even 127.0.0.1 from the wire (DNAT beats the martian check)
            ("tcp", "10.96.45.12", 80),  # ClusterIP from a neighbour routing the service range via the node
            ("udp", "10.96.0.10", 53),
            ("tcp", "192.168.10.21", 10250),
            ("tcp", "127.0.0.1", 10250),  # not DNAT'd: martian, dropped
        ])
    frontends = {"frontend-a", "frontend-b"}
    for r in got[:4]:
        assert r.outcome == D and r.where in frontends and r.port == 8080, r
    assert got[4].outcome == D and got[4].where in {"dns-a", "dns-b"} and got[4].port == 53
    assert landed(got[5:]) == [(D, "host", 10250), X]


def test_sample_podman_netavark():
    topo = Topology(
        bridges={"podman0": "10.88.0.1/16"},
        containers=[
            Container("web", "podman0", "10.88.0.2", [("tcp", 80)]),
            Container("db", "podman0", "10.88.0.3", [("tcp", 5432)]),
        ],
        host_listen=[("tcp", 22), ("tcp", 9090)],
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/podman-netavark.rules").read_text())
        got = lab.probe_many([("tcp", HOST, 8080), ("tcp", HOST, 22), ("tcp", HOST, 9090), ("tcp", "10.88.0.3", 5432), ("tcp", "10.88.0.2", 80)])
    assert landed(got) == [(D, "web", 80), (D, "host", 22), X, (D, "db", 5432), (D, "web", 80)]


def test_sample_plain_server():
    topo = Topology(
        bridges={},
        containers=[],
        host_listen=[("tcp", 22), ("tcp", 80), ("tcp", 443), ("tcp", 3306)],
        outside_extra=["192.0.2.66/24", "203.0.113.5/24"],
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/plain-server.rules").read_text())
        got = lab.probe_many([
            ("tcp", HOST, 22),  # ssh open to everyone, not only the office range
            dict(proto="tcp", dst=HOST, dport=22, src="203.0.113.5"),
            dict(proto="tcp", dst=HOST, dport=22, src="192.0.2.66"),  # the "blocked" address still gets ssh
            dict(proto="tcp", dst=HOST, dport=443, src="192.0.2.66"),
            ("tcp", HOST, 80),
            ("tcp", HOST, 3306),
        ])
    assert landed(got) == [(D, "host", 22), (D, "host", 22), (D, "host", 22), (D, "host", 443), (D, "host", 80), X]


def test_sample_docker27_ipv6():
    topo = Topology(
        bridges={"br-9d0c4e1a7f35": "fd5e:7a3c:91b2::1/64"},
        containers=[Container("web", "br-9d0c4e1a7f35", "fd5e:7a3c:91b2::2", [("tcp", 80), ("tcp", 6379)])],
        host_listen=[("tcp", 22)],
        family=6,
    )
    with Lab(topo) as lab:
        lab.load((REPO / "samples/docker27-ipv6.rules").read_text())
        got = lab.probe_many([
            ("tcp", "2001:db8::1", 8080),
            ("tcp", "fd5e:7a3c:91b2::1", 8080),
            ("tcp", "fd5e:7a3c:91b2::2", 80),
            ("tcp", "fd5e:7a3c:91b2::2", 6379),
            ("tcp", "2001:db8::1", 22),
        ])
    assert landed(got) == [(D, "web", 80), (D, "web", 80), (D, "web", 80), X, (D, "host", 22)]
