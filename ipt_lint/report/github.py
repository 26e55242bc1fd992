"""GitHub Actions workflow commands: one annotation per finding.

    ::error file=rules.v4,line=12,col=1,title=IPT101 undefined-chain::jump to MISSING, ...

error -> `::error`, warning -> `::warning`, info -> `::notice`. Escaped as the runner requires:
in the message `%` -> %25, CR -> %0D, LF -> %0A; in property values also `:` -> %3A and `,` -> %2C.
Other control characters from the dump are then shown as visible `\\xNN` escapes, so a dump can
never start a workflow command of its own. The fix, when there is one, is a second line.
"""

from __future__ import annotations

from ..checks.base import Severity
from .safe import printable

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f) -> str:
    props = [f"file={printable(escape_property(f.file))}"]
    if f.line >= 1:
        props.append(f"line={f.line}")
        props.append(f"col={max(f.column, 1)}")
    props.append(f"title={printable(escape_property(f'{f.code} {f.name}'))}")
    message = f.message
    if f.fix:
        message += "\nfix: " + f.fix
    return f"::{COMMAND[f.severity]} {','.join(props)}::{printable(escape_data(message))}"


def render(results, out, **_) -> None:
    for result in results:
        for f in result.findings:
            out.write(annotation(f) + "\n")
