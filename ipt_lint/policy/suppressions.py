"""Suppressions written inside a dump.

iptables-restore treats `#` as a comment only in column 1, so a trailing `# noqa` would break the
file. ipt-lint reads three forms:

    # ipt-lint: ignore=EXP301,DKR401 -- reason         the line directly below (see below)
    # ipt-lint: ignore-file=IPT204 -- reason           the whole file
    -A ... -m comment --comment "ipt-lint: ignore=EXP301 -- reason" ...
                                                       this rule; survives a live iptables-save

Codes and kebab-case names are both accepted, case-insensitively, separated by commas or blanks. The
text after ` -- ` is the reason; it is kept with every finding it suppresses.

A `# ipt-lint: ignore=` comment applies to the first line below it that is not a comment: comment
lines stacked directly above a line all apply to it, and a blank line ends the stack (a suppression
followed by a blank line applies to nothing). Inside a rule's `--comment` the directive may follow
other text (`"web; ipt-lint: ignore=EXP301"`), and `ignore-file=` there covers the whole dump, which
is the only file-wide form a live `iptables-save` keeps.

Hygiene (codes documented in `ipt_lint.checks.hygiene`):
  * IPT901 unused-suppression: a code named by a suppression that suppressed no finding, reported per
    code, and only for codes whose check ran in this run (selected and not crashed).
  * IPT902 unknown-code: a code or name that does not exist, an unknown directive, a directive without
    codes. An unknown code is IPT902 only, never also IPT901.
Suppressions of IPT9xx codes themselves are never reported as unused, and only `ignore-file` can
silence IPT9xx findings (their line is the comment itself). One line draws at most
MAX_UNKNOWN_PER_LINE IPT902 findings for unknown codes and one more that counts the rest, and
quotes at most QUOTE_MAX characters of what it names: a 10 MB directive of made-up codes costs
linear time and a bounded report.

`ipt-lint --no-inline-suppressions` (a Selection with inline_suppressions=False) ignores every
suppression written in the dump: all findings are reported, none of IPT901/IPT902.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..checks.base import Finding
from ..checks.registry import ALL_CHECKS
from ..parse import MAX_PROBLEMS_PER_LINE, ParsedDump
from ..parse.ast import Comment, Rule, TableHeader

_COMMENT_DIRECTIVE = re.compile(r"#\s*ipt-lint\s*:\s*(?P<body>.*)$", re.IGNORECASE)
_RULE_DIRECTIVE = re.compile(r"(?:^|(?<=[\s;,(\[]))ipt-lint\s*:\s*(?P<body>.*)$", re.IGNORECASE)
_KIND = re.compile(r"\s*(?P<kind>[A-Za-z][A-Za-z-]*)\s*(?:=\s*(?P<codes>.*))?$", re.DOTALL)
KINDS = ("ignore", "ignore-file")
MAX_UNKNOWN_PER_LINE = MAX_PROBLEMS_PER_LINE
QUOTE_MAX = 60  # characters of a code, name or directive quoted in a message

_BY_CODE = {cls.code: cls for cls in ALL_CHECKS}
_BY_NAME = {cls.name: cls for cls in ALL_CHECKS}
_LONGEST_KEY = max(len(k) for k in (*_BY_CODE, *_BY_NAME))


def check_by_code_or_name(key: str):
    """The check a suppression names (its code in any case, or its kebab-case name), or None.
    One dictionary look-up: a directive can name a million made-up codes."""
    k = key.strip()
    if len(k) > _LONGEST_KEY:
        return None
    return _BY_CODE.get(k.upper()) or _BY_NAME.get(k.lower())


def _quoted(text: str) -> str:
    return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1] + "\u2026"


@dataclass
class Suppression:
    line: int  # where the directive is written
    column: int
    kind: str  # "ignore" (one line) | "ignore-file"
    codes: tuple[str, ...]  # resolved codes, each once
    written: dict[str, str]  # code -> how it was written
    reason: str | None
    target: int | None  # the line an `ignore` applies to; None for ignore-file or when nothing follows
    form: str  # "comment" | "rule-comment"
    table: str | None = None
    chain: str | None = None
    rule: str | None = None  # the source line of the directive
    used: set[str] = field(default_factory=set)

    def covers(self, f: Finding) -> bool:
        if f.code not in self.codes:
            return False
        return self.kind == "ignore-file" or f.line == self.target


@dataclass(frozen=True)
class Suppressed:
    """A finding an in-dump suppression hid, with the suppression's reason and where it is."""

    finding: Finding
    reason: str | None
    line: int
    kind: str


