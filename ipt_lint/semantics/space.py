"""The packet fields the engine reasons about, and the `Space` that fixes their domains.

A packet is a point with one value per field; a box gives each field a set of values. Three
kinds of field sets:

* IV: integer interval sets (`intervals.py`): addresses, ports, protocol, ICMP type/code;
* BM: bit masks over a small finite alphabet: interfaces, conntrack state, direction, NAT
  status, TCP flag combinations, fragment, bridged;
* CU: ternary cubes over 32 bits (`cubes.py`): mark and connmark.

Addresses get one symbolic value past the top of the real range, HOST = 2**bits: "one of this
host's own addresses that neither the dump nor --local names". A rule cannot tell such addresses
apart, so one value stands for all of them; `-d 0.0.0.0/0` and `! -d 10.0.0.0/8` include it,
`-d 192.168.1.10/32` does not.

The conntrack original tuple (ORIG_SRC, ORIG_DST, ORIG_SPORT, ORIG_DPORT) may be TIED (None):
"equal to the packet's current value", which is what it is until NAT rewrites the packet. A box
cannot say "x == y" with independent sets, so the tie is kept symbolically and broken (the
original value copied out) at the moment DNAT/SNAT rewrites the current field. After that the
two are independent, and the product is exact because the rewritten field is a constant.
"""

from __future__ import annotations

from .cubes import FULL32
from .ifaces import IfaceAlphabet

# Field indices of a box (a tuple). Keep partners before their ORIG_ fields: box operations
# resolve a tie by looking at the partner, which must already be final.
(
    SRC,
    DST,
    PROTO,
    SPORT,
    DPORT,
    IN,
    OUT,
    CTSTATE,
    CTDNAT,
    CTSNAT,
    CTDIR,
    ORIG_SRC,
    ORIG_DST,
    ORIG_SPORT,
    ORIG_DPORT,
    MARK,
    CONNMARK,
    ICMP,
    TCPFLAGS,
    FRAG,
    PHYSIN,
    PHYSOUT,
    BRIDGED,
) = range(23)
NFIELDS = 23

FIELD_NAMES = (
    "src",
    "dst",
    "proto",
    "sport",
    "dport",
    "in_iface",
    "out_iface",
    "ctstate",
    "ct_dnat",
    "ct_snat",
    "ctdir",
    "orig_src",
    "orig_dst",
    "orig_sport",
    "orig_dport",
    "mark",
    "connmark",
    "icmp",
    "tcp_flags",
    "fragment",
    "physdev_in",
    "physdev_out",
    "bridged",
)

IV, BM, CU = "iv", "bm", "cu"
KIND = (IV, IV, IV, IV, IV, BM, BM, BM, BM, BM, BM, IV, IV, IV, IV, CU, CU, IV, BM, BM, BM, BM, BM)

# ORIG field -> the current field it is tied to.
PARTNER = {ORIG_SRC: SRC, ORIG_DST: DST, ORIG_SPORT: SPORT, ORIG_DPORT: DPORT}
ORIG_OF = {v: k for k, v in PARTNER.items()}
ORIG_FIELDS = frozenset(PARTNER)

# conntrack state bits (field CTSTATE)
CT_INVALID, CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_UNTRACKED = 1, 2, 4, 8, 16
CTSTATE_BITS = {"INVALID": 1, "NEW": 2, "ESTABLISHED": 4, "RELATED": 8, "UNTRACKED": 16}
CTSTATE_ALL = 31
CT_TRACKED = CT_NEW | CT_ESTABLISHED | CT_RELATED
# two-valued fields: bit 1 = no, bit 2 = yes
NO, YES, BOTH = 1, 2, 3
# CTDIR
DIR_ORIGINAL, DIR_REPLY = 1, 2
# FRAG: bit 1 = unfragmented or first fragment, bit 2 = a later fragment (what `-f` matches)
FRAG_FIRST, FRAG_LATER = 1, 2

# TCP flags: FIN SYN RST PSH ACK URG (iptables' ALL), a set of the 64 combinations as a 64-bit mask
TCP_FLAG_BITS = {"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32}
TCP_ALL = 63
TCPFLAGS_FULL = (1 << 64) - 1


def tcp_flag_set(mask: int, comp: int) -> int:
    """The flag combinations c with c & mask == comp, as a 64-bit set."""
    out = 0
    for c in range(64):
        if c & mask == comp:
            out |= 1 << c
    return out


PORT_MAX = 65535
PROTO_MAX = 255
ICMP_MAX = 0xFFFF  # type * 256 + code

TCP, UDP, ICMP4, SCTP, DCCP, UDPLITE, ICMP6 = 6, 17, 1, 132, 33, 136, 58
PORT_PROTOCOLS = (TCP, UDP, SCTP, DCCP, UDPLITE)


class Space:
    """The domains for one family and one interface alphabet. Every PacketSet belongs to one."""

    def __init__(self, family: str, alphabet: IfaceAlphabet):
        self.family = family
        self.bits = 128 if family == "ipv6" else 32
        self.addr_max = (1 << self.bits) - 1
        self.host = 1 << self.bits  # the symbolic "other address of this host"
        self.alphabet = alphabet
        addr_full = ((0, self.host),)
        port_full = ((0, PORT_MAX),)
        a = alphabet.full
        self.full = (
            addr_full,
            addr_full,
            ((0, PROTO_MAX),),
            port_full,
            port_full,
            a,
            a,
            CTSTATE_ALL,
            BOTH,
            BOTH,
            BOTH,
            addr_full,
            addr_full,
            port_full,
            port_full,
            FULL32,
            FULL32,
            ((0, ICMP_MAX),),
            TCPFLAGS_FULL,
            BOTH,
            a,
            a,
            BOTH,
        )
        self.real_addrs = ((0, self.addr_max),)
        self.icmp_proto = ICMP6 if family == "ipv6" else ICMP4

    def is_full(self, field: int, value) -> bool:
        return value == self.full[field]

    def domain_bounds(self, field: int) -> tuple[int, int]:
        return self.full[field][0]
