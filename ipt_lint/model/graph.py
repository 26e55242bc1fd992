"""The chain graph of one table: which chain jumps (or goes) to which, from which rule.

Iterative algorithms only: a 10,000-deep chain of jumps must not overflow Python's stack.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .types import RuleModel, Table

_JUMPS = frozenset({"jump", "goto"})
_UNKNOWN = -2  # longest_path() not worked out yet (None is taken: the graph has a cycle)


@dataclass
class ChainGraph:
    table: str
    edges: dict[str, list[tuple[str, RuleModel]]] = field(default_factory=lambda: defaultdict(list))
    callers: dict[str, list[RuleModel]] = field(default_factory=lambda: defaultdict(list))
    _longest: int | None = field(default=_UNKNOWN, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, table: Table) -> "ChainGraph":
        g = cls(table.name)
        chains = table.chains
        # Each rule carries its own copy of the name it jumps to; keying the graph by the table's
        # own name objects makes every later look-up an identity hit instead of a string compare
        # (on 36,000 kube-proxy chains the compares were most of the cost of walking the graph).
        own_name = {name: name for name in chains}
        edges, callers = g.edges, g.callers
        for name, chain in chains.items():
            for rule in chain.rules:
                t = rule.target
                if t is not None and t.kind in _JUMPS:
                    target = own_name.get(t.name)
                    if target is not None:
                        edges[name].append((target, rule))
                        callers[target].append(rule)
        return g

    def longest_path(self) -> int | None:
        """The most jumps one after the other anywhere in the table (0 without jumps), or None
        when the jumps form a cycle. Computed once per graph, in time linear in its edges.

        A cheap question the checks ask before the expensive ones: without a cycle there is
        nothing for Tarjan's algorithm to find (IPT205), and with no path as long as the jump
        depth iptables-nft refuses, no chain is too deep (IPT108). On a kube-proxy dump both
        answers come out of one walk instead of two."""
        if self._longest == _UNKNOWN:
            self._longest = self._heights()
        return self._longest

    def _heights(self) -> int | None:
        """Depth-first, iteratively: a chain's height (the longest path down from it) is known
        when all the chains it jumps to are; meeting a chain still on the current path again
        is a cycle."""
        edges = self.edges
        height: dict[str, int] = {}  # -1 while the chain is on the current path
        for root in edges:
            if root in height:
                continue
            height[root] = -1
            path = [(root, iter(edges[root]))]
            best = [0]  # per chain on the path: the longest path down from it found so far
            while path:
                name, todo = path[-1]
                for target, _ in todo:
                    h = height.get(target)
                    if h is None:
                        if target in edges:
                            height[target] = -1
                            path.append((target, iter(edges[target])))
                            best.append(0)
                            break  # down into it; this chain's remaining jumps wait in `todo`
                        height[target] = h = 0  # jumps nowhere
                    elif h < 0:
                        return None
                    if h >= best[-1]:
                        best[-1] = h + 1
                else:
                    path.pop()
                    h = height[name] = best.pop()
                    if best and h >= best[-1]:
                        best[-1] = h + 1
        return max(height.values(), default=0)

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
        if self.longest_path() is not None:
            return []  # no cycle: Tarjan's walk would find only single chains without self-jumps
        return self.tarjan_cycles()

    def tarjan_cycles(self) -> list[list[tuple[str, RuleModel]]]:
        """cycles() without the shortcut (the tests hold the shortcut to it)."""
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
