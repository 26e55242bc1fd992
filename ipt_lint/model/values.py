"""Typed values of the options the engine models. Each parser raises ValueError with the message
iptables itself would give, which becomes an IPT105 invalid-value finding."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..parse.values import ICMP_TYPES as _XT_ICMP_TYPES
from ..parse.values import PROTOCOLS as _XT_PROTOCOLS
from ..parse.values import VALIDATORS as _xt_validators
from ..parse.values import _ICMP_KW, _Keywords, icmp_is_numeric
from ..parse.values import parse_port as _xt_parse_port
from ..parse.values import parse_uint
from .types import Iface, Net

PROTOCOLS = {
    "all": 0, "icmp": 1, "igmp": 2, "ggp": 3, "ipencap": 4, "st": 5, "tcp": 6, "egp": 8, "igp": 9,
    "pup": 12, "udp": 17, "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36,
    "ddp": 37, "idpr-cmtp": 38, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "idrp": 45, "rsvp": 46,
    "gre": 47, "esp": 50, "ah": 51, "skip": 57, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "rspf": 73, "vmtp": 81, "eigrp": 88, "ospf": 89, "ax.25": 93, "ipip": 94,
    "etherip": 97, "encap": 98, "pim": 103, "ipcomp": 108, "vrrp": 112, "l2tp": 115, "isis": 124,
    "sctp": 132, "fc": 133, "mobility-header": 135, "udplite": 136, "mpls-in-ip": 137, "manet": 138,
    "hip": 139, "shim6": 140, "wesp": 141, "rohc": 142, "ethernet": 143, "mptcp": 262,
}
PROTOCOL_NAMES = {v: k for k, v in reversed(list(PROTOCOLS.items()))}
PROTOCOL_NAMES[58] = "ipv6-icmp"

SERVICES = {
    "tcpmux": 1, "echo": 7, "discard": 9, "systat": 11, "daytime": 13, "netstat": 15, "qotd": 17,
    "chargen": 19, "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "time": 37,
    "whois": 43, "tacacs": 49, "domain": 53, "gopher": 70, "finger": 79, "http": 80, "www": 80,
    "kerberos": 88, "pop3": 110, "sunrpc": 111, "auth": 113, "nntp": 119, "ntp": 123,
    "epmap": 135, "netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap2": 143,
    "imap": 143, "snmp": 161, "snmp-trap": 162, "bgp": 179, "irc": 194, "ldap": 389, "https": 443,
    "microsoft-ds": 445, "isakmp": 500, "syslog": 514, "printer": 515, "submission": 587,
    "ldaps": 636, "rsync": 873, "ftps": 990, "imaps": 993, "pop3s": 995, "openvpn": 1194,
    "ms-sql-s": 1433, "mysql": 3306, "postgresql": 5432, "nfs": 2049, "bootps": 67, "bootpc": 68,
    "tftp": 69, "x11": 6000, "sip": 5060, "xmpp-client": 5222, "redis": 6379,
}

CTSTATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
ADDRTYPES = (
    "UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE",
    "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
)


def ipv4_int(text: str) -> int:
    """ipaddress.IPv4Address(text) as an int, with the common dotted quad read directly: four
    decimal parts of 1-3 ASCII digits, no leading zero, each at most 255, is exactly what
    IPv4Address accepts; anything else is left to it (and its errors)."""
    parts = text.split(".")
    if len(parts) == 4:
        value = 0
        for p in parts:
            if not (0 < len(p) <= 3 and p.isascii() and p.isdigit()) or (p[0] == "0" and len(p) > 1):
                break
            n = int(p)
            if n > 255:
                break
            value = value << 8 | n
        else:
            return value
    return int(ipaddress.IPv4Address(text))


def parse_net(text: str, family: str) -> Net:
    """`1.2.3.4`, `10.0.0.0/8`, `10.0.0.0/255.0.255.0`, `2001:db8::/32`; host bits are cleared."""
    bits = 128 if family == "ipv6" else 32
    addr_text, slash, mask_text = text.partition("/")
    if addr_text == "localhost":
        addr_text = "::1" if bits == 128 else "127.0.0.1"
    try:
        addr = int(ipaddress.IPv6Address(addr_text)) if bits == 128 else ipv4_int(addr_text)
    except ValueError:
        other = "IPv6" if bits == 32 and ":" in addr_text else "IPv4" if bits == 128 and "." in addr_text else None
        if other:
            family_name = "IPv4" if bits == 32 else "IPv6"
            raise ValueError(
                f"{other} address `{addr_text}' in an {family_name} dump: a dump holds one family "
                "(iptables-save and ip6tables-save write separate files)"
            ) from None
        raise ValueError(f"host/network `{addr_text}' not found") from None
    full = (1 << bits) - 1
    if not slash:
        mask = full
    elif mask_text.isdigit():
        plen = int(mask_text)
        if plen > bits:
            raise ValueError(f"invalid mask `{mask_text}' specified")
        mask = (full << (bits - plen)) & full
    else:
        try:
            m = ipaddress.IPv6Address(mask_text) if bits == 128 else ipaddress.IPv4Address(mask_text)
        except ValueError:
            raise ValueError(f"invalid mask `{mask_text}' specified") from None
        mask = int(m)
    return Net(addr & mask, mask, bits)


_NETS: dict[tuple[str, str], tuple[Net, ...]] = {}


def parse_net_list(text: str, family: str) -> tuple[Net, ...]:
    """`-s a,b` as networks; memoised, since the same networks recur all over a large dump."""
    key = (text, family)
    nets = _NETS.get(key)
    if nets is None:
        if len(_NETS) > 200_000:
            _NETS.clear()
        nets = _NETS[key] = tuple(parse_net(part, family) for part in text.split(","))
    return nets


def parse_iface(text: str) -> Iface:
    if len(text) > 15 and not (len(text) == 16 and text.endswith("+")):
        raise ValueError(f"interface name `{text}' must be shorter than 16 characters")
    if text.endswith("+"):
        return Iface(text[:-1], True)
    return Iface(text, False)


def parse_protocol(text: str) -> int:
    """`-p`, `--ctproto`: a number read like xtables_strtoui (base 0: `0x10` is 16, `010` is 8,
    `08` fails), else a name from /etc/protocols (the validator's table), case-insensitively."""
    n = parse_uint(text)
    if n is not None:
        if n <= 255:
            return n
        raise ValueError(f'unknown protocol "{text}" specified')
    t = text.lower()
    if t in PROTOCOLS:
        return PROTOCOLS[t]
    if t in _XT_PROTOCOLS:
        return _XT_PROTOCOLS[t]
    raise ValueError(f'unknown protocol "{text}" specified')


def parse_port(text: str) -> int:
    """A port as iptables reads it: a service name, or a number in base 0 like xtables_strtoui
    (`0x16` is 22, `010` is 8; `08` and Unicode digits are errors), as the validator
    (ipt_lint.parse.values.parse_port) already holds; int() read `010` as 10 and refused `0x16`."""
    n = SERVICES.get(text)
    if n is None:
        n = _xt_parse_port(text)
    if n is None:
        raise ValueError(f"invalid port/service `{text}' specified")
    return n


@dataclass(frozen=True, slots=True)
class PortRange:
    lo: int
    hi: int

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}:{self.hi}"


