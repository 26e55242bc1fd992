"""`ipset save` files, so `-m set --match-set NAME FLAGS` can be modelled exactly.

Supported set types: hash:ip, hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip,
hash:ip,port,net, hash:net,port,net, hash:net,net, hash:ip,mac (ip only when mac is not asked),
bitmap:ip, bitmap:port, list:set. Anything else, and `nomatch` entries nested the wrong way,
make the match uncertain rather than wrong.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .space import DPORT, DST, PROTO, SPORT, SRC

PROTO_NAMES = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136, "icmp": 1, "icmpv6": 58}


class IpsetUnsupported(ValueError):
    pass


@dataclass
class IpSet:
    name: str
    type: str
    family: str
    entries: list[tuple] = field(default_factory=list)  # per entry: one value per dimension
    nomatch: list[tuple] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # list:set

    @property
    def dims(self) -> list[str]:
        kind, _, dims = self.type.partition(":")
        return dims.split(",")


def _addr_range(text: str, family: str) -> tuple[int, int]:
    text = text.strip()
    if "-" in text and "/" not in text:
        a, b = text.split("-", 1)
        return int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b))
    net = ipaddress.ip_network(text, strict=False)
    want = 6 if family == "ipv6" else 4
    if net.version != want:
        raise ValueError(f"address {text} is not IPv{want}")
    return int(net.network_address), int(net.broadcast_address)


def _port(text: str) -> tuple[int, int, int]:
    """`tcp:80`, `80`, `udp:1000-2000` -> (proto, lo, hi); a bare port means tcp."""
    proto, colon, ports = text.partition(":")
    if not colon:
        proto, ports = "tcp", text
    p = PROTO_NAMES.get(proto.lower())
    if p is None:
        raise IpsetUnsupported(f"protocol {proto} in an ipset port")
    lo, dash, hi = ports.partition("-")
    return p, int(lo), int(hi if dash else lo)


def parse_ipset_save(text: str) -> dict[str, IpSet]:
    """Parse `ipset save` output. Raises ValueError with a line number for a bad line."""
    sets: dict[str, IpSet] = {}
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        try:
            if parts[0] == "create" and len(parts) >= 3:
                fam = "ipv4"
                if "family" in parts:
                    i = parts.index("family")
                    fam = "ipv6" if parts[i + 1] == "inet6" else "ipv4"
                sets[parts[1]] = IpSet(parts[1], parts[2], fam)
            elif parts[0] == "add" and len(parts) >= 3:
                s = sets.get(parts[1])
                if s is None:
                    raise ValueError(f"add to set {parts[1]} before its create line")
                if s.type == "list:set":
                    s.members.append(parts[2])
                    continue
                entry = _entry(s, parts[2])
                (s.nomatch if "nomatch" in parts[3:] else s.entries).append(entry)
        except IpsetUnsupported as exc:
            sets[parts[1]].type = f"unsupported ({exc})"
        except (ValueError, IndexError) as exc:
            raise ValueError(f"ipset file line {n}: {exc}") from None
    return sets


def _entry(s: IpSet, text: str) -> tuple:
    kind = s.type.partition(":")[0]
    if kind not in ("hash", "bitmap"):
        raise IpsetUnsupported(s.type)
    values = text.split(",")
    dims = s.dims
    if len(values) < len([d for d in dims if d != "mac"]):
        raise ValueError(f"entry {text} does not fit type {s.type}")
    out = []
    for d, v in zip(dims, values):
        if d in ("ip", "net"):
            out.append(("ip", *_addr_range(v, s.family)))
        elif d == "port":
            out.append(("port", *_port(v)))
        elif d == "mac":
            out.append(("mac",))
        else:
            raise IpsetUnsupported(f"dimension {d}")
    return tuple(out)


def _entry_constraint(entry: tuple, flags: list[str]) -> dict:
    if len(flags) < len(entry):
        raise IpsetUnsupported("fewer direction flags than the set has dimensions")
    c: dict = {}
    for dim, flag in zip(entry, flags):
        if dim[0] == "ip":
            c[SRC if flag == "src" else DST] = ((dim[1], dim[2]),)
        elif dim[0] == "port":
            c[PROTO] = ((dim[1], dim[1]),)
            c[SPORT if flag == "src" else DPORT] = ((dim[2], dim[3]),)
        elif dim[0] == "mac":
            raise IpsetUnsupported("a mac dimension is asked for")
    return c


def set_constraints(
    sets: dict[str, IpSet], name: str, flags: list[str], family: str, depth: int = 0
) -> tuple[list[dict], list[dict]]:
    """(member constraints, nomatch constraints) for `--match-set name flags`. Raises
    IpsetUnsupported when the set cannot be modelled exactly."""
    s = sets.get(name)
    if s is None:
        raise IpsetUnsupported(f"set {name} is not in the --ipset file")
    if s.type.startswith("unsupported"):
        raise IpsetUnsupported(f"set {name}: {s.type}")
    if s.type == "list:set":
        if depth > 4:
            raise IpsetUnsupported("list:set nested too deeply")
        pos, neg = [], []
        for m in s.members:
            p, n = set_constraints(sets, m, flags, family, depth + 1)
            pos += p
            neg += n
        if neg:
            raise IpsetUnsupported("nomatch entries inside a list:set")
        return pos, neg
    if s.family != family:
        raise IpsetUnsupported(f"set {name} is {s.family}, the dump is {family}")
    pos = [_entry_constraint(e, flags) for e in s.entries]
    neg = [_entry_constraint(e, flags) for e in s.nomatch]
    return pos, neg
