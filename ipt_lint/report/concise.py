"""`path:line:col: CODE [severity] message`, one line per finding: for grep and editors."""

from __future__ import annotations

from .safe import printable


def render(results, out, **_) -> None:
    for result in results:
        for f in result.findings:
            out.write(f"{f.file}:{f.line}:{f.column}: {f.code} [{f.severity}] {printable(f.message)}\n")