def parse_port_range(text: str, sep: str = ":") -> PortRange:
    if sep == "-":  # REDIRECT/MASQUERADE --to-ports: libxt_REDIRECT's own, stricter reading
        problem = _xt_validators["port_or_range_dash"](text, "ipv4")
        if problem:
            raise ValueError(problem)
    if sep in text and text not in SERVICES:  # `ftp-data` is a service, not a range
        a, _, b = text.partition(sep)
        lo = parse_port(a) if a else 0
        hi = parse_port(b) if b else 65535
        if lo > hi:
            raise ValueError(f"invalid portrange `{text}' specified (start greater than end)")
        return PortRange(lo, hi)
    p = parse_port(text)
    return PortRange(p, p)


def parse_port_list(text: str) -> tuple[PortRange, ...]:
    ranges = tuple(parse_port_range(part) for part in text.split(","))
    slots = sum(1 if r.lo == r.hi else 2 for r in ranges)
    if slots > 15:
        raise ValueError("too many ports specified (multiport takes at most 15)")
    return ranges


@dataclass(frozen=True, slots=True)
class Mark:
    value: int
    mask: int


def _uint(text: str, limit: int = 0xFFFFFFFF) -> int:
    """Like xtables_strtoui, base 0: `010` is 8 and `08` is an error (Python's int(text, 0)
    refused `010` and took `22 ` and Unicode digits, which iptables refuses)."""
    n = parse_uint(text)
    if n is None:
        raise ValueError(f"bad value `{text}'")
    if not 0 <= n <= limit:
        raise ValueError(f"value `{text}' out of range")
    return n


