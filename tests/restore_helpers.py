"""Helpers for the tests that hold ipt-lint to iptables itself.

* the upstream oracle (``corpus/iptables-upstream/rules-oracle.tsv``) as rows and one-rule dumps;
* what counts as "ipt-lint rejects the dump": an error-level IPT1xx finding;
* a pool of scratch network namespaces in which the real ``iptables-restore`` runs, and the
  verdict of the real binaries on a dump (see :func:`restore_verdict`);
* the restore tokenizer of ``../shared/docs/syntax.md`` §6.1, used to read ``iptables-save`` output.
"""

from __future__ import annotations

import csv
import functools
import os
import queue
import random
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ipt_lint.lint import lint_text

ORACLE = Path("corpus") / "iptables-upstream" / "rules-oracle.tsv"
CORPUS_DUMPS = Path("corpus") / "iptables-upstream" / "dumps"

# ----------------------------------------------------------------------------------------------
# the oracle


def oracle_rows(shared_dir: Path) -> list[dict]:
    with (shared_dir / ORACLE).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def row_id(row: dict) -> str:
    return f"{row['source_file']}:{row['line']} [{row['family']} {row['table']} {row['chain']}]"


def row_dump(row: dict) -> str:
    """The dump of syntax.md §4: every oracle chain is a built-in chain, so it takes a policy."""
    return f"*{row['table']}\n:{row['chain']} ACCEPT [0:0]\n-A {row['chain']} {row['rule_text']}\nCOMMIT\n"


ROW_RULE_LINE = 3  # the `-A` line of row_dump()


def module_of(row: dict) -> str:
    """`libxt_tcp.t` -> `tcp` (for grouping failures by extension)."""
    name = Path(row["source_file"]).name
    name = re.sub(r"^lib(xt|ipt|ip6t)_", "", name)
    return name.removesuffix(".t")


# ----------------------------------------------------------------------------------------------
# ipt-lint's verdict


def error_findings(result) -> list:
    """Error-level IPT1xx findings: what ipt-lint says iptables-restore would reject."""
    return [f for f in result.findings if f.code.startswith("IPT1") and str(f.severity) == "error"]


def lint_errors(text: str | bytes, name: str, family: str | None) -> list:
    return error_findings(lint_text(text, name, family=family))


def describe(findings) -> str:
    return "; ".join(f"{f.code}@{f.line}:{f.column} {f.message}" for f in findings) or "-"


# ----------------------------------------------------------------------------------------------
# iptables-restore's tokenizer (syntax.md §6.1), for reading iptables-save output


def restore_tokens(line: str) -> tuple[list[str], bool]:
    """Split a line as `add_param_to_argv` does. Returns (tokens, ended inside an open quote)."""
    tokens: list[str] = []
    cur: list[str] = []
    in_token = quoted = escaped = False
    for ch in line:
        if quoted:
            if escaped:
                cur.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                tokens.append("".join(cur))
                cur, in_token, quoted = [], False, False
            else:
                cur.append(ch)
        elif ch == '"':
            quoted = in_token = True
        elif ch in " \t\n":
            if in_token:
                tokens.append("".join(cur))
                cur, in_token = [], False
        else:
            cur.append(ch)
            in_token = True
    if in_token:
        tokens.append("".join(cur))
    return tokens, quoted


_COUNTERS = re.compile(r"^\[[^\]]*\]\s*")
_TARGET_OPTS = ("-j", "--jump", "-g", "--goto")
_OTHER_COMMANDS = re.compile(r"^(\[[^\]]*\]\s*)?(-[INPFXDRZE46]\b|--(insert|new-chain|policy|flush|delete|replace|zero|rename-chain|delete-chain)\b)")


def _expansion(tokens: list[str]) -> int:
    """iptables turns `-s a,b -d c,d` into one rule per combination."""
    n = 1
    for i, t in enumerate(tokens[:-1]):
        if t in ("-s", "--source", "--src", "-d", "--destination", "--dst"):
            n *= len([x for x in tokens[i + 1].split(",") if x])
    return max(n, 1)


def rule_fingerprint(text: str, *, as_written: bool) -> Counter | None:
    """Multiset of (table, chain, has-target, comments) over the `-A` lines of a dump.

    Comments are compared cut to 255 bytes, as iptables 1.8.9 stores them.

    `as_written=True` reads a dump the way its author sees it (an unterminated quote is closed at
    the end of the line, so what follows it still counts; an address list counts once per
    address, as iptables expands it); `False` reads it as iptables-restore does, which is right
    for iptables-save output. None if the dump uses other commands (`-I`, `-N`, `-P`, `-4`, ...),
    whose effect this simple count does not follow.
    """
    fp: Counter = Counter()
    table = None
    for raw in text.split("\n"):
        line = raw.rstrip("\r").lstrip(" \t") if as_written else raw
        if line.startswith("*"):
            table = line[1:].split()[0] if line[1:].split() else ""
            continue
        if line.startswith(("#", ":", "COMMIT")) or not line.strip():
            continue
        if _OTHER_COMMANDS.match(line):
            return None
        body = _COUNTERS.sub("", line)
        if not body.startswith(("-A ", "--append ", "-A\t")):
            continue  # a continuation of a quoted newline, or a line this count does not follow
        tokens, open_quote = restore_tokens(body)
        if as_written and open_quote:
            tokens = body.split()
        if len(tokens) < 2:
            continue
        has_target = any(t in _TARGET_OPTS for t in tokens[2:])
        comments = tuple(tokens[i + 1] for i in range(2, len(tokens) - 1) if tokens[i] == "--comment")
        if as_written:
            # iptables 1.8.9 keeps the first 255 bytes of a longer comment, silently; ipt-lint warns
            # about that (a warning by design), so a cut comment alone is not "loaded otherwise"
            comments = tuple(c.encode("utf-8")[:255].decode("utf-8", "replace") for c in comments)
        fp[(table, tokens[1], has_target, comments)] += _expansion(tokens) if as_written else 1
    return fp


