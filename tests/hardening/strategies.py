"""Grammar-aware generation of iptables-save dumps, and mutations of real ones, for the fuzz tests.

Generation follows the dump format (tables, chain declarations with counters, `-A` rules with
counters, built-in options, every match and target of the extension table with plausible values,
negations, quoting with escapes, comments, COMMIT) and then lets a small share of each piece go
wrong on purpose (a bad value, a missing COMMIT, an unknown option), so both the happy path and
the error paths are exercised. Values come from a pool: for each value type of the extension
table, the pool entries its validator accepts are "plausible", the rest are noise.
"""

from __future__ import annotations

import functools
from pathlib import Path

from hypothesis import strategies as st

from ipt_lint.model.types import BUILTIN_CHAINS
from ipt_lint.parse.extensions import BUILTIN_OPTIONS, all_extensions
from ipt_lint.parse.values import VALIDATORS

REPO = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------------------------
# values

_POOL = (
    # numbers, ranges, marks
    "0", "1", "2", "3", "7", "8", "15", "16", "22", "32", "64", "80", "128", "255", "256", "443",
    "1000", "1024", "5432", "65535", "65536", "4294967295", "4294967296", "0x10", "0xff", "010", "08",
    "-1", "1:2", "0:65535", "1024:", ":1023", ":", "4:3", "1-2", "1000-2000", "0:4294967295", "3:",
    "0x1/0xff", "0xfeedcafe/0xffffffff", "0x4000/0x4000", "1/", "0/0xffffffff", "0x3f", "0x40",
    "1,2,3", "22,80,443", "53,1024:65535", "443,80:90,ssh", "1,,2", "0.5", "0.50000000000", "1.1",
    "0000:ffff", "1:10",
    # addresses
    "10.0.0.1", "10.0.0.0/8", "192.168.1.0/24", "172.17.0.2", "0.0.0.0/0", "1.2.3.4/32",
    "10.11.12.13/255.0.255.0", "1.2.3.400", "1.2.3.4/33", "127.0.0.1", "1.2.3.4,5.6.7.8/24",
    "10.0.0.1-10.0.0.9", "::1", "::/0", "2001:db8::/32", "fe80::1", "2001:db8::1-2001:db8::9",
    "dead::/64", "dead::beef", "172.17.0.2:80", "172.17.0.2:8080-8090", "10.0.0.1:1000-2000/1000",
    "[2001:db8::1]:443", ":80", "localhost", "gw.example.com", "fe80::1%eth0",
    # interfaces, protocols, ports by name
    "eth0", "eth+", "+", "lo", "docker0", "br-a1b2c3d4e5f6", "veth1234", "wg0", "thisinterfaceistoolong0",
    "tcp", "udp", "icmp", "all", "sctp", "ipv6-icmp", "icmpv6", "gre", "6", "17", "tcpx", "ssh", "http",
    "https", "domain", "ftp-data", "nosuchservice",
    # keywords
    "NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED", "SNAT", "DNAT", "RELATED,ESTABLISHED",
    "NEW,", "SEEN_REPLY", "ASSURED", "ORIGINAL", "REPLY", "LOCAL", "UNICAST", "BROADCAST",
    "MULTICAST", "UNICAST,LOCAL", "echo-request", "echo-reply", "any", "3/1", "destination-unreachable",
    "neighbour-solicitation", "1/0", "mld-listener-query", "FIN,SYN,RST,ACK", "SYN", "ALL", "NONE",
    "icmp-port-unreachable", "icmp-host-prohibited", "tcp-reset", "icmp6-no-route", "icmp6-adm-prohibited",
    "alert", "info", "warning", "debug", "err", "Minimize-Delay", "EF", "AF41", "CS7", "CS8",
    "01:02:03", "23:59", "24:00", "2001-02-03T04:05:06", "2038-01-19", "Mon,Fri,Sun", "1,7", "32",
    "1/sec", "3/min", "1000/hour", "10/second", "4kb/s", "400kb", "5kbit", "250.0ms", "1s",
    "random", "nth", "bm", "kmp", "srcip", "srcip,dstport", "dstip", "in", "out", "none", "ipsec",
    "tunnel", "transport", "original", "reply", "both", "packets", "bytes", "avgpkt", "accept", "drop",
    "unicast", "multicast", "host", "GATE", "MASQ", "hop-by-hop", "hop,60", "root", "0-10", "1000",
    "new", "new,related,destroy", "sourceip", "42:01:02:03:04:05", "42:01:02:03", "|0a0a0a0a|", "|00 01|ab",
    "0x0=0x0&&0x0=0x1", "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0", "2,3,4,5,6,7", "mss,sack", "bu", "4:123",
    "src,dst", "sport,dport", "40", "2048", "ftp", "sip", "DATA", "INIT", "all", "only",
    # free text (comments, prefixes, names)
    "x", "DOCKER", "KUBE-SVC-ABC", "allow ssh", "kubernetes service", "ipt-lint: ignore=IPT201",
    "[red]bold[/red]", "{0}", "%s%n", "$(touch /tmp/x)", "`id`", "../../etc/passwd", "a\"b", "a\\b",
    "it's", "ünïcödé", "日本語", "tab\there", "",
)  # fmt: skip