def parse_mark(text: str) -> Mark:
    v, slash, m = text.partition("/")
    return Mark(_uint(v), _uint(m) if slash else 0xFFFFFFFF)


def parse_flags(text: str, allowed: tuple[str, ...], what: str) -> frozenset[str]:
    """A comma list of names as conntrack, state and addrtype read it: each item a
    case-insensitive prefix (strncasecmp with the item's length), the first name in the
    parser's order winning (`E` is ESTABLISHED, `UN` UNTRACKED or UNSPEC); an empty item fails."""
    kw = _FLAG_KEYWORDS.get(allowed)
    if kw is None:
        kw = _FLAG_KEYWORDS[allowed] = _Keywords(allowed, prefix=True, first_wins=True)
    out = set()
    for part in text.split(","):
        p = kw.lookup(part) if part else None
        if not p:
            raise ValueError(f'Bad {what} "{part}"')
        out.add(p)
    return frozenset(out)


_FLAG_KEYWORDS: dict[tuple[str, ...], _Keywords] = {}
STATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED")  # -m state: no SNAT/DNAT


def parse_ctstate(text: str) -> frozenset[str]:
    """conntrack `--ctstate` (and, until the model tells them apart, state `--state`)."""
    return parse_flags(text, CTSTATES, "ctstate")


def parse_state(text: str) -> frozenset[str]:
    """state `--state`: libxt_state knows neither SNAT nor DNAT (`Bad state "SNAT"`)."""
    return parse_flags(text, STATES, "state")


def parse_addrtype(text: str) -> frozenset[str]:
    return parse_flags(text, ADDRTYPES, "address type")


@dataclass(frozen=True, slots=True)
class NatRange:
    """`--to-destination 10.0.0.2-10.0.0.3:80-81` (ports may be None: keep the original)."""

    addr_lo: int | None
    addr_hi: int | None
    port_lo: int | None
    port_hi: int | None
    bits: int

    def first_address(self) -> str | None:
        if self.addr_lo is None:
            return None
        return str(ipaddress.ip_address(self.addr_lo) if self.bits == 32 else ipaddress.IPv6Address(self.addr_lo))


