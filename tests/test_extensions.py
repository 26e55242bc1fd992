"""The extension table (ipt_lint.parse.extensions) and the value validators (ipt_lint.parse.values).

Three sources of truth:

* netfilter's own per-extension tests (``../shared/corpus/iptables-upstream/extensions/*.t``) and
  the oracle built from them (``rules-oracle.tsv``: every test rule, what upstream expects and
  what iptables 1.8.9 did with it). Every extension named there must be in the table, every option
  of an OK rule must resolve to an option of the extension that owns it, every value of a rule
  1.8.9 parses must pass its validator, and most rules 1.8.9 refuses to parse must be caught;
* targeted cases for the value syntaxes (ports, ranges, addresses, masks, marks, NAT ranges ...),
  written from iptables' parsers and checked against the real binaries;
* the real ``iptables-restore --test`` itself (kernel tests), asked about a batch of values.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ipt_lint.parse.extensions import (
    BUILTIN_OPTIONS,
    IMPLICIT_PROTO_MATCHES,
    STANDARD_TARGETS,
    ExtensionSpec,
    OptionSpec,
    all_extensions,
    builtin_option,
    match_extension,
    option_value_count,
    resolve_option,
    target_extension,
)
from ipt_lint.parse.values import VALIDATORS, looks_like_hostname, validate

EXTENSIONS = Path("corpus") / "iptables-upstream" / "extensions"
ORACLE = Path("corpus") / "iptables-upstream" / "rules-oracle.tsv"

# ----------------------------------------------------------------------------------------------
# reading the corpus


def tokens(text: str) -> list[str]:
    """iptables-restore's tokenizer (syntax.md §6.1): blanks split, `"` quotes anywhere in a token,
    backslash escapes anything inside quotes, the closing quote ends the token."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\n":
            i += 1
        if i >= n:
            break
        buf = []
        while i < n and text[i] not in " \t\n":
            if text[i] == '"':
                i += 1
                while i < n and text[i] != '"':
                    if text[i] == "\\" and i + 1 < n:
                        i += 1
                    buf.append(text[i])
                    i += 1
                i += 1
                break
            buf.append(text[i])
            i += 1
        out.append("".join(buf))
    return out


def t_file_families(path: Path) -> tuple[str, ...]:
    """Which iptables runs a .t file (syntax.md §2)."""
    name = path.name
    if name.startswith("libip6t_"):
        return ("ipv6",)
    if name.startswith("libxt_"):
        return ("ipv4", "ipv6")
    return ("ipv4",)  # libipt_*, iptables.t


def t_files(shared_dir: Path) -> list[Path]:
    files = sorted(
        p
        for p in (shared_dir / EXTENSIONS).glob("*.t")
        if p.name == "iptables.t" or p.name.startswith(("libipt_", "libip6t_", "libxt_"))
    )
    assert files, "no .t files found"
    return files


