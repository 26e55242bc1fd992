"""Each modelled match against hand-made packets, and the three-valued ones."""

from __future__ import annotations

import ipaddress

import pytest

from ipt_lint.semantics import PacketSet, Uncertain
from ipt_lint.semantics.space import (
    CTDNAT,
    CTSTATE,
    CTSTATE_BITS,
    DPORT,
    DST,
    FRAG,
    ICMP,
    IN,
    MARK,
    NO,
    ORIG_DPORT,
    PROTO,
    SPORT,
    SRC,
    TCPFLAGS,
    YES,
)

from .helpers import engine_of, filter_table


def a(text: str) -> int:
    return int(ipaddress.ip_address(text))


def rule_set(rule: str, **kw):
    e = engine_of(filter_table(rule), **kw)
    r = next(e.ruleset.rules())
    return e, e.match_set(r)


def member(e, s, **fields) -> bool:
    point = {}
    names = {"src": SRC, "dst": DST, "proto": PROTO, "sport": SPORT, "dport": DPORT, "icmp": ICMP, "mark": MARK}
    for k, v in fields.items():
        if k == "iface":
            point[IN] = e.space.alphabet.name_mask(v).bit_length() - 1
        elif k == "state":
            point[CTSTATE] = CTSTATE_BITS[v].bit_length() - 1
        elif k == "dnat":
            point[CTDNAT] = (YES if v else NO).bit_length() - 1
        elif k == "flags":
            point[TCPFLAGS] = v
        elif k == "later_fragment":
            point[FRAG] = 1 if v else 0
        elif k == "orig_dport":
            point[ORIG_DPORT] = v
        else:
            point[names[k]] = a(v) if k in ("src", "dst") else v
    return s.contains(point)


def test_addresses_ports_and_negation():
    e, s = rule_set("-A INPUT -s 10.0.0.0/8 ! -d 10.1.2.3/32 -p tcp -m tcp ! --dport 22 -j ACCEPT")
    assert member(e, s, src="10.9.9.9", dst="10.1.2.4", proto=6, dport=80)
    assert not member(e, s, src="11.0.0.1", dst="10.1.2.4", proto=6, dport=80)
    assert not member(e, s, src="10.0.0.1", dst="10.1.2.3", proto=6, dport=80)
    assert not member(e, s, src="10.0.0.1", dst="10.1.2.4", proto=6, dport=22)
    assert not member(e, s, src="10.0.0.1", dst="10.1.2.4", proto=17, dport=80)


def test_non_contiguous_mask_is_exact():
    e, s = rule_set("-A INPUT -s 10.0.0.1/255.0.255.255 -j DROP")
    assert member(e, s, src="10.77.0.1") and member(e, s, src="10.200.0.1")
    assert not member(e, s, src="10.77.1.1") and not member(e, s, src="11.77.0.1")


def test_interface_wildcards_and_negation():
    e, s = rule_set("-A INPUT -i br-+ -j ACCEPT")
    assert member(e, s, iface="br-1234")  # unnamed, but starts with br-
    assert not member(e, s, iface="eth0")
    e, s = rule_set("-A INPUT ! -i eth0 -j DROP")
    assert member(e, s, iface="wlan0") and not member(e, s, iface="eth0")


def test_multiport_ports_means_either_direction():
    e, s = rule_set("-A INPUT -p tcp -m multiport --ports 80,443 -j ACCEPT")
    assert member(e, s, proto=6, sport=443, dport=1)
    assert member(e, s, proto=6, sport=1, dport=80)
    assert not member(e, s, proto=6, sport=1, dport=2)
    e, s = rule_set("-A INPUT -p udp -m multiport ! --dports 53,67:68 -j ACCEPT")
    assert member(e, s, proto=17, dport=69) and not member(e, s, proto=17, dport=67)


def test_tcp_flags_and_syn():
    e, s = rule_set("-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT")
    syn, syn_ack = 2, 2 | 16
    assert member(e, s, proto=6, flags=syn) and member(e, s, proto=6, flags=syn | 8)  # PSH not examined
    assert not member(e, s, proto=6, flags=syn_ack)
    e, s = rule_set("-A INPUT -p tcp -m tcp ! --syn -j ACCEPT")
    assert member(e, s, proto=6, flags=syn_ack) and not member(e, s, proto=6, flags=syn)


def test_port_matches_never_match_later_fragments():
    e, s = rule_set("-A INPUT -p udp -m udp --dport 53 -j ACCEPT")
    assert member(e, s, proto=17, dport=53, later_fragment=False)
    assert not member(e, s, proto=17, dport=53, later_fragment=True)


