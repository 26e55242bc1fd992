"""A rule's matches -> the set of packets it matches, as a union of constraints (sparse boxes).

Modelled exactly: -s/-d (any mask), -i/-o (wildcards, `!`), -p, -f, tcp/udp/sctp/dccp/udplite
ports, --tcp-flags/--syn, multiport, iprange, icmp/icmp6 types, conntrack (--ctstate with the
SNAT/DNAT virtual states, --ctproto, --ctorigsrc/dst, --ctorigsrcport/dstport, --ctdir), state,
addrtype (LOCAL, MULTICAST, BROADCAST, UNICAST, against the topology), mark, connmark, physdev,
set (with an `ipset save` file), comment and nfacct (always true), statistic (random: both
outcomes happen).

Everything else (limit, hashlimit, recent, string, owner, time, u32, bpf, length, ttl, unknown
modules ...) is three-valued: the rule's set becomes an over-approximation, `exact` is False and
`uncertain` names what was not modelled. A rule may then match any packet of `over`, or none.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..model import values as MV
from ..model.types import AddrMatch, IfaceMatch, MatchModel, RuleModel
from ..parse.values import ICMPV6_TYPES
from .cubes import cu_complement, cube
from .intervals import (
    TooManyIntervals,
    iv,
    iv_complement,
    iv_from_mask,
    iv_normalise,
    iv_or,
)
from .ipset import IpsetUnsupported, set_constraints
from .packetset import AND, PacketSet, box_as_constraint
from .space import (
    BRIDGED,
    CONNMARK,
    CT_TRACKED,
    CTDIR,
    CTDNAT,
    CTSNAT,
    CTSTATE,
    CTSTATE_ALL,
    CTSTATE_BITS,
    DIR_ORIGINAL,
    DIR_REPLY,
    DPORT,
    DST,
    FRAG,
    FRAG_FIRST,
    FRAG_LATER,
    ICMP,
    ICMP_MAX,
    IN,
    MARK,
    NO,
    ORIG_DPORT,
    ORIG_DST,
    ORIG_SPORT,
    ORIG_SRC,
    OUT,
    PHYSIN,
    PHYSOUT,
    PORT_MAX,
    PROTO,
    PROTO_MAX,
    SPORT,
    SRC,
    TCP_ALL,
    TCP_FLAG_BITS,
    TCPFLAGS,
    TCPFLAGS_FULL,
    YES,
    Space,
    tcp_flag_set,
)
from .topology import Topology

Constraint = dict  # field -> value, while compiling
DNF = list  # of Constraint: a union


class Unmodelled(Exception):
    """This match cannot be modelled exactly; the message says why (shown to the user)."""


@dataclass(frozen=True)
class RuleMatch:
    """The packets a rule matches. With `exact`, `over` is exactly that set; otherwise the rule
    matches some unknown part of `over` (`uncertain` says why). `random` lists statistic
    matches: then both outcomes really happen, and the set is not "uncertain" but split."""

    over: tuple  # tuple of sparse constraints (a union)
    exact: bool
    uncertain: tuple[str, ...] = ()
    random: tuple[str, ...] = ()
    uses_local: bool = False  # depends on which addresses are local (addrtype)

    @property
    def under(self) -> tuple:
        return self.over if self.exact else ()

    def as_set(self, space: Space, which: str = "over") -> PacketSet:
        return PacketSet.from_constraints(space, self.over if which == "over" else self.under)


def conj(a: DNF, b: DNF) -> DNF:
    """The intersection of two unions of constraints."""
    if len(b) == 1 and not b[0]:
        return a
    out = []
    for x in a:
        for y in b:
            z = dict(x)
            ok = True
            for f, v in y.items():
                if f in z:
                    v = AND[f](z[f], v)
                    if not v:
                        ok = False
                        break
                z[f] = v
            if ok:
                out.append(z)
    return out


def freeze(dnf: DNF) -> tuple:
    return tuple(tuple(sorted(c.items())) for c in dnf)


class MatchCompiler:
    def __init__(self, space: Space, topology: Topology, ipsets: dict | None = None):
        self.space = space
        self.topo = topology
        self.ipsets = ipsets
        self.addr_top = space.host
        local = iv_or(topology.local_intervals(), ((space.host, space.host),))
        self.local_iv = local
        if space.family == "ipv6":
            self.multicast_iv = iv(0xFF << 120, (1 << 128) - 1)
            self.bcast_iv = ()
        else:
            self.multicast_iv = iv(224 << 24, (240 << 24) - 1)
            self.bcast_iv = iv_or(topology.broadcast, iv(0, (1 << 24) - 1))
        self.cache: dict[int, RuleMatch] = {}

    # --- entry point -------------------------------------------------------------------------

    def compile(self, rule: RuleModel) -> RuleMatch:
        got = self.cache.get(id(rule))
        if got is None:
            got = self._compile(rule)
            self.cache[id(rule)] = got
        return got

    def _compile(self, rule: RuleModel) -> RuleMatch:
        dnf: DNF = [{}]
        uncertain: list[str] = []
        random: list[str] = []
        self._uses_local = False
        try:
            if rule.src is not None:
                dnf = conj(dnf, [{SRC: self.addr(rule.src)}])
            if rule.dst is not None:
                dnf = conj(dnf, [{DST: self.addr(rule.dst)}])
        except Unmodelled as exc:
            uncertain.append(str(exc))
        if rule.in_iface is not None:
            dnf = conj(dnf, [{IN: self.iface(rule.in_iface)}])
        if rule.out_iface is not None:
            dnf = conj(dnf, [{OUT: self.iface(rule.out_iface)}])
        if rule.proto is not None and rule.proto.number != 0:
            p = iv(rule.proto.number, rule.proto.number)
            if rule.proto.negated:
                p = iv_complement(p, 0, PROTO_MAX)
            dnf = conj(dnf, [{PROTO: p}])
        elif rule.proto is not None and rule.proto.negated:
            dnf = []  # `! -p all` matches nothing
        if rule.fragment is not None:
            dnf = conj(dnf, [{FRAG: FRAG_LATER if rule.fragment else FRAG_FIRST}])
        for m in rule.matches:
            try:
                part = self.module(m, random)
            except Unmodelled as exc:
                uncertain.append(str(exc))
                continue
            if part is not None:
                dnf = conj(dnf, part)
            if not dnf:
                break
        return RuleMatch(freeze(dnf), not uncertain, tuple(uncertain), tuple(random), self._uses_local)

    # --- building blocks ---------------------------------------------------------------------

    def addr_nets(self, nets) -> tuple:
        out = ()
        for n in nets:
            try:
                piece = iv_from_mask(n.value, n.mask, n.bits)
            except TooManyIntervals as exc:
                raise Unmodelled(f"address {n} with a non-contiguous mask: {exc}") from None
            if n.mask == 0:
                piece = ((0, self.addr_top),)  # 0/0 includes the symbolic host address
            out = iv_or(out, piece)
        return out

    def addr(self, am: AddrMatch) -> tuple:
        v = self.addr_nets(am.nets)
        return iv_complement(v, 0, self.addr_top) if am.negated else v

    def iface(self, im: IfaceMatch, physical: bool = False) -> int:
        a = self.space.alphabet
        m = a.match(im.iface.name, im.iface.wildcard)
        if physical:
            m &= ~a.none  # physdev never matches "not bridged" positively
        return (a.full & ~m) if im.negated else m

    def ports(self, ranges) -> tuple:
        return iv_normalise((r.lo, r.hi) for r in ranges)

    # --- modules -----------------------------------------------------------------------------

    def module(self, m: MatchModel, random: list[str]) -> DNF | None:
        if not m.known:
            raise Unmodelled(f"-m {m.module} is not a module ipt-lint knows")
        handler = getattr(self, "m_" + m.module.replace("-", "_"), None)
        if handler is None:
            raise Unmodelled(f"-m {m.module} is not modelled (it may or may not match)")
        try:
            if m.module == "statistic":
                return handler(m, random)
            return handler(m)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            # A value spelled in a way the model does not read (`--icmpv6-type 0x10`): the rule
            # is undecided, never a crash.
            raise Unmodelled(f"-m {m.module}: value not understood ({exc})") from None

    def _port_opt(self, m: MatchModel, *names):
        for n in names:
            ov = m.get(n)
            if ov is not None:
                v = ov.value
                if v is None and ov.raw:
                    v = MV.parse_port_range(ov.raw[0])
                return ov, v
        return None, None

    def _l4(self, m: MatchModel) -> DNF:
        c: Constraint = {FRAG: FRAG_FIRST}  # port matches never match later fragments
        for field, names in ((SPORT, ("--sport", "--source-port")), (DPORT, ("--dport", "--destination-port"))):
            ov, v = self._port_opt(m, *names)
            if ov is None:
                continue
            r = iv(v.lo, v.hi)
            c[field] = iv_complement(r, 0, PORT_MAX) if ov.negated else r
        return [c]

    def m_tcp(self, m: MatchModel) -> DNF:
        dnf = self._l4(m)
        flags = m.get("--tcp-flags")
        if flags is not None:
            if len(flags.raw) < 2:
                raise Unmodelled("--tcp-flags without both lists")
            mask, comp = self._flag_list(flags.raw[0]), self._flag_list(flags.raw[1])
            s = tcp_flag_set(mask, comp & mask)
            dnf = conj(dnf, [{TCPFLAGS: (TCPFLAGS_FULL & ~s) if flags.negated else s}])
        syn = m.get("--syn")
        if syn is not None:
            s = tcp_flag_set(
                TCP_FLAG_BITS["FIN"] | TCP_FLAG_BITS["SYN"] | TCP_FLAG_BITS["RST"] | TCP_FLAG_BITS["ACK"],
                TCP_FLAG_BITS["SYN"],
            )
            dnf = conj(dnf, [{TCPFLAGS: (TCPFLAGS_FULL & ~s) if syn.negated else s}])
        if m.get("--tcp-option") is not None:
            raise Unmodelled("tcp --tcp-option is not modelled")
        return dnf

    @staticmethod
    def _flag_list(text: str) -> int:
        t = text.upper()
        if t == "ALL":
            return TCP_ALL
        if t == "NONE":
            return 0
        out = 0
        for part in t.split(","):
            if part == "ALL":
                out |= TCP_ALL
            elif part in TCP_FLAG_BITS:
                out |= TCP_FLAG_BITS[part]
            elif part not in ("NONE",):
                raise Unmodelled(f"tcp flag {part} is not modelled")
        return out

    def m_udp(self, m: MatchModel) -> DNF:
        return self._l4(m)

    m_udplite = m_udp

    def m_sctp(self, m: MatchModel) -> DNF:
        if m.get("--chunk-types") is not None:
            raise Unmodelled("sctp --chunk-types is not modelled")
        return self._l4(m)

    def m_dccp(self, m: MatchModel) -> DNF:
        for o in ("--dccp-types", "--dccp-option"):
            if m.get(o) is not None:
                raise Unmodelled(f"dccp {o} is not modelled")
        return self._l4(m)

    def m_multiport(self, m: MatchModel) -> DNF:
        out: DNF = [{FRAG: FRAG_FIRST}]
        for names, fields in (
            (("--dports", "--destination-ports"), (DPORT,)),
            (("--sports", "--source-ports"), (SPORT,)),
            (("--ports",), (SPORT, DPORT)),
        ):
            for n in names:
                ov = m.get(n)
                if ov is None:
                    continue
                ranges = ov.value if ov.value is not None else MV.parse_port_list(ov.raw[0])
                s = self.ports(ranges)
                if len(fields) == 1:
                    v = iv_complement(s, 0, PORT_MAX) if ov.negated else s
                    out = conj(out, [{fields[0]: v}])
                elif ov.negated:
                    comp = iv_complement(s, 0, PORT_MAX)
                    out = conj(out, [{SPORT: comp, DPORT: comp}])
                else:
                    out = conj(out, [{SPORT: s}, {DPORT: s}])
        return out

    def _range(self, text: str) -> tuple:
        a, dash, b = text.partition("-")
        try:
            lo = int(ipaddress.ip_address(a))
            hi = int(ipaddress.ip_address(b)) if dash else lo
        except ValueError:
            raise Unmodelled(f"iprange `{text}' is not numeric") from None
        return iv(lo, hi)

    def m_iprange(self, m: MatchModel) -> DNF:
        c: Constraint = {}
        for name, field in (("--src-range", SRC), ("--dst-range", DST)):
            ov = m.get(name)
            if ov is not None and ov.raw:
                r = self._range(ov.raw[0])
                c[field] = iv_complement(r, 0, self.addr_top) if ov.negated else r
        return [c]

    def _icmp_value(self, typ: int, lo: int, hi: int) -> tuple:
        if typ == 255 and self.space.family == "ipv4":
            return ((0, ICMP_MAX),)
        return iv(typ * 256 + lo, typ * 256 + hi)

    def m_icmp(self, m: MatchModel) -> DNF:
        ov = m.get("--icmp-type")
        c: Constraint = {FRAG: FRAG_FIRST}
        if ov is None:
            return [c]
        v = ov.value
        if v is None and ov.raw and ov.raw[0].lower() != "any":
            v = MV.parse_icmp_type(ov.raw[0])
        s = ((0, ICMP_MAX),) if v is None else self._icmp_value(*v)
        c[ICMP] = iv_complement(s, 0, ICMP_MAX) if ov.negated else s
        return [c]

    def m_icmp6(self, m: MatchModel) -> DNF:
        ov = m.get("--icmpv6-type")
        c: Constraint = {FRAG: FRAG_FIRST}
        if ov is None or not ov.raw:
            return [c]
        text = ov.raw[0]
        spec = text if text[:1].isdigit() else None
        if spec is None:
            for name, val in ICMPV6_TYPES.items():
                if name == text.lower() or name.startswith(text.lower()):
                    spec = val
                    break
        if spec is None:
            raise Unmodelled(f"icmpv6 type `{text}' is not known")
        typ, slash, code = spec.partition("/")
        if slash:
            lo, _, hi = code.partition(":")
            s = iv(int(typ) * 256 + int(lo), int(typ) * 256 + int(hi or lo))
        else:
            s = iv(int(typ) * 256, int(typ) * 256 + 255)
        c[ICMP] = iv_complement(s, 0, ICMP_MAX) if ov.negated else s
        return [c]

    def _states(self, states, negated: bool, virtual: bool) -> DNF:
        bits = 0
        for s in states:
            bits |= CTSTATE_BITS.get(s, 0)
        dnat = virtual and "DNAT" in states
        snat = virtual and "SNAT" in states
        if not negated:
            out = [{CTSTATE: bits}] if bits else []
            if dnat:
                out.append({CTDNAT: YES})
            if snat:
                out.append({CTSNAT: YES})
            return out
        c: Constraint = {CTSTATE: CTSTATE_ALL & ~bits}
        if dnat:
            c[CTDNAT] = NO
        if snat:
            c[CTSNAT] = NO
        return [c]

    def m_state(self, m: MatchModel) -> DNF:
        ov = m.get("--state")
        if ov is None:
            return [{}]
        states = ov.value if ov.value is not None else MV.parse_ctstate(ov.raw[0])
        return self._states(states, ov.negated, virtual=False)

    def m_conntrack(self, m: MatchModel) -> DNF:
        out: DNF = [{}]
        needs_ct = False
        for name, ov in m.options.items():
            if name == "--ctstate":
                states = ov.value if ov.value is not None else MV.parse_ctstate(ov.raw[0])
                out = conj(out, self._states(states, ov.negated, virtual=True))
                continue
            needs_ct = True
            if name == "--ctproto":
                n = ov.value if ov.value is not None else MV.parse_protocol(ov.raw[0])
                if n == 0:
                    v = ((0, PROTO_MAX),)
                else:
                    v = iv(n, n)
                out = conj(out, [{PROTO: iv_complement(v, 0, PROTO_MAX) if ov.negated else v}])
            elif name in ("--ctorigsrc", "--ctorigdst"):
                nets = ov.value if ov.value is not None else MV.parse_net_list(ov.raw[0], self.space.family)
                v = self.addr_nets(nets)
                out = conj(
                    out,
                    [
                        {
                            ORIG_SRC if name == "--ctorigsrc" else ORIG_DST: iv_complement(v, 0, self.addr_top)
                            if ov.negated
                            else v
                        }
                    ],
                )
            elif name in ("--ctorigsrcport", "--ctorigdstport"):
                r = ov.value if ov.value is not None else MV.parse_port_range(ov.raw[0])
                v = iv(r.lo, r.hi)
                out = conj(
                    out,
                    [
                        {
                            ORIG_SPORT if name == "--ctorigsrcport" else ORIG_DPORT: iv_complement(v, 0, PORT_MAX)
                            if ov.negated
                            else v
                        }
                    ],
                )
            elif name == "--ctdir":
                d = (ov.raw[0] if ov.raw else "").upper()
                bit = DIR_ORIGINAL if d == "ORIGINAL" else DIR_REPLY if d == "REPLY" else 0
                if not bit:
                    raise Unmodelled(f"--ctdir {d} is not ORIGINAL or REPLY")
                out = conj(out, [{CTDIR: (3 & ~bit) if ov.negated else bit}])
            else:
                raise Unmodelled(f"conntrack {name} is not modelled")
        if needs_ct:
            # conntrack_mt: without a conntrack entry only a pure --ctstate test can match
            out = conj(out, [{CTSTATE: CT_TRACKED}])
        return out

    def _addrtypes(self, types, which: str) -> tuple:
        self._uses_local = True
        out = ()
        for t in types:
            if t == "LOCAL":
                out = iv_or(out, self.local_iv)
            elif t == "MULTICAST":
                out = iv_or(out, self.multicast_iv)
            elif t == "BROADCAST":
                out = iv_or(out, self.bcast_iv)
            elif t == "UNICAST":
                other = iv_or(iv_or(self.local_iv, self.multicast_iv), self.bcast_iv)
                out = iv_or(out, iv_complement(other, 0, self.addr_top))
            else:
                raise Unmodelled(f"addrtype {which} {t} depends on routes the dump does not show")
        return out

    def m_addrtype(self, m: MatchModel) -> DNF:
        for o in ("--limit-iface-in", "--limit-iface-out"):
            if m.get(o) is not None:
                raise Unmodelled(f"addrtype {o} is not modelled")
        c: Constraint = {}
        for name, field in (("--src-type", SRC), ("--dst-type", DST)):
            ov = m.get(name)
            if ov is None:
                continue
            types = ov.value if ov.value is not None else MV.parse_addrtype(ov.raw[0])
            v = self._addrtypes(types, name)
            c[field] = iv_complement(v, 0, self.addr_top) if ov.negated else v
        return [c]

    def _mark(self, m: MatchModel, field: int) -> DNF:
        ov = m.get("--mark")
        if ov is None:
            return [{}]
        mk = ov.value if ov.value is not None else MV.parse_mark(ov.raw[0])
        v = cube(mk.value, mk.mask)
        return [{field: cu_complement(v) if ov.negated else v}]

    def m_mark(self, m: MatchModel) -> DNF:
        return self._mark(m, MARK)

    def m_connmark(self, m: MatchModel) -> DNF:
        return self._mark(m, CONNMARK)

    def m_physdev(self, m: MatchModel) -> DNF:
        a = self.space.alphabet
        c: Constraint = {}
        for name, field in (("--physdev-in", PHYSIN), ("--physdev-out", PHYSOUT)):
            ov = m.get(name)
            if ov is not None and ov.raw:
                i = MV.parse_iface(ov.raw[0])
                c[field] = self.iface(IfaceMatch(ov.negated, i), physical=True)
        for name, field in (("--physdev-is-in", PHYSIN), ("--physdev-is-out", PHYSOUT)):
            ov = m.get(name)
            if ov is not None:
                v = a.none if ov.negated else (a.full & ~a.none)
                c[field] = AND[field](c[field], v) if field in c else v
        ov = m.get("--physdev-is-bridged")
        if ov is not None:
            c[BRIDGED] = NO if ov.negated else YES
        return [c]

    def m_comment(self, m: MatchModel) -> DNF | None:
        return None

    m_nfacct = m_comment  # counts and always matches

    def m_recent(self, m: MatchModel) -> DNF | None:
        """`--set` only records the source address and always matches (never with `!`):
        kube-proxy's session-affinity DNAT rules carry it. `--rcheck`, `--update` and `--remove`
        depend on earlier packets, so those stay undecided."""
        s = m.get("--set")
        if s is not None and not any(m.get(o) is not None for o in ("--rcheck", "--update", "--remove")):
            return [] if s.negated else None
        raise Unmodelled("-m recent --rcheck/--update depends on earlier packets (it may or may not match)")

    def m_statistic(self, m: MatchModel, random: list[str]) -> DNF | None:
        mode = m.get("--mode")
        mode_text = mode.raw[0] if mode is not None and mode.raw else "random"
        if mode_text == "random":
            p = m.get("--probability")
            try:
                prob = float(p.raw[0]) if p is not None and p.raw else 0.5
            except ValueError:
                prob = 0.5
            neg = p is not None and p.negated
            if prob >= 1.0:
                return None if not neg else []
            if prob <= 0.0:
                return [] if not neg else None
            random.append(f"statistic --probability {p.raw[0] if p else '?'}")
            return None
        random.append(f"statistic --mode {mode_text}")
        return None

    def m_set(self, m: MatchModel) -> DNF:
        ov = m.get("--match-set")
        if ov is None or len(ov.raw) < 2:
            raise Unmodelled("-m set without --match-set NAME FLAGS")
        name, flags = ov.raw[0], ov.raw[1].split(",")
        for o in m.options:
            if o not in ("--match-set", "--update-counters", "--update-subcounters"):
                raise Unmodelled(f"set {o} is not modelled")
        if self.ipsets is None:
            raise Unmodelled(f"-m set --match-set {name}: no --ipset file says what the set holds")
        try:
            pos, neg = set_constraints(self.ipsets, name, flags, self.space.family)
        except IpsetUnsupported as exc:
            raise Unmodelled(f"-m set --match-set {name}: {exc}") from None
        space = self.space
        members = PacketSet.from_constraints(space, freeze(pos)) - PacketSet.from_constraints(space, freeze(neg))
        if ov.negated:
            members = members.complement()
        out = []
        for b in members.boxes:
            c = box_as_constraint(space, b)
            out.append(dict(c))
        return out
