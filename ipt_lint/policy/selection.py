"""--select / --ignore, severity overrides and --fail-on.

A selector is a code (`EXP301`), a prefix (`EXP`, `IPT1`), a name (`published-port-open`) or `ALL`.
Like ruff, the most specific selector wins: `--select IPT --ignore IPT107` keeps IPT100-IPT108 but
IPT107; `--ignore IPT1 --select IPT105` keeps IPT105.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..checks.base import Finding, Severity
from ..checks.registry import ALL_CHECKS

_NAMES = {cls.name: cls.code for cls in ALL_CHECKS}


class SelectorError(ValueError):
    pass


def normalise_selector(sel: str) -> str:
    s = sel.strip()
    if not s:
        raise SelectorError("empty selector")
    if s.upper() == "ALL":
        return ""
    if s.lower() in _NAMES:
        return _NAMES[s.lower()]
    up = s.upper()
    if any(cls.code.startswith(up) for cls in ALL_CHECKS) or up in ("IPT9", "IPT90", "IPT901", "IPT902"):
        return up
    raise SelectorError(f"unknown code, prefix or name `{sel}' (see `ipt-lint rules`)")


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ("",)  # "" selects everything
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)

    @classmethod
    def from_options(cls, select=(), ignore=(), severity=None) -> "Selection":
        sel = tuple(normalise_selector(s) for s in select) if select else ("",)
        ign = tuple(normalise_selector(s) for s in ignore)
        sev = {normalise_selector(k): v for k, v in (severity or {}).items()}
        return cls(sel, ign, sev)

    def wants(self, code: str) -> bool:
        best_sel = max((len(s) for s in self.select if code.startswith(s)), default=-1)
        best_ign = max((len(s) for s in self.ignore if code.startswith(s)), default=-1)
        return best_sel >= 0 and best_sel > best_ign

    def apply(self, findings: list[Finding]) -> list[Finding]:
        out = []
        for f in findings:
            if not self.wants(f.code):
                continue
            override = self.severity.get(f.code)
            out.append(replace(f, severity=override) if override else f)
        return out


FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "never": None}


def exit_code_for(findings: list[Finding], fail_on: str) -> int:
    threshold = FAIL_ON[fail_on]
    if threshold is None:
        return 0
    return 1 if any(f.severity >= threshold for f in findings) else 0
