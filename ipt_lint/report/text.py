"""The default, ruff-like report:

    samples/docker27-published.rules:41:1 EXP301 published-port-open error
      tcp/5432 on every address is DNATed to 172.19.0.2:5432 (postgres) and reachable from anywhere
       41 | -A DOCKER ! -i br-a1b2c3d4e5f6 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.19.0.2:5432
          | ^
      = note: line 22: accepted here
      = fix: iptables -I DOCKER-USER ...
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.text import Text

from .safe import caret_offset, printable

STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}


def render(results, console: Console, **_) -> None:
    total = Counter()
    for result in results:
        for f in result.findings:
            total[str(f.severity)] += 1
            render_finding(f, console)
    render_summary(results, total, console)


def render_finding(f, console: Console) -> None:
    sev = str(f.severity)
    header = Text()
    header.append(f"{printable(f.file)}:{f.line}:{f.column}", style="bold")
    header.append(" ")
    header.append(f.code, style=STYLE[sev])
    header.append(f" {f.name} ")
    header.append(sev, style=STYLE[sev])
    console.print(header, soft_wrap=True)
    console.print(Text("  " + printable(f.message)), soft_wrap=True)
    if f.rule is not None:
        gutter = f"{f.line:>5} | "
        console.print(Text(gutter, style="dim") + Text(printable(f.rule)), soft_wrap=True)
        caret_pad = " " * (len(gutter) - 2) + "| " + " " * caret_offset(f.rule, f.column)
        console.print(Text(caret_pad, style="dim") + Text("^", style=STYLE[sev]), soft_wrap=True)
    for r in f.related:
        where = f"line {r.line}" if r.file == f.file else f"{printable(r.file)}:{r.line}"
        console.print(Text(f"  = note: {where}: ", style="cyan") + Text(printable(r.message)), soft_wrap=True)
    if f.witness:
        w = ", ".join(f"{k}={v}" for k, v in f.witness.items())
        console.print(Text("  = witness: ", style="cyan") + Text(printable(w)), soft_wrap=True)
    if f.fix:
        console.print(Text("  = fix: ", style="green") + Text(printable(f.fix)), soft_wrap=True)
    console.print()


def render_summary(results, total: Counter, console: Console) -> None:
    n = sum(total.values())
    files = len(results)
    if n == 0:
        console.print(Text(f"No problems found in {files} file{'s' if files != 1 else ''}.", style="green"))
        return
    parts = [f"{total[s]} {s}{'s' if total[s] != 1 else ''}" for s in ("error", "warning", "info") if total[s]]
    console.print(
        Text(f"Found {n} problem{'s' if n != 1 else ''} ({', '.join(parts)}) in {files} file{'s' if files != 1 else ''}.",
             style="bold")
    )
