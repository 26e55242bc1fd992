"""The chain graph of one table: which chain jumps (or goes) to which, from which rule.

Iterative algorithms only: a 10,000-deep chain of jumps must not overflow Python's stack.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .types import RuleModel, Table


@dataclass
class ChainGraph:
    table: str
    edges: dict[str, list[tuple[str, RuleModel]]] = field(default_factory=lambda: defaultdict(list))
    callers: dict[str, list[RuleModel]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, table: Table) -> "ChainGraph":
        g = cls(table.name)
        for chain in table.chains.values():
            for rule in chain.rules:
                t = rule.target
                if t is not None and t.kind in ("jump", "goto") and t.name in table.chains:
                    g.edges[chain.name].append((t.name, rule))
                    g.callers[t.name].append(rule)
        return g

    def reachable_from(self, roots) -> set[str]:
        seen = set(roots)
        stack = list(roots)
        while stack:
            c = stack.pop()
            for target, _ in self.edges.get(c, ()):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def cycles(self) -> list[list[tuple[str, RuleModel]]]:
        """Each cycle once, as the list of (chain, jumping rule) edges around it (Tarjan, iterative)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        sccs: list[list[str]] = []
        counter = 0
        nodes = list(self.edges.keys())
        for root in nodes:
            if root in index:
                continue
            work = [(root, 0)]
            while work:
                node, i = work.pop()
                if i == 0:
                    index[node] = low[node] = counter
                    counter += 1
                    stack.append(node)
                    on_stack.add(node)
                succ = self.edges.get(node, [])
                if i < len(succ):
                    work.append((node, i + 1))
                    nxt = succ[i][0]
                    if nxt not in index:
                        work.append((nxt, 0))
                    elif nxt in on_stack:
                        low[node] = min(low[node], index[nxt])
                    continue
                # all successors done
                for nxt, _ in succ:
                    if nxt in on_stack:
                        low[node] = min(low[node], low[nxt])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    sccs.append(comp)
        cycles = []
        for comp in sccs:
            members = set(comp)
            edges = [
                (c, r) for c in sorted(comp) for (t, r) in self.edges.get(c, ()) if t in members
            ]
            if len(comp) > 1 or edges:
                cycles.append(edges)
        return cycles
