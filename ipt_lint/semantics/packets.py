"""Building packet sets: one packet for `trace`, "everything from outside" for `exposure`, or
any box from keyword arguments for the checks.

    PacketSpec(in_iface, src, dst, proto, sport=None, dport=None, state="NEW", ...)
    packet_box(space, spec) -> box                  the packet (unspecified ports: any)
    outside_set(space, topology, router) -> PacketSet   new connections from outside
    box_from(space, **fields) -> box                field name (space.FIELD_NAMES) -> value set
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..model.values import PROTOCOLS
from .cubes import cube
from .intervals import iv, iv_normalise, iv_or, iv_sub
from .packetset import PacketSet
from .space import (
    BRIDGED,
    CONNMARK,
    CT_NEW,
    CTDIR,
    CTDNAT,
    CTSNAT,
    CTSTATE,
    CTSTATE_BITS,
    DIR_ORIGINAL,
    DPORT,
    DST,
    FIELD_NAMES,
    FRAG,
    FRAG_FIRST,
    ICMP,
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
    PROTO,
    SCTP,
    SPORT,
    SRC,
    TCP,
    TCP_FLAG_BITS,
    TCPFLAGS,
    UDP,
    Space,
)
from .topology import parse_cidr


class SpecError(ValueError):
    """A packet description that does not make sense (bad address, port, protocol...)."""


@dataclass(frozen=True)
class PacketSpec:
    in_iface: str
    src: str
    dst: str
    proto: str
    sport: int | None = None
    dport: int | None = None
    state: str = "NEW"
    icmp_type: int | None = None
    icmp_code: int | None = None
    mark: int = 0


def parse_addr(text: str, family: str, what: str) -> int:
    try:
        a = ipaddress.ip_address(text.strip())
    except ValueError:
        raise SpecError(f"{what} `{text}' is not an IP address") from None
    want = 6 if family == "ipv6" else 4
    if a.version != want:
        raise SpecError(f"{what} {text} is IPv{a.version} but the dump is IPv{want}")
    return int(a)


def parse_proto(text: str) -> int:
    t = str(text).lower()
    if t == "icmpv6":
        return 58
    if t in PROTOCOLS:
        return PROTOCOLS[t]
    if t.isdigit() and int(t) <= 255:
        return int(t)
    raise SpecError(f"unknown protocol `{text}'")


def _check_port(p: int | None, what: str) -> None:
    if p is not None and not 0 <= p <= 65535:
        raise SpecError(f"{what} {p} is not a port (0-65535)")


def packet_box(space: Space, spec: PacketSpec) -> tuple:
    """The box of one packet arriving on spec.in_iface (original tuple tied to the header)."""
    fam = space.family
    src = parse_addr(spec.src, fam, "--src")
    dst = parse_addr(spec.dst, fam, "--dst")
    proto = parse_proto(spec.proto)
    _check_port(spec.sport, "--sport")
    _check_port(spec.dport, "--dport")
    states = 0
    for s in spec.state.upper().split(","):
        if s not in CTSTATE_BITS:
            raise SpecError(f"--state {s}: expected NEW, ESTABLISHED, RELATED, INVALID or UNTRACKED")
        states |= CTSTATE_BITS[s]
    b = fresh_packet(space, states)
    b[SRC] = iv(src, src)
    b[DST] = iv(dst, dst)
    b[PROTO] = iv(proto, proto)
    if spec.sport is not None:
        b[SPORT] = iv(spec.sport, spec.sport)
    if spec.dport is not None:
        b[DPORT] = iv(spec.dport, spec.dport)
    b[IN] = space.alphabet.name_mask(spec.in_iface)
    b[MARK] = cube(spec.mark, 0xFFFFFFFF)
    if states != CT_NEW:  # a packet of a known connection may carry any connmark
        b[CONNMARK] = space.full[CONNMARK]
    if proto == space.icmp_proto:
        typ = spec.icmp_type if spec.icmp_type is not None else (128 if fam == "ipv6" else 8)
        if spec.icmp_code is not None:
            b[ICMP] = iv(typ * 256 + spec.icmp_code, typ * 256 + spec.icmp_code)
        else:
            b[ICMP] = iv(typ * 256, typ * 256)
    if proto == TCP:
        syn, ack = TCP_FLAG_BITS["SYN"], TCP_FLAG_BITS["ACK"]
        b[TCPFLAGS] = 1 << (syn if states == CT_NEW else ack)
    return tuple(b)


def fresh_packet(space: Space, states: int = CT_NEW) -> list:
    """A packet as ipt-lint sends one in, as a list of fields to fill in (the rest: any value):
    not routed out yet, of a connection in `states` that no NAT has touched, in its original
    direction with the conntrack original tuple tied to the header, no mark or connmark, the
    first fragment, not bridged."""
    none = space.alphabet.none
    b = list(space.full)
    b[OUT] = none
    b[CTSTATE] = states
    b[CTDNAT] = NO
    b[CTSNAT] = NO
    b[CTDIR] = DIR_ORIGINAL
    for f in (ORIG_SRC, ORIG_DST, ORIG_SPORT, ORIG_DPORT):
        b[f] = None
    b[MARK] = cube(0, 0xFFFFFFFF)
    b[CONNMARK] = cube(0, 0xFFFFFFFF)
    b[FRAG] = FRAG_FIRST
    b[PHYSIN] = none
    b[PHYSOUT] = none
    b[BRIDGED] = NO
    return b


def outside_set(
    space: Space, local_iv, container_nets, uplink: int, bridge_nets=(), protos=(TCP, UDP, SCTP)
) -> PacketSet:
    """New connections from outside: any source that is not this host (nor a network behind one
    of its bridges), to this host's addresses or its container networks, on `uplink` interfaces;
    first packets (TCP: a plain SYN). IPv6 drops ::1 from other interfaces before netfilter."""
    if space.family == "ipv6":
        not_sources = iv_or(iv(0, 1), iv(0xFF << 120, (1 << 128) - 1))  # ::, ::1, multicast
    else:
        not_sources = iv_or(iv(0, (1 << 24) - 1), iv(127 << 24, (128 << 24) - 1))
        not_sources = iv_or(not_sources, iv(224 << 24, 0xFFFFFFFF))
    not_sources = iv_or(not_sources, local_iv)
    not_sources = iv_or(not_sources, bridge_nets)
    sources = iv_sub(((0, space.host - 1),), not_sources)
    dests = iv_or(iv_or(local_iv, iv(space.host, space.host)), container_nets)
    if space.family == "ipv6":
        dests = iv_sub(dests, iv(1, 1))
    boxes = []
    for p in protos:
        b = fresh_packet(space)
        b[SRC] = sources
        b[DST] = dests
        b[PROTO] = iv(p, p)
        b[IN] = uplink
        if p == TCP:
            b[TCPFLAGS] = 1 << TCP_FLAG_BITS["SYN"]
        boxes.append(tuple(b))
    return PacketSet(space, boxes)


def box_from(space: Space, **fields) -> tuple:
    """A box with the named fields set (others: any). Address fields accept CIDR strings or
    lists of them; port fields ints, (lo, hi) or lists; interfaces names; proto a name."""
    b = list(space.full)
    for name, value in fields.items():
        if name not in FIELD_NAMES:
            raise SpecError(f"unknown packet field `{name}'")
        f = FIELD_NAMES.index(name)
        b[f] = _value(space, f, value)
    return tuple(b)


def _value(space: Space, f: int, value):
    if f in (SRC, DST, ORIG_SRC, ORIG_DST):
        items = [value] if isinstance(value, str) else list(value)
        out = []
        for t in items:
            lo, hi, _ = parse_cidr(t, space.family)
            out.append((lo, hi))
        return iv_normalise(out)
    if f in (SPORT, DPORT, ORIG_SPORT, ORIG_DPORT):
        items = [value] if isinstance(value, (int, tuple)) else list(value)
        return iv_normalise((x, x) if isinstance(x, int) else x for x in items)
    if f == PROTO:
        items = [value] if isinstance(value, (str, int)) else list(value)
        return iv_normalise((parse_proto(x), parse_proto(x)) for x in items)
    if f in (IN, OUT):
        items = [value] if isinstance(value, str) else list(value)
        m = 0
        for n in items:
            m |= space.alphabet.name_mask(n)
        return m
    if f == CTSTATE:
        items = [value] if isinstance(value, str) else list(value)
        m = 0
        for s in items:
            m |= CTSTATE_BITS[s.upper()]
        return m
    return value
