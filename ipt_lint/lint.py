"""The whole pipeline for one dump, in the order of the design:

    text -> parse -> model -> checks -> policy -> (reporters, called by the CLI)

`lint_text` is also the Python API: `lint_text(open(p).read(), p).findings`.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field

from .checks import LintContext, LintOptions, all_checks
from .checks.base import Finding, Related, Severity
from .model.build import build_model
from .model.types import Ruleset
from .parse import ParsedDump, parse_bytes, parse_text
from .policy import Selection
from .policy.suppressions import Suppressed, apply_suppressions


@dataclass
class LintResult:
    file: str
    parsed: ParsedDump
    ruleset: Ruleset
    findings: list[Finding]
    errors: list[str]  # internal problems reported instead of a traceback (exit 2)
    suppressed: list[Suppressed] = field(default_factory=list)  # hidden by `ipt-lint: ignore` in the dump
    baselined: list[Finding] = field(default_factory=list)  # hidden by --baseline (set by the CLI)


def lint_text(
    text: str | bytes,
    file: str,
    *,
    options: LintOptions | None = None,
    selection: Selection | None = None,
    family: str | None = None,
) -> LintResult:
    with _no_cyclic_gc():
        return _lint(text, file, options, selection, family)


def _lint(text, file, options, selection, family) -> LintResult:
    parsed = parse_bytes(text, file, family) if isinstance(text, bytes) else parse_text(text, file, family)
    ruleset, model_problems = build_model(parsed)
    diagnostics = list(parsed.diagnostics) + model_problems
    ctx = LintContext(parsed, ruleset, diagnostics, options or LintOptions())
    findings: list[Finding] = []
    errors: list[str] = []
    sel = (selection or Selection()).for_file(file)
    ran: set[str] = set()
    for check in all_checks():
        if not sel.wants(check.code):
            continue
        try:
            findings.extend(check.run(ctx))
            ran.add(check.code)
        except Exception as exc:  # a bug in one check must not hide the others' findings
            errors.append(f"{file}: internal error in {check.code} {check.name}: {type(exc).__name__}: {exc}")
    # policy: selection and severity, then the dump's own suppressions (which report IPT901/IPT902)
    findings = sel.apply(findings)
    findings.sort(key=Finding.sort_key)
    outcome = apply_suppressions(parsed, _dedupe(findings), ran, sel)
    kept = sorted(outcome.kept, key=Finding.sort_key)
    return LintResult(file, parsed, ruleset, kept, errors, suppressed=outcome.suppressed)


@contextlib.contextmanager
def _no_cyclic_gc():
    """A run allocates millions of small, long-lived objects (the syntax tree, the model, the
    engine's sets); Python's cyclic collector would walk the growing heap again and again (it
    tripled the time on 100k rules). Reference counting still frees everything; the collector is
    back on afterwards and picks up any cycles then."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.code, f.file, f.line, f.column, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


__all__ = ["LintResult", "LintOptions", "lint_text", "Finding", "Related", "Severity"]