def t_rules(path: Path):
    """The RULE field of every test line of a .t file (comments, chains, tables, commands skipped)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "#:*@%":
            continue
        yield line.split(";")[0]


@pytest.fixture(scope="module")
def oracle(shared_dir: Path) -> list[dict]:
    with (shared_dir / ORACLE).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows
    # one row per (family, rule, expectation): the chain and table do not change the syntax
    seen, unique = set(), []
    for r in rows:
        key = (r["family"], r["rule_text"], r["expected"], r["syntax_class_1_8_9"])
        if key not in seen and r["family"] in ("ipv4", "ipv6"):
            seen.add(key)
            unique.append(r)
    return unique


# ----------------------------------------------------------------------------------------------
# a small rule reader driven only by the table, the way iptables' do_parse() reads a rule


@dataclass
class Block:
    spec: ExtensionSpec | None
    name: str
    given: list[str] = field(default_factory=list)


@dataclass
class Used:
    block: Block | None  # the -m/-j block the option was written in (None before any)
    owner: ExtensionSpec | None  # the extension it resolved to (None for built-ins)
    spec: OptionSpec
    values: list[str]
    negated: bool


@dataclass
class Reading:
    used: list[Used] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # syntax the table says iptables refuses
    value_problems: list[str] = field(default_factory=list)  # values the validators refuse


def read_rule(text: str, family: str) -> Reading:
    toks = tokens(text)
    r = Reading()
    loaded: list[ExtensionSpec] = []
    blocks: list[Block] = []
    by_spec: dict[int, Block] = {}
    current: Block | None = None
    proto = None
    negated = False
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "!":
            negated = True
            i += 1
            continue
        spelling, inline = t, None
        if t.startswith("--") and "=" in t:
            spelling, inline = t.split("=", 1)
        elif len(t) > 2 and t[0] == "-" and t[1] != "-" and builtin_option(t[:2]) is not None:
            spelling, inline = t[:2], t[2:]  # -ptcp, -jACCEPT (iptables 1.8.10)
        if not spelling.startswith("-"):
            r.problems.append(f"Bad argument `{t}'")
            i, negated = i + 1, False
            continue
        spec = builtin_option(spelling)
        owner = None
        if spec is None:
            found = resolve_option(spelling, loaded)
            if found is None and proto in IMPLICIT_PROTO_MATCHES:
                implicit = match_extension(IMPLICIT_PROTO_MATCHES[proto], family)
                if implicit is not None and implicit not in loaded:
                    loaded.append(implicit)
                    by_spec[id(implicit)] = Block(implicit, implicit.name)
                    blocks.append(by_spec[id(implicit)])
                    found = resolve_option(spelling, loaded)
            if found is None:
                r.problems.append(f'unknown option "{spelling}"')
                i, negated = i + 1, False
                continue
            owner, spec = found
        following = toks[i + 1 :]
        if inline is not None:
            values, i = [inline], i + 1
        else:
            k = option_value_count(spec, following)
            values, i = following[:k], i + 1 + k
            if spec.arity > 0 and spec.name != "-c" and k < spec.arity:
                r.problems.append(f'option "{spelling}" requires an argument')
        if negated and not spec.negatable:
            r.problems.append(f'option "{spec.name}" cannot be inverted')
        if owner is None and spec.name in ("-m", "-j", "-g") and values:
            name = values[0]
            ext = None
            if spec.name == "-m":
                ext = match_extension(name, family)
                if ext is None:
                    r.problems.append(f"Couldn't load match `{name}'")
            elif spec.name == "-j" and name not in STANDARD_TARGETS:
                ext = target_extension(name, family)
            current = Block(ext, name)
            blocks.append(current)
            if ext is not None:
                loaded.append(ext)
                by_spec[id(ext)] = current
        elif owner is None and spec.name == "-p" and values:
            proto = values[0].lower()
        if owner is not None:
            by_spec[id(owner)].given.append(spec.name)
        r.used.append(Used(current, owner, spec, values, negated))
        msg = validate(spec.value_type, values, family)
        if msg:
            r.value_problems.append(f"{spec.name} {' '.join(values)}: {msg}")
        negated = False
    for b in blocks:
        if b.spec is None:
            continue
        given = set(b.given)
        for name in b.spec.required:
            if name not in given:
                r.problems.append(f'{b.name}: option "{name}" must be specified')
        for group in b.spec.one_of:
            if not group & given:
                r.problems.append(f"{b.name}: one of {sorted(group)} is required")
        for group in b.spec.exclusive:
            if len(group & given) > 1:
                r.problems.append(f"{b.name}: {sorted(group & given)} exclude each other")
        for needy, needed in b.spec.requires:
            if needy in given and needed not in given:
                r.problems.append(f'{b.name}: option "{needy}" also requires "{needed}"')
        if b.name != "policy":  # policy's element options repeat after --next
            dups = {n for n in b.given if b.given.count(n) > 1}
            if dups:
                r.problems.append(f"{b.name}: {sorted(dups)} given more than once")
    return r


def flagged(reading: Reading) -> bool:
    return bool(reading.problems or reading.value_problems)


# ----------------------------------------------------------------------------------------------
# (1) coverage of the .t files


def test_every_extension_of_the_t_files_is_in_the_table(shared_dir):
    missing = []
    seen = 0
    for path in t_files(shared_dir):
        for rule in t_rules(path):
            toks = tokens(rule)
            for k, tok in enumerate(toks[:-1]):
                if tok in ("-m", "--match"):
                    kind, name = "match", toks[k + 1]
                elif tok in ("-j", "--jump"):
                    kind, name = "target", toks[k + 1]
                else:
                    continue
                if kind == "target" and name in STANDARD_TARGETS:
                    continue
                seen += 1
                for family in t_file_families(path):
                    lookup = match_extension if kind == "match" else target_extension
                    if lookup(name, family) is None:
                        missing.append(f"{path.name}: {kind} {name} ({family})")
    assert seen > 300
    assert not missing, "\n".join(sorted(set(missing)))


def test_family_of_each_t_file_prefix(shared_dir):
    """libipt_ extensions exist for IPv4, libip6t_ ones for IPv6 (and not the other way round
    where the extension is family-specific, e.g. icmp and icmp6)."""
    for path in t_files(shared_dir):
        m = re.match(r"lib(ipt|ip6t|xt)_(\w+)\.t$", path.name)
        if not m or m.group(2) == "standard":  # the built-in options and verdicts
            continue
        name = m.group(2)
        lookup = target_extension if name[0].isupper() else match_extension
        for family in t_file_families(path):
            assert lookup(name, family) is not None, (path.name, family)
    assert match_extension("icmp", "ipv6") is None
    assert match_extension("icmp6", "ipv4") is None
    assert target_extension("DNPT", "ipv4") is None
    assert target_extension("TTL", "ipv6") is None and target_extension("HL", "ipv4") is None


# ----------------------------------------------------------------------------------------------
# (2) every option of an OK row resolves, to the right extension


def test_every_option_of_ok_rows_resolves(oracle):
    failures = []
    checked = 0
    for row in oracle:
        if row["expected"] != "OK":
            continue
        reading = read_rule(row["rule_text"], row["family"])
        if reading.problems:
            failures.append(f"{row['family']} {row['rule_text']!r}: {reading.problems}")
        for u in reading.used:
            if u.owner is None:
                continue
            checked += 1
            # An option written inside `-m X ...` / `-j X ...` belongs to X whenever X has it.
            block = u.block
            in_own_block = block is not None and block.spec is not None and block.spec.option(u.spec.name) is u.spec
            if in_own_block and u.owner is not block.spec:
                failures.append(f"{row['rule_text']!r}: {u.spec.name} went to {u.owner.name}, not {block.name}")
    assert checked > 1500
    assert not failures, "\n".join(failures[:40])


def test_options_go_to_the_extension_they_follow(oracle):
    """Spot checks of the attribution above on rules with several blocks."""
    r = read_rule("-p tcp -m comment --comment foo -m tcp --dport 22", "ipv4")
    owners = {u.spec.name: (u.owner.name if u.owner else None) for u in r.used}
    assert owners == {"-p": None, "-m": None, "--comment": "comment", "--dport": "tcp"}
    r = read_rule("-d fe80::/64 -p udp --dport 546 -m frag --fraglast", "ipv6")
    assert [(u.spec.name, u.owner.name if u.owner else None) for u in r.used][-3:] == [
        ("--dport", "udp"),
        ("-m", None),
        ("--fraglast", "frag"),
    ]
    r = read_rule("-j LOG --log-prefix p -p tcp --dport 22", "ipv4")
    assert not r.problems and [u.owner.name for u in r.used if u.owner] == ["LOG", "tcp"]


# ----------------------------------------------------------------------------------------------
# (3) values


def test_values_of_rows_that_parse_are_accepted(oracle):
    """Every value of an OK rule that iptables 1.8.9 parses passes its validator."""
    failures = []
    n = 0
    for row in oracle:
        if row["expected"] != "OK" or row["syntax_class_1_8_9"] != "parses":
            continue
        reading = read_rule(row["rule_text"], row["family"])
        n += len(reading.used)
        if reading.value_problems:
            failures.append(f"{row['family']} {row['rule_text']!r}: {reading.value_problems}")
    assert n > 3000
    assert not failures, "\n".join(failures[:40])


def test_ok_values_fit_max_len(oracle):
    """No value of an OK rule is longer than its option's max_len (the longest value iptables
    keeps; see test_max_len_is_where_iptables_cuts for the other side)."""
    limited = 0
    for row in oracle:
        if row["expected"] != "OK":
            continue
        for u in read_rule(row["rule_text"], row["family"]).used:
            if u.spec.max_len is not None and len(u.values) == 1:
                limited += 1
                assert len(u.values[0]) <= u.spec.max_len, (row["rule_text"], u.spec.name)
    assert limited > 20  # comment, log-prefix, hashlimit-name, recent --name ...


def test_most_rows_that_do_not_parse_are_caught(oracle):
    """Of the FAIL rows that iptables 1.8.9 refuses while parsing, the table and validators catch
    most. The rest need knowledge outside one rule's syntax: the protocol a NAT port needs, ipsets
    and connlabel names that must exist, option order (owner --suppl-groups)."""
    rows = [r for r in oracle if r["expected"] == "FAIL" and r["syntax_class_1_8_9"] == "parse-error"]
    caught = [r for r in rows if flagged(read_rule(r["rule_text"], r["family"]))]
    share = len(caught) / len(rows)
    assert len(rows) > 350
    assert share >= 0.85, f"only {share:.0%} of {len(rows)} unparseable rows caught"


def test_bad_values_of_fail_rows_are_rejected(oracle):
    """FAIL rows whose only fault is an out-of-range or malformed value: the validator says so."""
    bad = re.compile(r"(^|[ :,/-])(-1|65536|4294967296|42949672956|256|0x40|wrong|invalid|bad)($|[ :,/])")
    rows = [r for r in oracle if r["expected"] == "FAIL" and bad.search(r["rule_text"])]
    assert len(rows) > 40
    missed = [f"{r['family']} {r['rule_text']}" for r in rows if not flagged(read_rule(r["rule_text"], r["family"]))]
    assert len(missed) <= len(rows) // 10, "\n".join(missed)


def test_reversed_ranges_of_fail_rows_are_rejected(oracle):
    """`--sport 4:3` and friends: loaded by 1.8.9, refused since 1.8.11; upstream expects FAIL."""
    rev = re.compile(r"(?<![\w.:])(\d+):(\d+)(?![\w.:])")
    rows = [
        r for r in oracle if r["expected"] == "FAIL" and any(int(a) > int(b) for a, b in rev.findall(r["rule_text"]))
    ]
    assert len(rows) >= 15
    for r in rows:
        reading = read_rule(r["rule_text"], r["family"])
        assert reading.value_problems, (r["family"], r["rule_text"])


# ----------------------------------------------------------------------------------------------
# targeted validator cases

V4, V6 = "ipv4", "ipv6"


def ok(value_type: str, text: str, family: str = V4) -> bool:
    return VALIDATORS[value_type](text, family) is None


@pytest.mark.parametrize(
    "text, good",
    [
        ("0", True), ("22", True), ("65535", True), ("65536", False), ("-1", False),
        ("0x16", True), ("010", True), ("08", False), ("ssh", True), ("https", True),
        ("ftp-data", True), ("domain", True), ("echo-ssh", False), ("nosuchservice", False),
        ("", False), ("22 ", False), ("SSH", False),
    ],
)  # fmt: skip
def test_port(text, good):
    assert ok("port", text) is good


@pytest.mark.parametrize(
    "text, good",
    [
        ("1", True), ("1:1023", True), ("1024:", True), (":4", True), (":", True), ("4:4", True),
        ("4:3", False), ("1024:65536", False), ("-1", False), ("1:2:3", False), ("ssh:http", True),
        ("http:ssh", False), ("0:65535", True), ("x:1", False),
    ],
)  # fmt: skip
def test_port_range(text, good):
    assert ok("port_range", text) is good


def test_port_range_messages_mirror_iptables():
    assert VALIDATORS["port"]("99999", V4) == "invalid port/service `99999' specified"
    assert VALIDATORS["port_range"]("x", V4) == "invalid port/service `x' specified"
    assert "1.8.11" in VALIDATORS["port_range"]("4:3", V4)


@pytest.mark.parametrize(
    "text, good",
    [
        ("53,1024:65535", True), ("1,2,3,4,6,7,8,9,10,11,12,13,14,15", True),
        ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", True), ("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", False),
        ("1:2,3:4,5:6,7:8,9:10,11:12,13:14,15", True), ("1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16", False),
        ("443,80:90,ssh", True), ("1024:65536", False), ("", False), ("1,,2", False), ("90:80", False),
    ],
)  # fmt: skip
def test_port_list(text, good):
    assert ok("port_list", text) is good


@pytest.mark.parametrize(
    "text, good",
    [
        ("42", True), ("0", True), ("65535", True), ("65536", False), ("0-0", True), ("42-1234", True),
        ("42-1234/567", False), ("ssh", True), ("ftp-data", True), ("ftp-ssh", False), ("10-ssh", False),
        ("-1", False), ("20-10", False), ("ftp-data-30", False),
    ],
)  # fmt: skip
def test_port_or_range_dash(text, good):
    assert ok("port_or_range_dash", text) is good


@pytest.mark.parametrize(
    "text, family, good",
    [
        ("1.2.3.4", V4, True), ("1.2.3.4/32", V4, True), ("10.0.0.0/8", V4, True),
        ("10.11.12.13/255.0.255.0", V4, True), ("1.2.3.4/33", V4, False), ("1.2.3.4/", V4, False),
        ("1.2.3.400", V4, False), ("10", V4, True), ("1.2.65535", V4, True), ("0x7f.1", V4, True),
        ("1.2.3.4/0x10", V4, True), ("1.2.3.4/255.255", V4, False), ("::1", V4, False),
        ("localhost", V4, True), ("gw.example.com", V4, True), ("localhost/8", V4, True),
        ("::1", V6, True), ("::/0", V6, True), ("2001:DB8:0:0::1", V6, True), ("2001:db8::/129", V6, False),
        ("2001:db8::/ffff:ffff::", V6, True), ("1.2.3.4", V6, False), ("::ffff:1.2.3.4", V6, True),
        ("2001:db8:::1", V6, False), ("localhost", V6, True), ("fe80::1%eth0", V6, True),
        ("", V4, False), ("a b", V4, False), ("-foo", V4, False),
    ],
)  # fmt: skip
def test_address(text, family, good):
    assert ok("address", text, family) is good


def test_address_messages_and_lists():
    assert VALIDATORS["address"]("1.2.3.400", V4) == "host/network `1.2.3.400' not found"
    assert VALIDATORS["address"]("::1", V4) == "host/network `::1' not found"
    assert VALIDATORS["address"]("1.2.3.4/", V4) == "invalid mask `' specified"
    assert ok("address_list", "1.2.3.4,5.6.7.8/24")
    assert not ok("address_list", "1.2.3.4,")
    assert not ok("address_list", "1.2.3.4,::1")
    assert ok("address_list", "::1,2001:db8::/32", V6)


def test_hostnames_are_valid_but_recognisable():
    assert looks_like_hostname("localhost") and looks_like_hostname("gw.example.com")
    assert looks_like_hostname("1e100.net")
    assert not looks_like_hostname("1.2.3.400") and not looks_like_hostname("10")
    assert not looks_like_hostname("::1") and not looks_like_hostname("a_b c")


@pytest.mark.parametrize(
    "text, family, good",
    [
        ("1.1.1.1", V4, True), ("1.1.1.1-1.1.1.10", V4, True), ("1.1.1.1:1025-65535", V4, True),
        ("1.1.1.1-1.1.1.10:1025-65535", V4, True), ("1.1.1.1-1.1.1.10:1025-65536", V4, False),
        ("1.1.1.1:1000-2000/1000", V4, True), ("1.1.1.1:1000-2000/65535", V4, True),
        ("1.1.1.1:1000-2000/0", V4, False), ("1.1.1.1:1000-2000/65536", V4, False),
        ("1.1.1.1:ssh", V4, True), ("1.1.1.1:ftp-data", V4, True), ("1.1.1.1:echo-ssh", V4, False),
        ("1.1.1.1:10-20/ftp", V4, True), ("1.1.1.1:10-ssh", V4, False), ("1.1.1.1:20-10", V4, False),
        ("1.1.1.1:80/10", V4, False), ("1.1.1.1:", V4, False), (":80", V4, True), ("10.1:80", V4, False),
        ("localhost", V4, False), ("01.1.1.1", V4, False), ("1.1.1.256", V4, False), ("1.1.1.1-", V4, False),
        ("dead::beef", V6, True), ("dead::beef-dead::fee7", V6, True), ("[dead::beef]:1025-65535", V6, True),
        ("[dead::beef-dead::fee7]:1025-65536", V6, False), ("[dead::beef]:ssh", V6, True),
        ("[dead::beef]:10-20/ftp", V6, True), ("[dead::beef]:echo-ssh", V6, False), ("[dead::beef]", V6, True),
        ("[dead::beef]:", V6, False), ("[dead::beef", V6, False), ("1.1.1.1", V6, False), ("dead::beef", V4, False),
    ],
)  # fmt: skip
def test_nat_range(text, family, good):
    assert ok("nat_range", text, family) is good


@pytest.mark.parametrize(
    "text, good",
    [
        ("0x1", True), ("1", True), ("4294967295", True), ("4294967296", False), ("-1", False),
        ("0xfeedcafe/0xfeedcafe", True), ("0x0/0xff0", True), ("0xfffffffff", False), ("0/0xffffffff", True),
        ("1/", False), ("/1", False), ("x", False), ("0x10/0x100000000", False),
    ],
)  # fmt: skip
def test_mark(text, good):
    assert ok("mark", text) is good


@pytest.mark.parametrize(
    "vt, text, good",
    [
        ("uint32_range", "0:4294967295", True), ("uint32_range", "4294967296", False),
        ("uint32_range", "0:invalid", False), ("uint32_range", "3:", True), ("uint32_range", "4:3", False),
        ("uint16_range", "0:65536", False), ("uint16_range", "-1:65535", False), ("uint16_range", ":", True),
        ("uint64_range", "0:18446744073709551615", True), ("uint64_range", "0:18446744073709551616", False),
        ("uint64_range", "1000:0", False), ("uint8", "255", True), ("uint8", "256", False),
        ("uint8_nonzero", "0", False), ("uint8_nonzero", "1", True), ("uint16", "65535", True),
        ("uint16", "65536", False), ("uint32", "4294967295", True), ("uint64", "18446744073709551616", False),
        ("queue_balance", "0:65534", True), ("queue_balance", "0:65535", False), ("queue_balance", "4", False),
        ("queue_balance", "4:4", False), ("queue_balance", ":", True), ("queue_balance", "4:", True),
    ],
)  # fmt: skip
def test_numbers_and_numeric_ranges(vt, text, good):
    assert ok(vt, text) is good


@pytest.mark.parametrize(
    "vt, text, family, good",
    [
        ("icmp_type", "any", V4, True), ("icmp_type", "echo-reply", V4, True), ("icmp_type", "echo-req", V4, True),
        ("icmp_type", "ECHO-REPLY", V4, True), ("icmp_type", "echo", V4, False), ("icmp_type", "3/1", V4, True),
        ("icmp_type", "255/0:255", V4, True), ("icmp_type", "256", V4, False), ("icmp_type", "3/256", V4, False),
        ("icmp_type", "pong", V4, True), ("icmp_type", "bogus", V4, False),
        ("icmpv6_type", "1/0", V6, True), ("icmpv6_type", "mld-listener-query", V6, True),
        ("icmpv6_type", "any", V6, False), ("icmpv6_type", "neighbor-solicitation", V6, True),
        ("icmpv6_type", "mld-listener-re", V6, False),
        ("tcp_flags", "FIN,SYN,RST,ACK SYN", V4, True), ("tcp_flags", "syn,ack syn", V4, True),
        ("tcp_flags", "ALL NONE", V4, True), ("tcp_flags", "SYN,FOO SYN", V4, False), ("tcp_flags", "SYN", V4, False),
        ("ctstate", "NEW,ESTABLISHED", V4, True), ("ctstate", "new", V4, True), ("ctstate", "E,REL", V4, True),
        ("ctstate", "SNAT,DNAT", V4, True), ("ctstate", "wrong", V4, False), ("ctstate", "NEW,", V4, False),
        ("state", "NEW,RELATED", V4, True), ("state", "SNAT", V4, False), ("state", "UNTRACKED", V4, True),
        ("ctstatus", "SEEN_REPLY", V4, True), ("ctstatus", "assured", V4, True), ("ctstatus", "BOGUS", V4, False),
        ("ctdir", "ORIGINAL", V4, True), ("ctdir", "reply", V4, True), ("ctdir", "sideways", V4, False),
        ("addrtype", "LOCAL", V4, True), ("addrtype", "UNICAST,LOCAL", V4, True), ("addrtype", "wrong", V4, False),
        ("protocol", "tcp", V4, True), ("protocol", "TCP", V4, True), ("protocol", "6", V4, True),
        ("protocol", "all", V4, True), ("protocol", "ipv6-icmp", V6, True), ("protocol", "icmpv6", V6, True),
        ("protocol", "mobility-header", V6, True), ("protocol", "256", V4, False), ("protocol", "tcpx", V4, False),
        ("interface", "alongifacename0", V4, True), ("interface", "thisinterfaceistoolong0", V4, False),
        ("interface", "eth+", V4, True), ("interface", "+", V4, True), ("interface", "abcdefghijklmn+", V4, True),
        ("interface", "abcdefghijklmno+", V4, False),
        ("mac", "42:01:02:03:04:05", V4, True), ("mac", "42:01:02:03:04", V4, False),
        ("mac", "42:01:02:03:04:05:06", V4, False), ("mac", "4g:01:02:03:04:05", V4, False),
        ("tos", "Minimize-Delay", V4, True), ("tos", "0x1f/0x1f", V4, True), ("tos", "0xff", V4, True),
        ("tos", "wrong", V4, False), ("tos", "0x100", V4, False),
        ("dscp", "0x3f", V4, True), ("dscp", "0x40", V4, False), ("dscp", "-1", V4, False),
        ("dscp_class", "EF", V4, True), ("dscp_class", "AF41", V4, True), ("dscp_class", "CS7", V4, True),
        ("dscp_class", "AF51", V4, False), ("dscp_class", "CS8", V4, False),
        ("log_level", "alert", V4, True), ("log_level", "7", V4, True), ("log_level", "8", V4, False),
        ("log_level", "bad", V4, False), ("log_level", "err", V4, False), ("log_level", "panic", V4, True),
        ("reject_with", "icmp-port-unreachable", V4, True), ("reject_with", "tcp-reset", V6, True),
        ("reject_with", "icmp6-no-route", V6, True), ("reject_with", "icmp6-no-route", V4, False),
        ("reject_with", "icmp6-p", V6, True), ("reject_with", "icmp-bogus", V4, False),
        ("time_of_day", "01:02:03", V4, True), ("time_of_day", "23:59", V4, True), ("time_of_day", "24:00", V4, False),
        ("date", "2001-02-03T04:05:06", V4, True), ("date", "1970-01-01T02:00:00", V4, True),
        ("date", "2001-13-01", V4, False), ("date", "yesterday", V4, False),
        ("weekdays", "Mon,Fri,Sun", V4, True), ("weekdays", "1,7", V4, True), ("weekdays", "Funday", V4, False),
        ("weekdays", "8", V4, False), ("monthdays", "1,2,31", V4, True), ("monthdays", "32", V4, False),
        ("probability", "0.50000000000", V4, True), ("probability", "1", V4, True), ("probability", "1.1", V4, False),
        ("rate", "1/sec", V4, True), ("rate", "1000/hour", V4, True), ("rate", "3/m", V4, True),
        ("rate", "1/fortnight", V4, False), ("rate", "0/sec", V4, False),
        ("hashlimit_rate", "4kb/s", V4, True), ("hashlimit_rate", "1000000/sec", V4, True),
        ("hashlimit_burst", "400kb", V4, True), ("hashlimit_burst", "5", V4, True),
        ("rateest_rate", "5kbit", V4, True), ("rateest_interval", "250.0ms", V4, True),
        ("hex_string", "|0a0a0a0a|", V4, True), ("hex_string", "|00 01|ab", V4, True),
        ("hex_string", "|0g|", V4, False), ("hex_string", "|0a0|", V4, False), ("hex_string", "|0a", V4, False),
        ("string_pattern", "x" * 128, V4, True), ("string_pattern", "x" * 129, V4, False),
        ("set_spec", "foo src,dst", V4, True), ("set_spec", "foo", V4, False), ("set_spec", "foo src,up", V4, False),
        ("sctp_chunks", "all DATA", V4, True), ("sctp_chunks", "any INIT,DATA:Ii", V4, True), ("sctp_chunks", "all INIT:T", V4, False),
        ("sctp_chunks", "all BOGUS", V4, False), ("counters", "2 3", V4, True), ("counters", "2,3", V4, True),
        ("counters", ",3", V4, False), ("counters", "3,", V4, False), ("counters", "", V4, False),
        ("tc_class", "0000:ffff", V4, True), ("tc_class", "1:-1", V4, False), ("tc_class", "0000:10000", V4, False),
        ("tcp_options_list", "2,3,4,5,6,7", V4, True), ("tcp_options_list", "1,2", V4, False),
        ("tcp_options_list", "mss,sack", V4, True), ("mh_type", "4:123", V4, True), ("mh_type", "bu", V4, True),
        ("mh_type", "4:3", V4, False), ("ipv6_headers", "hop-by-hop", V6, True), ("ipv6_headers", "hop,60", V6, True),
        ("ipv6_headers", "bogus", V6, False), ("uid_range", "root", V4, True), ("uid_range", "0-10", V4, True),
        ("uid_range", "10-0", V4, False), ("chain", "x" * 28, V4, True), ("chain", "x" * 29, V4, False),
        ("network", "dead::/64", V6, True), ("network", "dead::beef", V6, False),
        ("address_range", "1.1.1.1-1.1.1.10", V4, True), ("address_range", "2001:db8::1-2001:db8::10", V6, True),
        ("address_range", "localhost", V4, False), ("ct_zone", "65535", V4, True), ("ct_zone", "65536", V4, False),
        ("ct_zone", "-1", V4, False), ("ct_events", "new,related,destroy", V4, True), ("ct_events", "old", V4, False),
        ("connlabel", "40", V4, True), ("connlabel", "2048", V4, False), ("bit", "2", V4, False),
        ("audit_type", "accept", V4, True), ("audit_type", "wrong", V4, False),
        ("bpf_bytecode", "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0", V4, True), ("bpf_bytecode", "2,48 0 0 9", V4, False),
        ("u32", "0x0=0x0&&0x0=0x1", V4, True),
    ],
)  # fmt: skip
def test_value_types(vt, text, family, good):
    assert ok(vt, text, family) is good, VALIDATORS[vt](text, family)


def test_validate_helper_joins_and_checks_max_len():
    assert validate("tcp_flags", ["SYN,ACK", "SYN"], V4) is None
    assert validate("tcp_flags", ["SYN,ACK", "BOGUS"], V4) is not None
    assert validate("string", ["x" * 256], V4, max_len=255) is not None
    assert validate("string", ["x" * 255], V4, max_len=255) is None
    assert validate("no-such-type", ["x"], V4) is None
    assert validate("port", [], V4) is None


# ----------------------------------------------------------------------------------------------
# the table and its API


def test_every_value_type_has_a_validator():
    for ext in all_extensions():
        for o in ext.options:
            assert o.value_type in VALIDATORS, (ext.name, o.name, o.value_type)
            assert (o.arity == 0) == (o.value_type == "none"), (ext.name, o.name)
    for o in BUILTIN_OPTIONS:
        assert o.value_type in VALIDATORS


def test_table_shape():
    exts = all_extensions()
    assert len(exts) > 90
    keys = set()
    for ext in exts:
        assert ext.kind in ("match", "target")
        assert ext.families and ext.families <= {"ipv4", "ipv6"}
        names = [s for o in ext.options for s in o.spellings]
        assert len(names) == len(set(names)), ext.name
        assert all(s.startswith("--") for s in names), ext.name
        given = {o.name for o in ext.options}
        assert set(ext.required) <= given
        for group in (*ext.exclusive, *ext.one_of, *(frozenset(p) for p in ext.requires)):
            assert group <= given, (ext.name, group)
        for fam in ext.families:
            key = (ext.kind, ext.name, fam)
            assert key not in keys
            keys.add(key)
            lookup = match_extension if ext.kind == "match" else target_extension
            assert lookup(ext.name, fam) is ext
    assert not STANDARD_TARGETS & {e.name for e in exts}


def test_known_option_facts():
    tcp = match_extension("tcp", V4)
    assert tcp.option("--dport") is tcp.option("--destination-port") is tcp.option("--dpo")
    assert tcp.option("--tcp-flags").arity == 2 and tcp.option("--tcp-flags").negatable
    assert tcp.option("--syn").arity == 0
    assert tcp.option("--s") is None  # --sport, --syn: ambiguous
    assert match_extension("comment", V4).option("--comment").max_len == 255
    assert target_extension("LOG", V6).option("--log-prefix").max_len == 29
    assert not target_extension("TEE", V4).option("--gateway").negatable  # `! --gateway` fails
    assert target_extension("DNAT", V4).required == ("--to-destination",)
    assert (
        frozenset({"--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark"})
        in target_extension("MARK", V4).one_of
    )
    assert ("--every", "--packet") in match_extension("statistic", V6).requires
    assert "--hmark-rnd" in target_extension("HMARK", V4).required
    assert match_extension("ah", V4).option("--ahlen") is None and match_extension("ah", V6).option("--ahlen")
    assert match_extension("icmpv6", V6) is match_extension("ipv6-icmp", V6) is match_extension("icmp6", V6)
    assert match_extension("rateest", V4).option("--rateest-bps1").arity == -1
    assert match_extension("set", V4).option("--match-set").arity == 2
    assert match_extension("hashlimit", V4).option("--hashlimit").name == "--hashlimit-upto"
    # an option that is also a prefix of a built-in long option is not an abbreviation
    assert match_extension("policy", V4).option("--pro") is None
    assert match_extension("policy", V4).option("--proto").name == "--proto"


def test_builtin_options():
    assert builtin_option("-s") is builtin_option("--source") is builtin_option("--src") is builtin_option("--sou")
    assert builtin_option("-s").value_type == "address_list" and builtin_option("-s").negatable
    assert builtin_option("--fragment").name == "-f" and builtin_option("--fragments").name == "-f"
    assert builtin_option("--d") is None  # --destination, --dst or --delete
    assert builtin_option("--des").name == "-d"
    assert builtin_option("--set") is None  # recent/connlabel --set wins as an exact spelling
    assert builtin_option("--set-counters").arity == 2
    assert builtin_option("--append") is None and builtin_option("-A") is None
    assert builtin_option("-j").value_type == "chain" and not builtin_option("-j").negatable
    assert builtin_option("--dport") is None


def test_resolve_option_follows_getopt():
    tcp, mark = match_extension("tcp", V4), match_extension("mark", V4)
    multiport = match_extension("multiport", V4)
    assert resolve_option("--source", []) == (None, builtin_option("-s"))
    assert resolve_option("--dport", [tcp, multiport]) == (tcp, tcp.option("--dport"))
    assert resolve_option("--dports", [tcp, multiport]) == (multiport, multiport.option("--dports"))
    assert resolve_option("--dpo", [tcp, multiport]) is None  # --dport or --dports
    assert resolve_option("--dpo", [tcp]) == (tcp, tcp.option("--dport"))
    assert resolve_option("--mark", [mark, mark])[0] is mark
    assert resolve_option("--mar", [mark]) == (mark, mark.option("--mark"))
    assert resolve_option("--mar", [mark, mark]) is None  # two copies: two options to getopt
    assert resolve_option("--d", [tcp]) is None
    assert resolve_option("--app", []) is None  # a command
    assert resolve_option("--nosuch", [tcp]) is None


def test_option_value_count():
    tcp = match_extension("tcp", V4)
    assert option_value_count(tcp.option("--tcp-flags"), ["SYN", "SYN", "-j"]) == 2
    assert option_value_count(tcp.option("--dport"), ["-1"]) == 1  # getopt takes it anyway
    assert option_value_count(tcp.option("--syn"), ["-j"]) == 0
    bps = match_extension("rateest", V4).option("--rateest-bps1")
    assert option_value_count(bps, ["8bit", "--rateest-lt"]) == 1
    assert option_value_count(bps, ["--rateest-lt"]) == 0
    assert option_value_count(bps, ["!", "--x"]) == 0
    c = builtin_option("-c")
    assert option_value_count(c, ["2", "3", "-j"]) == 2
    assert option_value_count(c, ["2,3", "-j"]) == 1
    assert option_value_count(c, ["2", "-j"]) == 1


def test_implicit_protocol_matches():
    for proto, name in IMPLICIT_PROTO_MATCHES.items():
        assert any(match_extension(name, f) for f in (V4, V6)), proto
        assert VALIDATORS["protocol"](proto, V4) is None
    assert IMPLICIT_PROTO_MATCHES["tcp"] == "tcp" and IMPLICIT_PROTO_MATCHES["6"] == "tcp"
    assert IMPLICIT_PROTO_MATCHES["ipv6-icmp"] == "icmp6"
    assert "udplite" not in IMPLICIT_PROTO_MATCHES  # there is no udplite match


# ----------------------------------------------------------------------------------------------
# the real iptables-restore, asked about values (kernel tests)

# (family, table, chain, rule prefix, option, value type, values). Values where iptables 1.8.9 and
# later releases agree; host names are left out (no DNS in the test namespaces).
PROBES = [
    (V4, "filter", "INPUT", "-p tcp", "--dport", "port_range",
     ["22", "0x16", "010", "08", "65535", "65536", "-1", "ssh", "ftp-data", "nosuch", "1:1023", ":4", "4:",
      ":", "1:2:3", "http:https"]),
    (V4, "filter", "INPUT", "", "-s", "address_list",
     ["1.2.3.4", "10", "1.2.65535", "0x7f.1", "1.2.3.400", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/255.0.255.0",
      "1.2.3.4/255.255", "::1", "1.2.3.4,5.6.7.8", "1.2.3.4,", "1.2.3.4/0x10"]),
    (V6, "filter", "INPUT", "", "-s", "address_list",
     ["::1", "2001:db8::/32", "2001:db8::/129", "1.2.3.4", "::ffff:1.2.3.4", "2001:db8:::1",
      "2001:db8::/ffff:ffff::"]),
    (V4, "filter", "INPUT", "", "-i", "interface", ["alongifacename0", "thisinterfaceistoolong0", "eth+", "+"]),
    (V4, "filter", "INPUT", "", "-p", "protocol", ["tcp", "TCP", "6", "255", "256", "all", "gre", "bogus"]),
    (V4, "filter", "INPUT", "-p tcp -m multiport", "--dports", "port_list",
     ["53,1024:65535", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", "1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16",
      "1024:65536", "1,,2", "443,80:90,ssh"]),
    (V4, "filter", "INPUT", "-m mark", "--mark", "mark",
     ["1", "0xffffffff", "4294967296", "-1", "0x0/0xff0", "0/0xffffffff", "1/", "x"]),
    (V4, "nat", "PREROUTING", "-p tcp -j DNAT", "--to-destination", "nat_range",
     ["1.1.1.1", "1.1.1.1-1.1.1.10:1025-65535", "1.1.1.1:1025-65536", "1.1.1.1:1000-2000/0",
      "1.1.1.1:1000-2000/65536", "1.1.1.1:ssh", "1.1.1.1:ftp-data", "1.1.1.1:echo-ssh", "1.1.1.1:10-20/ftp",
      "1.1.1.1:10-ssh", "1.1.1.1:20-10", "1.1.1.1:80/10", "1.1.1.1:", ":80", "10.1:80", "01.1.1.1"]),
    (V6, "nat", "PREROUTING", "-p tcp -j DNAT", "--to-destination", "nat_range",
     ["dead::beef", "[dead::beef]:1025-65535", "[dead::beef-dead::fee7]:1025-65536", "[dead::beef]:",
      "[dead::beef]:echo-ssh", "1.1.1.1"]),
    (V4, "nat", "PREROUTING", "-p tcp -j REDIRECT", "--to-ports", "port_or_range_dash",
     ["42", "65536", "42-1234", "42-1234/567", "ssh", "ftp-data", "ftp-ssh", "10-ssh", "20-10"]),
    (V4, "filter", "INPUT", "-p icmp", "--icmp-type", "icmp_type",
     ["any", "echo-reply", "echo-req", "ECHO-REPLY", "echo", "3/1", "255/0:255", "256", "pong", "bogus"]),
    (V6, "filter", "INPUT", "-p icmpv6", "--icmpv6-type", "icmpv6_type",
     ["1/0", "packet-too-big", "any", "neighbor-solicitation", "bogus"]),
    (V4, "filter", "INPUT", "-p tcp", "--tcp-flags", "tcp_flags", ["SYN,ACK SYN", "syn,ack syn", "SYN,FOO SYN"]),
    (V4, "filter", "INPUT", "-m conntrack", "--ctstate", "ctstate",
     ["NEW,ESTABLISHED", "new", "N", "E,REL", "wrong", "NEW,", "SNAT,DNAT"]),
    (V4, "filter", "INPUT", "-m state", "--state", "state", ["new,est", "NEW,", "INVALID", "bogus"]),
    (V4, "filter", "INPUT", "-j LOG", "--log-level", "log_level",
     ["alert", "err", "error", "warn", "panic", "WARNING", "8", "0x3"]),
    (V4, "filter", "INPUT", "-m tos", "--tos", "tos", ["Minimize-Delay", "0xff", "0x100", "wrong", "0x0f/0x0f"]),
    (V4, "filter", "INPUT", "-m dscp", "--dscp-class", "dscp_class", ["EF", "AF41", "CS7", "AF51", "cs1"]),
    (V6, "filter", "INPUT", "-j REJECT", "--reject-with", "reject_with",
     ["icmp6-no-route", "icmp6-p", "ICMP6-port-unreachable", "icmp-net-unreachable"]),
    (V4, "filter", "INPUT", "-m mac", "--mac-source", "mac", ["42:01:02:03:04:05", "42:01:02:03:04"]),
    (V4, "filter", "INPUT", "-m length", "--length", "uint16_range", ["0:65535", "0:65536", "-1:65535", ":"]),
    (V4, "filter", "INPUT", "-j NFQUEUE", "--queue-balance", "queue_balance", ["0:65534", "4", "4:4", "3:4"]),
    (V4, "filter", "INPUT", "-m limit", "--limit", "rate",
     ["1/sec", "1/s", "3/m", "2/h", "1/d", "0/sec", "10000/sec", "10001/sec", "600001/minute", "1/fortnight"]),
    (V4, "filter", "INPUT", "-m hashlimit --hashlimit-name x", "--hashlimit-upto", "hashlimit_rate",
     ["1/sec", "4kb/s", "1kb/sec", "10mb/s", "1000000/sec", "1000001/sec", "1/x"]),
    (V4, "filter", "INPUT", "-m time", "--timestart", "time_of_day",
     ["01:02:03", "1:2", "24:00", "12:60", "12", "12:00:60"]),
    (V4, "filter", "INPUT", "-m time", "--datestart", "date",
     ["2001", "2001-02-03T04:05:06", "1969-01-01", "2039-01-01", "x"]),
    (V4, "filter", "INPUT", "-m time", "--weekdays", "weekdays", ["Mon", "mon", "Monday", "Tu", "T", "0", "1,7"]),
    (V4, "filter", "INPUT", "-m addrtype", "--src-type", "addrtype", ["LOCAL", "local", "UN", "wrong"]),
    (V4, "filter", "INPUT", "-m pkttype", "--pkt-type", "pkttype", ["unicast", "BROADCAST", "host", "uni", "loopback"]),
    (V4, "filter", "INPUT", "-p sctp", "--chunk-types", "sctp_chunks",
     ["all DATA", "only DATA:Be", "none DATA", "all INIT:T", "all BOGUS", "ALL data"]),
    (V4, "filter", "INPUT", "-m statistic --mode random", "--probability", "probability", ["0.5", "1.1", "x"]),
    (V4, "raw", "PREROUTING", "-j CT", "--zone", "ct_zone", ["0", "65535", "65536", "mark", "x"]),
    (V4, "mangle", "POSTROUTING", "-p tcp -j TCPOPTSTRIP", "--strip-options", "tcp_options_list",
     ["2", "mss", "wscale,sack", "1", "256", "x"]),
    (V4, "filter", "INPUT", "-m string --algo bm", "--hex-string", "hex_string", ["|0a|", "|0a 0b|x", "|0g|", "|0a0|"]),
    (V6, "filter", "INPUT", "-m ipv6header", "--header", "ipv6_headers", ["hop", "hop-by-hop,60", "HOP", "bogus"]),
]  # fmt: skip

_NETNS = f"iptlint-ext-{os.getpid()}"


@pytest.fixture(scope="module")
def netns(kernel):
    subprocess.run(["ip", "netns", "add", _NETNS], check=True)
    try:
        yield _NETNS
    finally:
        subprocess.run(["ip", "netns", "delete", _NETNS], check=False)


def restore_test(netns: str, family: str, table: str, chain: str, rule: str) -> bool:
    binary = "ip6tables-restore" if family == V6 else "iptables-restore"
    dump = f"*{table}\n-A {chain} {rule}\nCOMMIT\n"
    done = subprocess.run(
        ["ip", "netns", "exec", netns, binary, "--test"],
        input=dump,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' if " " in value else value


def restore_and_save(netns: str, table: str, chain: str, rule: str) -> str | None:
    """Load one rule for real (IPv4) and return iptables-save's output, or None if it failed."""
    dump = f"*{table}\n-A {chain} {rule}\nCOMMIT\n"
    run = ["ip", "netns", "exec", netns]
    if subprocess.run([*run, "iptables-restore"], input=dump, capture_output=True, text=True, check=False).returncode:
        return None
    return subprocess.run([*run, "iptables-save", "-t", table], capture_output=True, text=True, check=False).stdout


