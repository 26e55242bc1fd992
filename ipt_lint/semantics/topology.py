"""What the dump does not say about the machine, inferred from what the runtimes wrote.

* Routes: which subnet or container address sits behind which bridge. Docker's
  `-s SUBNET ! -o BR -j MASQUERADE`, its `DOCKER -d CIP ... -o BR -j ACCEPT` and raw
  `-d CIP ! -i BR -j DROP`; netavark's and CNI's per-network NAT chains; kube-proxy's pod CIDR
  (`! -s CIDR` in KUBE-SVC-*); DNAT targets of container runtimes. `--route CIDR=IFACE` states one.
* Local addresses: loopback, `--local`, bridge gateways (first address of a runtime subnet),
  host addresses a publish binds to (`-d X -j DNAT` in Docker's chain, `-d X -j KUBE-NODEPORTS`),
  SNAT sources, `-d X/32` in INPUT. Any other local address is the symbolic HOST value.

Each fact carries the sentence that justifies it; the engine returns the ones a result used.
Each inference reads only the chains it names and the rules holding its words (Needles), so on a
lazily loaded dump (trace) it builds a few chains, not kube-proxy's 25k DNAT rules.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from functools import cached_property

from ..model import values as V
from ..model.types import AddrMatch, Needles, Net, RuleModel, Ruleset
from ..platforms import Recognition
from .intervals import Intervals, iv_normalise


@dataclass(frozen=True)
class Route:
    network: str  # CIDR
    lo: int
    hi: int
    prefixlen: int
    iface: str | None  # None: an interface the dump does not name
    runtime: str  # docker | podman | cni | kube | user
    stated: bool
    reason: str


@dataclass(frozen=True)
class LocalAddress:
    text: str
    lo: int
    hi: int
    stated: bool
    reason: str


class RouteIndex:
    """Which routes (by position in priority order) may meet a set of destinations. Routes of
    one size sit in a sorted list each, so a packet to one container does not try the other
    thousands of /32 routes a big Docker host has."""

    def __init__(self, spans: list[tuple[int, int]]):
        groups: dict[int, list] = {}
        for k, (lo, hi) in enumerate(spans):
            groups.setdefault(hi - lo, []).append((lo, k))
        self.groups = []
        for size, items in groups.items():
            items.sort()
            self.groups.append((size, [lo for lo, _ in items], [k for _, k in items]))

    def meeting(self, dst) -> list[int]:
        """Positions of the routes that meet `dst` (intervals), in priority order."""
        found: set[int] = set()
        for size, los, ks in self.groups:
            for qlo, qhi in dst:
                # a route of this size meets [qlo, qhi] exactly when its start is in [qlo-size, qhi]
                found.update(ks[bisect_left(los, qlo - size) : bisect_right(los, qhi)])
        return sorted(found)


@dataclass(frozen=True)
class Topology:
    family: str
    routes: tuple[Route, ...] = ()  # longest prefix first
    local: tuple[LocalAddress, ...] = ()
    bridges: tuple[str, ...] = ()  # container bridges: never "outside"
    broadcast: Intervals = ()
    # not this host's, but sent to it by the network: kube-proxy external and load-balancer IPs
    arrivals: tuple[LocalAddress, ...] = ()
    extra_ifaces: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def bits(self) -> int:
        return 128 if self.family == "ipv6" else 32

    def local_intervals(self) -> Intervals:
        return iv_normalise((a.lo, a.hi) for a in self.local)

    @cached_property
    def route_index(self) -> RouteIndex:
        return RouteIndex([(r.lo, r.hi) for r in self.routes])

    def routes_at(self, addr: int) -> list[Route]:
        """The routes holding `addr`, longest prefix first."""
        return [self.routes[k] for k in self.route_index.meeting(((addr, addr),))]

    def route_for(self, addr: int) -> Route | None:
        found = self.route_index.meeting(((addr, addr),))
        return self.routes[found[0]] if found else None

    def is_local(self, addr: int) -> bool:
        return any(a.lo <= addr <= a.hi for a in self.local)

    def local_reason(self, addr: int) -> str | None:
        for a in self.local:
            if a.lo <= addr <= a.hi:
                return a.reason
        return None

    def with_local(self, text: str, reason: str) -> "Topology":
        lo, hi, _ = parse_cidr(text, self.family)
        return replace(self, local=self.local + (LocalAddress(text, lo, hi, True, reason),))

    def interface_names(self) -> set[str]:
        names = set(self.bridges) | set(self.extra_ifaces) | {"lo"}
        names |= {r.iface for r in self.routes if r.iface}
        return names

    def assumptions(self) -> list[str]:
        """Every fact, in words (what `exposure` prints)."""
        out = list(self.notes)
        out += [a.reason for a in self.local]
        out += [r.reason for r in self.routes]
        out += [a.reason for a in self.arrivals]
        return out


# --- parsing user input ---------------------------------------------------------------------------


def parse_cidr(text: str, family: str) -> tuple[int, int, int]:
    """`10.0.0.0/8`, `10.0.0.1` -> (lo, hi, prefixlen). Raises ValueError with a short message."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"`{text}' is not an address or CIDR") from None
    want = 6 if family == "ipv6" else 4
    if net.version != want:
        raise ValueError(f"`{text}' is IPv{net.version} but the dump is IPv{want}")
    return int(net.network_address), int(net.broadcast_address), net.prefixlen


