"""Everything a packet from outside can reach, from the accepted journeys of `Engine.outside()`.

An accepted journey is
* "published" when a DNAT (or REDIRECT) rewrote it: a port of this host leads to a container,
  a pod or another local port;
* "host" when it was delivered locally without NAT: a service on the host itself;
* "routed" when it was forwarded, unchanged, to a container network: reachable by anyone who
  routes that network through this host.

Each becomes one Exposure per protocol and contiguous port range, with the sources and
interfaces that reach it (and which combinations of both), the runtime that made it, whether it
is certain, a witness packet and the rule lines on its path (the DNAT line first).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

from ..model.values import PROTOCOL_NAMES
from .intervals import iv_and, iv_normalise, iv_sub, iv_union
from .packetset import PacketSet, merge_boxes
from .results import Access, Exposure, SourceSummary, Step, addr_text, endpoint_text
from .space import (
    DPORT,
    DST,
    IN,
    ORIG_DPORT,
    ORIG_DST,
    ORIG_SPORT,
    ORIG_SRC,
    PORT_PROTOCOLS,
    PROTO,
    SPORT,
    SRC,
)
from .witness import make_witness


def cidrs(values, family: str, host: int) -> list[str]:
    out = []
    for lo, hi in values:
        if lo >= host:
            out.append("<host>")
            continue
        hi = min(hi, host - 1)
        ctor = ipaddress.IPv4Address if family == "ipv4" else ipaddress.IPv6Address
        out += [str(n) for n in ipaddress.summarize_address_range(ctor(lo), ctor(hi))]
    return out


@functools.lru_cache(maxsize=4096)  # thousands of exposures name the same few host addresses
def addresses(values: tuple, family: str, host: int) -> tuple[str, ...]:
    out = []
    for lo, hi in values:
        if lo == hi or lo >= host:
            out.append(addr_text(lo, family))
        else:
            out += cidrs(((lo, hi),), family, host)
    return tuple(out)


def source_summary(values, everything, family: str, host: int) -> SourceSummary:
    missing = iv_sub(everything, values)
    if not missing:
        return SourceSummary(True, (), ())
    # say it the shorter way; count the networks before writing any of them out
    if _cidr_count(missing, host) < _cidr_count(values, host):
        return SourceSummary(True, (), tuple(cidrs(missing, family, host)))
    return SourceSummary(False, tuple(cidrs(values, family, host)), ())


def _cidr_count(values, host: int) -> int:
    """How many entries cidrs() would write for `values` (aligned blocks, greedy)."""
    n = 0
    for lo, hi in values:
        if lo >= host:
            n += 1
            continue
        hi = min(hi, host - 1)
        while lo <= hi:
            size = (lo & -lo) if lo else 1 << 128
            while size > hi - lo + 1:
                size >>= 1
            lo += size
            n += 1
    return n


def _dnat_step(steps) -> Step | None:
    for s in steps:
        if s.kind == "rule" and (s.effect.startswith("DNAT") or s.effect.startswith("REDIRECT")):
            return s
    return None


def _deciding_step(steps) -> Step | None:
    """The last rule or policy that accepted: it decided."""
    for s in reversed(steps):
        if s.kind in ("rule", "policy") and (s.effect == "ACCEPT" or s.effect == "policy ACCEPT"):
            return s
    for s in reversed(steps):
        if s.kind in ("rule", "policy"):
            return s
    return None


def _interval_split(boxes, field):
    """Group boxes by the contiguous intervals of one field: [(lo, hi, [boxes restricted])]."""
    edges = []
    for b in boxes:
        edges.extend(b[field])
    merged = iv_normalise(edges)
    out = []
    for lo, hi in merged:
        part = []
        for b in boxes:
            v = iv_and(b[field], ((lo, hi),))
            if v:
                part.append(b[:field] + (v,) + b[field + 1 :])
        out.append((lo, hi, part))
    return out


@dataclass(frozen=True)
class ExposureReport:
    exposures: list[Exposure]
    assumptions: tuple[str, ...]
    # every journey of the outside packets (reach() of engine.outside()), for checks that ask
    # more of them than the exposures tell; not part of the JSON
    outcomes: tuple = field(default=(), repr=False, compare=False)

    def to_json(self) -> dict:
        return {"exposures": [e.to_json() for e in self.exposures], "assumptions": list(self.assumptions)}


SOURCES_NOTE = "outside sources exclude this host's own addresses, loopback, multicast and the networks behind its container bridges"


def compute_exposures(engine, interfaces=()) -> ExposureReport:
    start = engine.outside(interfaces)
    all_outcomes, assumptions = engine.reach_with_assumptions(start)
    groups = _group(engine, [o for o in all_outcomes if o.verdict == "ACCEPT"])
    ctx = (start.values(SRC), start.values(IN), _UndecidedIndex(engine.space, all_outcomes))
    result = [_exposure(engine, key, entry, ctx) for key, entry in groups.items()]
    kinds = {"published": 0, "host": 1, "routed": 2}
    result.sort(key=lambda e: (kinds[e.kind], e.proto, e.port or 0, e.destination))
    notes = [SOURCES_NOTE] + list(assumptions) + list(engine.topology.notes)
    return ExposureReport(result, tuple(dict.fromkeys(notes)), tuple(all_outcomes))


def _kind(outcome) -> tuple[str, Step | None]:
    dnat = _dnat_step(outcome.steps)
    if dnat is not None:
        return ("published" if dnat.effect.startswith("DNAT") else "host"), dnat
    return ("host" if outcome.delivery == "local" else "routed"), None


def _group(engine, accepted) -> dict[tuple, dict]:
    """Accepted journeys by (kind, protocol, port range, destination), in first-seen order."""
    found: dict[tuple, dict] = {}
    routes = _route_iv(engine)
    for o in accepted:
        kind, dnat = _kind(o)
        boxes = list(o.packets.boxes)
        if kind == "routed":  # only forwarding into container networks is an exposure
            boxes = [b[:DST] + (d,) + b[DST + 1 :] for b in boxes if (d := iv_and(b[DST], routes))]
            if not boxes:
                continue
            runtime = _route_runtime(engine, boxes[0])
        else:
            decide = dnat or _deciding_step(o.steps)
            rule = engine.rule_at(decide.table, decide.chain, decide.line) if decide and decide.line else None
            runtime = engine.recognition.producer(rule) if rule is not None else "none"
        port_field = ORIG_DPORT if kind == "published" else DPORT  # the port as the outsider sends it
        for proto_lo, proto_hi, pboxes in _interval_split(boxes, PROTO):
            for proto in range(proto_lo, proto_hi + 1):
                if proto not in PORT_PROTOCOLS:
                    continue
                only = [b[:PROTO] + (((proto, proto),),) + b[PROTO + 1 :] for b in pboxes]
                for plo, phi, qboxes in _port_groups(only, port_field):
                    key = (
                        kind,
                        proto,
                        plo,
                        phi,
                        _destination(kind, qboxes, engine.space.family, engine.space.host, engine),
                    )
                    entry = found.setdefault(key, {"boxes": [], "runs": [], "runtime": runtime})
                    entry["boxes"].extend(qboxes)
                    entry["runs"].append((o, qboxes))
    return found


def _exposure(engine, key, entry, ctx) -> Exposure:
    kind, proto, plo, phi, dest = key
    everything_src, uplink, undecided = ctx
    space = engine.space
    fam, host = space.family, space.host
    boxes = merge_boxes(entry["boxes"])
    srcs, ats, in_mask, triples = [], [], 0, []
    for b in boxes:
        orig = b[ORIG_SRC] if b[ORIG_SRC] is not None else b[SRC]  # before any SNAT
        at = b[ORIG_DST] if b[ORIG_DST] is not None else b[DST]  # before any DNAT
        srcs.append(orig)
        ats.append(at)
        in_mask |= b[IN]
        triples.append((orig, b[IN], at if kind != "routed" else ()))
    src, at_all = iv_union(srcs), iv_union(ats)
    access = tuple(
        Access(source_summary(s, everything_src, fam, host), space.alphabet.summary(m, uplink), addresses(d, fam, host))
        for s, m, d in _merge_access(triples)
    )
    runs = entry["runs"]
    certain_runs = [(o, qb) for o, qb in runs if o.certain] or _certain_anyway(space, runs, undecided)
    # the witness comes from the journey open to the most sources (a certain one if any)
    best_o, best_boxes = max(certain_runs or runs, key=lambda run: _reach_size(run[1]))
    dnat = _dnat_step(best_o.steps)
    uncertain = ()
    if not certain_runs:
        seen: dict = {}
        for o, _ in runs:
            for u in o.uncertain_rules:
                seen.setdefault((u.line, u.reason), u)
        uncertain = tuple(seen.values())
    return Exposure(
        kind=kind,
        proto=PROTOCOL_NAMES.get(proto, str(proto)),
        port=plo,
        port_end=phi,
        destination=dest,
        host_addresses=addresses(at_all, fam, host) if kind != "routed" else (),
        sources=source_summary(src, everything_src, fam, host),
        interfaces=space.alphabet.summary(in_mask, uplink),
        access=access,
        runtime=entry["runtime"],
        certain=bool(certain_runs),
        witness_maker=lambda: make_witness(space, best_boxes[0], best_o.steps),
        path=_path(best_o.steps, dnat),
        uncertain_rules=uncertain,
        dnat_line=dnat.line if dnat else None,
    )


def _identity(space, boxes) -> PacketSet:
    """The packets as they arrived (original tuple, protocol, interface), everything else any:
    what tells one outside packet from another across the engine's branches."""
    out = []
    for b in boxes:
        lst = list(space.full)
        for cur, orig in ((SRC, ORIG_SRC), (DST, ORIG_DST), (SPORT, ORIG_SPORT), (DPORT, ORIG_DPORT)):
            lst[cur] = b[orig] if b[orig] is not None else b[cur]
        lst[PROTO] = b[PROTO]
        lst[IN] = b[IN]
        out.append(tuple(lst))
    return PacketSet(space, merge_boxes(out))


