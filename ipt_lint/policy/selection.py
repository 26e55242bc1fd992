"""--select / --ignore, per-file ignores, severity overrides and --fail-on.

A selector is a code (`EXP301`), a prefix (`EXP`, `IPT1`), a name (`published-port-open`) or `ALL`.
Like ruff, the most specific selector wins: `--select IPT --ignore IPT107` keeps IPT100-IPT108 but
IPT107; `--ignore IPT1 --select IPT105` keeps IPT105. Severity overrides take selectors too, and the
most specific one wins (`severity = {EXP = "warning", EXP301 = "error"}`).

`per-file-ignores` maps glob patterns to selectors ignored for the files they match. A pattern is
matched (fnmatch, `*` also crosses `/`) against the path as given, the path relative to the
configuration file's folder, and, for a pattern without `/`, the file's base name.
"""

from __future__ import annotations

import fnmatch
import os
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
    if any(cls.code.startswith(up) for cls in ALL_CHECKS):
        return up
    raise SelectorError(f"unknown code, prefix or name `{sel}' (see `ipt-lint rules`)")


def _best(selectors, code: str) -> int:
    return max((len(s) for s in selectors if code.startswith(s)), default=-1)


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ("",)  # "" selects everything
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    base_dir: str | None = None  # the folder per-file-ignores patterns are relative to
    inline_suppressions: bool = True  # False: --no-inline-suppressions (`ipt-lint: ignore` in dumps is not read)

    @classmethod
    def from_options(cls, select=(), ignore=(), severity=None, per_file_ignores=None, base_dir=None,
                     *, inline_suppressions: bool = True) -> "Selection":
        sel = tuple(normalise_selector(s) for s in select) if select else ("",)
        ign = tuple(normalise_selector(s) for s in ignore)
        sev = {normalise_selector(k): v if isinstance(v, Severity) else Severity.parse(v) for k, v in (severity or {}).items()}
        pfi = tuple(
            (pattern, tuple(normalise_selector(s) for s in sels)) for pattern, sels in (per_file_ignores or {}).items()
        )
        return cls(sel, ign, sev, pfi, base_dir, inline_suppressions)

    def wants(self, code: str) -> bool:
        return _best(self.select, code) >= 0 and _best(self.select, code) > _best(self.ignore, code)

    def severity_for(self, code: str, default: Severity) -> Severity:
        best, chosen = -1, default
        for sel, sev in self.severity.items():
            if code.startswith(sel) and len(sel) > best:
                best, chosen = len(sel), sev
        return chosen

    def for_file(self, path: str) -> "Selection":
        """This selection with the per-file ignores that match `path` added to `ignore`."""
        extra: list[str] = []
        for pattern, sels in self.per_file_ignores:
            if path_matches(pattern, path, self.base_dir):
                extra.extend(sels)
        if not extra:
            return self
        return replace(self, ignore=self.ignore + tuple(extra), per_file_ignores=())

    def apply(self, findings: list[Finding]) -> list[Finding]:
        out = []
        for f in findings:
            if not self.wants(f.code):
                continue
            sev = self.severity_for(f.code, f.severity)
            out.append(replace(f, severity=sev) if sev != f.severity else f)
        return out


def path_matches(pattern: str, path: str, base_dir: str | None) -> bool:
    pat = pattern.replace(os.sep, "/")
    if pat.startswith("./"):
        pat = pat[2:]
    candidates = {path.replace(os.sep, "/").removeprefix("./")}
    if base_dir and not path.startswith("live:") and path != "-":
        try:
            rel = os.path.relpath(os.path.abspath(path), base_dir)
            candidates.add(rel.replace(os.sep, "/"))
        except ValueError:  # another drive on Windows
            pass
    if "/" not in pat:
        candidates.add(os.path.basename(path))
    return any(fnmatch.fnmatchcase(c, pat) for c in candidates)


FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "never": None}


def exit_code_for(findings: list[Finding], fail_on: str) -> int:
    threshold = FAIL_ON[fail_on]
    if threshold is None:
        return 0
    return 1 if any(f.severity >= threshold for f in findings) else 0