def parse_route_spec(text: str, family: str) -> Route:
    cidr, eq, iface = text.partition("=")
    if not eq or not iface.strip() or not cidr.strip():
        raise ValueError(f"--route `{text}': expected CIDR=IFACE")
    lo, hi, plen = parse_cidr(cidr, family)
    iface = iface.strip()
    if len(iface) > 15 or any(c.isspace() for c in iface):
        raise ValueError(f"--route `{text}': bad interface name `{iface}'")
    net = _cidr(lo, plen, family)
    return Route(net, lo, hi, plen, iface, "user", True, f"{net} is routed to {iface} (--route)")


def _cidr(lo: int, plen: int, family: str) -> str:
    return str(ipaddress.ip_network((lo, plen)) if family == "ipv4" else ipaddress.IPv6Network((lo, plen)))


def _addr(x: int, family: str) -> str:
    return str(ipaddress.IPv4Address(x) if family == "ipv4" else ipaddress.IPv6Address(x))


# --- inference -------------------------------------------------------------------------------------


def _single_net(am) -> Net | None:
    if am is None or am.negated or len(am.nets) != 1:
        return None
    n = am.nets[0]
    return n if n.prefixlen is not None else None


def _net_range(n: Net) -> tuple[int, int, int]:
    plen = n.prefixlen
    size = 1 << (n.bits - plen)
    return n.value, n.value + size - 1, plen


def _quote(rule: RuleModel) -> str:
    return f"line {rule.line} `{rule.text}`"


# What each inference reads, as Needles (ruleset.rules_with): a lazily loaded dump builds only
# the chains with such a line. Each is in every rule the inference can use.
_DNAT = Needles("DNAT")
_NOT_RUNTIME = frozenset({"kube", "ufw", "firewalld"})  # producers that are no container runtime
_HOST_NAT = Needles("KUBE-NODEPORTS", "SNAT")  # -j KUBE-NODEPORTS, -j SNAT
_HOST_NAT_RUNTIME = Needles("KUBE-NODEPORTS", "SNAT", "DNAT")
_CTORIGDST = Needles("--ctorigdst")  # no shorter spelling: any is also one of --ctorigdstport
_SERVICE_IPS = Needles("external IP", "loadbalancer IP")  # words of kube-proxy's comment


