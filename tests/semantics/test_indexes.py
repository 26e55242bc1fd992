"""The engine's shortcuts give exactly the answers of the plain computations they replace.

Each index or counting shortcut is compared with the straightforward version on random input:
the route index with a scan of every route, the CIDR count with the CIDRs written out, the union
of many interval sets with folding iv_or, the chain index's candidates with "every rule that
meets the flow", and the destination test of routed-exposure goals with ipaddress.overlaps.
"""

from __future__ import annotations

import ipaddress
import random

from ipt_lint.checks.exposure import _nets_meeting
from ipt_lint.semantics.exposure import _cidr_count, cidrs
from ipt_lint.semantics.intervals import iv_normalise, iv_or, iv_union
from ipt_lint.semantics.topology import RouteIndex
from ipt_lint.semantics.packetset import box_meets
from ipt_lint.semantics.walker import _dst_and_ports

from .helpers import engine_of


def test_route_index_finds_exactly_the_routes_that_meet():
    rng = random.Random(7)
    for _ in range(200):
        spans = []
        for _ in range(rng.randrange(0, 40)):
            plen = rng.choice([8, 16, 24, 30, 32])
            lo = rng.getrandbits(32) >> (32 - plen) << (32 - plen)
            spans.append((lo, lo + (1 << (32 - plen)) - 1))
        index = RouteIndex(spans)
        dst = iv_normalise((a, a + rng.choice([0, 0, 255, 1 << 20])) for a in (rng.getrandbits(32) for _ in range(3)))
        expected = [k for k, (lo, hi) in enumerate(spans) if any(lo <= q_hi and q_lo <= hi for q_lo, q_hi in dst)]
        assert index.meeting(dst) == expected


def test_cidr_count_is_the_number_of_cidrs_written():
    rng = random.Random(11)
    for family, bits in (("ipv4", 32), ("ipv6", 128)):
        host = 1 << bits
        for _ in range(2000):
            lo = rng.randrange(host)
            hi = min(host + 3, lo + rng.choice([0, 1, 5, 255, 1 << rng.randrange(bits)]))
            assert _cidr_count(((lo, hi),), host) == len(cidrs(((lo, hi),), family, host))


def test_union_of_many_is_the_fold_of_iv_or():
    rng = random.Random(5)
    for _ in range(300):
        sets = [iv_normalise((a, a + rng.randrange(50)) for a in (rng.randrange(1000) for _ in range(rng.randrange(4))))
                for _ in range(rng.randrange(6))]
        folded = ()
        for s in sets:
            folded = iv_or(folded, s)
        assert iv_union(sets) == folded


def test_nets_meeting_agrees_with_ipaddress_overlaps():
    rng = random.Random(3)

    def net():
        if rng.random() < 0.2:
            return str(ipaddress.IPv6Network((rng.getrandbits(128), rng.choice([64, 120, 128])), strict=False))
        return str(ipaddress.IPv4Network((rng.getrandbits(32), rng.choice([8, 16, 24, 30, 32])), strict=False))

    for _ in range(2000):
        nets = [net() for _ in range(rng.randrange(6))]
        dest = ",".join(net() for _ in range(rng.randrange(1, 3)))
        expected = any(
            ipaddress.ip_network(d, strict=False).overlaps(ipaddress.ip_network(n, strict=False))
            for d in dest.split(",") for n in nets
            if ipaddress.ip_network(d, strict=False).version == ipaddress.ip_network(n, strict=False).version
        )
        assert _nets_meeting(nets)(dest) == expected, (nets, dest)


DOCKER_USER_FIXES = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
{rules}
-A FORWARD -d 10.0.0.0/8 -j ACCEPT
COMMIT
"""


def test_chain_candidates_hold_every_rule_a_flow_can_meet():
    """Rules keyed by destination, by port, by conntrack original port and DNAT-only: for random
    flows the index's candidates contain every rule whose match meets the flow."""
    rng = random.Random(13)
    rules = []
    for i in range(60):
        kind = i % 4
        port = 1000 + rng.randrange(40)
        if kind == 0:
            rules.append(f"-A FORWARD -d 10.0.{rng.randrange(4)}.{rng.randrange(8)}/32 -p tcp -m tcp --dport {port} -j DROP")
        elif kind == 1:
            rules.append(f"-A FORWARD -p udp -m udp --dport {port} -j DROP")
        elif kind == 2:
            rules.append(f"-A FORWARD -p tcp -m conntrack --ctstate DNAT --ctorigdstport {port} --ctdir ORIGINAL -j DROP")
        else:
            rules.append(f"-A FORWARD -p tcp -m conntrack --ctorigdstport {port} -j DROP")
    eng = engine_of(DOCKER_USER_FIXES.format(rules="\n".join(rules)))
    cc = eng.compiled_chain("filter", "FORWARD")
    assert cc.indexed
    for _ in range(300):
        fields = {"proto": rng.choice(["tcp", "udp"]), "dport": 1000 + rng.randrange(45)}
        if rng.random() < 0.7:
            fields["dst"] = f"10.0.{rng.randrange(4)}.{rng.randrange(8)}"
        if rng.random() < 0.5:
            fields["orig_dport"] = 1000 + rng.randrange(45)
        if rng.random() < 0.5:
            fields["ct_dnat"] = rng.choice([1, 2, 3])
        boxes = list(eng.packets(**fields).boxes)
        start = rng.randrange(len(cc.chain.rules))
        got = set(cc.candidates_from(start, lambda: _dst_and_ports(boxes)))
        for k in range(start, len(cc.chain.rules)):
            if any(box_meets(b, c) for b in boxes for c in cc.match(k).over):
                assert k in got, (fields, cc.chain.rules[k].text)