class _UndecidedIndex:
    """The journeys that crossed undecided matches, with their packets as they arrived, indexed
    by the destination port the outsider used, so that asking "could these packets have gone
    elsewhere?" for one exposure looks only at journeys for the same ports (kube-proxy dumps have
    thousands of such journeys, one per session-affinity service)."""

    MAX_NARROW = 64  # a journey open to more ports than this is checked for every exposure

    def __init__(self, space, outcomes):
        self.by_port: dict[int, list] = {}
        self.wide: list = []
        for o in outcomes:
            if not o.uncertain_rules:
                continue
            ports = _ports_of(_identity(space, o.packets.boxes).boxes, self.MAX_NARROW)
            if ports is None:
                self.wide.append(o)
            else:
                for p in ports:
                    self.by_port.setdefault(p, []).append(o)

    def around(self, space, boxes) -> list:
        ports = _ports_of(_identity(space, boxes).boxes, self.MAX_NARROW)
        if ports is None:
            found = [o for group in self.by_port.values() for o in group] + self.wide
        else:
            found = [o for p in ports for o in self.by_port.get(p, ())] + self.wide
        return list({id(o): o for o in found}.values())


def _ports_of(boxes, limit: int) -> set[int] | None:
    ports: set[int] = set()
    for b in boxes:
        iv = b[DPORT]
        if iv is None or sum(hi - lo + 1 for lo, hi in iv) > limit:
            return None
        for lo, hi in iv:
            ports.update(range(lo, hi + 1))
        if len(ports) > limit:
            return None
    return ports