# Values taking two words (`--tcp-flags MASK COMP`, `--match-set NAME FLAGS`, `--chunk-types ...`).
_PAIRS = (
    ("FIN,SYN,RST,ACK", "SYN"), ("ALL", "NONE"), ("SYN,ACK", "SYN"), ("SYN,FOO", "SYN"),
    ("myset", "src"), ("KUBE-NODE-IPS", "dst,dst"), ("s", "src,up"), ("all", "DATA"), ("any", "INIT,DATA:Ii"),
    ("2", "3"),
)  # fmt: skip


# Hand-picked values where the pool would be too lenient (any word is a valid host name).
_CURATED = {
    ("address", "ipv4"): ("10.0.0.1", "10.0.0.0/8", "192.168.1.0/24", "172.17.0.2/32", "0.0.0.0/0", "127.0.0.1"),
    ("address", "ipv6"): ("::1", "::/0", "2001:db8::/32", "fe80::/10", "fd00::1/128"),
    ("address_list", "ipv4"): ("10.0.0.1", "10.0.0.0/8", "192.168.1.0/24", "1.2.3.4,5.6.7.8/24", "0.0.0.0/0"),
    ("address_list", "ipv6"): ("::1", "2001:db8::/32", "fe80::/10,fd00::/8", "::/0"),
    ("host", "ipv4"): ("10.0.0.1", "192.168.1.1"),
    ("host", "ipv6"): ("::1", "2001:db8::1"),
    ("host_list", "ipv4"): ("10.0.0.1", "10.0.0.1,10.0.0.2"),
    ("host_list", "ipv6"): ("::1", "2001:db8::1,2001:db8::2"),
    ("network", "ipv4"): ("10.0.0.0/8", "192.168.0.0/16"),
    ("network", "ipv6"): ("2001:db8::/32", "fd00::/64"),
    ("interface", "ipv4"): ("eth0", "eth+", "lo", "docker0", "br-a1b2c3d4e5f6", "veth1234", "wg0", "+"),
    ("protocol", "ipv4"): ("tcp", "udp", "icmp", "all", "sctp", "gre", "6", "17"),
    ("protocol", "ipv6"): ("tcp", "udp", "ipv6-icmp", "all", "sctp", "6", "17", "58"),
}


@functools.cache
def plausible_values(value_type: str, family: str) -> tuple[str, ...]:
    """Values iptables would take: curated ones, else the pool entries the validator accepts."""
    curated = _CURATED.get((value_type, family)) or _CURATED.get((value_type, "ipv4"))
    if curated:
        return curated
    check = VALIDATORS[value_type]
    return tuple(v for v in _POOL if v and check(v, family) is None)


@functools.cache
def plausible_pairs(value_type: str, family: str) -> tuple[tuple[str, str], ...]:
    check = VALIDATORS[value_type]
    return tuple(p for p in _PAIRS if check(" ".join(p), family) is None)