def test_conntrack_states_and_virtual_dnat():
    e, s = rule_set("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT")
    assert member(e, s, state="ESTABLISHED") and member(e, s, state="NEW", dnat=True)
    assert not member(e, s, state="NEW", dnat=False)
    e, s = rule_set("-A INPUT -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")
    assert member(e, s, state="NEW", dnat=False) and not member(e, s, state="NEW", dnat=True)


def test_conntrack_original_tuple_needs_a_connection():
    e, s = rule_set("-A FORWARD -p tcp -m conntrack --ctorigdstport 8080 --ctdir ORIGINAL -j ACCEPT")
    assert member(e, s, proto=6, orig_dport=8080, state="NEW")
    assert not member(e, s, proto=6, orig_dport=8081, state="NEW")
    # untracked packets have no original tuple: the match fails (even the negated form would)
    assert not member(e, s, proto=6, orig_dport=8080, state="UNTRACKED")


def test_icmp_types():
    e, s = rule_set("-A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT")
    assert member(e, s, proto=1, icmp=3 * 256 + 4) and not member(e, s, proto=1, icmp=3 * 256 + 3)
    e, s = rule_set("-A INPUT -p icmp -m icmp --icmp-type echo-request -j ACCEPT")
    assert member(e, s, proto=1, icmp=8 * 256) and not member(e, s, proto=1, icmp=0)


def test_icmpv6_types():
    text = filter_table("-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT")
    e = engine_of("# Generated by ip6tables-save v1.8.9\n" + text)
    assert e.space.family == "ipv6"
    s = e.match_set(next(e.ruleset.rules()))
    assert s.contains({PROTO: 58, ICMP: 128 * 256}) and not s.contains({PROTO: 58, ICMP: 129 * 256})


def test_addrtype_local_uses_the_topology():
    e, s = rule_set("-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT", local=("192.0.2.10",))
    assert member(e, s, dst="192.0.2.10") and member(e, s, dst="127.0.0.1")
    assert s.contains({DST: e.space.host})  # any other address of the host
    assert not member(e, s, dst="192.0.2.11")
    assert e.rule_match(next(e.ruleset.rules())).uses_local


def test_mark_and_connmark_masks():
    e, s = rule_set("-A FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT")
    assert member(e, s, mark=0x4000) and member(e, s, mark=0x4001) and not member(e, s, mark=0x2000)
    e, s = rule_set("-A FORWARD -m mark ! --mark 0x1 -j ACCEPT")
    assert member(e, s, mark=0) and not member(e, s, mark=1)


def test_iprange():
    e, s = rule_set("-A INPUT -m iprange ! --src-range 192.0.2.1-192.0.2.3 -j DROP")
    assert member(e, s, src="192.0.2.4") and not member(e, s, src="192.0.2.2")


def test_comment_and_nfacct_always_match():
    e, s = rule_set('-A INPUT -m comment --comment "hello" -j ACCEPT')
    assert s.same_as(PacketSet.universe(e.space))


@pytest.mark.parametrize(
    "rule, module",
    [
        ("-A INPUT -m limit --limit 3/min -j ACCEPT", "limit"),
        ("-A INPUT -m recent --rcheck --name X -j DROP", "recent"),
        ('-A INPUT -m string --algo bm --string "x" -j DROP', "string"),
        ("-A OUTPUT -m owner --uid-owner 0 -j ACCEPT", "owner"),
        ("-A INPUT -m set --match-set blocked src -j DROP", "set"),
    ],
)
def test_unmodelled_matches_are_three_valued(rule, module):
    e, s = rule_set(rule)
    assert isinstance(s, Uncertain)
    assert any(module in r for r in s.reasons)
    assert not s.over.is_empty()


def test_statistic_is_random_not_uncertain():
    e = engine_of(filter_table("-A INPUT -m statistic --mode random --probability 0.25 -j DROP"))
    rm = e.rule_match(next(e.ruleset.rules()))
    assert rm.exact and rm.random


def test_ipset_file_makes_set_matches_exact():
    from ipt_lint.semantics import parse_ipset_save

    sets = parse_ipset_save(
        "create blocked hash:net family inet hashsize 1024 maxelem 65536\n"
        "add blocked 192.0.2.0/24\nadd blocked 192.0.2.128/25 nomatch\n"
        "create web hash:ip,port family inet\nadd web 198.51.100.1,tcp:443\n"
    )
    e, s = rule_set("-A INPUT -m set --match-set blocked src -j DROP", ipsets=sets)
    assert isinstance(s, PacketSet)
    assert member(e, s, src="192.0.2.5") and not member(e, s, src="192.0.2.200")
    e, s = rule_set("-A INPUT -m set ! --match-set web dst,dst -j DROP", ipsets=sets)
    assert not member(e, s, dst="198.51.100.1", proto=6, dport=443)
    assert member(e, s, dst="198.51.100.1", proto=6, dport=80)
