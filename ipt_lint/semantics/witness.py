"""One concrete packet out of a set: the witness a user can replay.

Choices prefer values a person recognises: a documentation address as the source, <host> as a
host destination, a high source port, a named interface over an invented one. The packet as it
arrived is read from the conntrack original tuple (ORIG_*), which NAT never changes.
"""

from __future__ import annotations

from ..model.values import PROTOCOL_NAMES
from .intervals import iv_contains
from .results import PacketView, Step, Witness, addr_text
from .space import (
    CTSTATE,
    DPORT,
    DST,
    ICMP,
    IN,
    KIND,
    MARK,
    ORIG_DPORT,
    ORIG_DST,
    ORIG_SPORT,
    ORIG_SRC,
    OUT,
    PARTNER,
    PORT_PROTOCOLS,
    PROTO,
    SPORT,
    SRC,
    Space,
)

_DOC_SRC = {"ipv4": (0xCB007109, 0xC6336407, 0xC0000209), "ipv6": (0x20010DB8 << 96 | 0x10,)}
_STATES = (("NEW", 2), ("ESTABLISHED", 4), ("RELATED", 8), ("INVALID", 1), ("UNTRACKED", 16))


def _pick(values, prefer=()) -> int:
    for p in prefer:
        if iv_contains(values, p):
            return p
    lo, hi = values[0]
    return lo


def _pick_addr(space: Space, values, prefer=(), host_first=False) -> int:
    if host_first and iv_contains(values, space.host):
        return space.host
    for p in prefer:
        if iv_contains(values, p):
            return p
    # avoid network and broadcast-looking addresses when there is a choice
    for lo, hi in values:
        if lo >= space.host:
            continue
        for x in (lo, lo + 1, lo + 2):
            if x <= hi and x & 0xFF not in (0, 255):
                return x
    return values[0][0]


def sample(space: Space, box: tuple, src_prefer=()) -> dict[int, int]:
    """Field -> value for one packet in `box` (ORIG fields resolved through their ties)."""
    v: dict[int, int] = {}
    v[SRC] = _pick_addr(space, box[SRC], src_prefer or _DOC_SRC[space.family])
    v[DST] = _pick_addr(space, box[DST], host_first=True)
    v[PROTO] = _pick(box[PROTO], (6, 17, 132, 1, 58))
    v[SPORT] = _pick(box[SPORT], (40000, 50000, 1024))
    v[DPORT] = _pick(box[DPORT], (22, 80, 443, 8080, 53, 1024))
    v[ICMP] = _pick(box[ICMP], (8 * 256, 128 * 256))
    for f in (ORIG_SRC, ORIG_DST, ORIG_SPORT, ORIG_DPORT):
        if box[f] is None:
            v[f] = v[PARTNER[f]]
        elif f in (ORIG_SRC, ORIG_DST):
            prefer = (src_prefer or _DOC_SRC[space.family]) if f == ORIG_SRC else ()
            v[f] = _pick_addr(space, box[f], prefer, host_first=f == ORIG_DST)
        else:
            v[f] = _pick(box[f], (40000,) if f == ORIG_SPORT else ())
    v[CTSTATE] = next((bit for _, bit in _STATES if box[CTSTATE] & bit), 2)
    v[MARK] = box[MARK][0][0] if KIND[MARK] == "cu" and box[MARK] else 0
    v[IN] = box[IN]
    v[OUT] = box[OUT]
    return v


def _view(
    space: Space, v: dict, src: int, dst: int, sport: int, dport: int, in_name: str, out_name: str | None
) -> PacketView:
    proto = v[PROTO]
    ports = proto in PORT_PROTOCOLS
    icmp = proto == space.icmp_proto
    state = next((name for name, bit in _STATES if bit == v[CTSTATE]), "NEW")
    return PacketView(
        family=space.family,
        src=addr_text(src, space.family),
        dst=addr_text(dst, space.family),
        proto=proto,
        proto_name=PROTOCOL_NAMES.get(proto, str(proto)),
        sport=sport if ports else None,
        dport=dport if ports else None,
        icmp_type=v[ICMP] >> 8 if icmp else None,
        icmp_code=v[ICMP] & 0xFF if icmp else None,
        in_iface=in_name,
        out_iface=out_name,
        ctstate=state,
        mark=v[MARK],
    )


def make_witness(
    space: Space, box: tuple, steps: tuple[Step, ...], in_name: str | None = None, src_prefer=(), in_prefer=()
) -> Witness:
    v = sample(space, box, src_prefer)
    a = space.alphabet
    in_iface = in_name or a.sample(v[IN], in_prefer)
    out_iface = None
    if v[OUT] & ~a.none:
        out_iface = a.label_of(v[OUT])  # never an invented name: the route decides, not us
    arrived = _view(space, v, v[ORIG_SRC], v[ORIG_DST], v[ORIG_SPORT], v[ORIG_DPORT], in_iface, None)
    final = _view(space, v, v[SRC], v[DST], v[SPORT], v[DPORT], in_iface, out_iface)
    return Witness(arrived, final, steps)