free_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list(' "\\\'[]{}%$`;|&<>#!*:=-/.\x1b\x07\r\t\x00\x7f\u202e\u2028\x0b\x0c\x1c\xa0\u2003\ufeff')),
    ),
    max_size=40,
)


def quote(value: str) -> str:
    """As iptables-save quotes (`xtables_save_string`)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_bare(value: str) -> bool:
    return bool(value) and all(c.isascii() and (c.isalnum() or c in "_-.,:/+=|&@[]!%") for c in value)


@st.composite
def rendered(draw, value: str) -> str:
    """`value` as one argument: bare when that is safe, otherwise quoted; sometimes quoted anyway,
    or with the quote starting in the middle of the token (`ab"c d"` is `abc d`)."""
    how = draw(st.integers(0, 9))
    if _is_bare(value) and how < 7:
        return value
    if how == 9 and len(value) > 1 and _is_bare(value[:1]):
        return value[:1] + quote(value[1:])
    return quote(value)


@st.composite
def value_for(draw, value_type: str, family: str, arity: int) -> list[str]:
    """The words of one option's value(s): plausible most of the time, noise sometimes."""
    if arity == 0:
        return []
    noisy = draw(st.integers(0, 19)) == 0
    if arity == 2:
        pairs = plausible_pairs(value_type, family)
        if pairs and not noisy:
            return list(draw(st.sampled_from(pairs)))
        return [draw(st.sampled_from(_POOL[:80])), draw(st.sampled_from(_POOL[:80]))]
    if value_type in ("string", "any", "string_pattern") and not noisy:
        text = draw(st.one_of(st.sampled_from(_POOL[-16:]), free_text))
        text = text.replace("\n", " ")
        if value_type == "string_pattern":
            text = text[:100] or "x"
        return [text]
    values = plausible_values(value_type, family)
    if values and not noisy and arity > 0:
        return [draw(st.sampled_from(values))]
    if arity == -1 and draw(st.booleans()):
        return []
    return [draw(st.one_of(st.sampled_from(_POOL), free_text.map(lambda s: s.replace("\n", " "))))]


# --------------------------------------------------------------------------------------------
# rules

MATCHES = tuple(e for e in all_extensions() if e.kind == "match")
TARGETS = tuple(e for e in all_extensions() if e.kind == "target")
_BUILTINS = {o.name: o for o in BUILTIN_OPTIONS if o.name in ("-s", "-d", "-i", "-o", "-p", "-f")}

chain_name = st.one_of(
    st.from_regex(r"[A-Z][A-Z0-9_-]{0,14}", fullmatch=True),
    st.sampled_from(["DOCKER", "DOCKER-USER", "KUBE-SERVICES", "ufw-user-input", "CNI-abc123", "a.b/c@d:e%f,g"]),
).filter(lambda s: s not in ("ACCEPT", "DROP", "RETURN", "QUEUE") and not s.startswith("-"))


def _options_of(ext, family: str, draw) -> list[str]:
    words: list[str] = []
    opts = [o for o in ext.options]
    wanted = set(ext.required)
    for group in ext.one_of:
        wanted.add(draw(st.sampled_from(sorted(group))))
    chosen = [o for o in opts if o.name in wanted]
    extra = draw(st.lists(st.sampled_from(opts), max_size=3, unique_by=lambda o: o.name)) if opts else []
    for o in extra:
        if o not in chosen and not any(o.name in g and (g & {c.name for c in chosen}) for g in ext.exclusive):
            chosen.append(o)
    for o in chosen:
        if o.negatable and draw(st.integers(0, 4)) == 0:
            words.append("!")
        spelling = o.name
        if o.aliases and draw(st.integers(0, 5)) == 0:
            spelling = draw(st.sampled_from(o.aliases))
        vals = draw(value_for(o.value_type, family, o.arity))
        if vals and spelling.startswith("--") and draw(st.integers(0, 15)) == 0:
            words.append(f"{spelling}={vals[0]}")  # --opt=value
            words.extend(draw(rendered(v)) for v in vals[1:])
        else:
            words.append(spelling)
            words.extend(draw(rendered(v)) for v in vals)
    return words