class _Inference:
    def __init__(self, ruleset: Ruleset, rec: Recognition):
        self.rs = ruleset
        self.rec = rec
        self.family = ruleset.family
        self.bits = 128 if self.family == "ipv6" else 32
        self.routes: dict[tuple[int, int], Route] = {}
        self.local: dict[tuple[int, int], LocalAddress] = {}
        self.arrivals: dict[tuple[int, int], LocalAddress] = {}

    def chain(self, table, name):
        return self.rs.chain(table, name)

    def add_route(self, n: Net, iface: str | None, runtime: str, why: str) -> None:
        lo, hi, plen = _net_range(n)
        key = (lo, plen)
        where = f"behind {iface}" if iface else "behind an interface the dump does not name"
        cidr = _cidr(lo, plen, self.family)
        old = self.routes.get(key)
        if old is not None and (old.iface or not iface):
            return
        self.routes[key] = Route(cidr, lo, hi, plen, iface, runtime, False, f"{cidr} is {where} ({runtime}: {why})")

    def add_local(self, lo: int, hi: int, text: str, why: str) -> None:
        self.local.setdefault(
            (lo, hi), LocalAddress(text, lo, hi, False, f"{text} is taken as an address of this host ({why})")
        )

    def run(self) -> None:
        if self.rec.platform("docker"):
            self.docker()
        if self.rec.platform("podman") or self.rec.platform("cni"):
            self.netavark_cni()
        if self.rec.platform("kube"):
            self.kube()
        self.dnat_targets()
        self.gateways()
        self.host_addresses()
        if self.rec.platform("kube"):
            self.service_addresses()

    def docker(self) -> None:
        bridges = {b for b, rt in self.rec.bridges.items() if rt == "docker"}
        post = self.chain("nat", "POSTROUTING")
        for r in post.rules if post else ():
            t = r.target.name if r.target else ""
            n = _single_net(r.src)
            if t in ("MASQUERADE", "SNAT") and n and r.out_iface and r.out_iface.negated and not r.dst:
                self.add_route(n, r.out_iface.iface.name, "docker", _quote(r))
        dchain = self.chain("filter", "DOCKER")
        for r in dchain.rules if dchain else ():
            n = _single_net(r.dst)
            if n and r.out_iface and not r.out_iface.negated and r.target and r.target.name == "ACCEPT":
                self.add_route(n, r.out_iface.iface.name, "docker", _quote(r))
        raw = self.chain("raw", "PREROUTING")
        for r in raw.rules if raw else ():
            n = _single_net(r.dst)
            if n and r.in_iface and r.in_iface.negated and r.in_iface.iface.name in bridges:
                self.add_route(n, r.in_iface.iface.name, "docker", _quote(r))
        # internal networks: `! -s SUBNET -o BR -j DROP` / `! -d SUBNET -i BR -j DROP`
        for name in ("DOCKER-INTERNAL", "DOCKER-ISOLATION-STAGE-1"):
            chain = self.chain("filter", name)
            for r in chain.rules if chain else ():
                for am, im in ((r.src, r.out_iface), (r.dst, r.in_iface)):
                    if (
                        am is None
                        or not am.negated
                        or len(am.nets) != 1
                        or im is None
                        or im.negated
                        or im.iface.wildcard
                    ):
                        continue
                    n = am.nets[0]
                    if n.prefixlen is not None:
                        self.add_route(n, im.iface.name, "docker", "internal network, " + _quote(r))

    def netavark_cni(self) -> None:
        post = self.chain("nat", "POSTROUTING")
        subnets: list[tuple[Net, RuleModel, str]] = []
        for r in post.rules if post else ():
            t = r.target
            if t is None or t.kind != "jump":
                continue
            runtime = self.rec.chain_producer("nat", t.name)
            if runtime not in ("podman", "cni") or t.name.startswith(("NETAVARK-HOSTPORT", "CNI-HOSTPORT")):
                continue
            sub = self.chain("nat", t.name)
            found = False
            for r2 in sub.rules if sub else ():
                n = _single_net(r2.dst)
                if n and r2.target and r2.target.name == "ACCEPT":
                    subnets.append((n, r2, runtime))
                    found = True
            n = _single_net(r.src)
            if not found and n:
                subnets.append((n, r, runtime))
        bridges = sorted(b for b, rt in self.rec.bridges.items() if rt in ("podman", "cni"))
        distinct = {(_net_range(n)[0], n.prefixlen) for n, _, _ in subnets}
        for n, r, runtime in subnets:
            iface = None
            if len(bridges) == 1 and len(distinct) == 1:
                iface = bridges[0]
            elif "podman0" in bridges and n.value == int(ipaddress.IPv4Address("10.88.0.0")) and n.prefixlen == 16:
                iface = "podman0"
            self.add_route(n, iface, runtime, _quote(r) + (f"; its only bridge is {iface}" if iface else ""))

    def kube(self) -> None:
        nat = self.rs.tables.get("nat")
        seen = set()
        hint_nets: dict[str, Net | None] = {}

        def new_pod_net(text: str) -> bool:
            """Could a rule whose `-s` is `text` add a pod network not seen yet?"""
            if text not in hint_nets:
                try:
                    hint_nets[text] = self.pod_net(AddrMatch(False, V.parse_net_list(text, self.family)))
                except ValueError:
                    hint_nets[text] = None
            n = hint_nets[text]
            return n is not None and (n.value, n.prefixlen) not in seen

        for chain in nat.chains.values() if nat else ():
            if not chain.name.startswith(("KUBE-SVC-", "KUBE-EXT-", "KUBE-XLB-")):
                continue
            # Thousands of these chains repeat `-s POD_CIDR`: a chain whose every `-s` gives a
            # network seen already (or none) adds nothing, and is not read rule by rule.
            hints = chain.source_hints()
            if hints is not None and not any(new_pod_net(h) for h in hints):
                continue
            for r in chain.rules:
                n = self.pod_net(r.src)
                if n is None or (n.value, n.prefixlen) in seen:
                    continue
                seen.add((n.value, n.prefixlen))
                self.add_route(n, None, "kube", f"pod network of kube-proxy, {_quote(r)}")

    def pod_net(self, am: AddrMatch | None) -> Net | None:
        """The network of a `-s` kube-proxy writes for its pod CIDR: one net, wider than /31."""
        if am is None or len(am.nets) != 1:
            return None
        n = am.nets[0]
        if n.prefixlen is None or n.prefixlen >= self.bits - 1:
            return None
        return n

    def runtime_chain(self, table: str, chain: str) -> bool:
        """May a rule of this chain be written by docker, podman or cni? (not when the chain's
        name gives it to kube-proxy, ufw or firewalld)"""
        # (rec.chain_producer's lookup, inline: asked of 25k kube-proxy chains holding DNAT)
        return self.rec.chain_owner.get((table, chain)) not in _NOT_RUNTIME

    def dnat_targets(self) -> None:
        for r in self.rs.rules_with(_DNAT, where=self.runtime_chain):
            t = r.target
            if t is None or t.name != "DNAT" or r.table != "nat":
                continue
            runtime = self.rec.producer(r)
            if runtime not in ("docker", "podman", "cni"):
                continue
            ov = t.get("--to-destination")
            nr = ov.value if ov is not None else None
            if nr is None or getattr(nr, "addr_lo", None) is None or nr.addr_lo != nr.addr_hi:
                continue
            a = nr.addr_lo
            if self.covered(a) or self.is_loopback(a):
                continue
            self.add_route(Net(a, (1 << self.bits) - 1, self.bits), None, runtime, f"DNAT target, {_quote(r)}")

    def covered(self, a: int) -> bool:
        return any(r.lo <= a <= r.hi for r in self.routes.values())

    def is_loopback(self, a: int) -> bool:
        if self.family == "ipv6":
            return a == 1
        return a >> 24 == 127

    def gateways(self) -> None:
        for r in list(self.routes.values()):
            if r.runtime in ("docker", "podman", "cni") and r.prefixlen <= self.bits - 2:
                gw = r.lo + 1
                if any(x.lo == gw == x.hi for x in self.routes.values()):
                    continue
                text = _addr(gw, self.family)
                where = r.iface or "its bridge"
                self.add_local(
                    gw, gw, text, f"gateway of {r.network} on {where}, the first address as {r.runtime} assigns it"
                )

    def host_addresses(self) -> None:
        def host_dst(r: RuleModel) -> int | None:
            n = _single_net(r.dst)
            if n is None or n.prefixlen != self.bits:
                return None
            if self.is_loopback(n.value) or self.is_special(n.value):
                return None
            return n.value

        common = {id(c) for c in self.rs.chains_with(_HOST_NAT, "nat")}
        for chain in self.rs.chains_with(_HOST_NAT_RUNTIME, "nat"):
            # DNAT counts in a runtime's chains only; kube-proxy's 25k DNAT rules stay unread
            runtime = self.runtime_chain("nat", chain.name)
            if not runtime and id(chain) not in common:
                continue  # (a kube-proxy chain with a DNAT rule: nothing else to read in it)
            needles = _HOST_NAT_RUNTIME if runtime else _HOST_NAT
            for r in chain.rules_with(needles):
                t = r.target
                if t is None or t.name not in ("DNAT", "KUBE-NODEPORTS", "SNAT"):
                    continue  # (the only targets below: most of 100k rules stop here)
                runtime = self.rec.producer(r)
                a = host_dst(r)
                if a is not None and t.name == "DNAT" and runtime in ("docker", "podman", "cni"):
                    self.add_local(a, a, _addr(a, self.family), f"a {runtime} publish binds to it, {_quote(r)}")
                elif a is not None and t.name == "KUBE-NODEPORTS":
                    self.add_local(a, a, _addr(a, self.family), f"kube-proxy serves NodePorts on it, {_quote(r)}")
                if t.name == "SNAT":
                    ov = t.get("--to-source")
                    nr = ov.value if ov is not None else None
                    if nr is not None and getattr(nr, "addr_lo", None) is not None and nr.addr_lo == nr.addr_hi:
                        x = nr.addr_lo
                        self.add_local(x, x, _addr(x, self.family), f"SNAT source, {_quote(r)}")
        inp = self.chain("filter", "INPUT")
        for r in inp.rules if inp else ():
            a = host_dst(r)
            if a is not None:
                self.add_local(a, a, _addr(a, self.family), f"INPUT matches it as a destination, {_quote(r)}")
        # `-m conntrack --ctorigdst X` in filter: X is the address a forwarded connection was
        # opened to before DNAT, i.e. one of this host's (Docker's docs restrict publishes so)
        for chain in self.rs.chains_with(_CTORIGDST, "filter"):
            for r in chain.rules_with(_CTORIGDST):
                m = r.match("conntrack")
                ov = m.get("--ctorigdst") if m is not None else None
                if ov is None or ov.negated or not ov.value or len(ov.value) != 1:
                    continue
                n = ov.value[0]
                if n.prefixlen == self.bits and not self.is_loopback(n.value) and not self.is_special(n.value):
                    self.add_local(
                        n.value,
                        n.value,
                        _addr(n.value, self.family),
                        f"matched as the original destination of forwarded connections, {_quote(r)}",
                    )

    def service_addresses(self) -> None:
        """kube-proxy external IPs and load-balancer IPs: the network sends them to the nodes."""
        svc = self.chain("nat", "KUBE-SERVICES")
        for r in svc.rules_with(_SERVICE_IPS) if svc else ():
            comment = r.comment() or ""
            n = _single_net(r.dst)
            if n is None or n.prefixlen != self.bits or not comment.endswith(("external IP", "loadbalancer IP")):
                continue
            text = _addr(n.value, self.family)
            self.arrivals.setdefault(
                (n.value, n.value),
                LocalAddress(
                    text,
                    n.value,
                    n.value,
                    False,
                    f"{text} is a kube-proxy {comment.rsplit(' ', 2)[-2]} IP the network sends to this node, {_quote(r)}",
                ),
            )

    def is_special(self, a: int) -> bool:
        ip = ipaddress.IPv4Address(a) if self.family == "ipv4" else ipaddress.IPv6Address(a)
        return ip.is_multicast or ip.is_unspecified or (self.family == "ipv4" and a == 0xFFFFFFFF)


