"""What the engine infers about the machine from the runtimes' rules, and what the user states."""

from __future__ import annotations

import pytest

from ipt_lint.semantics import parse_route_spec

from .helpers import engine_of, filter_table


def routes(e):
    return {(r.network, r.iface) for r in e.topology.routes}


def test_docker_masquerade_and_accept_rules_place_subnets_and_containers():
    text = filter_table(
        "-A FORWARD -o br-1 -j DOCKER",
        "-A DOCKER -d 172.20.0.5/32 ! -i br-1 -o br-1 -p tcp -m tcp --dport 80 -j ACCEPT",
        chains=("DOCKER",),
    ) + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n"
        "-A POSTROUTING -s 172.20.0.0/16 ! -o br-1 -j MASQUERADE\nCOMMIT\n"
    )
    e = engine_of(text)
    assert {("172.20.0.0/16", "br-1"), ("172.20.0.5/32", "br-1")} <= routes(e)
    assert "br-1" in e.topology.bridges
    assert e.topology.is_local(int.from_bytes(bytes([172, 20, 0, 1]), "big"))  # the gateway
    assert any("gateway" in a for a in e.assumptions())


def test_kube_pod_cidr_is_routed_to_an_unnamed_interface():
    text = filter_table() + (
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        ":KUBE-SERVICES - [0:0]\n:KUBE-SVC-AAAA - [0:0]\n"
        "-A PREROUTING -j KUBE-SERVICES\n"
        "-A KUBE-SVC-AAAA ! -s 10.244.0.0/16 -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n"
    )
    assert ("10.244.0.0/16", None) in routes(engine_of(text))


def test_stated_routes_and_local_addresses_win():
    e = engine_of(filter_table(), routes=("10.9.0.0/16=wg0",), local=("192.0.2.7",))
    assert ("10.9.0.0/16", "wg0") in routes(e)
    assert e.topology.is_local(int.from_bytes(bytes([192, 0, 2, 7]), "big"))
    assert "wg0" in e.space.alphabet.names


@pytest.mark.parametrize("bad", ["10.0.0.0/8", "=eth0", "10.0.0.0/8=", "nonsense=eth0", "10.0.0.0/8=eth 0"])
def test_bad_route_specs(bad):
    with pytest.raises(ValueError):
        parse_route_spec(bad, "ipv4")
