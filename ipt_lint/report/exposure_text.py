"""`ipt-lint exposure` for people: one table row per thing an outsider reaches, then the
assumptions. Dump text goes through `printable` into `Text` objects, never markup."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..semantics.exposure import ExposureReport
from ..semantics.results import Exposure
from .safe import printable

_KIND = {"published": "published", "host": "host service", "routed": "routed"}


def _who(e: Exposure) -> Text:
    """Sources and interfaces, one line per combination that reaches it."""
    combos = e.access or ()
    t = Text()
    if len(combos) <= 1:
        combos = [None]
    differ = len({a.host_addresses for a in e.access}) > 1
    for k, a in enumerate(combos):
        src = (a.sources if a else e.sources).describe()
        via = (a.interfaces if a else e.interfaces).describe()
        if k:
            t.append("\n")
        t.append(printable(src))
        t.append(" via ", style="dim")
        t.append(printable(via))
        if a is not None and differ:
            t.append(" to ", style="dim")
            t.append(printable(", ".join(a.host_addresses)))
    return t


def exposure_table(report: ExposureReport) -> Table:
    table = Table(title="Reachable from outside", header_style="bold", expand=True)
    table.add_column("Port", no_wrap=True)
    table.add_column("Destination", overflow="fold", ratio=3, min_width=14)
    table.add_column("From", overflow="fold", ratio=3, min_width=12)
    table.add_column("Runtime", no_wrap=True)
    table.add_column("Certain", no_wrap=True)
    table.add_column("Lines", overflow="fold", ratio=2, min_width=6)
    for e in report.exposures:
        dest = Text(printable(e.destination))
        dest.append(f"\n{_KIND.get(e.kind, e.kind)}", style="dim")
        if e.host_addresses and e.host_addresses != ("<host>",):
            dest.append(" on " + printable(", ".join(e.host_addresses)), style="dim")
        lines = [str(s.line) for s in e.path if s.kind == "rule" and s.line is not None]
        table.add_row(
            f"{e.proto}/{e.port_text()}",
            dest,
            _who(e),
            e.runtime,
            Text("yes", style="green") if e.certain else Text("no", style="yellow"),
            " ".join(lines),
        )
    return table


def render_exposures(report: ExposureReport, console: Console) -> None:
    if not report.exposures:
        console.print(Text("Nothing is reachable from outside (for tcp, udp and sctp).", style="bold green"))
    else:
        console.print(exposure_table(report))
    uncertain = [e for e in report.exposures if not e.certain]
    if uncertain:
        console.print(Text("Not certain:", style="bold yellow"))
        for e in uncertain:
            for u in e.uncertain_rules:
                console.print(
                    Text(f"  {e.proto}/{e.port_text()}: line {u.line}: {printable(u.reason)}", style="yellow")
                )
    if report.assumptions:
        console.print(Text("Assumptions:", style="bold"))
        for a in report.assumptions:
            console.print(Text(f"  - {printable(a)}", style="dim"))