def infer_topology(
    ruleset: Ruleset,
    recognition: Recognition,
    local: tuple[str, ...] = (),
    routes: tuple[str, ...] = (),
) -> Topology:
    """The topology of `ruleset`, plus what the user states. Raises ValueError on a bad --local/--route."""
    family = ruleset.family
    inf = _Inference(ruleset, recognition)
    inf.run()
    stated_routes = [parse_route_spec(s, family) for s in routes]
    stated_local = []
    for text in local:
        lo, hi, _ = parse_cidr(text, family)
        stated_local.append(LocalAddress(text, lo, hi, True, f"{text} is an address of this host (--local)"))
    loop = ("::1", 1, 1) if family == "ipv6" else ("127.0.0.0/8", 127 << 24, (128 << 24) - 1)
    base_local = [LocalAddress(loop[0], loop[1], loop[2], True, f"{loop[0]} is loopback")]
    all_routes = stated_routes + [
        r
        for r in inf.routes.values()
        if not any(s.lo <= r.lo and r.hi <= s.hi and s.prefixlen == r.prefixlen for s in stated_routes)
    ]
    all_routes.sort(key=lambda r: (-r.prefixlen, not r.stated))
    bridges = sorted(set(recognition.bridges) | {r.iface for r in all_routes if r.iface and not r.stated})
    bcast: list[tuple[int, int]] = []
    if family == "ipv4":
        bcast.append((0xFFFFFFFF, 0xFFFFFFFF))
        for r in all_routes:
            if r.runtime in ("docker", "podman", "cni") and r.prefixlen <= 30:
                bcast.append((r.hi, r.hi))
    notes: tuple[str, ...] = ()
    return Topology(
        family=family,
        routes=tuple(all_routes),
        local=tuple(base_local + stated_local + list(inf.local.values())),
        bridges=tuple(bridges),
        broadcast=iv_normalise(bcast),
        arrivals=tuple(inf.arrivals.values()),
        extra_ifaces=tuple(r.iface for r in stated_routes),
        notes=notes,
    )
