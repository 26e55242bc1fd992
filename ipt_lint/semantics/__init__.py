"""Stage 3, semantics: what the kernel does with packets, for whole sets of packets at once.

Build an engine
---------------
The ruleset may be loaded lazily (ipt_lint.model.load_lazily, what `trace` does): the engine reads
whole-dump facts through ruleset.rules_with(Needles(...)), so only the chains a question needs and
the chains a walk enters are built. Everything below answers the same either way.

    from ipt_lint.semantics import engine_for, build_engine
    engine = engine_for(ruleset, local=("192.0.2.10",), routes=("10.8.0.0/24=wg0",), ipsets=None,
                        interfaces=("eth0",))           # raises ValueError on a bad address/route
    engine = build_engine(ruleset, lint_options)     # from LintOptions: local_addresses, routes,
                                                     # ipset_file, external_interfaces
    Engine(ruleset, topology=None, *, recognition=None, ipsets=None, interfaces=())

    engine.topology       Topology: routes (network -> bridge or unnamed interface), local
                          addresses, bridges, arrivals (kube external/LB IPs); every fact with the
                          sentence that justifies it (engine.assumptions())
    engine.recognition    ipt_lint.platforms.Recognition: producer of each rule, Docker generation
    engine.space          Space: the packet fields and their domains (space.py, FIELD_NAMES)

Packet sets (packetset.py)
--------------------------
    PacketSet: a union of boxes over src, dst, proto, sport, dport, in/out interface, conntrack
    state / DNAT-SNAT status / direction / original tuple, mark, connmark, ICMP type+code, TCP
    flags, fragment, physdev in/out, bridged. Exact operations: a & b, a | b, a - b,
    a.complement(), a.is_empty(), a.issubset(b), a.same_as(b), a.intersects(b), a.values(field),
    a.contains({field: value}), a.restrict(constraint), a.without(constraint), a.normalised().
    engine.packets(proto="tcp", dport=22, in_iface="eth0") -> PacketSet   (fields by name)
    engine.outside() -> PacketSet       new connections from outside (what exposure starts from)

Rules as sets
-------------
    engine.match_set(rule) -> PacketSet | Uncertain(rule, over, reasons)
    engine.rule_match(rule) -> RuleMatch(over, exact, uncertain, random, uses_local)
    engine.coverage(rule) -> Coverage(covered, certain, by, remaining, note)
        are all packets `rule` could match taken by the rules before it in its chain?
    engine.compiled_chain(table, chain) -> CompiledChain: .match(i), .effect(i), .candidates(dst, start, ports)

Journeys
--------
    engine.trace(PacketSpec(in_iface, src, dst, proto, sport=None, dport=None, state="NEW"))
        -> TraceResult: .verdict .delivery .final_destination .out_interface .certain
           .main (the first Outcome) .outcomes (every possible journey: statistic branches,
           both sides of undecided matches) .assumptions .uncertain_rules .to_json()
    engine.reach(packet_set, hook="PREROUTING" | "OUTPUT") -> list[Outcome]
        Outcome(verdict, delivery, packets, steps, uncertain_rules, random, out_interfaces, witness
        [worked out on first use])
    engine.exposures(interfaces=()) -> list[Exposure]; engine.exposure_report() adds assumptions
        Exposure(kind "published" | "host" | "routed", proto, port, port_end, destination,
                 host_addresses, sources: SourceSummary, interfaces: IfaceSummary (named,
                 any_other, excluded -> "any interface other than eth0"), access: combinations
                 of (sources, interfaces, host addresses), runtime, certain, witness [worked out on
                 first use], path (DNAT step first), uncertain_rules, dnat_line)

Certainty: a match the engine does not model (limit, recent, string, owner, u32, -m set without
--ipset ...) is three-valued: both outcomes are followed and marked with the rule. A result is
certain when every possibility ends the same way (an undecided LOG rule changes nothing). A
construct the engine approximates (unknown target, NETMAP, a lossy CONNMARK copy, a jump loop)
always makes results past it uncertain. statistic is not doubt: its branches all really happen.
What is modelled exactly: matches.py (matches) and targets.py (targets).
"""

from __future__ import annotations

from .coverage import Coverage
from .engine import Engine, Uncertain, build_alphabet, engine_for
from .gcpause import paused_gc
from .ifaces import IfaceSummary
from .ipset import parse_ipset_save
from .matches import RuleMatch
from .packets import PacketSpec, SpecError
from .packetset import PacketSet
from .results import (
    Access,
    Exposure,
    Outcome,
    PacketView,
    SourceSummary,
    Step,
    TraceResult,
    UncertainRule,
    Witness,
)
from .topology import Topology, infer_topology, parse_cidr, parse_route_spec

__all__ = [
    "Access",
    "Coverage",
    "Engine",
    "Exposure",
    "IfaceSummary",
    "Outcome",
    "PacketSet",
    "PacketSpec",
    "PacketView",
    "RuleMatch",
    "SourceSummary",
    "SpecError",
    "Step",
    "Topology",
    "TraceResult",
    "Uncertain",
    "UncertainRule",
    "Witness",
    "build_alphabet",
    "build_engine",
    "engine_for",
    "infer_topology",
    "parse_cidr",
    "parse_ipset_save",
    "parse_route_spec",
    "paused_gc",
]


def build_engine(ruleset, options) -> Engine:
    """The engine for a lint run: `options` is a LintOptions (local_addresses, routes,
    ipset_file). Raises ValueError (with a one-line message) on a bad address, route or file."""
    ipsets = None
    path = getattr(options, "ipset_file", None)
    if path:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                ipsets = parse_ipset_save(fh.read())
        except OSError as exc:
            raise ValueError(f"--ipset {path}: {exc.strerror or exc}") from None
    return engine_for(
        ruleset,
        local=tuple(getattr(options, "local_addresses", ()) or ()),
        routes=tuple(getattr(options, "routes", ()) or ()),
        ipsets=ipsets,
        interfaces=tuple(getattr(options, "external_interfaces", ()) or ()),
    )
