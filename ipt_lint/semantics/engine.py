"""The engine: one dump, its topology, and the questions the CLI and the checks ask of it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, partial

from ..model.types import Needles, RuleModel, Ruleset
from ..platforms import Recognition, recognise
from .chainindex import CompiledChain
from .coverage import Coverage, coverage
from .gcpause import paused_gc
from .ifaces import IfaceAlphabet
from .intervals import iv_normalise
from .ipset import IpSet
from .journey import Journey, Router
from .matches import MatchCompiler, RuleMatch
from .packets import PacketSpec, box_from, outside_set, packet_box, parse_addr
from .packetset import PacketSet, merge_boxes
from .results import Exposure, Outcome, TraceResult
from .space import BRIDGED, OUT, PHYSIN, PHYSOUT, YES, Space
from .topology import Topology, infer_topology
from .walker import Flow, Walker
from .witness import make_witness


@dataclass(frozen=True)
class Uncertain:
    """match_set() of a rule the engine cannot decide exactly: it matches some part of `over`
    (possibly none of it); `reasons` say which matches are not modelled."""

    rule: RuleModel
    over: PacketSet
    reasons: tuple[str, ...]


# -i, -o (and --in-interface, --out-interface, their abbreviations: all hold these) and -m physdev
_IFACE_WORDS = Needles("-i", "-o", "physdev")


def build_alphabet(ruleset: Ruleset, topology: Topology, extra=()) -> IfaceAlphabet:
    """Every interface name and prefix the rules, the topology and `extra` mention."""
    names, prefixes = set(extra), set()
    for rule in ruleset.rules_with(_IFACE_WORDS):
        for im in (rule.in_iface, rule.out_iface):
            if im is not None:
                (prefixes if im.iface.wildcard else names).add(im.iface.name)
        m = rule.match("physdev")
        if m is not None:
            for o in ("--physdev-in", "--physdev-out"):
                ov = m.get(o)
                if ov is not None and ov.raw:
                    t = ov.raw[0]
                    if t.endswith("+"):
                        prefixes.add(t[:-1])
                    else:
                        names.add(t)
    names |= topology.interface_names()
    return IfaceAlphabet(names, prefixes)


class Engine:
    """Packet-set semantics of one dump.

    Engine(ruleset, topology=None, *, recognition=None, ipsets=None, interfaces=())
        topology defaults to infer_topology(ruleset, recognition); ipsets is the result of
        ipset.parse_ipset_save (None: `-m set` matches are uncertain); interfaces adds names to
        the interface alphabet.
    """

    def __init__(
        self,
        ruleset: Ruleset,
        topology: Topology | None = None,
        *,
        recognition: Recognition | None = None,
        ipsets: dict | None = None,
        interfaces=(),
        _alphabet: IfaceAlphabet | None = None,
    ):
        self.ruleset = ruleset
        self.recognition = recognition or recognise(ruleset)
        self.topology = topology or infer_topology(ruleset, self.recognition)
        self.ipsets = ipsets
        self.space = Space(ruleset.family, _alphabet or build_alphabet(ruleset, self.topology, interfaces))
        self.compiler = MatchCompiler(self.space, self.topology, ipsets)
        self.walker = Walker(ruleset, self.space, self.compiler)
        self.router = Router(self.space, self.topology)
        self._rules_on_lines: dict[tuple[str, str], dict[int, RuleModel]] = {}  # see rule_at

    @cached_property
    def rules_by_line(self) -> dict[int, RuleModel]:
        return {r.line: r for r in self.ruleset.rules()}

    # --- sets of rules ----------------------------------------------------------------------

    def rule_match(self, rule: RuleModel) -> RuleMatch:
        """The compiled match: `.over` (constraints), `.exact`, `.uncertain`, `.random`."""
        return self.compiler.compile(rule)

    def match_set(self, rule: RuleModel) -> PacketSet | Uncertain:
        """Exactly the packets `rule` matches, or Uncertain when a match is not modelled."""
        rm = self.rule_match(rule)
        s = rm.as_set(self.space)
        if rm.exact:
            return s
        return Uncertain(rule, s, rm.uncertain)

    def coverage(self, rule: RuleModel) -> Coverage:
        """Whether the rules before `rule` in its chain take every packet it could match."""
        with paused_gc():
            return coverage(self, rule)

    def compiled_chain(self, table: str, chain: str) -> CompiledChain:
        return self.walker.compiled(table, self.ruleset.tables[table].chains[chain])

    def packets(self, **fields) -> PacketSet:
        """A set from field values, e.g. packets(proto="tcp", dport=22, in_iface="eth0"); field
        names are space.FIELD_NAMES; unnamed fields are unconstrained."""
        return PacketSet(self.space, (box_from(self.space, **fields),))

    # --- journeys -------------------------------------------------------------------------

    def reach(self, packets: PacketSet, hook: str = "PREROUTING") -> list[Outcome]:
        """Every journey of `packets`: arriving on an interface (PREROUTING, the default) or
        generated by the host (OUTPUT). One Outcome per distinct path, with its packets."""
        return self.reach_with_assumptions(packets, hook)[0]

    def reach_with_assumptions(self, packets: PacketSet, hook: str = "PREROUTING") -> tuple[list[Outcome], list[str]]:
        """reach(), and the assumptions the journeys used (routes, local addresses, ...)."""
        if hook not in ("PREROUTING", "OUTPUT"):
            raise ValueError(f"reach() starts at PREROUTING or OUTPUT, not {hook}")
        j = Journey(self.walker, self.router)
        flows = [Flow(list(packets.boxes))]
        with paused_gc():
            ends = j.inbound(flows) if hook == "PREROUTING" else j.outbound(flows)
            outcomes = [self.outcome(f, v, d) for f, v, d in ends if f.boxes]
        return outcomes, list(j.used) + self._local_notes(outcomes)

    def outcome(self, flow: Flow, verdict: str, delivery: str | None, in_name: str | None = None) -> Outcome:
        boxes = merge_boxes(flow.boxes)
        steps = flow.steps()
        out_ifaces = None
        if verdict == "ACCEPT" and delivery == "forward":
            mask = 0
            for b in boxes:
                mask |= b[OUT]
            out_ifaces = self.space.alphabet.summary(mask)
        return Outcome(
            verdict=verdict,
            delivery=delivery if verdict == "ACCEPT" else None,
            packets=PacketSet(self.space, boxes),
            steps=steps,
            uncertain_rules=flow.uncertain,
            random=flow.random,
            out_interfaces=out_ifaces,
            witness_maker=partial(make_witness, self.space, boxes[0], steps, in_name),
        )

    # --- trace ----------------------------------------------------------------------------

    def needs_local(self, dst: str) -> bool:
        """Is `dst` neither a known local address, nor routed by the topology, nor a service
        address the network sends here? (trace then takes it as one of this host's addresses)"""
        a = parse_addr(dst, self.space.family, "--dst")
        topo = self.topology
        arrival = any(x.lo <= a <= x.hi for x in topo.arrivals)  # a kube external IP: not ours, DNAT'd
        return not topo.is_local(a) and topo.route_for(a) is None and not arrival

    def trace(self, spec: PacketSpec) -> TraceResult:
        """One packet's journey. `spec.dst` is an address of this host unless the topology routes
        it (a container network, a --route). Raises SpecError for a bad address/port/protocol."""
        if self.needs_local(spec.dst):
            return self.with_local(spec.dst, f"{spec.dst} is taken as an address of this host (trace --dst)").trace(
                spec
            )
        box = self._arrival_facts(packet_box(self.space, spec), spec)
        journey = Journey(self.walker, self.router)
        with paused_gc():
            ends = journey.inbound([Flow([box])])
            ends = [e for e in ends if e[0].boxes]
            # the main journey: a certain one, else the one where undecided rules match
            ends.sort(key=lambda e: (bool(e[0].uncertain), e[0].branch))
            outcomes = [self.outcome(f, v, d, spec.in_iface) for f, v, d in ends]
        packet = make_witness(self.space, box, (), spec.in_iface).packet
        assumptions = list(journey.used) + self._local_notes(outcomes) + list(self.topology.notes)
        return TraceResult(tuple(outcomes), tuple(dict.fromkeys(assumptions)), packet)

    def _arrival_facts(self, box: tuple, spec: PacketSpec) -> tuple:
        """A packet from a container bridge came in through one of its ports (br_netfilter
        records that port for physdev); it is bridged when its destination is on that bridge."""
        if spec.in_iface not in self.topology.bridges:
            return box
        a = self.space.alphabet
        route = self.topology.route_for(parse_addr(spec.dst, self.space.family, "--dst"))
        lst = list(box)
        lst[PHYSIN] = a.unnamed  # a veth port the dump does not name
        if route is not None and route.iface == spec.in_iface:
            lst[BRIDGED] = YES
            lst[PHYSOUT] = a.unnamed
        return tuple(lst)

    def with_local(self, address: str, reason: str) -> "Engine":
        """This engine with one more local address. Compiled rules that do not depend on which
        addresses are local (no addrtype) are shared, so a trace on a 100k-rule dump stays fast."""
        topo = self.topology.with_local(address, reason)
        other = Engine(
            self.ruleset, topo, recognition=self.recognition, ipsets=self.ipsets, _alphabet=self.space.alphabet
        )
        other.compiler.cache.update({k: v for k, v in self.compiler.cache.items() if not v.uses_local})
        for key, cc in self.walker._compiled.items():
            if cc.local_free:
                other.walker._compiled[key] = cc
        if "rules_by_line" in self.__dict__:
            other.__dict__["rules_by_line"] = self.rules_by_line
        return other

    def _local_notes(self, outcomes) -> list[str]:
        """When a rule testing addrtype matched on the way, say which addresses counted as local."""
        steps = {(s.table, s.chain, s.line) for o in outcomes for s in o.steps if s.kind == "rule" and s.line is not None}
        for table, chain, line in steps:
            rule = self.rule_at(table, chain, line)
            if rule is not None and self.compiler.compile(rule).uses_local:
                texts = [a.text for a in self.topology.local] + ["<host>"]
                return ["addrtype LOCAL means this host's addresses: " + ", ".join(texts)]
        return []

    def rule_at(self, table: str, chain: str, line: int) -> RuleModel | None:
        """The rule of `line`, found in the chain a step names (building no other rule of a
        lazily loaded dump; rules_by_line would build them all)."""
        c = self.ruleset.chain(table, chain)
        if c is None:
            return None
        if c.pending is not None:
            return c.rule_on_line(line)
        # a built chain: by a dict (a 100k-rule chain is asked about thousands of its lines)
        by_line = self._rules_on_lines.get((table, chain))
        if by_line is None:
            by_line = self._rules_on_lines[(table, chain)] = {r.line: r for r in c.built}
        return by_line.get(line)

    # --- exposure -------------------------------------------------------------------------

    def outside(self, interfaces: tuple[str, ...] = ()) -> PacketSet:
        """New connections (tcp, udp, sctp) from outside: any source that is not this host or a
        network behind its bridges, to this host's addresses, the container networks and the
        service addresses the network sends here (kube external/LB IPs), on any interface that
        is not a container bridge or loopback (or only on `interfaces`)."""
        topo = self.topology
        nets = iv_normalise([(r.lo, r.hi) for r in topo.routes] + [(a.lo, a.hi) for a in topo.arrivals])
        bridge_nets = iv_normalise((r.lo, r.hi) for r in topo.routes if r.iface in topo.bridges)
        uplink = self.router.uplink
        if interfaces:
            uplink = 0
            for n in interfaces:
                uplink |= self.space.alphabet.name_mask(n)
        return outside_set(self.space, topo.local_intervals(), nets, uplink, bridge_nets)

    def exposures(self, interfaces: tuple[str, ...] = ()) -> list[Exposure]:
        """Everything a new connection from outside can reach (see exposure.py)."""
        return self.exposure_report(interfaces).exposures

    def exposure_report(self, interfaces: tuple[str, ...] = ()):
        """ExposureReport(exposures, assumptions, outcomes): outcomes are the journeys behind it."""
        from .exposure import compute_exposures

        with paused_gc():
            return compute_exposures(self, interfaces)

    def assumptions(self) -> list[str]:
        """Every topology fact the engine works with, in words."""
        return self.topology.assumptions()


def engine_for(
    ruleset: Ruleset, local=(), routes=(), ipsets=None, recognition: Recognition | None = None, interfaces=()
) -> Engine:
    """An engine with the user's --local and --route facts (and interface names worth telling
    apart, such as --external ones). Raises ValueError on bad input."""
    rec = recognition or recognise(ruleset)
    topo = infer_topology(ruleset, rec, tuple(local), tuple(routes))
    if ipsets is None and rec.docker_generation == "28.0.0":
        ipsets, note = docker_ext_bridges(topo)
        topo = replace(topo, notes=topo.notes + (note,))
    return Engine(ruleset, topo, recognition=rec, ipsets=ipsets, interfaces=tuple(interfaces))


def docker_ext_bridges(topo: Topology) -> tuple[dict, str]:
    """Docker 28.0.0 keeps its bridge subnets in ipset docker-ext-bridges-v4/-v6 (hash:net); without
    an `ipset save` file, the subnets the dump shows stand in for its members."""
    name = "docker-ext-bridges-v6" if topo.family == "ipv6" else "docker-ext-bridges-v4"
    nets = [r for r in topo.routes if r.runtime == "docker" and r.lo != r.hi]
    s = IpSet(name, "hash:net", topo.family, entries=[(("ip", r.lo, r.hi),) for r in nets])
    listed = ", ".join(r.network for r in nets) or "nothing"
    return {name: s}, f"ipset {name} is taken to hold Docker's bridge subnets ({listed}); give --ipset to be exact"