def _certain_anyway(space, runs, undecided: "_UndecidedIndex") -> list:
    """Runs of an exposure that all went through undecided matches can still be certain: when
    every other branch the same packets could take (whatever the undecided rules do) ends at
    this exposure too. Returns the runs' parts for which that holds."""
    candidates = [(o, qb) for o, qb in runs if not any(u.kind == "model" for u in o.uncertain_rules)]
    if not candidates:
        return []
    # One union at the end: `elsewhere | ...` in the loop re-merged everything each time, which
    # is quadratic in the number of undecided journeys (kube-proxy's session-affinity rules make
    # thousands of them).
    own: dict[int, list] = {}
    for ro, qb in runs:
        own.setdefault(id(ro), []).extend(qb)
    pieces: list = []
    for o in undecided.around(space, [b for _, qb in candidates for b in qb]):
        boxes = o.packets
        if id(o) in own:
            boxes = boxes - PacketSet(space, merge_boxes(own[id(o)]))
        pieces.extend(_identity(space, boxes.boxes).boxes)
    elsewhere = PacketSet(space, merge_boxes(pieces))
    out = []
    for o, qb in candidates:
        sure = _identity(space, qb) - elsewhere
        if not sure.is_empty():
            keep = [b for b in qb if not (_identity(space, [b]) - elsewhere).is_empty()]
            out.append((o, keep or qb))
    return out