@dataclass
class SuppressionOutcome:
    kept: list[Finding]
    suppressed: list[Suppressed]
    hygiene: list[Finding]  # the IPT901 / IPT902 findings made here (kept or suppressed)


def _hygiene(code: str, message: str, file: str, line: int, column: int, *, table=None, chain=None, rule=None) -> Finding:
    from ..checks.hygiene import UnknownCode, UnusedSuppression

    cls = UnusedSuppression if code == UnusedSuppression.code else UnknownCode
    return Finding(
        code=cls.code,
        name=cls.name,
        severity=cls.severity,
        message=message,
        file=file,
        line=line,
        column=column,
        table=table,
        chain=chain,
        rule=rule,
        fix=cls.doc.fix,
    )


def _target_below(source_lines: tuple[str, ...], line: int) -> int | None:
    n = line + 1
    while n <= len(source_lines) and source_lines[n - 1].startswith("#"):
        n += 1
    if n > len(source_lines) or source_lines[n - 1] == "":
        return None
    return n


def parse_directive(body: str) -> tuple[str | None, list[str], str | None, str | None]:
    """`ignore=A,B -- why` -> (kind, written codes, reason, problem)."""
    directive, sep, reason = body.partition("--")
    reason = reason.strip() or None if sep else None
    m = _KIND.match(directive.strip())
    if not m:
        return None, [], reason, f"malformed ipt-lint directive `{_quoted(body.strip())}' (ignore=CODE or ignore-file=CODE)"
    kind = m.group("kind").lower()
    if kind not in KINDS:
        return None, [], reason, f"unknown ipt-lint directive `{_quoted(m.group('kind'))}' (ignore=CODE or ignore-file=CODE)"
    codes = [c for c in re.split(r"[\s,]+", (m.group("codes") or "").strip()) if c]
    if not codes:
        return kind, [], reason, f"`{kind}' needs at least one code: `ipt-lint: {kind}=CODE -- reason'"
    return kind, codes, reason, None


# A necessary condition for a directive anywhere in the dump, tested on its whole text at once:
# the `-lint` of `ipt-lint`, in any case the directive patterns accept (re.IGNORECASE also matches
# U+0130 and U+0131 to `i`; the tests check these classes against every code point). Quoting and
# escapes only remove `"` and `\` between the letters of a rule's comment, so those may come in
# between. Starting at the hyphen, a literal, keeps the search of a 15 MB dump fast.
_MAYBE_DIRECTIVE = re.compile(r'-[\\"]*[lL][\\"]*[iI\u0130\u0131][\\"]*[nN][\\"]*[tT]')


def may_hold_directives(parsed: ParsedDump) -> bool:
    """False when no line of the dump can hold a suppression (one search of the whole text; a
    100k-rule kube-proxy dump otherwise costs a loop over every rule's comment)."""
    return _MAYBE_DIRECTIVE.search("\n".join(parsed.source_lines)) is not None


def collect(parsed: ParsedDump) -> tuple[list[Suppression], list[Finding]]:
    """Every suppression in the dump, and the IPT902 findings for the ones ipt-lint cannot read."""
    if not may_hold_directives(parsed):
        return [], []
    return collect_everywhere(parsed)


