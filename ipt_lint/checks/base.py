"""What a check is and what it yields.

A check is a small class: its code, kebab-case name, default severity, one-line summary and its
documentation (what / why / example / fix / when to ignore / references) live together, and
`run(ctx)` yields `Finding`s. The registry (`ipt_lint.checks.registry.ALL_CHECKS`) lists them all.
The documentation's examples are whole dumps, and tests/test_check_docs.py lints them: the bad
one must draw the code, the good one must not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Iterable

from ..parse.ast import Span

if TYPE_CHECKING:
    from .context import LintContext


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity `{text}' (error, warning, info)") from None


@dataclass(frozen=True)
class Related:
    file: str
    line: int
    message: str


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    file: str
    line: int
    column: int
    table: str | None = None
    chain: str | None = None
    rule: str | None = None  # the source line the finding is on
    related: tuple[Related, ...] = ()
    fix: str | None = None
    witness: dict | None = None
    security: bool = False  # exposure findings: ranked by code scanning

    def sort_key(self):
        return (self.file, self.line, self.column, self.code, self.message)


@dataclass(frozen=True)
class CheckDoc:
    what: str
    why: str
    example_bad: str
    example_good: str
    fix: str
    when_to_ignore: str = "Rarely: prefer fixing the dump."
    references: tuple[str, ...] = ()


class Check:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    doc: ClassVar[CheckDoc]
    security: ClassVar[bool] = False

    def run(self, ctx: "LintContext") -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        ctx: "LintContext",
        span: Span,
        message: str,
        *,
        table: str | None = None,
        chain: str | None = None,
        related: Iterable[Related] = (),
        fix: str | None = None,
        witness: dict | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            file=span.file,
            line=span.line,
            column=span.column,
            table=table,
            chain=chain,
            rule=ctx.source_line(span.line),
            related=tuple(related),
            fix=fix,
            witness=witness,
            security=self.security,
        )


@dataclass
class CheckSet:
    """Checks by code and by name, for --select/--ignore and `ipt-lint explain`."""

    checks: list[Check] = field(default_factory=list)

    def by_code(self, code: str) -> Check | None:
        for c in self.checks:
            if c.code == code.upper() or c.name == code.lower():
                return c
        return None
