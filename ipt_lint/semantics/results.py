"""What the engine answers with: frozen dataclasses, no behaviour beyond formatting.

Step            one thing that happened to a packet: a rule matched, a policy applied, a route
UncertainRule   a rule whose match the engine could not decide, and why
PacketView      one concrete packet (fields as ints/strings; HOST shown as <host>)
Witness         a packet as it arrives and as it ends, plus the steps between
Outcome         one journey: verdict, delivery, the packets that take it, its steps, certainty
TraceResult     trace(): all outcomes of one packet, the first is the main one
Exposure        exposures(): one thing an outsider reaches
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from .ifaces import IfaceSummary
from .packetset import PacketSet

HOST_LABEL = "<host>"


def addr_text(x: int, family: str) -> str:
    if family != "ipv6":
        if x >= 1 << 32:
            return HOST_LABEL
        # what str(IPv4Address(x)) writes, without building one (thousands of addresses a report)
        return f"{x >> 24}.{x >> 16 & 255}.{x >> 8 & 255}.{x & 255}"
    if x >= 1 << 128:
        return HOST_LABEL
    return str(ipaddress.IPv6Address(x))


def endpoint_text(addr: str, port: int | None, family: str) -> str:
    if port is None:
        return addr
    if family == "ipv6" and addr != HOST_LABEL:
        return f"[{addr}]:{port}"
    return f"{addr}:{port}"


@dataclass(frozen=True, slots=True)
class Step:
    hook: str  # PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING, or "routing"
    table: str | None
    chain: str | None
    line: int | None
    rule: str  # the rule's source line, `:CHAIN POLICY`, or a description
    effect: str  # "jump DOCKER", "DNAT to 172.18.0.2:80", "ACCEPT", "policy DROP", ...
    kind: str = "rule"  # rule | policy | route
    uncertain: str | None = None  # set when this step was taken on an undecided match

    def to_json(self) -> dict:
        d = {"table": self.table, "chain": self.chain, "line": self.line, "rule": self.rule, "effect": self.effect}
        if self.kind != "rule":
            d["kind"] = self.kind
        if self.uncertain:
            d["uncertain"] = self.uncertain
        return d


@dataclass(frozen=True, slots=True)
class UncertainRule:
    """A rule the engine could not decide. kind "match": a match it does not model; both
    outcomes were followed, so the set of possible results is complete. kind "model": a target
    or construct it approximates (unknown target, lossy rewrite, loop); results past it may be
    wrong, not just incomplete."""

    line: int | None
    rule: str
    reason: str
    kind: str = "match"

    def to_json(self) -> dict:
        return {"line": self.line, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PacketView:
    family: str
    src: str
    dst: str
    proto: int
    proto_name: str
    sport: int | None
    dport: int | None
    icmp_type: int | None
    icmp_code: int | None
    in_iface: str
    out_iface: str | None
    ctstate: str
    mark: int

    def endpoint(self) -> str:
        return endpoint_text(self.dst, self.dport, self.family)

    def describe(self) -> str:
        ports = ""
        if self.dport is not None:
            ports = f" {self.sport} -> {self.dport}"
        elif self.icmp_type is not None:
            ports = f" type {self.icmp_type} code {self.icmp_code}"
        return f"{self.proto_name} {self.src} -> {self.dst}{ports} in {self.in_iface} ({self.ctstate})"

    def to_json(self) -> dict:
        d = {
            "src": self.src,
            "dst": self.dst,
            "proto": self.proto_name,
            "in_interface": self.in_iface,
            "state": self.ctstate,
        }
        if self.dport is not None:
            d["sport"] = self.sport
            d["dport"] = self.dport
        if self.icmp_type is not None:
            d["icmp_type"] = self.icmp_type
            d["icmp_code"] = self.icmp_code
        if self.mark:
            d["mark"] = hex(self.mark)
        return d


@dataclass(frozen=True)
class Witness:
    packet: PacketView  # as it arrived
    final: PacketView  # after NAT, where it ends
    steps: tuple[Step, ...]

    def to_json(self) -> dict:
        d = self.packet.to_json()
        if self.final.dst != self.packet.dst or self.final.dport != self.packet.dport:
            d["final_destination"] = self.final.endpoint()
        return d


@dataclass(frozen=True)
class Outcome:
    verdict: str  # ACCEPT | DROP | REJECT
    delivery: str | None  # local | forward | None (not delivered)
    packets: PacketSet = field(repr=False, compare=False)  # final state of the packets taking this journey
    steps: tuple[Step, ...]
    uncertain_rules: tuple[UncertainRule, ...]
    random: bool  # went through a statistic branch: one of several real possibilities
    out_interfaces: IfaceSummary | None
    # builds the witness; called at most once, on first use of `witness`
    witness_maker: Callable[[], Witness] = field(repr=False, compare=False)

    @cached_property
    def witness(self) -> Witness:
        """One concrete packet taking this journey. Worked out on first use: the exposure
        question on a 100k-rule dump has tens of thousands of outcomes and needs few witnesses."""
        return self.witness_maker()

    @property
    def certain(self) -> bool:
        return not self.uncertain_rules

    def rule_lines(self) -> tuple[int, ...]:
        return tuple(s.line for s in self.steps if s.line is not None and s.kind == "rule")


@dataclass(frozen=True)
class TraceResult:
    outcomes: tuple[Outcome, ...]
    assumptions: tuple[str, ...]
    packet: PacketView

    @property
    def main(self) -> Outcome:
        return self.outcomes[0]

    @property
    def verdict(self) -> str:
        return self.main.verdict

    @property
    def delivery(self) -> str | None:
        return self.main.delivery

    @property
    def certain(self) -> bool:
        """Every possible journey ends the same way. Undecided matches whose both branches end
        alike do not matter; random (statistic) branches may pick different endpoints as long
        as nothing undecided is involved; an approximated construct always makes it uncertain."""
        if any(u.kind == "model" for o in self.outcomes for u in o.uncertain_rules):
            return False
        if len({(o.verdict, o.delivery) for o in self.outcomes}) != 1:
            return False
        if len({o.witness.final.endpoint() for o in self.outcomes}) == 1:
            return True
        return not any(o.uncertain_rules for o in self.outcomes)

    @property
    def final_destination(self) -> str:
        return self.main.witness.final.endpoint()

    @property
    def out_interface(self) -> str | None:
        o = self.main
        if o.delivery == "local":
            return None
        if o.verdict != "ACCEPT" and o.out_interfaces is None:
            return None
        return o.witness.final.out_iface

    @property
    def uncertain_rules(self) -> tuple[UncertainRule, ...]:
        seen = {}
        for o in self.outcomes:
            for u in o.uncertain_rules:
                seen.setdefault((u.line, u.reason), u)
        return tuple(seen.values())

    def to_json(self) -> dict:
        o = self.main
        out = {
            "verdict": o.verdict,
            "delivery": o.delivery,
            "final_destination": self.final_destination,
            "out_interface": self.out_interface,
            "certain": self.certain,
            "steps": [s.to_json() for s in o.steps if s.kind != "route"],
            "assumptions": list(self.assumptions),
            "uncertain_rules": [u.to_json() for u in self.uncertain_rules],
            "packet": self.packet.to_json(),
        }
        route = [s for s in o.steps if s.kind == "route"]
        if route:
            out["route"] = route[-1].effect
        if len(self.outcomes) > 1:
            out["alternatives"] = [
                {
                    "verdict": a.verdict,
                    "delivery": a.delivery,
                    "final_destination": a.witness.final.endpoint(),
                    "certain": a.certain,
                    "random": a.random,
                    "lines": list(a.rule_lines()),
                }
                for a in self.outcomes[1:]
            ]
        return out


@dataclass(frozen=True)
class SourceSummary:
    """Source addresses in words: `any` (every outside address), or CIDRs, or any except CIDRs."""

    any: bool
    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def describe(self) -> str:
        if self.any and not self.exclude:
            return "any"
        if self.any:
            return "any except " + ", ".join(self.exclude)
        return ", ".join(self.include)

    def as_list(self) -> list[str]:
        if self.any and not self.exclude:
            return ["any"]
        if self.any:
            return ["any"] + ["!" + e for e in self.exclude]
        return list(self.include)


@dataclass(frozen=True)
class Access:
    """One combination of sources, arrival interfaces and host addresses (the destination as
    addressed, before DNAT; empty for routed exposures) that reaches an exposure."""

    sources: SourceSummary
    interfaces: IfaceSummary
    host_addresses: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "sources": self.sources.as_list(),
            "interfaces": self.interfaces.as_list(),
            "interfaces_excluded": list(self.interfaces.excluded) if self.interfaces.any_other else [],
            "host_addresses": list(self.host_addresses),
        }


@dataclass(frozen=True)
class Exposure:
    """Something a packet from outside can reach.

    kind: "published" (DNAT to a container or pod), "host" (accepted in INPUT: a service on the
    host itself), "routed" (forwarded straight to a container address, no DNAT).
    port/port_end: the port range as the outsider addresses it (the host port for published).
    destination: where it lands ("172.18.0.2:80", "<host>", "172.18.0.0/16").
    host_addresses: for published/host, the host addresses it is reachable on ("<host>" = any
    address of this host the dump does not name).
    """

    kind: str
    proto: str
    port: int | None
    port_end: int | None
    destination: str
    host_addresses: tuple[str, ...]
    sources: SourceSummary
    interfaces: IfaceSummary
    access: tuple[Access, ...]
    runtime: str
    certain: bool
    # builds the witness; called at most once, on first use of `witness`
    witness_maker: Callable[[], Witness] = field(repr=False, compare=False)
    path: tuple[Step, ...]
    uncertain_rules: tuple[UncertainRule, ...] = ()
    dnat_line: int | None = None

    @cached_property
    def witness(self) -> Witness:
        """One concrete packet from outside that reaches it. Worked out on first use: a 100k-rule
        dump has thousands of exposures, and a finding shows the witness of one per port."""
        return self.witness_maker()

    def port_text(self) -> str:
        if self.port is None:
            return "any"
        if self.port_end is None or self.port_end == self.port:
            return str(self.port)
        return f"{self.port}-{self.port_end}"

    def to_json(self) -> dict:
        return {
            "proto": self.proto,
            "port": self.port,
            "port_end": self.port_end,
            "destination": self.destination,
            "kind": self.kind,
            "sources": self.sources.as_list(),
            "interfaces": self.interfaces.as_list(),
            "interfaces_excluded": list(self.interfaces.excluded) if self.interfaces.any_other else [],
            "host_addresses": list(self.host_addresses),
            "access": [a.to_json() for a in self.access],
            "runtime": self.runtime,
            "certain": self.certain,
            "witness": self.witness.to_json(),
            "path": [s.line for s in self.path if s.line is not None and s.kind == "rule"],
            "steps": [s.to_json() for s in self.path if s.kind != "route"],
            "uncertain_rules": [u.to_json() for u in self.uncertain_rules],
        }