@st.composite
def rule_words(draw, family: str, table: str, chains: list[str]) -> list[str]:
    """The arguments of one rule after `-A CHAIN`."""
    words: list[str] = []
    proto = None
    for name in draw(st.lists(st.sampled_from(sorted(_BUILTINS)), max_size=3, unique=True)):
        spec = _BUILTINS[name]
        if name == "-f" and family == "ipv6":
            continue
        if spec.negatable and draw(st.integers(0, 3)) == 0:
            words.append("!")
        words.append(name if draw(st.integers(0, 5)) else (spec.aliases or (name,))[0])
        if spec.arity:
            (v,) = draw(value_for(spec.value_type, family, 1))
            if name == "-p":
                v = draw(st.sampled_from(["tcp", "udp", "icmp" if family == "ipv4" else "ipv6-icmp", "sctp", v]))
                proto = v
            words.append(draw(rendered(v)))
    if proto in ("tcp", "udp") and draw(st.booleans()):
        words += [draw(st.sampled_from(["--dport", "--sport"])), draw(st.sampled_from(["22", "80:90", "ssh", "1024:"]))]
    for ext in draw(st.lists(st.sampled_from(MATCHES), max_size=3)):
        if family not in ext.families:
            continue
        words += ["-m", ext.name, *_options_of(ext, family, draw)]
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        words += ["-j", draw(st.sampled_from(["ACCEPT", "DROP", "RETURN", "ACCEPT"]))]
    elif kind <= 5 and chains:
        words += [draw(st.sampled_from(["-j", "-j", "-g"])), draw(st.sampled_from(chains))]
    elif kind <= 8:
        ext = draw(st.sampled_from(TARGETS))
        if family in ext.families:
            words += ["-j", ext.name, *_options_of(ext, family, draw)]
    return words


# --------------------------------------------------------------------------------------------
# dumps

COUNTERS = st.tuples(st.integers(0, 10**12), st.integers(0, 10**15)).map(lambda t: f"[{t[0]}:{t[1]}]")


@st.composite
def dumps(draw, max_rules: int = 12) -> str:
    """A whole dump as text. Mostly well-formed; about one in ten has a structural slip."""
    family = draw(st.sampled_from(["ipv4", "ipv4", "ipv6"]))
    prog = "ip6tables-save" if family == "ipv6" else "iptables-save"
    lines = [f"# Generated by {prog} v1.8.9 on Fri Nov 27 10:00:00 2026"]
    tables = draw(st.lists(st.sampled_from(sorted(BUILTIN_CHAINS)), min_size=1, max_size=3, unique=True))
    budget = max_rules
    for table in tables:
        lines.append(f"*{table}")
        builtins = list(BUILTIN_CHAINS[table])
        users = draw(st.lists(chain_name, max_size=4, unique=True))
        users = [u for u in users if u not in builtins]
        for c in builtins:
            counters = draw(COUNTERS) if draw(st.booleans()) else "[0:0]"
            lines.append(f":{c} {draw(st.sampled_from(['ACCEPT', 'ACCEPT', 'DROP']))} {counters}")
        for c in users:
            lines.append(f":{c} - [0:0]")
        all_chains = builtins + users
        n = draw(st.integers(0, budget))
        budget -= n
        for _ in range(n):
            chain = draw(st.sampled_from(all_chains))
            others = [c for c in users if c != chain]
            prefix = f"{draw(COUNTERS)} " if draw(st.integers(0, 4)) == 0 else ""
            words = draw(rule_words(family, table, others))
            command = ["-A", chain]
            how = draw(st.integers(0, 29))
            if how == 0:
                command = ["-I", chain] + ([draw(st.sampled_from(["1", "2", "0", "99", "٣", "²"]))] if draw(st.booleans()) else [])
            elif how == 1:
                command, words = ["-D", chain, draw(st.sampled_from(["1", "2", "0", "7"]))], []
            elif how == 2:
                command = [draw(st.sampled_from(["-A", "-R", "-D"])), chain, draw(st.sampled_from(["1", "3"]))]
            elif how == 3:
                command, words = draw(st.sampled_from([["-N", "NEWCHAIN"], ["-X", chain], ["-F", chain], ["-Z", chain],
                                                       ["-P", chain, "DROP"], ["-E", chain, "X"]])), []
            lines.append(prefix + " ".join([*command, *words]))
            if draw(st.integers(0, 12)) == 0:
                lines.append("# " + draw(free_text).replace("\n", " "))
        if draw(st.integers(0, 15)):
            lines.append("COMMIT")
        lines.append("# Completed on Fri Nov 27 10:00:00 2026")
    return "\n".join(lines) + ("\n" if draw(st.integers(0, 9)) else "")