def collect_everywhere(parsed: ParsedDump) -> tuple[list[Suppression], list[Finding]]:
    """collect() without the look at the whole text first (the tests hold that shortcut to it)."""
    sups: list[Suppression] = []
    problems: list[Finding] = []
    file = parsed.file
    table: str | None = None
    unknown: dict[int, int] = {}  # line -> unknown codes named there
    overflow: dict[int, tuple] = {}  # line -> where its first unreported unknown code is

    def add(body: str, line: int, column: int, form: str, target: int | None, chain=None, rule=None):
        kind, written, reason, problem = parse_directive(body)
        if problem:
            problems.append(_hygiene("IPT902", problem, file, line, column, table=table, chain=chain, rule=rule))
            if kind is None or not written:
                return
        codes: dict[str, str] = {}
        for w in written:
            cls = check_by_code_or_name(w)
            if cls is None:
                unknown[line] = unknown.get(line, 0) + 1
                if unknown[line] <= MAX_UNKNOWN_PER_LINE:
                    problems.append(
                        _hygiene(
                            "IPT902",
                            f"unknown code or name `{_quoted(w)}' in this suppression (see `ipt-lint rules`)",
                            file, line, column, table=table, chain=chain, rule=rule,
                        )
                    )
                elif line not in overflow:
                    overflow[line] = (column, table, chain, rule)
                continue
            codes.setdefault(cls.code, w)
        if not codes:
            return
        sups.append(
            Suppression(
                line=line,
                column=column,
                kind=kind,
                codes=tuple(codes),
                written=codes,
                reason=reason,
                target=None if kind == "ignore-file" else target,
                form=form,
                table=table,
                chain=chain,
                rule=rule,
            )
        )

    for st in parsed.statements:
        if isinstance(st, TableHeader):
            table = st.name
        elif isinstance(st, Comment):
            m = _COMMENT_DIRECTIVE.match(st.text)
            if m:
                line = st.span.line
                add(m.group("body"), line, st.span.column, "comment", _target_below(parsed.source_lines, line),
                    rule=st.text)
        elif isinstance(st, Rule):
            for match in st.matches:
                if match.module != "comment":
                    continue
                for opt in match.options:
                    if opt.name != "--comment" or not opt.values:
                        continue
                    m = _RULE_DIRECTIVE.search(opt.values[0])
                    if m:
                        add(m.group("body"), st.span.line, opt.span.column, "rule-comment", st.span.line,
                            chain=st.chain, rule=st.text)
    for line, (column, table, chain, rule) in overflow.items():
        more = unknown[line] - MAX_UNKNOWN_PER_LINE
        problems.append(
            _hygiene(
                "IPT902",
                f"unknown codes: {more} more in the suppressions of this line "
                f"(only the first {MAX_UNKNOWN_PER_LINE} are reported one by one)",
                file, line, column, table=table, chain=chain, rule=rule,
            )
        )
    return sups, problems


def apply_suppressions(parsed: ParsedDump, findings: list[Finding], ran: set[str], selection=None) -> SuppressionOutcome:
    """Hide the findings the dump's suppressions cover, and report the suppressions' own problems.

    `findings` are already selected and have their final severity; `ran` holds the codes whose check
    ran in this run (only those can make a suppression unused); `selection` (select/ignore/severity)
    is applied to the IPT901/IPT902 findings made here, which `ignore-file=IPT901` can also hide."""
    if selection is not None and not getattr(selection, "inline_suppressions", True):
        return SuppressionOutcome(list(findings), [], [])  # --no-inline-suppressions
    sups, problems = collect(parsed)
    if not sups and not problems:
        return SuppressionOutcome(list(findings), [], [])
    by_line: dict[int, list[Suppression]] = {}
    file_wide: list[Suppression] = []
    for s in sups:
        if s.kind == "ignore-file":
            file_wide.append(s)
        elif s.target is not None:
            by_line.setdefault(s.target, []).append(s)

    def covering(f: Finding) -> list[Suppression]:
        return [s for s in by_line.get(f.line, ()) if f.code in s.codes] + [s for s in file_wide if f.code in s.codes]

    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for f in findings:
        cover = covering(f)
        if not cover:
            kept.append(f)
            continue
        for s in cover:
            s.used.add(f.code)
        suppressed.append(Suppressed(f, cover[0].reason, cover[0].line, cover[0].kind))

    hygiene = list(problems)
    for s in sups:
        for code in s.codes:
            if code in s.used or code not in ran or code.startswith("IPT9"):
                continue
            w = _quoted(s.written[code])
            cls = check_by_code_or_name(code)
            label = f"{code} {cls.name}" if cls else code
            if s.kind == "ignore-file":
                message = f"`{s.kind}={w}' suppresses nothing: no {label} finding in this file"
            elif s.target is None:
                message = (f"`{s.kind}={w}' suppresses nothing: no line follows directly below it "
                           "(a blank line or the end of the file)")
            else:
                message = f"`{s.kind}={w}' suppresses nothing: no {label} finding on line {s.target}"
            hygiene.append(
                _hygiene("IPT901", message, parsed.file, s.line, s.column, table=s.table, chain=s.chain, rule=s.rule)
            )
    if selection is not None:
        hygiene = selection.apply(hygiene)
    for f in hygiene:
        cover = [s for s in file_wide if f.code in s.codes]
        if cover:
            suppressed.append(Suppressed(f, cover[0].reason, cover[0].line, cover[0].kind))
        else:
            kept.append(f)
    return SuppressionOutcome(kept, suppressed, hygiene)


__all__ = [
    "Suppression", "Suppressed", "SuppressionOutcome", "apply_suppressions", "check_by_code_or_name", "collect",
    "parse_directive",
]
