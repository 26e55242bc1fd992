"""What every check gets: the parsed dump, the model, the stage diagnostics and the user's options.

The semantics engine is built lazily, the first time a check asks for it, so a run that only
selects structure checks never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..model.types import Ruleset
from ..parse import ParsedDump
from ..parse.ast import Diagnostic


@dataclass(frozen=True)
class LintOptions:
    allow_public: tuple[str, ...] = ("tcp/80", "tcp/443")
    external_interfaces: tuple[str, ...] = ()
    local_addresses: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()  # "CIDR=IFACE"
    sensitive_ports: tuple[str, ...] | None = None  # None: the documented default list
    ipset_file: str | None = None
    ipv6_dump: str | None = None  # the same host's ip6tables-save dump, for EXP304 ipv6-gap


@dataclass
class LintContext:
    parsed: ParsedDump
    ruleset: Ruleset
    diagnostics: list[Diagnostic]
    options: LintOptions = field(default_factory=LintOptions)

    def source_line(self, line: int) -> str | None:
        if 1 <= line <= len(self.parsed.source_lines):
            return self.parsed.source_lines[line - 1]
        return None

    def diagnostics_of(self, code: str):
        return [d for d in self.diagnostics if d.code == code]

    @cached_property
    def engine(self):
        """The semantics engine over this dump (ipt_lint.semantics), built on first use."""
        from ..semantics import build_engine

        return build_engine(self.ruleset, self.options)
