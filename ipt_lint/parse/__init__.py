"""Stage 1, parse: text of a dump -> syntax tree with positions, plus the problems found on the way.

    parse_text(text, file) -> ParsedDump

Lines are read one at a time (fast path first, the Lark grammar whenever the fast path is unsure),
so one bad line never hides the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ast import (
    ChainDecl,
    Comment,
    Commit,
    Diagnostic,
    LineNode,
    Rule,
    RuleLine,
    Span,
    TableHeader,
)
from .fastpath import parse_line_fast
from .errors import LineSyntaxError
from .reader import decode, split_lines
from .structure import build_rule

__all__ = ["ParsedDump", "parse_text", "parse_bytes", "parse_line", "line_node", "cap_per_line", "detect_family",
           "header_family", "rules_family"]


@dataclass(frozen=True)
class ParsedDump:
    file: str
    family: str  # "ipv4" | "ipv6"
    source_lines: tuple[str, ...]  # physical lines as read (CR and NUL cleaned), for reports
    statements: tuple[LineNode | Rule, ...]  # in file order; rule lines already grouped into Rule
    diagnostics: tuple[Diagnostic, ...]
    family_evidence: str = ""


def parse_line(text: str, file: str, line: int) -> LineNode:
    """One physical line -> its node. Raises LineSyntaxError."""
    node = parse_line_fast(text, file, line)
    if node is None:
        # imported here: Lark takes 20 ms to import, and a well-formed dump never needs it
        from .grammar import parse_line_with_lark

        node = parse_line_with_lark(text, file, line)
    return node


def line_node(text: str, file: str, number: int, diagnostics: list[Diagnostic]) -> LineNode | None:
    """One physical line -> its node, or None for an empty line or one iptables-restore fails
    (the problem is added to `diagnostics`). The lazy loader (model/lazy.py) reads the rule
    lines it defers through here too, so both ways of loading agree line by line."""
    if text == "":
        return None
    if text.isspace():
        diagnostics.append(
            Diagnostic(
                "IPT100",
                "a line of only blanks is not an empty line to iptables-restore (`no command specified`)",
                Span(file, number, 1),
            )
        )
        return None
    try:
        node = parse_line(text, file, number)
    except LineSyntaxError as exc:
        diagnostics.append(Diagnostic("IPT100", exc.message, Span(file, number, exc.column)))
        return None
    if not isinstance(node, RuleLine) and node.span.column != 1:
        word = text.split()[0]
        diagnostics.append(
            Diagnostic(
                "IPT100",
                f"Bad argument `{word}': `{word[0]}' is special only in column 1",
                node.span,
            )
        )
        return None
    if isinstance(node, Commit) and text != "COMMIT":
        diagnostics.append(Diagnostic("IPT100", "Bad argument `COMMIT': nothing may follow COMMIT on its line", node.span))
        return None
    if isinstance(node, RuleLine) and node.counters is not None and not text.startswith("["):
        diagnostics.append(Diagnostic("IPT100", "Bad argument: counters must start the line", Span(file, number, 1)))
        return None
    return node


# Protocols, matches and targets only ip6tables knows (after -p, -m or -j).
_V6_ONLY_NAMES = frozenset({"ipv6-icmp", "icmpv6", "icmp6", "frag", "hbh", "dst", "rt", "mh",
                            "ipv6header", "eui64", "srh", "HL", "DNPT", "SNPT"})
_V6_HEADER = re.compile(r"#.*\bip6tables")
_V4_HEADER = re.compile(r"#.*\biptables")


def parse_bytes(data: bytes, file: str, family: str | None = None) -> ParsedDump:
    text, undecodable = decode(data)
    return parse_text(text, file, family, undecodable=undecodable)


def parse_text(text: str, file: str, family: str | None = None, *, undecodable: bool = False) -> ParsedDump:
    lines, diagnostics = split_lines(text, file, undecodable)
    statements: list[LineNode | Rule] = []
    fam, evidence = family, "given" if family else ""
    # Rule lines wait here until the family is known (it decides how a rule is read): from the
    # header comment, which iptables-save writes on the first line, or else from the rules
    # themselves once every line has been read. A rule line built at once is not kept, which
    # spares a large dump the memory of all its token lists at the same time.
    waiting: list[tuple[int, LineNode]] = []
    for number, line in enumerate(lines, 1):
        node = line_node(line, file, number, diagnostics)
        if node is None:
            continue
        if fam is None:
            waiting.append((number, node))
            if isinstance(node, Comment):
                fam, evidence = _header_family(node)
                if fam is not None:
                    _add_statements(statements, waiting, fam, lines, diagnostics)
                    waiting = []
        else:
            _add_statement(statements, node, fam, line, diagnostics)

    if lines and lines[-1] == "COMMIT" and not text.endswith("\n"):
        diagnostics.append(
            Diagnostic(
                "IPT108",
                "COMMIT is the last line and has no newline: iptables-legacy-restore rejects it (Bad argument `COMMIT')",
                Span(file, len(lines), 7),
                detail="end the file with a newline",
            )
        )

    if fam is None:
        fam, evidence = rules_family(waiting)
        _add_statements(statements, waiting, fam, lines, diagnostics)
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    diagnostics = cap_per_line(diagnostics)
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    return ParsedDump(
        file=file,
        family=fam,
        source_lines=tuple(lines),
        statements=tuple(statements),
        diagnostics=tuple(diagnostics),
        family_evidence=evidence,
    )


# iptables-restore stops at the first error of a line. A hostile line of a million stray words
# must not become a million findings that each repeat the line (quadratic output).
MAX_PROBLEMS_PER_LINE = 10


def cap_per_line(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """At most MAX_PROBLEMS_PER_LINE diagnostics of each code per line, in order; the rest of a
    code become one diagnostic that counts them, at the first one left out."""
    counts: dict[tuple[int, str], int] = {}
    first_dropped: dict[tuple[int, str], Diagnostic] = {}
    out: list[Diagnostic] = []
    for d in diagnostics:
        key = (d.span.line, d.code)
        n = counts[key] = counts.get(key, 0) + 1
        if n <= MAX_PROBLEMS_PER_LINE:
            out.append(d)
        elif key not in first_dropped:
            first_dropped[key] = d
    for key, d in first_dropped.items():
        more = counts[key] - MAX_PROBLEMS_PER_LINE
        out.append(Diagnostic(
            d.code,
            f"{more} more {d.code} problem{'s' if more != 1 else ''} on this line not reported "
            f"(the first {MAX_PROBLEMS_PER_LINE} are; iptables-restore stops at the first)",
            d.span, severity=d.severity,
        ))
    return out


def _add_statement(statements: list, node: LineNode, fam: str, text: str, diagnostics: list) -> None:
    """The statement of one line's node: a rule line built as a Rule (its problems added to
    `diagnostics`), any other node as it is."""
    if isinstance(node, RuleLine):
        rule, problems = build_rule(node, fam, text)
        diagnostics.extend(problems)
        if rule is not None:
            statements.append(rule)
    else:
        statements.append(node)


def _add_statements(statements: list, nodes: list[tuple[int, LineNode]], fam: str, lines, diagnostics: list) -> None:
    """_add_statement() of each (line number, node) in order."""
    for number, node in nodes:
        _add_statement(statements, node, fam, lines[number - 1], diagnostics)


def _header_family(node: Comment) -> tuple[str | None, str]:
    """The family a header comment names (iptables-save's `# Generated by ip6tables-save ...`)."""
    if _V6_HEADER.match(node.text):
        return "ipv6", f"header comment on line {node.span.line}"
    if _V4_HEADER.match(node.text):
        return "ipv4", f"header comment on line {node.span.line}"
    return None, ""


def detect_family(nodes: list[tuple[int, LineNode]]) -> tuple[str, str]:
    """IPv4 or IPv6, from the header comment, then `-4`/`-6`, then the first address seen."""
    for _, node in nodes:
        if isinstance(node, Comment):
            fam, evidence = _header_family(node)
            if fam is not None:
                return fam, evidence
    return rules_family(nodes)


# the first comment line either header pattern matches (`^`: a comment starts its line)
_ANY_HEADER = re.compile(r"^#.*\bip6?tables", re.M)


def header_family(text: str) -> str | None:
    """detect_family()'s answer from the header comment, read from the text of the whole dump
    (the lazy loader's first pass makes no Comment nodes); None when no comment decides."""
    m = _ANY_HEADER.search(text)
    if m is None:
        return None
    end = text.find("\n", m.start())
    line = text[m.start() : end if end >= 0 else len(text)]
    return "ipv6" if _V6_HEADER.match(line) else "ipv4"


def rules_family(nodes, deferred=None) -> tuple[str, str]:
    """detect_family() after the header comments: `-4`/`-6`, then the first address seen.
    `nodes` may be an iterator, read only up to the first evidence. `deferred(number)`: the
    RuleLine (or None) of a line the lazy loader left unread (in its place `nodes` holds the
    line's chain name, a str)."""
    for number, node in nodes:
        if type(node) is str:
            node = deferred(number)
        if not isinstance(node, RuleLine):
            continue
        args = node.tokens
        for k, a in enumerate(args):
            if a in ("-6", "--ipv6"):
                return "ipv6", f"`-6` on line {node.span.line}"
            if a in ("-4", "--ipv4"):
                return "ipv4", f"`-4` on line {node.span.line}"
            prev = args[k - 1] if k else ""
            if (
                (prev in ("-m", "--match", "-p", "--protocol", "-j", "--jump") and a in _V6_ONLY_NAMES)
                or a == "--icmpv6-type"
                or (prev == "--reject-with" and a.startswith("icmp6-"))
            ):
                return "ipv6", f"IPv6-only `{a}` on line {node.span.line}"
            if a in ("-s", "-d", "--source", "--destination", "--to-destination", "--to-source") and k + 1 < len(args):
                value = args[k + 1]
                if value.count(":") >= 2 or value.startswith("["):
                    return "ipv6", f"IPv6 address on line {node.span.line}"
                if value[:1].isdigit() and "." in value:
                    return "ipv4", f"IPv4 address on line {node.span.line}"
    return "ipv4", "no evidence; IPv4 assumed"


# Re-exported for convenience in tests and later stages.
__all__ += ["ChainDecl", "Comment", "Commit", "Diagnostic", "Rule", "Span", "TableHeader"]
