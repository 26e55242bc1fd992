"""`path:line:col: CODE [severity] message`, one line per finding: for grep and editors."""

from __future__ import annotations

from .safe import printable


def render(results, out, **_) -> None:
    for result in results:
        for f in result.findings:
            # The file name too: a name with an escape sequence or a newline (a file in the
            # repository being linted) must neither reach the terminal raw nor forge a line.
            name = printable(f.file).replace("\n", "\\x0a")
            out.write(f"{name}:{f.line}:{f.column}: {f.code} [{f.severity}] {printable(f.message)}\n")
