"""A packet's whole journey through netfilter: hooks, tables in priority order, routing.

From outside:  PREROUTING (raw, mangle, nat) -> routing on the destination as DNAT left it
               -> local: INPUT (mangle, nat, filter, security)
               -> else:  FORWARD (mangle, filter, security) -> POSTROUTING (mangle, nat)
From the host: OUTPUT (raw, mangle, nat, filter, security) -> routing -> POSTROUTING
               (-> and back in through lo when the destination is local)

nat chains see only the first packet of a connection: packets in state INVALID or UNTRACKED
skip them; ESTABLISHED/RELATED packets are run through them too, standing for the first packet
of their connection, whose NAT mapping conntrack keeps applying (an assumption, stated).
"""

from __future__ import annotations

from .intervals import iv, iv_and, iv_or, iv_sub
from .results import Step
from .space import CT_ESTABLISHED, CT_NEW, CT_RELATED, CTSTATE, DST, IN, OUT, Space
from .topology import Topology
from .walker import Flow, Walker

HOOK_TABLES = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "nat", "filter", "security"),
    "FORWARD": ("mangle", "filter", "security"),
    "OUTPUT": ("raw", "mangle", "nat", "filter", "security"),
    "POSTROUTING": ("mangle", "nat"),
}
NAT_STATES = CT_NEW | CT_ESTABLISHED | CT_RELATED
FORWARDING = "IP forwarding is on (Docker, Podman and kube-proxy turn it on)"
NAT_FOR_ESTABLISHED = (
    "nat rules are applied to an ESTABLISHED/RELATED packet as they were to its connection's first packet"
)
MARTIAN = "packets to 127.0.0.0/8 arriving on another interface than lo are dropped as martians (route_localnet=0)"


MEMO_MAX_FLOWS = 64  # flows arriving at once; more are not worth a key


def _flows_key(flows: list[Flow]) -> tuple:
    return tuple((tuple(f.boxes), f.steps(), f.uncertain, f.random, f.branch) for f in flows)


class Router:
    """Routing decisions from the topology: local, a known route, or the default route."""

    def __init__(self, space: Space, topology: Topology):
        self.space = space
        self.topology = topology
        a = space.alphabet
        self.local = iv_or(topology.local_intervals(), iv(space.host, space.host))
        self.routes = [(iv(r.lo, r.hi), r) for r in topology.routes]
        self.route_index = topology.route_index
        if space.family == "ipv6":
            self.loopback = iv(1, 1)
        else:
            self.loopback = iv(127 << 24, (128 << 24) - 1)
        self.lo_mask = a.name_mask("lo")
        bridges = 0
        for b in topology.bridges:
            bridges |= a.name_mask(b)
        self.bridge_mask = bridges
        self.uplink = a.full & ~a.none & ~self.lo_mask & ~bridges

    def out_mask(self, route) -> int:
        a = self.space.alphabet
        if route.iface:
            return a.name_mask(route.iface)
        return a.unnamed & ~self.bridge_mask

    def split(self, box: tuple, outbound: bool = False) -> list[tuple[str, tuple, object]]:
        """[(kind, box, route)] with kind local | martian | route | default; OUT is set
        (a locally generated packet to a local address goes out through lo)."""
        out = []
        dst = box[DST]
        here_out = self.lo_mask if outbound else self.space.alphabet.none
        here = iv_and(dst, self.local)
        if here:
            loop = iv_and(here, self.loopback)
            rest_local = iv_sub(here, self.loopback)
            if loop:
                lo_in = box[IN] & (self.lo_mask | self.space.alphabet.none)
                other_in = box[IN] & ~(self.lo_mask | self.space.alphabet.none)
                if lo_in:
                    out.append(("local", _with(box, {DST: loop, IN: lo_in, OUT: here_out}), None))
                if other_in:
                    out.append(("martian", _with(box, {DST: loop, IN: other_in}), None))
            if rest_local:
                out.append(("local", _with(box, {DST: rest_local, OUT: here_out}), None))
            dst = iv_sub(dst, self.local)
        for k in self.route_index.meeting(dst):
            if not dst:
                break
            r_iv, route = self.routes[k]
            part = iv_and(dst, r_iv)
            if part:
                out.append(("route", _with(box, {DST: part, OUT: self.out_mask(route)}), route))
                dst = iv_sub(dst, r_iv)
        if dst:
            out.append(("default", _with(box, {DST: dst, OUT: self.uplink}), None))
        return out