def _reach_size(boxes) -> int:
    n = 0
    for b in boxes:
        v = b[ORIG_SRC] if b[ORIG_SRC] is not None else b[SRC]
        n += sum(hi - lo + 1 for lo, hi in v)
    return n


def _merge_access(triples) -> list[tuple]:
    """(sources, interfaces, host addresses) combinations, merged where two of the three agree:
    the union of boxes that differ in one factor is still one box, so nothing is lost."""
    unions = (iv_union, _mask_union, iv_union)
    items = list(dict.fromkeys(triples))
    changed = True
    while changed and len(items) > 1:
        changed = False
        for k in range(3):
            groups: dict = {}
            for t in items:
                groups.setdefault(t[:k] + t[k + 1 :], []).append(t[k])
            if len(groups) < len(items):
                items = [key[:k] + (unions[k](vs),) + key[k:] for key, vs in groups.items()]
                changed = True
    return items


def _mask_union(masks) -> int:
    out = 0
    for m in masks:
        out |= m
    return out


def _port_groups(boxes, field):
    """Contiguous port ranges of `field`; a tied original port is the current one."""
    if field == ORIG_DPORT:
        boxes = [_untie(b) for b in boxes]
    return _interval_split(boxes, field)


def _untie(b):
    if b[ORIG_DPORT] is None:
        return b[:ORIG_DPORT] + (b[DPORT],) + b[ORIG_DPORT + 1 :]
    return b


def _destination(kind: str, boxes, family: str, host: int, engine) -> str:
    dst = iv_union([b[DST] for b in boxes])
    dport = iv_union([b[DPORT] for b in boxes])
    if kind == "routed":
        return ",".join(_routed_names(engine, dst))
    addrs = addresses(dst, family, host)
    if kind == "host":
        return "<host>" if "<host>" in addrs else ",".join(addrs)
    ports = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in dport)
    if len(addrs) == 1 and ports:
        a = addrs[0]
        if family == "ipv6" and a != "<host>":
            return f"[{a}]:{ports}"
        return f"{a}:{ports}"
    return ",".join(addrs) + (f":{ports}" if ports else "")


def _routed_names(engine, dst) -> list[str]:
    """A routed destination by the networks it fills: `10.88.0.0/16`, not 16 CIDRs around the
    gateway (local addresses inside a network are not routed there anyway)."""
    topo = engine.topology
    local = topo.local_intervals()
    out = []
    rest = dst
    for k in engine.router.route_index.meeting(dst):
        r = topo.routes[k]
        part = iv_and(rest, ((r.lo, r.hi),))
        if not part:
            continue
        if not iv_sub(iv_sub(((r.lo, r.hi),), local), part):
            out.append(r.network if r.lo != r.hi else addr_text(r.lo, engine.space.family))
        else:
            out += cidrs(part, engine.space.family, engine.space.host)
        rest = iv_sub(rest, part)
    if rest:
        out += cidrs(rest, engine.space.family, engine.space.host)
    return out


def _path(steps, dnat: Step | None) -> tuple[Step, ...]:
    rules = [s for s in steps if s.kind in ("rule", "policy", "route")]
    if dnat is None:
        return tuple(rules)
    return (dnat,) + tuple(s for s in rules if s != dnat)


def _route_iv(engine):
    return iv_normalise((r.lo, r.hi) for r in engine.topology.routes)


def _route_runtime(engine, box) -> str:
    for lo, _ in box[DST]:
        r = engine.topology.route_for(lo)
        if r is not None:
            return r.runtime if r.runtime != "user" else "none"
    return "none"


__all__ = ["compute_exposures", "endpoint_text"]