def parse_nat_range(text: str, family: str) -> NatRange:
    bits = 128 if family == "ipv6" else 32
    addr_part, port_part = text, ""
    if bits == 128:
        if text.startswith("["):
            end = text.find("]")
            if end < 0:
                raise ValueError(f"invalid address `{text}'")
            addr_part, rest = text[1:end], text[end + 1 :]
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"invalid address `{text}'")
                port_part = rest[1:]
        elif text.startswith(":"):
            addr_part, port_part = "", text[1:]
    else:
        addr_part, _, port_part = text.partition(":")
        if ":" in text and not port_part:
            raise ValueError(f"invalid port range in `{text}'")
    lo = hi = None
    if addr_part:
        a, dash, b = addr_part.partition("-")
        try:
            ctor = (lambda t: int(ipaddress.IPv6Address(t))) if bits == 128 else ipv4_int
            lo = ctor(a)
            hi = ctor(b) if dash else lo
        except ValueError:
            raise ValueError(f"Bad IP address `{addr_part}'") from None
        if hi < lo:
            raise ValueError(f"Bad IP address range `{addr_part}'")
    plo = phi = None
    if port_part:
        ports, slash, base = port_part.partition("/")
        if ports in SERVICES:
            a, dash, b = ports, "", ""
        else:
            a, dash, b = ports.partition("-")
        plo = parse_port(a)
        phi = parse_port(b) if dash else plo
        if slash and (not base or parse_port(base) == 0 and base != "0" or not 0 < parse_port(base) <= 65535):
            raise ValueError(f"invalid port base `{base}'")
        if phi < plo:
            raise ValueError(f"invalid port range `{ports}'")
        if plo == 0:
            raise ValueError(f"Port `{a}' not valid")
    return NatRange(lo, hi, plo, phi, bits)


def parse_icmp_type(text: str) -> tuple[int, int, int] | None:
    """(type, code_lo, code_hi), or None for `any` (type 255, which iptables-save prints as
    `any`). Numbers as xtables_strtoui reads them (`0x10` is 16, `08` fails); a name may be
    abbreviated to an unambiguous prefix (`echo-req`), as the validator holds."""
    problem = _xt_validators["icmp_type"](text, "ipv4")
    if problem:
        raise ValueError(problem)
    if not icmp_is_numeric(text):
        hit = _ICMP_KW.lookup(text)
        t = hit.lower() if isinstance(hit, str) else text.lower()
        if t == "any":
            return None
        if t in ICMP_TYPES:
            return ICMP_TYPES[t]
        text = _XT_ICMP_TYPES[hit]  # a name only the validator's table has: its number
    typ_text, slash, code = text.partition("/")
    typ = parse_uint(typ_text)
    if typ == 255:
        return None
    if not slash:
        return typ, 0, 255
    lo_text, colon, hi_text = code.partition(":")
    lo = parse_uint(lo_text)
    hi = parse_uint(hi_text) if colon else lo
    return typ, lo, hi


ICMP_TYPES = {
    "echo-reply": (0, 0, 255), "pong": (0, 0, 255), "destination-unreachable": (3, 0, 255),
    "network-unreachable": (3, 0, 0), "host-unreachable": (3, 1, 1), "protocol-unreachable": (3, 2, 2),
    "port-unreachable": (3, 3, 3), "fragmentation-needed": (3, 4, 4), "source-route-failed": (3, 5, 5),
    "network-unknown": (3, 6, 6), "host-unknown": (3, 7, 7), "network-prohibited": (3, 9, 9),
    "host-prohibited": (3, 10, 10), "TOS-network-unreachable": (3, 11, 11),
    "TOS-host-unreachable": (3, 12, 12), "communication-prohibited": (3, 13, 13),
    "host-precedence-violation": (3, 14, 14), "precedence-cutoff": (3, 15, 15),
    "source-quench": (4, 0, 255), "redirect": (5, 0, 255), "network-redirect": (5, 0, 0),
    "host-redirect": (5, 1, 1), "TOS-network-redirect": (5, 2, 2), "TOS-host-redirect": (5, 3, 3),
    "echo-request": (8, 0, 255), "ping": (8, 0, 255), "router-advertisement": (9, 0, 255),
    "router-solicitation": (10, 0, 255), "time-exceeded": (11, 0, 255), "ttl-exceeded": (11, 0, 255),
    "ttl-zero-during-transit": (11, 0, 0), "ttl-zero-during-reassembly": (11, 1, 1),
    "parameter-problem": (12, 0, 255), "ip-header-bad": (12, 0, 0), "required-option-missing": (12, 1, 1),
    "timestamp-request": (13, 0, 255), "timestamp-reply": (14, 0, 255),
    "address-mask-request": (17, 0, 255), "address-mask-reply": (18, 0, 255),
}
ICMP_TYPES = {k.lower(): v for k, v in ICMP_TYPES.items()}
