"""exposure() held to the kernel lab's scenario table (tests/kernel/scenarios/table.py).

Each probe there states what the real kernel does with a new connection (tests/kernel checks
that against iptables-restore and real packets). Here, without root: every probe from an uplink
that the kernel delivers must be listed by exposure() (for that source and interface), and no
probe the kernel drops or rejects may be claimed by a *certain* exposure.
"""

from __future__ import annotations

import ipaddress

import pytest

from ipt_lint.model import build_model
from ipt_lint.parse import parse_text
from ipt_lint.semantics import engine_for
from ipt_lint.semantics.space import DST

from ..kernel.scenario_support import container_address, probe_source
from ..kernel.scenarios.table import SCENARIOS


def _uplinks(topo) -> set[str]:
    names = {topo.uplink}
    if topo.second_uplink:
        names.add(topo.second_uplink[0])
    return names


def _in_sources(summary, addr: str) -> bool:
    a = ipaddress.ip_address(addr)

    def inside(cidrs):
        return any(c != "<host>" and a in ipaddress.ip_network(c) for c in cidrs)

    if summary.any:
        return not inside(summary.exclude)
    return inside(summary.include)


def _in_ifaces(summary, name: str, alphabet) -> bool:
    if name in summary.named:
        return True
    if name in alphabet.names:
        return False  # named in the dump but not in the set
    return summary.any_other or any(name.startswith(p) for p in summary.prefixes)


def _at(hosts, dst: str, engine, dump_text: str) -> bool:
    """Is host address `dst` among `hosts`? `<host>` stands for the host's addresses that neither
    the dump nor --local names (and that no route sends elsewhere)."""
    a = ipaddress.ip_address(dst)
    for h in hosts:
        if h == "<host>":
            if (
                not engine.topology.is_local(int(a))
                and engine.topology.route_for(int(a)) is None
                and dst not in dump_text
            ):
                return True
        elif a in ipaddress.ip_network(h):
            return True
    return False


def _matches(x, probe, where_addr, port, engine, src, via, dump_text) -> bool:
    if x.proto != probe.proto or not (x.port <= probe.dport <= x.port_end):
        return False
    if x.kind == "routed":
        return any(
            ipaddress.ip_address(probe.dst) in ipaddress.ip_network(d) for d in x.destination.split(",")
        ) and any(
            _in_sources(acc.sources, src) and _in_ifaces(acc.interfaces, via, engine.space.alphabet) for acc in x.access
        )
    if not any(
        _in_sources(acc.sources, src)
        and _in_ifaces(acc.interfaces, via, engine.space.alphabet)
        and _at(acc.host_addresses, probe.dst, engine, dump_text)
        for acc in x.access
    ):
        return False
    if where_addr is None:  # delivered to the host itself
        return x.kind == "host"
    return x.kind == "published" and x.destination in (f"{where_addr}:{port}", f"[{where_addr}]:{port}")


CASES = [s for s in SCENARIOS if any(p.via in _uplinks(s.topology) for p in s.probes)]


@pytest.mark.parametrize("scn", CASES, ids=[s.id for s in CASES])
def test_exposure_agrees_with_the_scenario_table(scn):
    rs, _ = build_model(parse_text(scn.text, str(scn.path)))
    engine = engine_for(rs, local=tuple(scn.local), routes=tuple(scn.routes))
    exposures = engine.exposures()
    domain = engine.outside()
    problems = []
    for p in scn.probes:
        if p.via not in _uplinks(scn.topology) or p.proto not in ("tcp", "udp"):
            continue
        dst = int(ipaddress.ip_address(p.dst))
        if not domain.contains({DST: dst}) and not (
            domain.contains({DST: engine.space.host}) and p.dst not in scn.text
        ):
            continue  # not a destination exposure() considers (a ClusterIP, say): trace covers it
        src = probe_source(scn.topology, p)
        delivered = [e for e in p.expectations if e.outcome == "delivered"]
        for e in delivered:
            where = None if e.where == "host" else container_address(scn.topology, e.where)
            if not any(_matches(x, p, where, e.port, engine, src, p.via, scn.text) for x in exposures):
                problems.append(f"missing: {p.describe()} -> {e}")
        if not delivered:
            for x in exposures:
                if x.certain and x.proto == p.proto and x.port <= p.dport <= x.port_end:
                    wheres = [None] + [c.address.split("/")[0] for c in scn.topology.containers]
                    if any(_matches(x, p, w, x.witness.final.dport, engine, src, p.via, scn.text) for w in wheres):
                        problems.append(f"claimed but the kernel drops it: {p.describe()} by {x.kind} {x.destination}")
    assert not problems, "\n".join(problems)
