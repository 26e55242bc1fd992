"""Big kube-proxy dumps: the index keeps trace and exposure from growing with the rule count.

A 20k-rule dump (generated, the shape of runtimes.md §4) must be answered in a fraction of
what a linear scan of every rule for every question would need; the bounds are loose so a slow
CI machine passes, but a quadratic walk would not."""

from __future__ import annotations

import time

from ipt_lint.semantics import PacketSpec

from .helpers import engine_of


def kube_dump(services: int, nodeports: int, endpoints: int = 3) -> str:
    nat = [":KUBE-MARK-MASQ - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-POSTROUTING - [0:0]", ":KUBE-SERVICES - [0:0]"]
    rules, svc_rules, np_rules = [], [], []
    k = 0
    for s in range(services + nodeports):
        svc = f"KUBE-SVC-{s:016d}"
        cip = f"10.96.{s // 250}.{s % 250 + 1}"
        nat.append(f":{svc} - [0:0]")
        svc_rules.append(f"-A KUBE-SERVICES -d {cip}/32 -p tcp -m tcp --dport 80 -j {svc}")
        rules.append(f"-A {svc} ! -s 10.244.0.0/16 -d {cip}/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ")
        for e in range(endpoints):
            k += 1
            sep = f"KUBE-SEP-{k:016d}"
            ep = f"10.244.{k // 250}.{k % 250 + 1}"
            nat.append(f":{sep} - [0:0]")
            left = endpoints - e
            stat = f" -m statistic --mode random --probability {1 / left:.11f}" if left > 1 else ""
            rules.append(f"-A {svc}{stat} -j {sep}")
            rules.append(f"-A {sep} -s {ep}/32 -j KUBE-MARK-MASQ")
            rules.append(f"-A {sep} -p tcp -m tcp -j DNAT --to-destination {ep}:8080")
        if s >= services:
            port = 30000 + s - services
            np_rules.append(f"-A KUBE-NODEPORTS -p tcp -m tcp --dport {port} -j KUBE-MARK-MASQ")  # kube <= 1.23 style
            np_rules.append(f"-A KUBE-NODEPORTS -p tcp -m tcp --dport {port} -j {svc}")
    return (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-FORWARD - [0:0]\n"
        "-A FORWARD -j KUBE-FORWARD\n-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT\nCOMMIT\n"
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        + "\n".join(nat)
        + "\n-A PREROUTING -j KUBE-SERVICES\n-A POSTROUTING -j KUBE-POSTROUTING\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
        + "\n".join(np_rules + svc_rules)
        + "\n-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
        + "\n".join(rules)
        + "\nCOMMIT\n"
    )


def test_kube_scale():
    e = engine_of(kube_dump(services=1800, nodeports=200))
    assert sum(1 for _ in e.ruleset.rules()) > 20_000
    t0 = time.perf_counter()
    r = e.trace(PacketSpec("eth0", "203.0.113.9", "192.0.2.10", "tcp", 40000, 30007))
    t_trace = time.perf_counter() - t0
    assert r.verdict == "ACCEPT" and len(r.outcomes) == 3
    t0 = time.perf_counter()
    exposures = [x for x in e.exposures() if x.kind == "published"]
    t_exposure = time.perf_counter() - t0
    assert len(exposures) == 200 * 3
    assert {x.port for x in exposures} == set(range(30000, 30200))
    assert t_trace < 2.0, t_trace
    assert t_exposure < 10.0, t_exposure
