"""`ipt-lint rules` and `ipt-lint explain CODE`: the checks' own documentation."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from ..checks.registry import ALL_CHECKS, check_by_code_or_name
from .common import console_for


@click.command()
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto")
def rules(color):
    """List every check: code, name, severity and summary."""
    console = console_for(color)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("code", "name", "severity", "summary"):
        table.add_column(col, overflow="fold")
    for cls in ALL_CHECKS:
        table.add_row(cls.code, cls.name, str(cls.severity), cls.summary)
    console.print(table)


def explain_text(cls) -> str:
    """The documentation of a check as plain text (also used by docs/ and SARIF help)."""
    d = cls.doc
    parts = [
        f"{cls.code} {cls.name} ({cls.severity})",
        "",
        cls.summary,
        "",
        "What it finds",
        "  " + d.what,
        "",
        "Why it matters",
        "  " + d.why,
        "",
        "Example (draws the finding)",
        *("  " + line for line in d.example_bad.rstrip("\n").splitlines()),
        "",
        "Example (clean)",
        *("  " + line for line in d.example_good.rstrip("\n").splitlines()),
        "",
        "Fix",
        "  " + d.fix,
        "",
        "When to ignore",
        "  " + d.when_to_ignore,
    ]
    if d.references:
        parts += ["", "References", *("  " + r for r in d.references)]
    return "\n".join(parts) + "\n"


@click.command()
@click.argument("code")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto")
def explain(code, color):
    """Print the documentation of CODE (a code like EXP301 or a name like published-port-open)."""
    cls = check_by_code_or_name(code)
    if cls is None:
        raise click.UsageError(f"unknown code or name `{code}' (see `ipt-lint rules`)")
    console_for(color).print(Text(explain_text(cls)), end="")
