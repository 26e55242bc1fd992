"""Value validators for iptables option arguments.

    VALIDATORS[value_type](text, family) -> None if iptables would accept `text`, else a short message

`family` is "ipv4" or "ipv6". Options that take two arguments (`--tcp-flags MASK COMP`,
`--match-set NAME FLAGS`, `-c PKTS BYTES` ...) are validated with their arguments joined by one
space.

What "valid" means here: what the newest iptables accepts. Where iptables 1.8.9 and later
releases disagree, the later rule wins: reversed ranges (`--sport 4:3`) are errors because
1.8.11 rejects them (1.8.9 loaded them), and the ICMPv6 names `mld-listener-*` (1.8.10) are
accepted. Names that iptables resolves through the system at run time (host names through DNS,
services through /etc/services, protocols through /etc/protocols, users, realms, device groups)
are checked against embedded tables where a table is small and stable (services, protocols) and
otherwise only for shape: a word that could be a host name is valid-but-unresolvable, not an
error (see `looks_like_hostname`).

A few values that iptables lets through but that cannot mean what they say are refused too:
numbers it silently cuts to the field's width (conntrack ports above 65535, CLASSIFY handles
above 0xffff), prefix lengths wider than the family, reversed owner ranges, weekday numbers above
7 and month day 0.

Messages copy iptables' own wording where there is one (`invalid port/service `x' specified`,
`host/network `x' not found`, `Unknown TCP flag `x'` ...), see ../shared/docs/restore-errors.md.

Everything here is called once per option value of every rule of dumps with 100k rules: the
functions are plain, use precompiled patterns and module-level tables, and cache the few that
are worth it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from functools import lru_cache

__all__ = [
    "VALIDATORS",
    "Validator",
    "PROTOCOLS",
    "SERVICES",
    "ICMP_TYPES",
    "ICMPV6_TYPES",
    "looks_like_hostname",
    "parse_uint",
    "parse_port",
    "validate",
]

Validator = Callable[[str, str], "str | None"]

# --------------------------------------------------------------------------------------------
# Numbers. iptables reads nearly every number with xtables_strtoui(…, base 0): decimal, 0x-hex or
# 0-octal, no sign ("-1" fails even where 0 is allowed), nothing after the digits ("08" fails: the
# octal 0 is followed by an 8).
# --------------------------------------------------------------------------------------------

_UINT = re.compile(r"\s*\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))\Z")


def parse_uint(text: str) -> int | None:
    """The value of `text` read as xtables_strtoui does (base 0), or None."""
    m = _UINT.match(text)
    if m is None:
        return None
    hexa, octal, dec = m.groups()
    if hexa is not None:
        return int(hexa, 16)
    if octal is not None:
        return int(octal, 8)
    return int(dec)


U8, U16, U32, U64 = 0xFF, 0xFFFF, 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF


def _uint(lo: int, hi: int, what: str = "value") -> Validator:
    def check(text: str, family: str) -> str | None:
        v = parse_uint(text)
        if v is None or not lo <= v <= hi:
            return f"invalid {what} `{text}' (expected {lo}..{hi})"
        return None

    return check


def _uint_range(hi: int, what: str = "range", strict: bool = False) -> Validator:
    """`a`, `a:b`, `:b`, `a:`, `:` with 0 <= a <= b <= hi (xtopt's *RC types, e.g. --ahspi, --length).

    Reversed ranges are accepted by 1.8.9 and rejected since 1.8.11 (commit 9d41421a); here they
    are an error. `strict` also refuses a == b (NFQUEUE --queue-balance)."""

    def check(text: str, family: str) -> str | None:
        parts = text.split(":")
        if len(parts) > 2:
            return f"invalid {what} `{text}': too many `:'"
        values = []
        for p in parts:
            if p == "":
                values.append(None)
                continue
            v = parse_uint(p)
            if v is None or v > hi:
                return f"invalid {what} `{text}' (values are 0..{hi})"
            values.append(v)
        if len(values) == 2:
            a = values[0] if values[0] is not None else 0
            b = values[1] if values[1] is not None else hi
            if a > b:
                return f"invalid {what} `{text}': start {a} is above end {b} (rejected since iptables 1.8.11)"
            if strict and a == b:
                return f"invalid {what} `{text}': {a} should be less than {b}"
        return None

    return check


_queue_range = _uint_range(0xFFFE, "queue range", strict=True)


def _queue_balance(text: str, family: str) -> str | None:
    """NFQUEUE --queue-balance FROM:TO, queues 0..65534, FROM below TO; a single number fails."""
    if ":" not in text:
        return f'Bad range "{text}"'
    return _queue_range(text, family)


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------

# One DNS label: letters, digits, '-' and '_' (seen in real zones), not starting or ending with '-'.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?\Z")
_ALL_NUMERIC_LABELS = re.compile(r"[0-9.]+\Z|0[xX][0-9a-fA-F.xX]*\Z")


def looks_like_hostname(text: str) -> bool:
    """True for a word iptables would hand to the resolver (`localhost`, `gw.example.com`).

    Such a value is valid syntax, but what it means depends on DNS at load time; checks may want
    to say so. Words made only of digits and dots are addresses, never host names."""
    return (
        len(text) <= 253
        and _HOSTNAME.match(text) is not None
        and _ALL_NUMERIC_LABELS.match(text) is None
        and not text.replace(".", "").isdigit()
    )


@lru_cache(maxsize=65536)
def _host4(text: str) -> bool:
    # inet_aton semantics, exactly what iptables falls back to through getaddrinfo: `10` is
    # 0.0.0.10, `1.2.65535` is fine, hex and octal parts are allowed, `1.2.3.400` is not.
    if not text or any(c.isspace() for c in text):  # inet_aton ignores what follows a blank
        return False
    try:
        socket.inet_aton(text)
    except OSError:
        return False
    return True


@lru_cache(maxsize=65536)
def _host6(text: str) -> bool:
    addr, _, scope = text.partition("%")  # fe80::1%eth0: getaddrinfo takes a scope id
    if ":" not in addr or (scope == "" and "%" in text):
        return False
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return True


def _host(text: str, family: str) -> bool:
    if family == "ipv6":
        return _host6(text) or looks_like_hostname(text)
    return _host4(text) or looks_like_hostname(text)


def _mask_ok(mask: str, family: str) -> bool:
    if family == "ipv6":
        if ":" in mask:
            return _host6(mask)
        v = parse_uint(mask)
        return v is not None and v <= 128
    if "." in mask:
        # a dotted mask must have all 4 parts (xtables refuses to autocomplete masks);
        # non-contiguous masks are accepted and kept as written
        parts = mask.split(".")
        return len(parts) == 4 and all((v := parse_uint(p)) is not None and v <= 255 for p in parts)
    v = parse_uint(mask)
    return v is not None and v <= 32


def _not_found(text: str) -> str:
    return f"host/network `{text}' not found"


@lru_cache(maxsize=65536)
def _address(text: str, family: str) -> str | None:
    host, slash, mask = text.rpartition("/")
    if not slash:
        host = text
    elif not _mask_ok(mask, family):
        return f"invalid mask `{mask}' specified"
    if not host or not _host(host, family):
        return _not_found(host or text)
    return None


def v_address(text: str, family: str) -> str | None:
    """`-s`/`-d` style: host, net/prefix, net/dotted-mask (IPv4), net/mask-address (IPv6) or a
    host name; the family decides which literal syntax is valid."""
    return _address(text, family)


def v_address_list(text: str, family: str) -> str | None:
    """`-s a,b,c`: iptables adds one rule per address."""
    if "," not in text:
        return _address(text, family)
    for item in text.split(","):
        if not item:
            return f"host/network `{text}' not found"
        msg = _address(item, family)
        if msg:
            return msg
    return None


def v_host(text: str, family: str) -> str | None:
    """A single host (XTTYPE_HOST: --gateway, --on-ip, recent --mask), no /mask."""
    if not text or not _host(text, family):
        return _not_found(text)
    return None


def v_host_list(text: str, family: str) -> str | None:
    for item in text.split(","):
        msg = v_host(item, family)
        if msg:
            return msg
    return None


def v_network(text: str, family: str) -> str | None:
    """Address with a mandatory /prefix (DNPT/SNPT --src-pfx: `dead::beef` alone fails)."""
    if "/" not in text:
        return f"`{text}' needs a /prefix length"
    return _address(text, family)


def _numeric_host(text: str, family: str) -> bool:
    # iprange goes through xtables_numeric_to_ip*addr: no host names; for IPv4 that parser
    # completes missing trailing parts with zeros (`10.1` is 10.1.0.0).
    if family == "ipv6":
        return _host6(text)
    parts = text.split(".")
    return len(parts) <= 4 and all((v := parse_uint(p)) is not None and v <= 255 for p in parts)


def v_address_range(text: str, family: str) -> str | None:
    """iprange `--src-range a[-b]` (numeric addresses only). A reversed range is accepted by
    iptables with a warning ("will never match"), so it is not an error here."""
    lo, dash, hi = text.partition("-")
    for part in (lo, hi) if dash else (lo,):
        if not _numeric_host(part, family):
            return f'iprange: Bad value for "--src-range" option: "{text}"'
    return None


def v_prefix_len(text: str, family: str) -> str | None:
    """XTTYPE_PLEN / PLENMASK: a prefix length (--connlimit-mask, --hashlimit-srcmask)."""
    hi = 128 if family == "ipv6" else 32
    v = parse_uint(text)
    if v is None or v > hi:
        return f"invalid prefix length `{text}' (0..{hi})"
    return None


# --------------------------------------------------------------------------------------------
# Interfaces, protocols, ports
# --------------------------------------------------------------------------------------------

IFNAMSIZ = 16


def v_interface(text: str, family: str) -> str | None:
    """`eth0`, `eth+` (wildcard), `+` (any). At most 15 characters, `+` included."""
    if not text:
        return "Empty interface is likely to be undesired"
    if len(text) >= IFNAMSIZ:
        return f"interface name `{text}' must be shorter than {IFNAMSIZ} characters"
    return None


# /etc/protocols (Debian netbase 6.x) plus the names iptables knows without it
# (xtables_chain_protos: icmpv6, ipv6-mh, mh, all). "number:name,alias,..."
_PROTOCOL_TABLE = """
0:ip,hopopt,all 1:icmp 2:igmp 3:ggp 4:ipencap,ip-encap 5:st 6:tcp 8:egp 9:igp 12:pup 17:udp 20:hmp
22:xns-idp 27:rdp 29:iso-tp4 33:dccp 36:xtp 37:ddp 38:idpr-cmtp 41:ipv6 43:ipv6-route 44:ipv6-frag
45:idrp 46:rsvp 47:gre 50:esp,ipsec-esp 51:ah,ipsec-ah 57:skip 58:ipv6-icmp,icmpv6 59:ipv6-nonxt
60:ipv6-opts 73:rspf,cphb 81:vmtp 88:eigrp 89:ospf,ospfigp 93:ax.25 94:ipip 97:etherip 98:encap
103:pim 108:ipcomp 112:vrrp 115:l2tp 124:isis 132:sctp 133:fc 135:mobility-header,ipv6-mh,mh
136:udplite 137:mpls-in-ip 138:manet 139:hip 140:shim6 141:wesp 142:rohc 143:ethernet
"""

PROTOCOLS: dict[str, int] = {}
for _entry in _PROTOCOL_TABLE.split():
    _num, _names = _entry.split(":")
    for _n in _names.split(","):
        PROTOCOLS.setdefault(_n, int(_num))


def v_protocol(text: str, family: str) -> str | None:
    """`-p`, --ctproto, --vproto, policy --proto: a number 0..255 or a name (case-insensitive:
    `-p` lower-cases, and /etc/protocols lists the upper-case spellings as aliases)."""
    v = parse_uint(text)
    if v is not None:
        return None if v <= 255 else f'unknown protocol "{text}" specified'
    if text.lower() in PROTOCOLS:
        return None
    return f'unknown protocol "{text}" specified'


# /etc/services (Debian netbase 6.x), tcp/udp/sctp names and aliases, as "port:name,alias".
# iptables resolves service names through getservbyname() on the machine that loads the rules;
# iptables-save always prints numbers, so names only show up in hand-written files.
_SERVICE_TABLE = """
1:tcpmux 7:echo 9:discard,sink,null 11:systat,users 13:daytime 15:netstat 17:qotd,quote
19:chargen,ttytst,source 20:ftp-data 21:ftp,fsp,fspd 22:ssh 23:telnet 25:smtp,mail
37:time,timserver 43:whois,nicname 49:tacacs 53:domain 67:bootps 68:bootpc 69:tftp 70:gopher
79:finger 80:http,www 88:kerberos,kerberos5,krb5,kerberos-sec 102:iso-tsap,tsap 104:acr-nema,dicom
106:poppassd 110:pop3,pop-3 111:sunrpc,portmapper 113:auth,authentication,tap,ident
119:nntp,readnews,untp 123:ntp 135:epmap,loc-srv 137:netbios-ns 138:netbios-dgm 139:netbios-ssn
143:imap2,imap 161:snmp 162:snmp-trap,snmptrap 163:cmip-man 164:cmip-agent 174:mailq 177:xdmcp
179:bgp 199:smux 209:qmtp 210:z3950,wais 213:ipx 319:ptp-event 320:ptp-general 345:pawserv
346:zserv 369:rpc2portmap 370:codaauth2 371:clearcase,Clearcase 389:ldap 427:svrloc 443:https
444:snpp 445:microsoft-ds 464:kpasswd 465:submissions,ssmtp,smtps,urd 487:saft 500:isakmp
512:exec,biff,comsat 513:login,who,whod 514:shell,cmd,syslog 515:printer,spooler 517:talk
518:ntalk 520:route,router,routed 538:gdomap 540:uucp,uucpd 543:klogin 544:kshell,krcmd
546:dhcpv6-client 547:dhcpv6-server 548:afpovertcp 554:rtsp 563:nntps,snntp 587:submission
607:nqs 623:asf-rmcp 628:qmqp 631:ipp 636:ldaps 646:ldp 655:tinc 706:silc 749:kerberos-adm
750:kerberos4,kerberos-iv,kdc 751:kerberos-master,kerberos_master 752:passwd-server,passwd_server
754:krb-prop,krb_prop,krb5_prop,hprop 775:moira-db,moira_db 777:moira-update,moira_update
779:moira-ureg,moira_ureg 783:spamd 853:domain-s 871:supfilesrv 873:rsync 989:ftps-data 990:ftps
992:telnets 993:imaps 995:pop3s 1080:socks 1093:proofd 1094:rootd 1099:rmiregistry 1127:supfiledbg
1178:skkserv 1194:openvpn 1210:predict 1236:rmtcfg 1313:xtel 1314:xtelw 1352:lotusnote,lotusnotes
1433:ms-sql-s 1434:ms-sql-m 1524:ingreslock 1645:datametrics,old-radius
1646:sa-msg-port,old-radacct 1649:kermit 1677:groupwise 1701:l2f,l2tp 1812:radius
1813:radius-acct,radacct 2000:cisco-sccp 2049:nfs 2086:gnunet 2101:rtcm-sc104 2102:zephyr-srv
2103:zephyr-clt 2104:zephyr-hm 2119:gsigatekeeper 2121:iprop 2135:gris 2401:cvspserver 2430:venus
2431:venus-se 2432:codasrv 2433:codasrv-se 2583:mon 2600:zebrasrv 2601:zebra 2602:ripd
2603:ripngd 2604:ospfd 2605:bgpd 2606:ospf6d 2607:ospfapi 2608:isisd 2628:dict 2792:f5-globalsite
2811:gsiftp 2947:gpsd 3050:gds-db,gds_db 3130:icpv2,icp 3205:isns 3260:iscsi-target 3306:mysql
3389:ms-wbt-server 3493:nut 3632:distcc 3689:daap 3690:svn,subversion 4031:suucp 4094:sysrqd
4190:sieve 4353:f5-iquery 4369:epmd 4373:remctl 4460:ntske 4500:ipsec-nat-t 4557:fax 4559:hylafax
4569:iax 4691:mtn 4899:radmin-port 4949:munin,lrrd 5060:sip 5061:sip-tls
5222:xmpp-client,jabber-client 5269:xmpp-server,jabber-server 5308:cfengine 5353:mdns
5432:postgresql,postgres 5555:rplay 5556:freeciv,rptp 5666:nrpe 5667:nsca 5671:amqps 5672:amqp
5680:canna 6000:x11,x11-0 6001:x11-1 6002:x11-2 6003:x11-3 6004:x11-4 6005:x11-5 6006:x11-6
6007:x11-7 6346:gnutella-svc 6347:gnutella-rtr 6379:redis 6444:sge-qmaster,sge_qmaster
6445:sge-execd,sge_execd 6446:mysql-proxy 6514:syslog-tls 6566:sane-port,sane,saned 6667:ircd
6696:babel 6697:ircs-u 7000:bbs,afs3-fileserver 7001:afs3-callback 7002:afs3-prserver
7003:afs3-vlserver 7004:afs3-kaserver 7005:afs3-volser 7007:afs3-bos 7008:afs3-update
7009:afs3-rmtsys 7100:font-service,xfs 8021:zope-ftp 8080:http-alt,webcache 8081:tproxy
8088:omniorb 8140:puppet 8990:clc-build-daemon 9098:xinetd 9101:bacula-dir 9102:bacula-fd
9103:bacula-sd 9418:git 9667:xmms2 9673:zope 10000:webmin 10050:zabbix-agent 10051:zabbix-trapper
10080:amanda 10081:kamanda 10082:amandaidx 10083:amidxtape 10809:nbd 11371:hkp 17001:sgi-cmsd
17002:sgi-crsd 17003:sgi-gcd 17004:sgi-cad 17500:db-lsp 22125:dcap 22128:gsidcap 22273:wnn6
24554:binkp 27374:asp 30865:csync2 57000:dircproxy 60177:tfido 60179:fido
"""

SERVICES: dict[str, int] = {}
for _entry in _SERVICE_TABLE.split():
    _num, _names = _entry.split(":")
    for _n in _names.split(","):
        SERVICES.setdefault(_n, int(_num))


def parse_port(text: str) -> int | None:
    """A port number 0..65535 or a known service name (case-sensitive, as getservbyname)."""
    v = SERVICES.get(text)
    if v is not None:
        return v
    v = parse_uint(text)
    return v if v is not None and v <= U16 else None


def _bad_port(text: str) -> str:
    return f"invalid port/service `{text}' specified"


def v_port(text: str, family: str) -> str | None:
    return None if parse_port(text) is not None else _bad_port(text)


def v_port_range(text: str, family: str) -> str | None:
    """`--sport`/`--dport` and friends: `a`, `a:b`, `:b`, `a:`, `:`; names allowed on both sides."""
    if ":" not in text:
        return None if parse_port(text) is not None else _bad_port(text)
    lo, _, hi = text.partition(":")
    a = parse_port(lo) if lo else 0
    if a is None:
        return _bad_port(lo)
    b = parse_port(hi) if hi else U16
    if b is None:
        return _bad_port(hi)
    if a > b:
        return f"invalid port range `{text}': start {a} is above end {b} (rejected since iptables 1.8.11)"
    return None


MULTIPORT_MAX = 15  # XT_MULTI_PORTS


def v_port_list(text: str, family: str) -> str | None:
    """multiport `--dports 22,80:90,https`: up to 15 ports, a range counts as two."""
    if not text:
        return _bad_port(text)
    used = 0
    for item in text.split(","):
        if not item:
            return _bad_port(text)
        if ":" in item:
            msg = v_port_range(item, family)
            if msg:
                return msg
            used += 2
        else:
            if parse_port(item) is None:
                return _bad_port(item)
            used += 1
        if used > MULTIPORT_MAX:
            return f"too many ports specified (multiport takes at most {MULTIPORT_MAX}, a range counts as 2)"
    return None


_LEADING_UINT = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def v_port_or_range_dash(text: str, family: str) -> str | None:
    """REDIRECT/MASQUERADE `--to-ports a[-b]`, as libxt_REDIRECT's parse_ports reads it: the first
    port is a number (or the whole value one service name, so `ftp-data` works), the second a
    number not below the first; `10-ssh` and `42-1234/567` fail."""
    m = _LEADING_UINT.match(text)
    if m is None:
        return None if text in SERVICES else f"invalid port/service `{text}' specified"
    first = parse_uint(m.group(1))
    rest = text[m.end() :]
    if first is None or first > U16:
        return f"invalid port/service `{text}' specified"
    if rest == "":
        return None
    if rest[0] != "-":
        return f"invalid port/service `{text}' specified"
    last = parse_uint(rest[1:])
    if last is None or last > U16:
        return f"invalid port/service `{text}' specified"
    if last < first:
        return f"invalid port range `{text}': {first} is above {last}"
    return None


# --------------------------------------------------------------------------------------------
# NAT ranges: DNAT/SNAT --to-destination/--to-source  ip[-ip][:port[-port[/base]]]
# IPv6 takes the address in brackets when a port follows: [a[-b]]:port...
# --------------------------------------------------------------------------------------------


def _nat_address(text: str, family: str) -> bool:
    # libxt_NAT reads addresses with inet_pton: dotted quads only (no `10.1`, no leading zeros),
    # no host names.
    try:
        if family == "ipv6":
            ipaddress.IPv6Address(text)
        else:
            ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _nat_ports(spec: str) -> str | None:
    """`port`, `port-port` or `port-port/base` as libxt_NAT reads them (tested against 1.8.9):
    a single port may be a service name (`ssh`, `ftp-data`), the ends of a range must be numbers
    (`10-ssh` and `echo-22` fail), the base may be either, but only after a range."""
    rng, slash, base = spec.partition("/")
    if slash:
        b = parse_port(base)
        if b is None:
            return f"Port `{base}' not valid"
        if b == 0:
            return f"Port `{base}' not valid (the base must be 1..65535)"
        if "-" not in rng:
            return f"Garbage after port value: `/{base}'"
    elif parse_port(rng) is not None:
        return None
    first, dash, last = rng.partition("-")
    a = parse_uint(first)
    if a is None or a > U16 or (not dash and slash):
        return f"Port `{rng}' not valid"
    if not dash:
        return None
    b = parse_uint(last)
    if b is None or b > U16:
        return f"Port `{last}' not valid"
    if a > b:
        return f"Port range `{last}' funky"
    return None


def v_nat_range(text: str, family: str) -> str | None:
    """DNAT/SNAT `--to-destination`/`--to-source`: `[addr[-addr]][:port[-port[/base]]]`;
    for IPv6 the address goes in brackets when ports follow: `[a::1-a::9]:80-90`."""
    if family == "ipv6":
        if text.startswith("["):
            addr, close, rest = text[1:].partition("]")
            if not close or (rest and not rest.startswith(":")):
                return f'Invalid address format "{text}"'
            ports = rest[1:] if rest else None
        else:
            addr, ports = text, None  # `dead::beef:80` is an address, not address and port
    else:
        addr, colon, ports_ = text.partition(":")
        ports = ports_ if colon else None
    if ports is not None:
        msg = _nat_ports(ports)
        if msg:
            return msg
    elif not addr:
        return f'Bad IP address "{text}"'
    if addr:
        lo, dash, hi = addr.partition("-")
        for part in (lo, hi) if dash else (lo,):
            if not _nat_address(part, family):
                return f'Bad IP address "{part}"'
    return None


# --------------------------------------------------------------------------------------------
# Keyword lists. Several parsers compare names with strncasecmp(name, arg, strlen(arg)), so an
# unambiguous prefix in any case works (`--ctstate est`, `--icmp-type echo-req`,
# `--reject-with icmp6-p`). `prefix` picks that; `ci` plain case-insensitivity; otherwise exact.
# --------------------------------------------------------------------------------------------


class _Keywords:
    __slots__ = ("names", "lower", "prefix", "first_wins", "ci")

    def __init__(self, names, *, ci=True, prefix=False, first_wins=False):
        self.names = tuple(names)
        self.lower = tuple(n.lower() for n in self.names)
        self.ci = ci
        self.prefix = prefix
        self.first_wins = first_wins  # parsers that take the first prefix match without complaint

    def lookup(self, word: str) -> str | None | bool:
        """The matched name, None if none, False if ambiguous."""
        if not word:
            return None
        key = word.lower() if self.ci else word
        pool = self.lower if self.ci else self.names
        if key in pool:
            return self.names[pool.index(key)]
        if not self.prefix:
            return None
        hits = [self.names[i] for i, n in enumerate(pool) if n.startswith(key)]
        if not hits:
            return None
        if len(hits) > 1 and not self.first_wins:
            return False
        return hits[0]


def _keyword(names, what: str, *, ci=True, prefix=False, first_wins=False, listing=False, quote="`{}'"):
    kw = _Keywords(names, ci=ci, prefix=prefix, first_wins=first_wins)

    def check(text: str, family: str) -> str | None:
        words = text.split(",") if listing else (text,)
        for w in words:
            hit = kw.lookup(w)
            if hit is False:
                return f"ambiguous {what} {quote.format(w)}"
            if hit is None:
                return f"bad {what} {quote.format(w)}"
        return None

    return check


# ICMP names, from libxt_icmp.h (the `--icmp-type` help lists them); aliases included.
ICMP_TYPES: dict[str, str] = {
    "any": "255",
    "echo-reply": "0", "pong": "0",
    "destination-unreachable": "3",
    "network-unreachable": "3/0", "host-unreachable": "3/1", "protocol-unreachable": "3/2",
    "port-unreachable": "3/3", "fragmentation-needed": "3/4", "source-route-failed": "3/5",
    "network-unknown": "3/6", "host-unknown": "3/7", "network-prohibited": "3/9",
    "host-prohibited": "3/10", "TOS-network-unreachable": "3/11", "TOS-host-unreachable": "3/12",
    "communication-prohibited": "3/13", "host-precedence-violation": "3/14",
    "precedence-cutoff": "3/15",
    "source-quench": "4",
    "redirect": "5", "network-redirect": "5/0", "host-redirect": "5/1",
    "TOS-network-redirect": "5/2", "TOS-host-redirect": "5/3",
    "echo-request": "8", "ping": "8",
    "router-advertisement": "9", "router-solicitation": "10",
    "time-exceeded": "11", "ttl-exceeded": "11",
    "ttl-zero-during-transit": "11/0", "ttl-zero-during-reassembly": "11/1",
    "parameter-problem": "12", "ip-header-bad": "12/0", "required-option-missing": "12/1",
    "timestamp-request": "13", "timestamp-reply": "14",
    "address-mask-request": "17", "address-mask-reply": "18",
}  # fmt: skip

# ICMPv6 names; mld-listener-* arrived in iptables 1.8.10. ip6tables has no `any`.
ICMPV6_TYPES: dict[str, str] = {
    "destination-unreachable": "1",
    "no-route": "1/0", "communication-prohibited": "1/1", "beyond-scope": "1/2",
    "address-unreachable": "1/3", "port-unreachable": "1/4", "failed-policy": "1/5",
    "reject-route": "1/6",
    "packet-too-big": "2",
    "time-exceeded": "3", "ttl-exceeded": "3",
    "ttl-zero-during-transit": "3/0", "ttl-zero-during-reassembly": "3/1",
    "parameter-problem": "4", "bad-header": "4/0", "unknown-header-type": "4/1",
    "unknown-option": "4/2",
    "echo-request": "128", "ping": "128", "echo-reply": "129", "pong": "129",
    "mld-listener-query": "130", "mld-listener-report": "131",
    "mld-listener-done": "132", "mld-listener-reduction": "132",
    "router-solicitation": "133", "router-advertisement": "134",
    "neighbour-solicitation": "135", "neighbor-solicitation": "135",
    "neighbour-advertisement": "136", "neighbor-advertisement": "136",
    "redirect": "137",
}  # fmt: skip

_ICMP_KW = _Keywords(ICMP_TYPES, prefix=True)
_ICMPV6_KW = _Keywords(ICMPV6_TYPES, prefix=True)


def icmp_is_numeric(text: str) -> bool:
    """Is this --icmp-type read as a number (xtables_strtoui: leading blanks and `+` allowed)?
    Names never start with a digit, so the name lookup iptables tries first cannot match it."""
    return text.lstrip(" \t\n\v\f\r")[:1] in tuple("+0123456789")


def _icmp(text: str, kw: _Keywords, label: str) -> str | None:
    if icmp_is_numeric(text):
        typ, slash, code = text.partition("/")
        t = parse_uint(typ)
        if t is None or t > U8:
            return f"Invalid {label} type `{typ}'"
        if slash:
            # type/code, and since 1.8.x type/code_min:code_max; both ends written (1.8.9
            # refuses `3/:5` and `3/1:` with "Unknown ICMP code")
            msg = _uint_range(U8, f"{label} code")(code, "")
            if msg or code == "" or code.startswith(":") or code.endswith(":"):
                return f"Invalid {label} code `{code}'"
        return None
    hit = kw.lookup(text)
    if hit is False:
        return f"Ambiguous {label} type `{text}'"
    if hit is None:
        return f"Unknown {label} type `{text}'"
    return None


def v_icmp_type(text: str, family: str) -> str | None:
    return _icmp(text, _ICMP_KW, "ICMP")


def v_icmpv6_type(text: str, family: str) -> str | None:
    return _icmp(text, _ICMPV6_KW, "ICMPv6")


# --------------------------------------------------------------------------------------------
# Marks, TOS, DSCP
# --------------------------------------------------------------------------------------------


def _value_mask(text: str, hi: int, what: str) -> str | None:
    value, slash, mask = text.partition("/")
    v = parse_uint(value)
    if v is None or v > hi:
        return f"bad {what} value `{text}' (0..{hi:#x})"
    if slash:
        m = parse_uint(mask)
        if m is None or m > hi:
            return f"bad {what} mask `{text}' (0..{hi:#x})"
    return None


def v_mark(text: str, family: str) -> str | None:
    """`value[/mask]`, 32 bits each, decimal, hex or octal (mark, connmark, MARK, TPROXY)."""
    return _value_mask(text, U32, "mark")


TOS_NAMES = {
    "Minimize-Delay": 0x10,
    "Maximize-Throughput": 0x08,
    "Maximize-Reliability": 0x04,
    "Minimize-Cost": 0x02,
    "Normal-Service": 0x00,
}
_TOS_LOWER = {k.lower() for k in TOS_NAMES}


def v_tos(text: str, family: str) -> str | None:
    """`value[/mask]` (8 bits each) or one of the RFC 1349 names (`Minimize-Delay` ...)."""
    if text.lower() in _TOS_LOWER:
        return None
    if parse_uint(text.partition("/")[0]) is None:
        return f'Symbolic name "{text}" is unknown'
    return _value_mask(text, U8, "TOS")


DSCP_CLASSES = frozenset(
    ["BE", "EF", *(f"CS{i}" for i in range(8)), *(f"AF{x}{y}" for x in range(1, 5) for y in range(1, 4))]
)


def v_dscp(text: str, family: str) -> str | None:
    v = parse_uint(text)
    if v is None or v > 0x3F:
        return f"DSCP `{text}' out of range (0..63)"
    return None


def v_dscp_class(text: str, family: str) -> str | None:
    if text.upper() not in DSCP_CLASSES:
        return f"Invalid DSCP class `{text}' (BE, EF, AFxy, CSx)"
    return None


# --------------------------------------------------------------------------------------------
# TCP flags, conntrack, address types
# --------------------------------------------------------------------------------------------

TCP_FLAGS = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ALL", "NONE")
_TCP_FLAG_SET = frozenset(TCP_FLAGS)


def v_tcp_flags(text: str, family: str) -> str | None:
    """`--tcp-flags MASK COMP` (the two arguments joined by a space): comma lists of flag names,
    case-insensitive."""
    parts = text.split(" ")
    if len(parts) != 2:
        return "--tcp-flags requires two args"
    for part in parts:
        for flag in part.split(","):
            if flag.upper() not in _TCP_FLAG_SET:
                return f"Unknown TCP flag `{flag}'"
    return None


def _state_list(names, what: str) -> Validator:
    # conntrack/state: each comma item is a case-insensitive prefix; the first name in the
    # parser's order wins ("E" is ESTABLISHED), an empty item fails.
    kw = _Keywords(names, prefix=True, first_wins=True)

    def check(text: str, family: str) -> str | None:
        for item in text.split(","):
            if not item or kw.lookup(item) is None:
                return f'Bad {what} "{item}"'
        return None

    return check


CT_STATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
CT_STATUSES = ("NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED")

ADDRTYPES = (
    "UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
    "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

XT_EXTENSION_MAXNAMELEN = 29  # includes the NUL: 28 usable characters


def v_chain(text: str, family: str) -> str | None:
    """A chain or target name (`-j`, `-g`, `-N`): 1..28 characters."""
    if not text:
        return "empty chain/target name"
    if len(text) >= XT_EXTENSION_MAXNAMELEN:
        return f"Invalid target name `{text}' ({XT_EXTENSION_MAXNAMELEN - 1} chars max)"
    return None


def v_mac(text: str, family: str) -> str | None:
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        return f'Bad mac address "{text}"'
    return None


LOG_LEVELS = ("emerg", "alert", "crit", "error", "warning", "notice", "info", "debug", "panic")


def v_log_level(text: str, family: str) -> str | None:
    """0..7 or a syslog name (case-sensitive; `err` and `warn` are not accepted)."""
    v = parse_uint(text)
    if (v is not None and v <= 7) or text in LOG_LEVELS:
        return None
    return f'log level "{text}" unknown'


REJECT_WITH_IPV4 = (
    "icmp-net-unreachable", "net-unreach", "icmp-host-unreachable", "host-unreach",
    "icmp-proto-unreachable", "proto-unreach", "icmp-port-unreachable", "port-unreach",
    "icmp-net-prohibited", "net-prohib", "icmp-host-prohibited", "host-prohib",
    "tcp-reset", "tcp-rst", "icmp-admin-prohibited", "admin-prohib",
)  # fmt: skip
REJECT_WITH_IPV6 = (
    "icmp6-no-route", "no-route", "icmp6-adm-prohibited", "adm-prohibited",
    "icmp6-addr-unreachable", "addr-unreach", "icmp6-port-unreachable", "port-unreach",
    "tcp-reset", "icmp6-policy-fail", "policy-fail", "icmp6-reject-route", "reject-route",
)  # fmt: skip
# libipt_REJECT compares with strncasecmp(name, arg, strlen(arg)) and takes the first hit.
_REJECT_KW = {
    "ipv4": _Keywords(REJECT_WITH_IPV4, prefix=True, first_wins=True),
    "ipv6": _Keywords(REJECT_WITH_IPV6, prefix=True, first_wins=True),
}


def v_reject_with(text: str, family: str) -> str | None:
    if _REJECT_KW.get(family, _REJECT_KW["ipv4"]).lookup(text) is None:
        return f'unknown reject type "{text}"'
    return None


# --------------------------------------------------------------------------------------------
# time match
# --------------------------------------------------------------------------------------------

_TIME_OF_DAY = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\Z")
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:T(\d{1,2})(?::(\d{1,2})(?::(\d{1,2}))?)?)?)?)?\Z")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def v_time_of_day(text: str, family: str) -> str | None:
    """--timestart/--timestop hh:mm[:ss], 00:00:00..23:59:59."""
    m = _TIME_OF_DAY.match(text)
    if m is None:
        return f'invalid time "{text}" specified, should be hh:mm[:ss] format'
    h, mi, s = (int(x) if x else 0 for x in m.groups())
    if h > 23 or mi > 59 or s > 59:
        return f'invalid time "{text}" specified (00:00:00..23:59:59)'
    return None


def v_date(text: str, family: str) -> str | None:
    """--datestart/--datestop ISO 8601 YYYY[-MM[-DD[Thh[:mm[:ss]]]]], 1970..2038."""
    m = _DATE.match(text)
    if m is None:
        return f'invalid date "{text}" specified, should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]] format'
    y, mo, d, h, mi, s = (int(x) if x else None for x in m.groups())
    if not 1970 <= y <= 2038 or (mo is not None and not 1 <= mo <= 12) or (d is not None and not 1 <= d <= 31):  # type: ignore[operator]
        return f'invalid date "{text}" specified'
    if (h is not None and h > 23) or (mi is not None and mi > 59) or (s is not None and s > 59):
        return f'invalid date "{text}" specified'
    return None


def v_weekdays(text: str, family: str) -> str | None:
    """Mon..Sun or 1..7, comma-separated. libxt_time compares the first two letters only, case
    matters (`Tu`, `Thursday` work, `mon` does not). It also takes numbers above 7, setting bits
    no day has; those are refused here."""
    for item in text.split(","):
        if not item:
            continue  # `Mon,` is accepted
        if item[0].isdigit():
            v = parse_uint(item)
            if v == 0:
                return "No, the week does NOT begin with Sunday."
            if v is None or v > 7:
                return f"{item} is not a valid day specifier (1..7)"
            continue
        if len(item) < 2 or not any(d.startswith(item[:2]) for d in WEEKDAYS):
            return f"{item} is not a valid day specifier"
    return None


def v_monthdays(text: str, family: str) -> str | None:
    for item in text.split(","):
        v = parse_uint(item)
        if v is None or not 1 <= v <= 31:  # 1.8.9 lets 0 through, setting a bit no day has
            return f"{item} is not a valid day for --monthdays"
    return None


# --------------------------------------------------------------------------------------------
# Rates and sizes
# --------------------------------------------------------------------------------------------

_RATE = re.compile(r"(\d+)(?:/([A-Za-z]+))?\Z")
_UNITS = ("second", "minute", "hour", "day")


def _rate_unit_ok(unit: str | None) -> bool:
    # parse_rate: strncasecmp(unit, "second", strlen(unit)) and so on; "sec", "s", "min", "h" work
    return unit is None or any(u.startswith(unit.lower()) for u in _UNITS)


_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _packet_rate(text: str, scale: int) -> str | None:
    # parse_rate(): the kernel keeps scale*seconds/rate as an integer; 0 is "Rate too fast"
    m = _RATE.match(text)
    if m is None or not _rate_unit_ok(m.group(2)):
        return f"bad rate `{text}'"
    unit = m.group(2)
    seconds = 1 if unit is None else next(v for k, v in _UNIT_SECONDS.items() if k.startswith(unit.lower()))
    rate = int(m.group(1))
    if rate == 0 or rate > scale * seconds:
        return f'Rate too fast "{text}"'
    return None


def v_rate(text: str, family: str) -> str | None:
    """limit `--limit N[/second|/minute|/hour|/day]` (any prefix of the unit), at most 10000/s."""
    return _packet_rate(text, 10000)


_BYTE_RATE = re.compile(r"(\d+)([kmg]?b)/([a-z]+)\Z", re.IGNORECASE)
_BYTES = re.compile(r"(\d+)([kmg]?b)?\Z", re.IGNORECASE)


def v_hashlimit_rate(text: str, family: str) -> str | None:
    """hashlimit `--hashlimit-upto 10/sec` (at most 1000000/s) or a byte rate `40mb/s`."""
    m = _BYTE_RATE.match(text)
    if m is not None:
        return None if _rate_unit_ok(m.group(3)) else f"bad rate `{text}'"
    return _packet_rate(text, 1000000)


def v_hashlimit_burst(text: str, family: str) -> str | None:
    """hashlimit `--hashlimit-burst 5` (packets, 1..1000000) or `400kb` (bytes)."""
    m = _BYTES.match(text)
    if m is None:
        return f"bad --hashlimit-burst `{text}'"
    if m.group(2) is None and not 1 <= int(m.group(1)) <= 1000000:
        return 'bad value for option "--hashlimit-burst", or out of range (1-1000000).'
    return None


_TC_RATE = re.compile(r"\d+(?:\.\d+)?(?:[kmgt]?(?:bit|bps)|[kmgt]i?bit|[kmgt]i?bps)?\Z", re.IGNORECASE)
_TC_TIME = re.compile(r"\d+(?:\.\d+)?(?:s|sec|secs|ms|msec|msecs|us|usec|usecs)?\Z", re.IGNORECASE)


def v_rateest_rate(text: str, family: str) -> str | None:
    """rateest --rateest-bps1 `8bit`, `5kbit`, `100kbps` (tc rate syntax)."""
    return None if _TC_RATE.match(text) else f"rateest: bad rate value `{text}'"


def v_rateest_interval(text: str, family: str) -> str | None:
    """RATEEST --rateest-interval/--rateest-ewmalog `250.0ms`, `1s` (tc time syntax)."""
    return None if _TC_TIME.match(text) else f"RATEEST: bad interval value `{text}'"


def v_probability(text: str, family: str) -> str | None:
    try:
        p = float(text)
    except ValueError:
        return f"bad probability `{text}'"
    if not 0.0 <= p <= 1.0:  # NaN fails this too
        return f"probability `{text}' is out of range (0..1)"
    return None


# --------------------------------------------------------------------------------------------
# Strings with structure
# --------------------------------------------------------------------------------------------

STRING_MAX_PATTERN = 128  # XT_STRING_MAX_PATTERN_SIZE


def v_string_pattern(text: str, family: str) -> str | None:
    if len(text.encode("utf-8", "surrogateescape")) > STRING_MAX_PATTERN:
        return f"STRING too long `{text[:20]}...' (at most {STRING_MAX_PATTERN} bytes)"
    return None


def v_hex_string(text: str, family: str) -> str | None:
    """string `--hex-string "|0a 0b|text|ff|"`: hex bytes between pipes, text elsewhere."""
    size = 0
    in_hex = False
    hex_digits = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "|":
            if in_hex and len(hex_digits) % 2:
                return "Odd number of hex digits"
            if in_hex:
                size += len(hex_digits) // 2
                hex_digits = []
            in_hex = not in_hex
        elif in_hex:
            if c == " ":
                pass
            elif c in "0123456789abcdefABCDEF":
                hex_digits.append(c)
            else:
                return f"Invalid hex char `{c}'"
        else:
            if c == "\\" and i + 1 < len(text):
                i += 1
            size += 1
        i += 1
    if in_hex:
        return "Invalid hex block"
    if size > STRING_MAX_PATTERN:
        return f"STRING too long (at most {STRING_MAX_PATTERN} bytes)"
    if size == 0:
        return "empty hex-string"
    return None


def v_uid_range(text: str, family: str) -> str | None:
    """owner --uid-owner/--gid-owner: a user/group name or `id[-id]`."""
    first, dash, last = text.partition("-")
    a = parse_uint(first)
    if a is None:
        if dash or not text:
            return f'Invalid owner "{text}"'
        return None  # a user/group name, resolved where the rules are loaded
    if dash:
        b = parse_uint(last)
        if b is None or b < a or b >= U32:
            return f'Invalid owner range "{text}"'
    return None if a < U32 else f'Invalid owner "{text}"'  # 4294967295 is (uid_t)-1


def v_value_or_name_mask(text: str, family: str) -> str | None:
    """realm/devgroup `value[/mask]` or a name from /etc/iproute2 (a name cannot take a mask)."""
    value, slash, _ = text.partition("/")
    if parse_uint(value) is None:
        if slash or not value:
            return f"bad value `{text}'"
        return None
    return _value_mask(text, U32, "value")


def v_tc_class(text: str, family: str) -> str | None:
    """CLASSIFY --set-class MAJOR:MINOR, both hexadecimal, 16 bits."""
    major, colon, minor = text.partition(":")
    try:
        if not colon or int(major, 16) > U16 or int(minor, 16) > U16 or "-" in text:
            raise ValueError
    except ValueError:
        return f'Bad class value "{text}"'
    return None


def v_connlabel(text: str, family: str) -> str | None:
    """connlabel --label: a bit number 0..127 or a name from connlabel.conf."""
    v = parse_uint(text)
    if v is not None and v > 127:
        return f"connlabel `{text}' out of range (0..127)"
    if not text:
        return "empty connlabel"
    return None


def v_ct_zone(text: str, family: str) -> str | None:
    """CT --zone: an id 0..65535, or `mark` (take the zone from the packet mark)."""
    if text == "mark":
        return None
    v = parse_uint(text)
    if v is None or v > U16:
        return f'Bad zone value "{text}"'
    return None


def v_led_delay(text: str, family: str) -> str | None:
    if text == "inf":
        return None
    return _uint(0, U32, "LED delay")(text, family)


def v_ip6_opts(text: str, family: str) -> str | None:
    """dst/hbh --dst-opts TYPE[:LEN][,...] (at most 16 entries). Numbers too large for the
    option's 8-bit fields are cut by iptables rather than refused; only the shape is checked."""
    items = text.split(",")
    if len(items) > 16:
        return "too many IPv6 options (at most 16)"
    for item in items:
        typ, colon, length = item.partition(":")
        if parse_uint(typ) is None or (colon and parse_uint(length) is None):
            return f"bad IPv6 option `{item}'"
    return None


def v_sctp_chunks(text: str, family: str) -> str | None:
    """sctp `--chunk-types all|any|only CHUNK[:FLAGS][,...]` (two arguments joined by a space)."""
    parts = text.split(" ")
    if len(parts) != 2:
        return "--chunk-types requires two args"
    mode, chunks = parts
    if mode.lower() not in ("all", "any", "only"):
        return f"Invalid chunk match type `{mode}' (all, any or only)"
    for item in chunks.split(","):
        name, _, flags = item.partition(":")
        if name.upper() not in SCTP_CHUNKS:
            return f"Unknown sctp chunk `{name}'"
        allowed = SCTP_CHUNK_FLAGS.get(name.upper(), "")
        if any(f.upper() not in allowed for f in flags):
            return f"Invalid flags for chunk type `{item}'"
    return None


SCTP_CHUNKS = frozenset(
    "DATA INIT INIT_ACK SACK HEARTBEAT HEARTBEAT_ACK ABORT SHUTDOWN SHUTDOWN_ACK ERROR COOKIE_ECHO "
    "COOKIE_ACK ECN_ECNE ECN_CWR SHUTDOWN_COMPLETE I_DATA RE_CONFIG PAD ASCONF ASCONF_ACK FORWARD_TSN "
    "I_FORWARD_TSN ALL NONE".split()
)

# Chunks with flags iptables knows (upper case: flag set, lower case: flag clear).
SCTP_CHUNK_FLAGS = {"DATA": "IUBE", "ABORT": "T", "SHUTDOWN_COMPLETE": "T"}

IPSET_MAXNAMELEN = 32


def v_set_spec(text: str, family: str) -> str | None:
    """set/SET `NAME FLAGS` (two arguments joined by a space): FLAGS is src/dst, comma-separated,
    at most 6 of them."""
    parts = text.split(" ")
    if len(parts) != 2:
        return "--match-set requires two args."
    name, flags = parts
    if not name or len(name) >= IPSET_MAXNAMELEN:
        return f"setname `{name}' too long, max {IPSET_MAXNAMELEN - 1} characters"
    items = flags.split(",")
    if len(items) > 6 or not all(f in ("src", "dst") for f in items):
        return f"You must specify (the comma separated list of) 'src' or 'dst' (got `{flags}')"
    return None


def v_counters(text: str, family: str) -> str | None:
    """`-c PKTS BYTES` (joined by a space) or, since 1.8.9's xshared, `-c PKTS,BYTES`."""
    parts = text.split(" ") if " " in text else text.split(",")
    if len(parts) != 2:
        return "-c requires packet and byte counter"
    # read with sscanf("%llu"): decimal digits only
    if not parts[0].isdigit():
        return "-c packet counter not numeric"
    if not parts[1].isdigit():
        return "-c byte counter not numeric"
    return None


def v_mh_type(text: str, family: str) -> str | None:
    """mh --mh-type TYPE[:TYPE], names or numbers 0..255."""
    parts = text.split(":")
    if len(parts) > 2:
        return f"Invalid MH type `{text}'"
    values = []
    for p in parts:
        if p == "":
            values.append(None)
            continue
        v = parse_uint(p)
        if v is None:
            v = MH_TYPES.get(p.lower())
        if v is None or v > U8:
            return f"Invalid MH type `{p}'"
        values.append(v)
    if len(values) == 2:
        a = values[0] or 0
        b = U8 if values[1] is None else values[1]
        if a > b:
            return f"invalid MH type range `{text}': start is above end (rejected since iptables 1.8.11)"
    return None


MH_TYPES = {
    "binding-refresh-request": 0, "brr": 0, "home-test-init": 1, "hoti": 1,
    "careof-test-init": 2, "coti": 2, "home-test": 3, "hot": 3, "careof-test": 4, "cot": 4,
    "binding-update": 5, "bu": 5, "binding-acknowledgement": 6, "ba": 6,
    "binding-error": 7, "be": 7,
}  # fmt: skip

IPV6_HEADERS = (
    "hop", "hop-by-hop", "dst", "ipv6-opts", "route", "ipv6-route", "frag", "ipv6-frag",
    "auth", "ah", "esp", "none", "ipv6-nonxt", "prot", "protocol",
)  # fmt: skip


def v_ipv6_headers(text: str, family: str) -> str | None:
    for item in text.split(","):
        if item in IPV6_HEADERS:  # case matters: `HOP` is refused
            continue
        v = parse_uint(item)
        if v is None or v > U8:
            return f"unknown header `{item}' specified"
    return None


TCPOPTSTRIP_NAMES = {"wscale": 3, "mss": 2, "sack-permitted": 4, "sack": 5, "timestamp": 8, "md5": 19}


def v_tcp_options_list(text: str, family: str) -> str | None:
    """TCPOPTSTRIP --strip-options: option numbers 2..255 or names, comma-separated. Options 0
    (end of list) and 1 (no-op) cannot be stripped."""
    for item in text.split(","):
        v = TCPOPTSTRIP_NAMES.get(item)
        if v is None:
            v = parse_uint(item)
        if v is None or v > U8:
            return f'Bad TCP option value "{item}"'
        if v < 2:
            return f"Option value may not be {v}"
    return None


def v_bpf_bytecode(text: str, family: str) -> str | None:
    """bpf --bytecode "N,code jt jf k,...": N instructions follow, each four numbers."""
    head, _, rest = text.partition(",")
    n = parse_uint(head.strip())
    if n is None:
        return "bpf: error parsing program length"
    insns = rest.split(",") if rest else []
    if len(insns) != n:
        return f"bpf: program length {n} does not match {len(insns)} instructions"
    for insn in insns:
        if len(insn.split()) != 4 or not all(x.lstrip("-").isdigit() for x in insn.split()):
            return f"bpf: error parsing instruction `{insn}'"
    return None


_U32_EXPR = re.compile(r"[0-9a-fA-FxX&<>@=,:\s]+\Z")


def v_u32(text: str, family: str) -> str | None:
    """u32 tests: `location=value[&&location=value]`; only the alphabet and the `=` are checked."""
    if not text or "=" not in text or not _U32_EXPR.match(text.replace("&&", "")):
        return f"u32: bad expression `{text}'"
    return None


def v_none(text: str, family: str) -> str | None:
    return None


def v_string(text: str, family: str) -> str | None:
    return None


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

VALIDATORS: dict[str, Validator] = {
    # no value / free text
    "none": v_none,
    "string": v_string,
    "any": v_string,
    # numbers
    "int": _uint(0, U64, "number"),
    "uint8": _uint(0, U8),
    "uint16": _uint(0, U16),
    "uint32": _uint(0, U32),
    "uint64": _uint(0, U64),
    "uint8_nonzero": _uint(1, U8),  # TTL/HL --ttl-inc/--ttl-dec 0 is refused
    "uint32_nonzero": _uint(1, U32),  # recent --seconds, statistic --every, HMARK --hmark-mod
    "uint8_range": _uint_range(U8),
    "uint16_range": _uint_range(U16),
    "uint32_range": _uint_range(U32),
    "uint64_range": _uint_range(U64),
    "queue_balance": _queue_balance,
    "limit_burst": _uint(0, 10000, "burst"),
    "cluster_node": _uint(1, 32, "node"),
    "clusterip_node": _uint(0, 16, "node"),
    "bit": _uint(0, 1),
    "ecn_ect": _uint(0, 3, "ECT codepoint"),
    "mark_shift": _uint(0, 32, "shift"),
    "osf_level": _uint(0, 2, "level"),
    "pid": _uint(0, 0x7FFF_FFFF, "pid"),
    "tcpmss": _uint(0, 65495, "MSS"),
    "ulog_group": _uint(1, 32, "netlink group"),
    "ulog_qthreshold": _uint(1, 50, "queue threshold"),
    "probability": v_probability,
    # addresses and interfaces
    "address": v_address,
    "address_list": v_address_list,
    "host": v_host,
    "host_list": v_host_list,
    "network": v_network,
    "address_range": v_address_range,
    "prefix_len": v_prefix_len,
    "interface": v_interface,
    "mac": v_mac,
    # protocols and ports
    "protocol": v_protocol,
    "port": v_port,
    "port_range": v_port_range,
    "port_list": v_port_list,
    "port_or_range_dash": v_port_or_range_dash,
    "nat_range": v_nat_range,
    "icmp_type": v_icmp_type,
    "icmpv6_type": v_icmpv6_type,
    "tcp_flags": v_tcp_flags,
    "tcp_options_list": v_tcp_options_list,
    "sctp_chunks": v_sctp_chunks,
    "mh_type": v_mh_type,
    "ipv6_headers": v_ipv6_headers,
    "ip6_opts": v_ip6_opts,
    # marks and packet fields
    "mark": v_mark,
    "tos": v_tos,
    "dscp": v_dscp,
    "dscp_class": v_dscp_class,
    # conntrack
    "ctstate": _state_list(CT_STATES, "ctstate"),
    "state": _state_list(CT_STATES[:5], "state"),
    "ctstatus": _state_list(CT_STATUSES, "ctstatus"),
    "ctdir": _keyword(("ORIGINAL", "REPLY"), "direction", prefix=True),
    "connlabel": v_connlabel,
    "ct_zone": v_ct_zone,
    "ct_events": _keyword(
        ("new", "related", "destroy", "reply", "assured", "protoinfo", "helper", "mark", "natseqinfo", "secmark"),
        "event",
        ci=False,
        listing=True,
    ),
    "ct_expevents": _keyword(("new",), "expectation event", ci=False, listing=True),
    # names and keywords
    "chain": v_chain,
    # libxt_addrtype compares strncasecmp(name, arg, strlen(arg)): `UN` is UNSPEC, the first hit
    "addrtype": _keyword(ADDRTYPES, "address type", prefix=True, first_wins=True, listing=True),
    "log_level": v_log_level,
    "reject_with": v_reject_with,
    "audit_type": _keyword(("accept", "drop", "reject"), "AUDIT type", ci=False),
    "connbytes_dir": _keyword(("original", "reply", "both"), "connbytes direction", ci=False),
    "connbytes_mode": _keyword(("packets", "bytes", "avgpkt"), "connbytes mode", ci=False),
    "dccp_types": _keyword(
        ("REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK", "INVALID"),
        "DCCP type",
        listing=True,
    ),
    "hashlimit_mode": _keyword(("srcip", "srcport", "dstip", "dstport"), "hashlimit mode", ci=False, listing=True),
    "hmark_tuple": _keyword(
        ("src", "dst", "sport", "dport", "spi", "proto", "ct"), "HMARK tuple", ci=False, listing=True
    ),
    "ipvs_method": _keyword(("GATE", "IPIP", "MASQ"), "IPVS method"),
    "pkttype": _keyword(("unicast", "broadcast", "multicast", "host", "otherhost"), "packet type", quote="'{}'"),
    "policy_dir": _keyword(("in", "out"), "policy direction", ci=False),
    "policy_pol": _keyword(("none", "ipsec"), "policy", ci=False),
    "policy_mode": _keyword(("transport", "tunnel"), "policy mode", ci=False),
    "statistic_mode": _keyword(("random", "nth"), "statistic mode", ci=False),
    "string_algo": _keyword(("bm", "kmp"), "string algorithm", ci=False),
    "clusterip_hashmode": _keyword(
        ("sourceip", "sourceip-sourceport", "sourceip-sourceport-destport"), "CLUSTERIP hashmode", ci=False
    ),
    "uid_range": v_uid_range,
    "value_or_name_mask": v_value_or_name_mask,
    "tc_class": v_tc_class,
    "led_delay": v_led_delay,
    "set_spec": v_set_spec,
    "counters": v_counters,
    # time match
    "time_of_day": v_time_of_day,
    "date": v_date,
    "weekdays": v_weekdays,
    "monthdays": v_monthdays,
    # rates
    "rate": v_rate,
    "hashlimit_rate": v_hashlimit_rate,
    "hashlimit_burst": v_hashlimit_burst,
    "rateest_rate": v_rateest_rate,
    "rateest_interval": v_rateest_interval,
    # payload
    "string_pattern": v_string_pattern,
    "hex_string": v_hex_string,
    "bpf_bytecode": v_bpf_bytecode,
    "u32": v_u32,
}


def validate(value_type: str, values, family: str, max_len: int | None = None) -> str | None:
    """Check the values one option took (a sequence of tokens) against its value type.

    Multi-argument options are joined by a space, as VALIDATORS expects; `max_len` (bytes of the
    single value) is checked too. Unknown value types are not checked."""
    if not values:
        return None
    text = values[0] if len(values) == 1 else " ".join(values)
    if max_len is not None and len(values) == 1 and len(text.encode("utf-8", "surrogateescape")) > max_len:
        return f"value is {len(text)} characters long; iptables keeps at most {max_len}"
    check = VALIDATORS.get(value_type)
    return check(text, family) if check is not None else None