def _with(box: tuple, changes: dict) -> tuple:
    lst = list(box)
    for f, v in changes.items():
        lst[f] = v
    return tuple(lst)


class Journey:
    def __init__(self, walker: Walker, router: Router):
        self.walker = walker
        self.router = router
        self.used: dict[str, None] = {}  # assumptions used, in order

    def note(self, text: str) -> None:
        self.used.setdefault(text, None)

    def hook(
        self, hook: str, flows: list[Flow], skip: tuple[str, ...] = ()
    ) -> tuple[list[Flow], list[tuple[Flow, str]]]:
        """Run `flows` through every table of `hook`. Returns (accepted flows, ended flows+verdict).

        PREROUTING's answers are remembered (walker.hook_memo) by the chains of its tables and
        the flows that entered, which are the same for every question about the same arriving
        packets: the fix verifier asks them again of a copy of the dump whose nat table did
        not change."""
        if hook != "PREROUTING" or skip or len(flows) > MEMO_MAX_FLOWS:
            return self._hook(hook, flows, skip)
        key = (hook, self.walker.chains_key(HOOK_TABLES[hook]), _flows_key(flows))
        memo = self.walker.hook_memo
        got = memo.get(key)
        if got is None:
            before = len(self.used)
            alive, ended = self._hook(hook, flows, skip)
            got = memo[key] = (alive, ended, tuple(self.used)[before:])
        for text in got[2]:
            self.note(text)
        return list(got[0]), list(got[1])

    def _hook(
        self, hook: str, flows: list[Flow], skip: tuple[str, ...] = ()
    ) -> tuple[list[Flow], list[tuple[Flow, str]]]:
        ended: list[tuple[Flow, str]] = []
        for table in HOOK_TABLES[hook]:
            if not flows:
                break
            if table in skip:
                continue
            if self.walker.ruleset.chain(table, hook) is None:
                continue
            if table == "nat":
                eligible, bypass = self._nat_split(flows)
                res = self.walker.walk(hook, table, eligible)
            else:
                bypass = []
                res = self.walker.walk(hook, table, flows)
            flows = bypass + [f for f, v in res if v == "ACCEPT"]
            ended += [(f, v) for f, v in res if v != "ACCEPT"]
        return flows, ended

    def _nat_split(self, flows: list[Flow]) -> tuple[list[Flow], list[Flow]]:
        eligible, bypass = [], []
        for f in flows:
            yes, no = [], []
            for b in f.boxes:
                s = b[CTSTATE]
                if s & NAT_STATES:
                    yes.append(_with(b, {CTSTATE: s & NAT_STATES}))
                    if s & (CT_ESTABLISHED | CT_RELATED):
                        self.note(NAT_FOR_ESTABLISHED)
                if s & ~NAT_STATES:
                    no.append(_with(b, {CTSTATE: s & ~NAT_STATES}))
            if yes:
                eligible.append(f.but(yes))
            if no:
                bypass.append(f.but(no))
        return eligible, bypass

    def route(self, flows: list[Flow], hook: str) -> list[tuple[str, Flow]]:
        """Split flows by routing decision: [(local|forward|martian, flow)]."""
        out = []
        for f in flows:
            groups: dict = {}
            for b in f.boxes:
                for kind, nb, route in self.router.split(b, outbound=hook == "OUTPUT"):
                    groups.setdefault((kind, id(route)), (kind, route, []))[2].append(nb)
            for kind, route, boxes in groups.values():
                out.append(self._routed(f, kind, route, boxes))
        return out

    def _routed(self, f: Flow, kind: str, route, boxes) -> tuple[str, Flow]:
        if kind == "local":
            step = Step(
                "routing",
                None,
                None,
                None,
                "the destination is an address of this host",
                "deliver locally (INPUT)",
                "route",
            )
            for b in boxes:
                self._note_local(b)
            return "local", f.then(step, boxes)
        if kind == "martian":
            self.note(MARTIAN)
            step = Step("routing", None, None, None, MARTIAN, "dropped by routing (martian destination)", "route")
            return "martian", f.then(step, boxes)
        self.note(FORWARDING)
        if kind == "route":
            self.note(route.reason)
            where = route.iface or "an interface the dump does not name"
            step = Step("routing", None, None, None, route.reason, f"forward to {where} (FORWARD)", "route")
        else:
            step = Step(
                "routing", None, None, None,
                "no route from the dump or --route covers the destination: the default route",
                "forward via the default route (FORWARD)", "route",
            )  # fmt: skip
        return "forward", f.then(step, boxes)

    def _note_local(self, box: tuple) -> None:
        topo = self.router.topology
        for lo, hi in box[DST]:
            if lo >= self.router.space.host:
                self.note("<host> stands for any address of this host that neither the dump nor --local names")
                continue
            r = topo.local_reason(lo)
            if r:
                self.note(r)

    # --- whole journeys ----------------------------------------------------------------------

    def arrival(self, flows: list[Flow]) -> tuple[list[Flow], list[Flow]]:
        """IPv6 drops packets to ::1 that arrive on another interface than lo before netfilter
        sees them (ip6_rcv_core). Returns (flows that go on, flows dropped)."""
        if self.router.space.family != "ipv6":
            return flows, []
        keep, dropped = [], []
        inner = self.router.lo_mask | self.router.space.alphabet.none
        for f in flows:
            ok, bad = [], []
            for b in f.boxes:
                loop = iv_and(b[DST], self.router.loopback)
                if loop and b[IN] & ~inner:
                    bad.append(_with(b, {DST: loop, IN: b[IN] & ~inner}))
                    if b[IN] & inner:
                        ok.append(_with(b, {DST: loop, IN: b[IN] & inner}))
                    rest = iv_sub(b[DST], self.router.loopback)
                    if rest:
                        ok.append(_with(b, {DST: rest}))
                else:
                    ok.append(b)
            if ok:
                keep.append(f.but(ok))
            if bad:
                step = Step(
                    "routing",
                    None,
                    None,
                    None,
                    "IPv6 packets to ::1 from another interface than lo are discarded on arrival",
                    "dropped before PREROUTING",
                    "route",
                )
                dropped.append(f.then(step, bad))
        return keep, dropped

    def inbound(self, flows: list[Flow]) -> list[tuple[Flow, str, str | None]]:
        """From an interface: [(flow, verdict, delivery)]."""
        out: list[tuple[Flow, str, str | None]] = []
        flows, dropped = self.arrival(flows)
        out += [(f, "DROP", None) for f in dropped]
        alive, ended = self.hook("PREROUTING", flows)
        out += [(f, v, None) for f, v in ended]
        local, forward = [], []
        for kind, f in self.route(alive, "PREROUTING"):
            if kind == "local":
                local.append(f)
            elif kind == "forward":
                forward.append(f)
            else:
                out.append((f, "DROP", None))
        if local:
            ok, ended = self.hook("INPUT", local)
            out += [(f, v, None) for f, v in ended]
            out += [(f, "ACCEPT", "local") for f in ok]
        if forward:
            ok, ended = self.hook("FORWARD", forward)
            out += [(f, v, None) for f, v in ended]
            ok, ended = self.hook("POSTROUTING", ok)
            out += [(f, v, None) for f, v in ended]
            out += [(f, "ACCEPT", "forward") for f in ok]
        return out

    def outbound(self, flows: list[Flow]) -> list[tuple[Flow, str, str | None]]:
        """Generated by the host itself: [(flow, verdict, delivery)]. The socket layer routes
        before OUTPUT (so `-o` works there); after nat OUTPUT the packet is routed again."""
        out: list[tuple[Flow, str, str | None]] = []
        routed = [f for kind, f in self.route(flows, "OUTPUT") if kind in ("local", "forward")]
        alive, ended = self.hook("OUTPUT", routed)
        out += [(f, v, None) for f, v in ended]
        local, away = [], []
        for kind, f in self.route(alive, "OUTPUT"):
            (local if kind == "local" else away).append(f)
        ok, ended = self.hook("POSTROUTING", away)
        out += [(f, v, None) for f, v in ended]
        out += [(f, "ACCEPT", "forward") for f in ok]
        ok, ended = self.hook("POSTROUTING", local)
        out += [(f, v, None) for f, v in ended]
        if ok:
            # back in through lo: PREROUTING without nat (the connection's mapping is decided), INPUT
            lo = self.router.lo_mask
            none = self.router.space.alphabet.none
            again = [f.but([_with(b, {IN: lo, OUT: none}) for b in f.boxes]) for f in ok]
            again, ended = self.hook("PREROUTING", again, skip=("nat",))
            out += [(f, v, None) for f, v in ended]
            ok, ended = self.hook("INPUT", again)
            out += [(f, v, None) for f, v in ended]
            out += [(f, "ACCEPT", "local") for f in ok]
        return out