# --------------------------------------------------------------------------------------------
# real dumps and their mutations


def corpus_paths(shared: Path | None) -> list[Path]:
    paths = sorted((REPO / "samples").glob("*.rules"))
    if shared is not None:
        paths += sorted(p for p in (shared / "dumps").glob("*") if p.is_file())
        paths += sorted(p for p in (shared / "corpus" / "iptables-upstream" / "dumps").glob("*") if p.is_file())
    return paths


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def mutated(draw, originals: list[bytes]) -> bytes:
    """One of `originals` with one to four mutations applied."""
    data = draw(st.sampled_from(originals))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(_MUTATION)(data, draw)
    return data


def _byte_flip(data: bytes, draw) -> bytes:
    if not data:
        return data
    i = draw(st.integers(0, len(data) - 1))
    b = draw(st.one_of(st.integers(0, 255), st.sampled_from(list(b'"\\!-[]:*# \t\r\n\x00\x1b'))))
    return data[:i] + bytes([b]) + data[i + 1 :]


def _truncate(data: bytes, draw) -> bytes:
    lines = _lines(data)
    k = draw(st.integers(0, len(lines)))
    cut = b"\n".join(lines[:k])
    if draw(st.booleans()) and k < len(lines):  # sometimes in the middle of the next line
        nxt = lines[k]
        cut += b"\n" + nxt[: draw(st.integers(0, len(nxt)))]
    return cut


def _duplicate(data: bytes, draw) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines)))
    return b"\n".join(lines[:j] + [lines[i]] + lines[j:])


def _reorder(data: bytes, draw) -> bytes:
    lines = _lines(data)
    if len(lines) < 2:
        return data
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _delete_line(data: bytes, draw) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    return b"\n".join(lines[:i] + lines[i + 1 :])


def _crlf(data: bytes, draw) -> bytes:
    if draw(st.booleans()):
        return data.replace(b"\n", b"\r\n")
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] += b"\r"
    return b"\n".join(lines)


def _insert(data: bytes, draw) -> bytes:
    """Insert hostile bytes or a huge token at a random place."""
    piece = draw(
        st.sampled_from(
            [
                b"\x00", b"\xff\xfe", b"\xc3", b'"', b'\\', b" ! ", b"\x1b[31m", b"\r", b"[0:0] ",
                b"x" * 20_000, b" " * 20_000, b'"' + b"\\\"" * 3000, b"-p tcp " * 300, b"\t" * 500,
                b"\xe2\x80\xae", b"\xef\xbf\xbf", b"COMMIT\n", b"*filter\n", b":X - [0:0]\n",
                b"\x0b", b"\x0c", b"\xc2\xa0", b"\xe2\x80\x83", b"\x1c", b" -j ACCEPT", b" ! ", b" 1 ",
            ]
        )
    )
    i = draw(st.integers(0, len(data)))
    return data[:i] + piece + data[i:]


_MUTATION = st.sampled_from([_byte_flip, _truncate, _duplicate, _reorder, _delete_line, _crlf, _insert])


def physical_line_count(data: bytes | str) -> int:
    """Lines as iptables-restore counts them: newline-terminated, plus a last unterminated one."""
    nl = b"\n" if isinstance(data, bytes) else "\n"
    if not data:
        return 0
    return data.count(nl) + (0 if data.endswith(nl) else 1)
