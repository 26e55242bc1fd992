"""`ipt-lint trace` for people: the journey as a rich Tree (hook -> table -> chains entered ->
rule lines and their effect), then the verdict, the assumptions and anything undecided.

Dump text goes through `printable` into `Text` objects, never markup.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.text import Text
from rich.tree import Tree

from ..semantics.results import Outcome, Step, TraceResult
from .safe import printable

_VERDICT_STYLE = {"ACCEPT": "bold green", "DROP": "bold red", "REJECT": "bold red"}


def _step_text(step: Step) -> Text:
    t = Text()
    if step.line is not None:
        t.append(f"line {step.line}  ", style="cyan")
    t.append(printable(step.rule), style="dim" if step.kind == "policy" else "")
    t.append("  -> ", style="dim")
    style = "bold"
    if step.effect in ("DROP", "policy DROP") or step.effect.startswith("REJECT"):
        style = "bold red"
    elif step.effect in ("ACCEPT", "policy ACCEPT"):
        style = "bold green"
    elif step.effect.startswith(("DNAT", "SNAT", "MASQUERADE", "REDIRECT")):
        style = "bold magenta"
    t.append(printable(step.effect), style=style)
    if step.uncertain:
        t.append(f"  (uncertain: {printable(step.uncertain)})", style="yellow")
    return t


def journey_tree(outcome: Outcome, label: Text) -> Tree:
    tree = Tree(label)
    hook_node = None
    hook_name = None
    table_node = None
    table_name = None
    stack: list[tuple[str, Tree]] = []
    for step in outcome.steps:
        if step.kind == "route":
            hook_name = table_name = None
            t = Text("routing: ", style="bold")
            t.append(printable(step.effect))
            t.append(f"  ({printable(step.rule)})", style="dim")
            tree.add(t)
            continue
        if step.hook != hook_name:
            hook_name = step.hook
            hook_node = tree.add(Text(step.hook, style="bold blue"))
            table_name = None
        if step.table != table_name:
            table_name = step.table
            table_node = hook_node.add(Text(f"{step.table} {step.hook}", style="bold"))
            stack = [(step.hook, table_node)]
        while len(stack) > 1 and stack[-1][0] != step.chain:
            stack.pop()
        parent = stack[-1][1]
        node = parent.add(_step_text(step))
        if step.kind == "rule" and step.effect.startswith(("jump ", "goto ")):
            target = step.effect.split()[1]
            stack.append((target, node))
    return tree


def verdict_text(result: TraceResult) -> Text:
    o = result.main
    t = Text("Verdict: ", style="bold")
    t.append(o.verdict, style=_VERDICT_STYLE.get(o.verdict, "bold"))
    if o.verdict == "ACCEPT":
        if o.delivery == "local":
            t.append(f", delivered to this host at {printable(result.final_destination)}")
        else:
            t.append(f", forwarded to {printable(result.final_destination)}")
            if result.out_interface:
                t.append(f" via {printable(result.out_interface)}")
    t.append("  (certain)" if result.certain else "  (NOT certain)", style="green" if result.certain else "yellow")
    return t


def render_trace(result: TraceResult, console: Console) -> None:
    head = Text("Packet: ", style="bold")
    head.append(printable(result.packet.describe()))
    console.print(head)
    console.print(journey_tree(result.main, Text("journey", style="bold")))
    console.print(verdict_text(result))
    if len(result.outcomes) > 1:
        console.print(Text("Other possible journeys:", style="bold"))
        for o in result.outcomes[1:]:
            why = "random branch (statistic)" if o.random else "depends on an undecided rule"
            label = Text(f"{o.verdict}", style=_VERDICT_STYLE.get(o.verdict, "bold"))
            label.append(f"  {o.witness.final.endpoint()}  ({why})", style="dim")
            console.print(journey_tree(o, label))
    if result.uncertain_rules:
        console.print(Text("Undecided rules:", style="bold yellow"))
        for u in result.uncertain_rules:
            console.print(
                Group(Text(f"  line {u.line}: {printable(u.rule)}"), Text(f"    {printable(u.reason)}", style="yellow"))
            )
    if result.assumptions:
        console.print(Text("Assumptions:", style="bold"))
        for a in result.assumptions:
            console.print(Text(f"  - {printable(a)}", style="dim"))