# ----------------------------------------------------------------------------------------------
# the real binaries, in scratch network namespaces


def restore_binary(family: str, backend: str, save: bool = False) -> str:
    prefix = "ip6tables" if family == "ipv6" else "iptables"
    return f"{prefix}-{backend}-{'save' if save else 'restore'}"


@functools.cache
def backends() -> tuple[str, ...]:
    """nft (the default on Debian 12) and, where installed, legacy."""
    out = tuple(b for b in ("nft", "legacy") if shutil.which(f"iptables-{b}-restore") and shutil.which(f"ip6tables-{b}-restore"))
    return out or ("default",)  # a distribution without the -nft/-legacy names


def _binary(family: str, backend: str, save: bool = False) -> str:
    if backend == "default":
        return ("ip6tables" if family == "ipv6" else "iptables") + ("-save" if save else "-restore")
    return restore_binary(family, backend, save)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_namespaces(prefix: str) -> None:
    """Delete `<prefix>-<pid>-*` namespaces whose creating process is gone (a killed earlier run)."""
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(re.escape(prefix) + r"-(\d+)(-\d+)?", name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


class NetnsPool:
    """`size` scratch namespaces `iptlint-diff-<pid>-<k>`; one command runs in each at a time.

    nf_tables serialises transactions per namespace (even `--test` costs ~15 ms of waiting there),
    so parallel calls only help across namespaces.
    """

    PREFIX = "iptlint-diff"

    def __init__(self, size: int) -> None:
        self.names = [f"{self.PREFIX}-{os.getpid()}-{k}" for k in range(size)]
        self._free: queue.Queue[str] = queue.Queue()
        self._nsenter = shutil.which("nsenter")

    def __enter__(self) -> NetnsPool:
        remove_stale_namespaces(self.PREFIX)
        made = []
        try:
            for name in self.names:
                subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
                made.append(name)
                self._free.put(name)
        except BaseException:
            for name in made:
                subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for name in self.names:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)

    @contextmanager
    def netns(self) -> Iterator[str]:
        name = self._free.get()
        try:
            yield name
        finally:
            self._free.put(name)

    def run(self, ns: str, argv: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
        if self._nsenter:
            cmd = [self._nsenter, f"--net=/run/netns/{ns}", *argv]
        else:
            cmd = ["ip", "netns", "exec", ns, *argv]
        return subprocess.run(cmd, input=data, capture_output=True, timeout=120, check=False)


# What a real load rejects that `--test` does not look at, split in two:
# * mistakes in the dump itself (syntax.md §6.1 "What --test catches"): undefined jump targets and
#   undeclared chains on nft, a bad built-in policy on nft;
# * things that depend on the kernel or on objects outside the dump (missing modules, a target in a
#   table or hook its kernel module refuses, RATEEST estimators, SELinux contexts): a static
#   linter cannot know them, so either answer from ipt-lint is accepted and they are counted apart.
DUMP_ERRORS_ON_LOAD = re.compile(
    r"Chain '[^']*' does not exist|line \d+ failed: No chain/target/match by that name|Bad policy name"
    r"|Couldn't load target|Bad built-in chain name|File exists"
)


# What `--test` itself rejects for a reason outside the dump: objects of the host it looks up
# while parsing (an ipset, a connlabel name from /etc/xtables/connlabel.conf).
HOST_LOOKUPS = re.compile(r"Set \S+ doesn't exist|connlabel\.conf|label '[^']*' not found")


@dataclass
class Verdict:
    """What the real binaries did with a dump.

    kind: "accept"        --test passes on every backend, the real load works, and iptables-save
                          shows the rules the author wrote (per table, chain and has-a-target)
          "reject-test"   some backend's `iptables-restore --test` rejects it
          "reject-load"   --test passes, the real load fails for a mistake in the dump
          "misload"       everything loads, but iptables-save shows other rules than written
                          (a repeated table block, an unterminated quote swallowing the target)
          "kernel"        --test passes, the real load fails for a kernel/environment reason
          "environment"   --test fails on a lookup of host objects (ipset, connlabel names)
    """

    kind: str
    detail: str = ""
    backend: str = ""
    line: int | None = None
    per_backend: dict = field(default_factory=dict)

    @property
    def rejects(self) -> bool | None:
        """True/False, or None where the answer depends on the kernel, not the dump."""
        if self.kind in ("kernel", "environment"):
            return None
        return self.kind != "accept"


_LINE = re.compile(r"Error occurred at line: (\d+)|line (\d+)[: ]")


def _error_line(stderr: str) -> int | None:
    m = _LINE.search(stderr)
    if not m:
        return None
    return int(m.group(1) or m.group(2))


def _first(stderr: str) -> str:
    lines = [l for l in stderr.strip().splitlines() if l.strip() and not l.startswith("Try `")]
    return " | ".join(lines[:2])


def restore_verdict(pool: NetnsPool, data: bytes, family: str, *, load: bool = True) -> Verdict:
    bks = backends()
    per = {}
    with pool.netns() as ns:
        for b in bks:
            r = pool.run(ns, [_binary(family, b), "--test"], data)
            per[b] = r.returncode
            if r.returncode != 0:
                err = r.stderr.decode("utf-8", "replace")
                kind = "environment" if HOST_LOOKUPS.search(err) else "reject-test"
                return Verdict(kind, _first(err), b, _error_line(err), per)
        if not load:
            return Verdict("accept", "", "", None, per)
        main = bks[0]
        r = pool.run(ns, [_binary(family, main)], data)
        if r.returncode != 0:
            err = r.stderr.decode("utf-8", "replace")
            kind = "reject-load" if DUMP_ERRORS_ON_LOAD.search(err) else "kernel"
            return Verdict(kind, _first(err), main, _error_line(err), per)
        # The kernel checks some things only for one backend (legacy refuses `! -p tcp -m tcp`
        # at load time, nft accepts it): a dump that one backend's real load refuses is rejected.
        # (x_tables and nf_tables are separate in the kernel, so both loads fit in one namespace.)
        for other in bks[1:]:
            r2 = pool.run(ns, [_binary(family, other)], data)
            if r2.returncode != 0:
                err = r2.stderr.decode("utf-8", "replace")
                kind = "reject-load" if DUMP_ERRORS_ON_LOAD.search(err) or "failed" in err else "kernel"
                return Verdict(kind, _first(err), other, _error_line(err), per)
        written = rule_fingerprint(data.decode("utf-8", "replace"), as_written=True)
        if written is None:
            return Verdict("accept", "not compared with iptables-save (commands other than -A)", main, None, per)
        saved_text = pool.run(ns, [_binary(family, main, save=True)]).stdout.decode("utf-8", "replace")
        saved = rule_fingerprint(saved_text, as_written=False)
        tables = {k[0] for k in written} | _tables_of(data)
        saved = Counter({k: v for k, v in (saved or Counter()).items() if k[0] in tables})
        if saved != written:
            diff = (written - saved) + (saved - written)
            shown = {k[:3] + (tuple(c[:40] + ("..." if len(c) > 40 else "") for c in k[3]),): n for k, n in diff.items()}
            return Verdict("misload", f"iptables-save differs from the dump: {shown}", main, None, per)
        return Verdict("accept", "", main, None, per)


def _tables_of(data: bytes) -> set[str]:
    out = set()
    for line in data.decode("utf-8", "replace").split("\n"):
        if line.startswith("*") and line[1:].split():
            out.add(line[1:].split()[0].rstrip("\r"))
    return out



# ----------------------------------------------------------------------------------------------
# a deterministic generator of dumps: valid ones, and broken variants of them



@dataclass
class GenDump:
    name: str
    family: str
    text: str | bytes
    kind: str  # "valid", "edge" (unusual but valid input) or the mutation's name

    @property
    def data(self) -> bytes:
        return self.text if isinstance(self.text, bytes) else self.text.encode("utf-8")


_V4 = {
    "net": ["10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/25", "172.16.5.0/24", "203.0.113.7/32", "10.1.2.3"],
    "host": ["192.0.2.10", "10.0.0.5", "198.51.100.20"],
    "range": "10.0.0.1-10.0.0.99",
    "icmp": ("-p icmp -m icmp --icmp-type {}", ["echo-request", "8", "3/4", "destination-unreachable", "any"]),
    "reject": ["icmp-port-unreachable", "icmp-host-prohibited", "icmp-net-unreachable", "icmp-admin-prohibited"],
    "ttl": ["-m ttl --ttl-gt 5", "-m ttl --ttl-lt 64", "-m ttl --ttl-eq 1"],
    "bad_addr": ["10.0.0.300", "192.0.2.0/33", "1.2.3", "10.0.0.1/255.255.0.256"],
}
_V6 = {
    "net": ["2001:db8::/32", "2001:db8:1::/48", "fe80::/10", "::1/128", "2001:db8:0:0::1", "fd00::/8"],
    "host": ["2001:db8::10", "2001:db8::5", "fd00::20"],
    "range": "2001:db8::1-2001:db8::99",
    "icmp": ("-p ipv6-icmp -m icmp6 --icmpv6-type {}", ["echo-request", "128", "1/4", "neighbour-solicitation", "router-advertisement"]),
    "reject": ["icmp6-port-unreachable", "icmp6-adm-prohibited", "icmp6-no-route", "tcp-reset"],
    "ttl": ["-m hl --hl-gt 5", "-m hl --hl-lt 64", "-m hl --hl-eq 255"],
    "bad_addr": ["2001:db8::g", "2001:db8::/129", "2001:db8:::1", "10.0.0.1"],
}

_COMMENTS = ["allow ssh", "web/frontend:http", "it's quoted", 'say "hi"', "plain_word", "tab\there", "ünïcode ok",
             "a-b_c", "back\\slash", "x" * 255]


def _q(s: str) -> str:
    """Quote as iptables-save does (xtables_save_string)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", s):
        return s
    return '"' + re.sub(r"([\"\\'])", r"\\\1", s) + '"'


class DumpGenerator:
    """Valid dumps from a fixed seed. Every rule is one the kernel loads (hooks and tables respected)."""

    def __init__(self, seed: int, family: str) -> None:
        self.rng = random.Random(seed)
        self.family = family
        self.v = _V6 if family == "ipv6" else _V4
        self.n = 0

    # -------------------------------------------------------------- fragments
    def addr(self) -> str:
        r = self.rng
        parts = []
        if r.random() < 0.3:
            parts.append(f"{'! ' if r.random() < 0.2 else ''}-s {r.choice(self.v['net'])}")
        if r.random() < 0.3:
            parts.append(f"{'! ' if r.random() < 0.2 else ''}-d {r.choice(self.v['net'])}")
        return " ".join(parts)

    def ifaces(self, chain: str) -> str:
        r = self.rng
        out = []
        if chain in ("INPUT", "FORWARD", "PREROUTING") and r.random() < 0.3:
            out.append(f"{'! ' if r.random() < 0.2 else ''}-i {r.choice(['eth0', 'docker0', 'br-1a2b3c', 'veth+', 'lo'])}")
        if chain in ("OUTPUT", "FORWARD", "POSTROUTING") and r.random() < 0.3:
            out.append(f"-o {r.choice(['eth1', 'wg0', 'eth+'])}")
        return " ".join(out)

    def l4(self) -> tuple[str, str | None]:
        """(text, proto) for the protocol part."""
        r = self.rng
        x = r.random()
        if x < 0.35:
            p = r.choice(["tcp", "udp"])
            opts = [f"-p {p} -m {p}"]
            if r.random() < 0.8:
                a = r.choice([22, 53, 80, 443, 8080, 1024])
                opts.append(r.choice([f"--dport {a}", f"! --dport {a}", f"--dport {a}:{a + 100}", f"--sport 1024:65535 --dport {a}"]))
            if p == "tcp" and r.random() < 0.3:
                opts.append(r.choice(["--tcp-flags FIN,SYN,RST,ACK SYN", "--syn", "! --tcp-flags SYN,ACK SYN,ACK"]))
            return " ".join(opts), p
        if x < 0.45:
            p = r.choice(["tcp", "udp"])
            return f"-p {p} -m multiport --dports {r.choice(['80,443', '22,80:90,443', '53'])}", p
        if x < 0.55:
            fmt, types = self.v["icmp"]
            return fmt.format(r.choice(types)), "icmp"
        if x < 0.6:
            return f"-p {r.choice(['gre', 'esp', 'sctp', '47'])}", "other"
        return "", None

    def matches(self, chain: str, table: str) -> str:
        r = self.rng
        out = []
        pool = [
            lambda: f"-m conntrack --ctstate {r.choice(['NEW', 'RELATED,ESTABLISHED', 'INVALID', 'NEW,UNTRACKED'])}",
            lambda: f"-m state --state {r.choice(['NEW', 'ESTABLISHED,RELATED'])}",
            lambda: f"-m comment --comment {_q(r.choice(_COMMENTS))}",
            lambda: f"-m limit --limit {r.choice(['5/min', '10/sec', '100/hour'])} --limit-burst {r.randint(1, 20)}",
            lambda: f"-m mark {'! ' if r.random() < 0.2 else ''}--mark {r.choice(['0x1', '0x4000/0x4000', '0x10/0xff'])}",
            lambda: f"-m connmark --mark 0x{r.randint(1, 255):x}",
            lambda: f"-m iprange --src-range {self.v['range']}",
            lambda: f"-m addrtype --dst-type {r.choice(['LOCAL', 'UNICAST', 'BROADCAST' if self.family == 'ipv4' else 'MULTICAST'])}",
            lambda: f"-m pkttype --pkt-type {r.choice(['unicast', 'broadcast', 'multicast'])}",
            lambda: f"-m length --length {r.choice(['0:128', '1500:65535', '40'])}",
            lambda: r.choice(self.v["ttl"]),
            lambda: f"-m string --algo {r.choice(['bm', 'kmp'])} --string {_q(r.choice(['GET /', 'x-test', 'evil']))}",
            lambda: f"-m recent --rcheck --seconds {r.randint(10, 600)} --name {r.choice(['ssh', 'DEFAULT'])} --rsource",
            lambda: f"-m connlimit --connlimit-above {r.randint(1, 100)} --connlimit-mask {32 if self.family == 'ipv4' else 64} --connlimit-saddr",
            lambda: f"-m dscp --dscp {r.randint(0, 63)}",
            lambda: f"-m tos --tos {r.choice(['0x10', '0x08/0xff', 'Minimize-Delay'])}",
        ]
        if chain in ("INPUT", "FORWARD", "PREROUTING"):
            pool.append(lambda: f"-m mac --mac-source {r.choice(['00:11:22:33:44:55', '02:42:ac:11:00:02'])}")
        if chain == "OUTPUT":
            pool.append(lambda: f"-m owner --uid-owner {r.randint(0, 2000)}")
        if self.family == "ipv4" and r.random() < 0.05:
            out.append("-f")
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            out.append(r.choice(pool)())
        return " ".join(out)

    def target(self, table: str, chain: str, proto: str | None, jumpable: list[str]) -> str:
        r = self.rng
        t = []
        if table == "filter":
            t = ["-j ACCEPT", "-j DROP", "-j DROP", "-j ACCEPT",
                 f"-j LOG --log-prefix {_q(r.choice(['DROP: ', 'fw', 'in[eth0] ']))} --log-level {r.choice(['4', '6', 'info'])}",
                 f"-j REJECT --reject-with {r.choice([x for x in self.v['reject'] if x != 'tcp-reset'])}",
                 f"-j NFLOG --nflog-group {r.randint(0, 10)}", ""]
            if proto == "tcp":
                t.append("-j REJECT --reject-with tcp-reset")
        elif table == "nat":
            if chain in ("PREROUTING", "OUTPUT") and proto in ("tcp", "udp"):
                dst = f"[{self.v['host'][0]}]:8080" if self.family == "ipv6" else f"{self.v['host'][0]}:8080"
                t += [f"-j DNAT --to-destination {dst}", "-j REDIRECT --to-ports 3128"]
            elif chain in ("PREROUTING", "OUTPUT"):
                t.append(f"-j DNAT --to-destination {self.v['host'][1]}")
            if chain in ("POSTROUTING",):
                t += ["-j MASQUERADE", f"-j SNAT --to-source {self.v['host'][2]}"]
                if proto in ("tcp", "udp"):
                    t.append("-j MASQUERADE --to-ports 1024-65535 --random")
            t += ["-j RETURN", "-j ACCEPT"]
        elif table == "mangle":
            t = [f"-j MARK --set-xmark 0x{r.randint(1, 0xffff):x}/0xffffffff", f"-j MARK --set-mark {r.randint(1, 9)}",
                 "-j CONNMARK --save-mark", "-j CONNMARK --restore-mark", f"-j DSCP --set-dscp {r.randint(0, 63)}",
                 f"-j TOS --set-tos 0x{r.choice([0, 8, 16]):02x}", "-j ACCEPT", "-j RETURN"]
            t.append("-j TTL --ttl-set 64" if self.family == "ipv4" else "-j HL --hl-set 64")
            if chain == "POSTROUTING":
                t.append("-j CLASSIFY --set-class 1:10")
                if proto == "udp":
                    t.append("-j CHECKSUM --checksum-fill")
        elif table == "raw":
            t = ["-j CT --notrack", "-j NOTRACK", "-j CT --zone 1", "-j ACCEPT", "-j DROP"]
        for j in jumpable:
            t.append(f"-j {j}")
            t.append(f"-g {j}")
        return r.choice(t)

    # -------------------------------------------------------------- a whole dump
    def dump(self) -> str:
        r = self.rng
        self.n += 1
        prog = "ip6tables-save" if self.family == "ipv6" else "iptables-save"
        out = [f"# Generated by {prog} v1.8.9 (nf_tables) on Fri Nov 27 10:00:00 2026"]
        tables = ["filter"] + [t for t in ("nat", "mangle", "raw") if r.random() < 0.5]
        r.shuffle(tables)
        builtins = {"filter": ["INPUT", "FORWARD", "OUTPUT"], "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
                    "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"], "raw": ["PREROUTING", "OUTPUT"]}
        for table in tables:
            out.append(f"*{table}")
            for b in builtins[table]:
                pol = r.choice(["ACCEPT", "DROP"]) if table == "filter" else "ACCEPT"
                out.append(f":{b} {pol} [{r.randint(0, 99999)}:{r.randint(0, 9999999)}]")
            names = ["APP", "LOGDROP", "svc-web", "DOCKER-USER", "a.b/c@d%f,g", "chain_with_28_characters_xx"]
            n_user = r.randint(0, 3) if table in ("filter", "nat") else r.randint(0, 1)
            users = r.sample(names, n_user)
            for u in users:
                out.append(f":{u} - [0:0]")
            rules = []
            for chain in builtins[table] + users:
                # user chains are jumped to from a hook chain that allows everything they hold:
                hook = {"filter": "FORWARD", "nat": "PREROUTING", "mangle": "FORWARD", "raw": "PREROUTING"}[table]
                as_chain = chain if chain in builtins[table] else hook
                later = users[users.index(chain) + 1:] if chain in users else (users if chain == hook else [])
                for _ in range(r.randint(0, 6)):
                    l4, proto = self.l4()
                    parts = [self.addr(), self.ifaces(as_chain), l4, self.matches(as_chain, table),
                             self.target(table, as_chain, proto, later)]
                    body = " ".join(p for p in parts if p)
                    prefix = f"[{r.randint(0, 999)}:{r.randint(0, 99999)}] " if r.random() < 0.1 else ""
                    rules.append(f"{prefix}-A {chain} {body}".rstrip())
            out.extend(rules)
            out.append("COMMIT")
            out.append("# Completed on Fri Nov 27 10:00:00 2026")
        return "\n".join(out) + "\n"


def _rule_lines(lines: list[str]) -> list[int]:
    return [i for i, l in enumerate(lines) if l.startswith(("-A ", "["))]


def _user_decls(lines: list[str]) -> list[int]:
    return [i for i, l in enumerate(lines) if l.startswith(":") and " - " in l]


def _with_rule(lines, rng, fn):
    idx = _rule_lines(lines)
    if not idx:
        return None
    i = rng.choice(idx)
    lines = list(lines)
    lines[i] = fn(lines[i])
    return lines


def _insert_after_decls(lines, rng, new_line):
    """Insert a line into the first table, after its declarations."""
    lines = list(lines)
    start = next(i for i, l in enumerate(lines) if l.startswith("*"))
    i = start + 1
    while i < len(lines) and lines[i].startswith(":"):
        i += 1
    lines.insert(i, new_line)
    return lines


def _first_table(lines) -> str:
    return next(l[1:] for l in lines if l.startswith("*"))


def _builtin_decl(lines) -> int:
    return next(i for i, l in enumerate(lines) if l.startswith(":") and " - " not in l)


def _mutations(family: str):
    v = _V6 if family == "ipv6" else _V4
    other = _V4 if family == "ipv6" else _V6

    def missing_commit(lines, rng):
        idx = [i for i, l in enumerate(lines) if l == "COMMIT"]
        i = rng.choice(idx)
        return lines[:i] + lines[i + 1:]

    def bad_address(lines, rng):
        opt = rng.choice(["-s", "-d"])
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"{opt} {rng.choice(v['bad_addr'])}", drop_addr=True))

    def wrong_family_address(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-d {other['host'][0]}"))

    def bad_port(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-p tcp -m tcp --dport {rng.choice(['65536', '99999', '80:70000', 'nosuchservice', '-1'])}", drop_proto=True))

    def unknown_jump(lines, rng):
        return _with_rule(lines, rng, lambda l: _set_target(l, "-j NOSUCHCHAIN"))

    def goto_unknown(lines, rng):
        return _with_rule(lines, rng, lambda l: _set_target(l, "-g MISSING_CHAIN"))

    def undeclared_chain(lines, rng):
        return _insert_after_decls(lines, rng, "-A NOTDECLARED -j ACCEPT")

    def bad_policy(lines, rng):
        lines = list(lines)
        i = _builtin_decl(lines)
        name = lines[i][1:].split()[0]
        lines[i] = f":{name} {rng.choice(['REJECT', 'RETURN', 'QUEUE', 'accept', 'DENY'])} [0:0]"
        return lines

    def missing_policy(lines, rng):
        lines = list(lines)
        i = _builtin_decl(lines)
        lines[i] = ":" + lines[i][1:].split()[0]
        return lines

    def user_chain_policy(lines, rng):
        lines = _insert_after_decls(lines, rng, ":EXTRA_CHAIN DROP [0:0]")
        return lines

    def duplicate_chain(lines, rng):
        lines = _insert_after_decls(lines, rng, ":DUP_CHAIN - [0:0]")
        return _insert_after_decls(lines, rng, ":DUP_CHAIN - [0:0]")

    def unknown_option(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, rng.choice(["--bogus-flag 1", "-m tcp -p tcp --dportx 22", "--nosuchoption"]), drop_proto="-m tcp" in l))

    def unknown_match(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, "-m nosuchmatch --foo 1"))

    def unknown_target(lines, rng):
        return _with_rule(lines, rng, lambda l: _set_target(l, "-j NOSUCHTARGET --with-option 1"))

    def stray_argument(lines, rng):
        return _with_rule(lines, rng, lambda l: l + rng.choice([" extra", " 22", " ACCEPT"]))

    def missing_value(lines, rng):
        return _with_rule(lines, rng, lambda l: _set_target(l, "") + rng.choice([" -j", " -p", " -s", " -m"]))

    def intrapositioned_bang(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-s ! {v['host'][0]}"))

    def double_bang(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"! ! -d {v['host'][1]}"))

    def bang_before_jump(lines, rng):
        return _with_rule(lines, rng, lambda l: _set_target(l, "! -j ACCEPT"))

    def glued_bang(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"!-s {v['host'][0]}"))

    def double_option(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-s {v['host'][0]} -s {v['host'][1]}", drop_addr=True))

    def bad_protocol(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-p {rng.choice(['tcpx', '256', 'nosuchproto'])}", drop_proto=True))

    def bad_icmp_type(lines, rng):
        fmt, _ = v["icmp"]
        return _with_rule(lines, rng, lambda l: _add_opts(l, fmt.format(rng.choice(["nosuchtype", "300", "8/300"])), drop_proto=True))

    def bad_mark(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-m mark --mark {rng.choice(['0x1ffffffff', 'zz', '1/0x1ffffffff'])}"))

    def bad_conntrack_state(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, "-m conntrack --ctstate NEW,BOGUS"))

    def crlf(lines, rng):
        return ("\r\n".join(lines) + "\r\n").encode()

    def unknown_table(lines, rng):
        lines = list(lines)
        i = next(i for i, l in enumerate(lines) if l.startswith("*"))
        lines[i] = "*" + rng.choice(["filtr", "nats", "Filter", "broute"])
        return lines

    def trailing_comment(lines, rng):
        return _with_rule(lines, rng, lambda l: l + " # allow this")

    def indented_line(lines, rng):
        return _with_rule(lines, rng, lambda l: rng.choice([" ", "\t"]) + l)

    def indented_comment(lines, rng):
        return _insert_after_decls(lines, rng, "  # an indented comment")

    def spaces_line(lines, rng):
        return _insert_after_decls(lines, rng, "   ")

    def long_chain_name(lines, rng):
        name = "C" * rng.choice([29, 30, 40])
        lines = _insert_after_decls(lines, rng, f":{name} - [0:0]")
        return lines

    def leading_dash_chain(lines, rng):
        return _insert_after_decls(lines, rng, ":-dashchain - [0:0]")

    def builtin_target_name_chain(lines, rng):
        return _insert_after_decls(lines, rng, ":ACCEPT - [0:0]")

    def table_option(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-t {_first_table(lines)}"))

    def unterminated_quote(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, '-m comment --comment "unterminated', at_end_before_target=True))

    def repeated_table(lines, rng):
        t = _first_table(lines)
        b = {"filter": "INPUT", "nat": "PREROUTING", "mangle": "PREROUTING", "raw": "PREROUTING"}.get(t, "INPUT")
        return list(lines) + [f"*{t}", f":{b} ACCEPT [0:0]", f"-A {b} -j ACCEPT", "COMMIT"]

    def commit_trailing_space(lines, rng):
        idx = [i for i, l in enumerate(lines) if l == "COMMIT"]
        lines = list(lines)
        lines[rng.choice(idx)] = "COMMIT "
        return lines

    def commit_no_newline(lines, rng):
        lines = list(lines)
        while lines and lines[-1].startswith("#"):
            lines.pop()
        return ("\n".join(lines)).encode()  # no final newline after COMMIT

    def commit_outside_table(lines, rng):
        return ["COMMIT"] + list(lines)

    def rule_outside_table(lines, rng):
        return ["-A INPUT -j ACCEPT"] + list(lines)

    def table_inside_table(lines, rng):
        return _insert_after_decls(lines, rng, "*raw")

    def broken_counters(lines, rng):
        return _with_rule(lines, rng, lambda l: rng.choice(["[1:2 ", "[12] ", " [1:2] "]) + re.sub(r"^\[[^\]]*\] ", "", l))

    def too_long_token(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-m comment --comment {'y' * 1100}"))

    def too_long_comment(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, f"-m comment --comment {'z' * 300}"))

    def too_long_interface(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, "-o thisinterfaceistoolong0"))

    def too_many_arguments(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, " ".join(["-m comment --comment x"] * 90)))

    def nul_byte(lines, rng):
        lines = _with_rule(lines, rng, lambda l: _add_opts(l, "-m comment --comment a\x00b"))
        return lines

    def target_wrong_table(lines, rng):
        # MASQUERADE exists, but only in nat: the kernel refuses it in filter (a load-time failure)
        start = next(i for i, l in enumerate(lines) if l == "*filter")
        end = next(i for i in range(start, len(lines)) if lines[i] == "COMMIT")
        return list(lines[:end]) + ["-A FORWARD -o eth0 -j MASQUERADE"] + list(lines[end:])

    def negated_proto_port(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, "! -p tcp -m tcp --dport 22", drop_proto=True))

    def port_without_proto(lines, rng):
        return _with_rule(lines, rng, lambda l: _add_opts(l, "--dport 22", drop_proto=True))

    return {k: f for k, f in locals().items() if callable(f) and not k.startswith("_") and k not in ("v", "other")}


_OPT_SPLIT = re.compile(r"^(\[[^\]]*\] )?-A (\S+)(.*)$")


def _split_rule(line: str):
    m = _OPT_SPLIT.match(line)
    if not m:
        return None
    prefix, chain, rest = m.group(1) or "", m.group(2), m.group(3).strip()
    tpos = None
    for tok in (" -j ", " -g "):
        k = (" " + rest).find(tok)
        if k >= 0:
            tpos = k if tpos is None else min(tpos, k)
    if tpos is None:
        return prefix, chain, rest, ""
    return prefix, chain, rest[:max(tpos - 1, 0)].strip() if tpos > 0 else "", rest[tpos:].strip() if tpos > 0 else rest


def _set_target(line: str, target: str) -> str:
    parts = _split_rule(line)
    if not parts:
        return line
    prefix, chain, opts, _ = parts
    return f"{prefix}-A {chain} {opts} {target}".replace("  ", " ").rstrip()


def _add_opts(line: str, extra: str, *, drop_proto: bool = False, drop_addr: bool = False, at_end_before_target: bool = False) -> str:
    parts = _split_rule(line)
    if not parts:
        return line
    prefix, chain, opts, target = parts
    if drop_proto:
        opts = re.sub(r"(! )?-p \S+( -m (tcp|udp|icmp|icmp6|multiport)( (! )?--\S+ \S+| --syn)*)?", "", opts)
        opts = re.sub(r"(! )?--(dports?|sports?|tcp-flags \S+|icmpv?6?-type) \S+", "", opts)
        opts = opts.replace("--syn", "")
    if drop_addr:
        opts = re.sub(r"(! )?-[sd] \S+", "", opts)
    opts = " ".join(opts.split())
    body = f"{opts} {extra}" if at_end_before_target else f"{extra} {opts}"
    return f"{prefix}-A {chain} {' '.join(body.split())} {target}".rstrip()


def edge_cases(family: str) -> list[tuple[str, str | bytes]]:
    """Unusual input that iptables-restore accepts (and a few it does not), written out by hand."""
    v = _V6 if family == "ipv6" else _V4
    h = v["host"][0]
    f = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    cases = [
        ("bare-rule", f + "-A INPUT\nCOMMIT\n"),
        ("empty-comment", f + '-A INPUT -m comment --comment "" -j ACCEPT\nCOMMIT\n'),
        ("mid-token-quote", f + '-A INPUT -m comment --comment ab"c d" -j ACCEPT\nCOMMIT\n'),
        ("quoted-options", f + '-A INPUT "-j" "ACCEPT"\nCOMMIT\n'),
        ("escaped-quote", f + '-A INPUT -m comment --comment "say \\"hi\\" \\\\ ok" -j ACCEPT\nCOMMIT\n'),
        ("garbage-counters", f + "[x:y] -A INPUT -j ACCEPT\nCOMMIT\n"),
        ("counters-no-space", f + "[1:2]-A INPUT -j ACCEPT\nCOMMIT\n"),
        ("long-options", f + f"--append INPUT --source {h} --protocol tcp --match tcp --destination-port 22 --jump ACCEPT\nCOMMIT\n"),
        ("abbreviated-option", f + f"-A INPUT --sou {h} -j ACCEPT\nCOMMIT\n"),
        ("numeric-proto", f + "-A INPUT -p 6 -m tcp --dport 22 -j ACCEPT\n-A INPUT -p TCP --dport ssh -j ACCEPT\nCOMMIT\n"),
        ("service-names", f + "-A INPUT -p tcp -m multiport --dports ssh,http,443:450 -j ACCEPT\nCOMMIT\n"),
        ("tabs", f + "-A INPUT\t-p tcp\t--dport 22 -j ACCEPT\nCOMMIT\n"),
        ("blank-lines-and-comments", "# hello\n\n" + f + "\n# inside\n-A INPUT -j ACCEPT\n\nCOMMIT\n# bye\n\n"),
        ("wildcard-iface", f + "-A FORWARD ! -i eth+ -o docker0 -j ACCEPT\n-A INPUT -i + -j ACCEPT\nCOMMIT\n"),
        ("comment-255", f + f"-A INPUT -m comment --comment {'c' * 255} -j ACCEPT\nCOMMIT\n"),
        ("nflog-prefix-64", f + f"-A INPUT -j NFLOG --nflog-prefix {'p' * 63}\nCOMMIT\n"),
        ("table-trailing-tokens", "*filter extra words\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"),
        ("chain-line-trailing", "*filter\n:INPUT ACCEPT [0:0] trailing junk\n-A INPUT -j ACCEPT\nCOMMIT\n"),
        ("policy-bad-counters", "*filter\n:FORWARD ACCEPT bar\nCOMMIT\n"),
        ("odd-chain-names", f + ":a.b/c@d:e%f,g - [0:0]\n:accept - [0:0]\n-A INPUT -j a.b/c@d:e%f,g\n-A INPUT -j accept\nCOMMIT\n"),
        ("chain-28-chars", f + ":" + "N" * 28 + " - [0:0]\n-A INPUT -j " + "N" * 28 + "\nCOMMIT\n"),
        ("other-commands", f + ":X - [0:0]\n-N NEWCHAIN\n-I INPUT 1 -j NEWCHAIN\n-P FORWARD ACCEPT\n-A X -j RETURN\n-F X\nCOMMIT\n"),
        ("family-flags", f + "-4 -A INPUT -s 192.0.2.1 -j ACCEPT\n-6 -A INPUT -s 2001:db8::1 -j ACCEPT\nCOMMIT\n"),
        ("empty-file", ""),
        ("only-comments", "# nothing here\n# at all\n"),
        ("empty-table", "*raw\nCOMMIT\n"),
        ("two-tables", f + "COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n"),
        ("utf8-comment", f + '-A INPUT -m comment --comment "Grüße 🚀" -j ACCEPT\nCOMMIT\n'),
        ("goto", f + ":G - [0:0]\n-A INPUT -g G\n-A G -j DROP\nCOMMIT\n"),
        ("jump-to-return", f + "-A INPUT -j RETURN\nCOMMIT\n"),
        ("log-level-name", f + '-A INPUT -j LOG --log-level alert --log-prefix "x: "\nCOMMIT\n'),
        ("mask-dotted", f + ("-A INPUT -s 10.0.0.0/255.0.255.0 -j ACCEPT\n" if family == "ipv4" else "-A INPUT -s 2001:DB8:0:0::1 -j ACCEPT\n") + "COMMIT\n"),
        ("host-bits", f + ("-A INPUT -s 10.11.12.13/8 -j ACCEPT\n" if family == "ipv4" else "-A INPUT -s 2001:db8::1/32 -j ACCEPT\n") + "COMMIT\n"),
        ("address-list", f + f"-A INPUT -s {v['host'][0]},{v['host'][1]} -j ACCEPT\nCOMMIT\n"),
        # (a hostname resolves through this machine's /etc/hosts: only IPv4 localhost is the same everywhere)
        *([("hostname", f + "-A INPUT -s localhost -j ACCEPT\nCOMMIT\n")] if family == "ipv4" else []),
        ("commit-at-eof-without-newline", (f + "-A INPUT -j ACCEPT\nCOMMIT").encode()),
        ("unterminated-quote-eol", f + '-A INPUT -j ACCEPT -m comment --comment "open\nCOMMIT\n'),
    ]
    return cases


def generated_dumps(seed: int = 20261127, per_family: int = 20, mutants_per_base: int = 4) -> list[GenDump]:
    out: list[GenDump] = []
    for family in ("ipv4", "ipv6"):
        gen = DumpGenerator(seed + (1 if family == "ipv6" else 0), family)
        muts = _mutations(family)
        names = sorted(muts)
        rng = random.Random(seed * 7 + len(family) + (1 if family == "ipv6" else 0))
        bases = [gen.dump() for _ in range(per_family)]
        for k, text in enumerate(bases):
            out.append(GenDump(f"{family}-valid-{k:02d}", family, text, "valid"))
        # every mutation at least once per family, then random ones
        plan = [(names[i], i % len(bases)) for i in range(len(names))]
        plan += [(rng.choice(names), rng.randrange(len(bases))) for _ in range(per_family * mutants_per_base - len(plan))]
        for j, (mname, b) in enumerate(plan):
            lines = bases[b].rstrip("\n").split("\n")
            result = muts[mname](lines, rng)
            if result is None:
                continue
            text = result if isinstance(result, bytes) else "\n".join(result) + "\n"
            out.append(GenDump(f"{family}-{mname}-{j:03d}-of-{b:02d}", family, text, mname))
        for name, text in edge_cases(family):
            out.append(GenDump(f"{family}-edge-{name}", family, text, "edge"))
    return out