@pytest.mark.kernel
@pytest.mark.parametrize(
    "extension, context, option",
    [
        ("comment", "", "--comment"),
        ("LOG", "", "--log-prefix"),
        ("recent", "--set", "--name"),
        ("hashlimit", "--hashlimit-upto 1/sec", "--hashlimit-name"),
        ("IDLETIMER", "--timeout 5", "--label"),
    ],
)
def test_max_len_is_where_iptables_cuts(netns, extension, context, option):
    """A value of max_len characters comes back from iptables-save whole; one more character and
    iptables refuses it or saves it cut short."""
    ext = match_extension(extension, V4) or target_extension(extension, V4)
    spec = ext.option(option)
    assert spec.max_len is not None
    flag = "-m" if ext.kind == "match" else "-j"
    for length, kept in ((spec.max_len, True), (spec.max_len + 1, False)):
        value = "a" * length
        saved = restore_and_save(netns, "filter", "INPUT", f"{flag} {extension} {context} {option} {value}")
        assert (saved is not None and value in saved) is kept, (option, length, saved)


@pytest.mark.kernel
def test_validators_agree_with_iptables_restore(netns):
    disagreements = []
    for family, table, chain, prefix, option, vt, values in PROBES:
        for value in values:
            two_args = vt in ("tcp_flags", "sctp_chunks", "set_spec")  # two arguments, joined by a space
            rule = f"{prefix} {option} {value if two_args else _quote(value)}".strip()
            real = restore_test(netns, family, table, chain, rule)
            ours = VALIDATORS[vt](value, family) is None
            if real != ours:
                disagreements.append(f"{family} {rule!r}: iptables {'accepts' if real else 'rejects'}")
    assert not disagreements, "\n".join(disagreements)
