"""What a rule's target does to the packets it matches.

    Effect.kind:
      verdict   ACCEPT / DROP / REJECT end the table's traversal (ACCEPT: go on to the next table)
      return    RETURN
      jump/goto into a user chain
      nat       DNAT / SNAT / MASQUERADE / REDIRECT / NETMAP: rewrite, then like ACCEPT
      continue  non-terminal targets (MARK, CONNMARK, CT, NOTRACK, LOG, NFLOG, TRACE, ...):
                rewrite (maybe nothing) and go on with the next rule
      fork      QUEUE / NFQUEUE / SYNPROXY / TPROXY: decided outside iptables; both ACCEPT and
                DROP are possible and the result is uncertain

`transform(box, hook)` returns `(boxes, uncertain_reason)`: the rewritten packets, and a reason
when the rewrite loses precision.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable

from ..model import values as MV
from ..model.types import RuleModel
from .cubes import FULL32, cu_xmark
from .intervals import iv, iv_and, iv_sub
from .space import (
    CONNMARK,
    CT_UNTRACKED,
    CTDNAT,
    CTSNAT,
    CTSTATE,
    DPORT,
    DST,
    MARK,
    NO,
    ORIG_DPORT,
    ORIG_DST,
    ORIG_SPORT,
    ORIG_SRC,
    PORT_PROTOCOLS,
    PROTO,
    SPORT,
    SRC,
    YES,
    Space,
)

CONTINUING = frozenset(
    {
        "LOG", "NFLOG", "ULOG", "TRACE", "CHECKSUM", "TCPMSS", "TOS", "DSCP", "TTL", "HL", "ECN",
        "CLASSIFY", "SECMARK", "CONNSECMARK", "AUDIT", "IDLETIMER", "LED", "RATEEST", "SET", "TEE",
        "TCPOPTSTRIP", "NFACCT", "DNPT", "SNPT",
    }
)  # fmt: skip
FORKING = frozenset({"QUEUE", "NFQUEUE", "SYNPROXY", "TPROXY", "CLUSTERIP"})
_PORT_PROTOS = tuple((p, p) for p in sorted(PORT_PROTOCOLS))

Transform = Callable[[tuple, str], tuple[list, str | None]]


@dataclass(frozen=True)
class Effect:
    kind: str
    name: str
    text: str  # effect in words, for steps
    transform: Transform | None = None
    uncertain: str | None = None  # the target itself is not modelled


def _port_protos_split(box: tuple) -> tuple[tuple | None, tuple | None]:
    """Split a box into its port-carrying protocols and the rest."""
    with_ports = iv_and(box[PROTO], _PORT_PROTOS)
    rest = iv_sub(box[PROTO], _PORT_PROTOS)
    a = box[:PROTO] + (with_ports,) + box[PROTO + 1 :] if with_ports else None
    b = box[:PROTO] + (rest,) + box[PROTO + 1 :] if rest else None
    return a, b


def _rewrite(
    box: tuple, addr_field: int, port_field: int, orig_addr: int, orig_port: int, addr, port_fn, status_field: int
) -> list:
    """Break the conntrack tie, then rewrite the address and/or port of `box`."""
    out = []
    if port_fn is None:
        targets = [(box, False)]
    else:
        a, b = _port_protos_split(box)
        targets = ([(a, True)] if a else []) + ([(b, False)] if b else [])
    for b, ports in targets:
        lst = list(b)
        if addr is not None:
            if lst[orig_addr] is None:
                lst[orig_addr] = lst[addr_field]
            lst[addr_field] = addr
        if ports:
            if lst[orig_port] is None:
                lst[orig_port] = lst[port_field]
            new = port_fn(lst[port_field])
            if not new:
                continue
            lst[port_field] = new
        lst[status_field] = YES
        out.append(tuple(lst))
    return out


def _port_mapper(lo: int, hi: int, base: int | None):
    """DNAT/SNAT port part: any port of lo-hi; with /base, the port shifted by (lo - base)."""
    if base is None:
        return lambda _ports: iv(lo, hi)

    def shifted(ports):
        moved = tuple((a - base + lo, b - base + lo) for a, b in ports)
        return iv_and(tuple((max(a, 0), min(b, 65535)) for a, b in moved if b >= 0 and a <= 65535), ((lo, hi),))

    return shifted


def _nat_spec(rule: RuleModel, option: str, space: Space):
    ov = rule.target.get(option)
    if ov is None or not ov.raw:
        return None, None, None
    nr = ov.value
    if nr is None:
        try:
            nr = MV.parse_nat_range(ov.raw[0], space.family)
        except ValueError:
            return None, None, None
    base = None
    text = ov.raw[0]
    if "/" in text.rpartition(":")[2] and not text.endswith("]"):
        try:
            base = int(text.rpartition("/")[2])
        except ValueError:
            base = None
    addr = iv(nr.addr_lo, nr.addr_hi) if nr.addr_lo is not None else None
    port_fn = _port_mapper(nr.port_lo, nr.port_hi, base) if nr.port_lo is not None else None
    return addr, port_fn, text


def _mark_op(rule: RuleModel, space: Space) -> tuple[int, int] | None:
    """(value, mask) of MARK/CONNMARK --set-xmark and its spellings: new = (old & ~mask) ^ value."""
    t = rule.target
    for name in ("--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark"):
        ov = t.get(name)
        if ov is None or not ov.raw:
            continue
        if name in ("--set-xmark", "--set-mark"):
            mk = ov.value if ov.value is not None else MV.parse_mark(ov.raw[0])
            if name == "--set-mark":
                return mk.value, mk.mask | mk.value
            return mk.value, mk.mask
        v = int(ov.raw[0], 0)
        if name == "--and-mark":
            return 0, ~v & 0xFFFFFFFF
        if name == "--or-mark":
            return v, v
        return v, 0
    return None


def _mask_opt(rule: RuleModel, name: str, default: int = 0xFFFFFFFF) -> int:
    ov = rule.target.get(name)
    if ov is None or not ov.raw:
        return default
    return int(ov.raw[0], 0)


def _copy_bits(box: tuple, src_field: int, dst_field: int, src_mask: int, dst_mask: int) -> tuple[list, str | None]:
    """dst = (dst & ~dst_mask) ^ (src & src_mask), per source cube; unknown source bits stay unknown."""
    out = []
    lossy = False
    for v, c in box[src_field]:
        known = c & src_mask
        if known != src_mask:
            lossy = True
        new = cu_xmark(box[dst_field], v & known, dst_mask)
        unknown = src_mask & ~known
        if unknown:
            new = tuple((val & ~unknown, care & ~unknown) for val, care in new)
        lst = list(box)
        lst[src_field] = ((v, c),)
        lst[dst_field] = new
        out.append(tuple(lst))
    return out, ("copies mark bits the engine does not know" if lossy else None)


def target_effect(rule: RuleModel, space: Space, chain_exists: Callable[[str], bool]) -> Effect:
    try:
        return _target_effect(rule, space, chain_exists)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # A target value the model does not read: approximated as "continue", named as
        # uncertain, never a crash.
        name = rule.target.name if rule.target else ""
        return Effect("continue", name, f"{name} (not understood)", uncertain=f"{name}: value not understood ({exc})")


def _target_effect(rule: RuleModel, space: Space, chain_exists: Callable[[str], bool]) -> Effect:
    t = rule.target
    if t is None:
        return Effect("continue", "", "no target (counts only)")
    name = t.name
    if t.kind == "goto":
        if chain_exists(name):
            return Effect("goto", name, f"goto {name}")
        return Effect(
            "continue", name, f"goto {name} (no such chain)", uncertain=f"goto to chain {name}, which does not exist"
        )
    if name in ("ACCEPT", "DROP"):
        return Effect("verdict", name, name)
    if name == "REJECT":
        ov = t.get("--reject-with")
        how = f" with {ov.raw[0]}" if ov is not None and ov.raw else ""
        return Effect("verdict", "REJECT", "REJECT" + how)
    if name == "RETURN":
        return Effect("return", name, "RETURN")
    if t.kind == "jump" or (t.kind != "extension" and chain_exists(name)):
        if chain_exists(name):
            return Effect("jump", name, f"jump {name}")
        return Effect(
            "continue", name, f"jump {name} (no such chain)", uncertain=f"jump to chain {name}, which does not exist"
        )
    if name == "DNAT":
        addr, port_fn, text = _nat_spec(rule, "--to-destination", space)
        if addr is None and port_fn is None:
            return Effect(
                "fork",
                name,
                "DNAT (unreadable --to-destination)",
                uncertain="DNAT target without a readable --to-destination",
            )
        return Effect(
            "nat", name, f"DNAT to {text}",
            lambda box, hook: (_rewrite(box, DST, DPORT, ORIG_DST, ORIG_DPORT, addr, port_fn, CTDNAT), None),
        )  # fmt: skip
    if name == "SNAT":
        addr, port_fn, text = _nat_spec(rule, "--to-source", space)
        if addr is None and port_fn is None:
            return Effect(
                "fork", name, "SNAT (unreadable --to-source)", uncertain="SNAT target without a readable --to-source"
            )
        return Effect(
            "nat", name, f"SNAT to {text}",
            lambda box, hook: (_rewrite(box, SRC, SPORT, ORIG_SRC, ORIG_SPORT, addr, port_fn, CTSNAT), None),
        )  # fmt: skip
    if name == "MASQUERADE":
        ports = t.get("--to-ports")
        port_fn = None
        if ports is not None and ports.raw:
            r = ports.value if ports.value is not None else MV.parse_port_range(ports.raw[0], "-")
            port_fn = _port_mapper(r.lo, r.hi, None)
        host = iv(space.host, space.host)
        return Effect(
            "nat", name, "MASQUERADE (source becomes the outgoing interface's address)",
            lambda box, hook: (_rewrite(box, SRC, SPORT, ORIG_SRC, ORIG_SPORT, host, port_fn, CTSNAT), None),
        )  # fmt: skip
    if name == "REDIRECT":
        ports = t.get("--to-ports")
        port_fn = None
        text = "REDIRECT to this host"
        if ports is not None and ports.raw:
            r = ports.value if ports.value is not None else MV.parse_port_range(ports.raw[0], "-")
            port_fn = _port_mapper(r.lo, r.hi, None)
            text += f" port {ports.raw[0]}"
        loop = 1 if space.family == "ipv6" else int(ipaddress.IPv4Address("127.0.0.1"))

        def redirect(box, hook):
            addr = iv(loop, loop) if hook == "OUTPUT" else iv(space.host, space.host)
            return _rewrite(box, DST, DPORT, ORIG_DST, ORIG_DPORT, addr, port_fn, CTDNAT), None

        return Effect("nat", name, text, redirect)
    if name == "NETMAP":
        ov = t.get("--to")
        if ov is None or not ov.raw:
            return Effect("fork", name, "NETMAP", uncertain="NETMAP without --to")
        net = ipaddress.ip_network(ov.raw[0], strict=False)
        whole = iv(int(net.network_address), int(net.broadcast_address))

        def netmap(box, hook):
            if hook in ("PREROUTING", "OUTPUT"):
                return _rewrite(
                    box, DST, DPORT, ORIG_DST, ORIG_DPORT, whole, None, CTDNAT
                ), "NETMAP: the mapped address is approximated by the whole target network"
            return _rewrite(
                box, SRC, SPORT, ORIG_SRC, ORIG_SPORT, whole, None, CTSNAT
            ), "NETMAP: the mapped address is approximated by the whole target network"

        return Effect("nat", name, f"NETMAP to {ov.raw[0]}", netmap)
    if name == "MARK":
        op = _mark_op(rule, space)
        if op is None:
            return Effect("continue", name, "MARK (no value)", uncertain="MARK without a value ipt-lint reads")
        value, mask = op

        def mark(box, hook):
            lst = list(box)
            lst[MARK] = cu_xmark(box[MARK], value, mask)
            return [tuple(lst)], None

        return Effect("continue", name, f"MARK set {value:#x}/{mask:#x} (continue)", mark)
    if name == "CONNMARK":
        op = _mark_op(rule, space)
        if op is not None:
            value, mask = op

            def connmark(box, hook):
                lst = list(box)
                lst[CONNMARK] = cu_xmark(box[CONNMARK], value, mask)
                return [tuple(lst)], None

            return Effect("continue", name, f"CONNMARK set {value:#x}/{mask:#x} (continue)", connmark)
        if t.get("--save-mark") is not None:
            nf = _mask_opt(rule, "--nfmask", _mask_opt(rule, "--mask"))
            ct = _mask_opt(rule, "--ctmask", _mask_opt(rule, "--mask"))
            return Effect(
                "continue",
                name,
                "CONNMARK save-mark (continue)",
                lambda box, hook: _copy_bits(box, MARK, CONNMARK, nf, ct),
            )
        if t.get("--restore-mark") is not None:
            nf = _mask_opt(rule, "--nfmask", _mask_opt(rule, "--mask"))
            ct = _mask_opt(rule, "--ctmask", _mask_opt(rule, "--mask"))
            return Effect(
                "continue",
                name,
                "CONNMARK restore-mark (continue)",
                lambda box, hook: _copy_bits(box, CONNMARK, MARK, ct, nf),
            )
        return Effect("continue", name, "CONNMARK", uncertain="CONNMARK operation not modelled")
    if name == "NOTRACK" or (name == "CT" and t.get("--notrack") is not None):

        def notrack(box, hook):
            lst = list(box)
            lst[CTSTATE] = CT_UNTRACKED
            lst[CTDNAT] = NO
            lst[CTSNAT] = NO
            return [tuple(lst)], None

        return Effect("continue", name, "NOTRACK: the packet is not tracked (continue)", notrack)
    if name == "CT":
        return Effect("continue", name, "CT (continue)")
    if name == "HMARK":

        def hmark(box, hook):
            lst = list(box)
            lst[MARK] = FULL32
            return [tuple(lst)], "HMARK sets a hash-derived mark"

        return Effect("continue", name, "HMARK (continue)", hmark)
    if name in CONTINUING:
        return Effect("continue", name, f"{name} (continue)")
    if name in FORKING:
        return Effect("fork", name, name, uncertain=f"{name}: the verdict is decided outside iptables")
    return Effect(
        "continue",
        name,
        f"{name} (assumed to continue)",
        uncertain=f"target {name} is not modelled; assumed to let the packet continue",
    )
