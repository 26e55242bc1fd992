"""A chain compiled for traversal: each rule's match set and target effect (compiled on first
use), and an index that finds the rules a set of packets can possibly meet without trying every
rule.

kube-proxy's KUBE-SERVICES holds thousands of `-d IP/32 -p tcp --dport P` rules. A rule whose
destination set cannot meet the packets' destinations cannot match them and cannot change them,
so it is skipped. The index keys each rule by its `-d` networks (a superset of what it matches:
other matches only narrow it) when they are narrow; other rules are always candidates.
Skipping is an optimisation only: every candidate is still matched exactly.
"""

from __future__ import annotations

from bisect import bisect_right

from ..model.types import Chain
from .intervals import TooManyIntervals, iv_from_mask
from .matches import MatchCompiler, RuleMatch
from .space import Space
from .targets import Effect, target_effect

NARROW_SPAN = 1 << 16  # destination intervals up to this size are indexed
NARROW_PIECES = 8


class CompiledChain:
    def __init__(self, chain: Chain, space: Space, compiler: MatchCompiler, chain_exists):
        self.chain = chain
        self.space = space
        self.compiler = compiler
        self.chain_exists = chain_exists
        n = len(chain.rules)
        self._matches: list[RuleMatch | None] = [None] * n
        self._effects: list[Effect | None] = [None] * n
        # a chain without addrtype matches does not depend on which addresses are local
        self.local_free = not any(r.match("addrtype") is not None for r in chain.rules)
        self._index()

    def match(self, i: int) -> RuleMatch:
        m = self._matches[i]
        if m is None:
            m = self._matches[i] = self.compiler.compile(self.chain.rules[i])
        return m

    def effect(self, i: int) -> Effect:
        e = self._effects[i]
        if e is None:
            e = self._effects[i] = target_effect(self.chain.rules[i], self.space, self.chain_exists)
        return e

    @property
    def matches(self) -> list[RuleMatch]:
        return [self.match(i) for i in range(len(self.chain.rules))]

    def _index(self) -> None:
        entries: list[tuple[int, int, int]] = []
        wide: list[int] = []
        maxspan = 0
        for i, rule in enumerate(self.chain.rules):
            pieces = _dst_key(rule)
            if pieces is None:
                wide.append(i)
                continue
            for lo, hi in pieces:
                entries.append((lo, hi, i))
                maxspan = max(maxspan, hi - lo)
        entries.sort()
        self.los = [e[0] for e in entries]
        self.his = [e[1] for e in entries]
        self.idx = [e[2] for e in entries]
        self.maxspan = maxspan
        self.wide = wide

    def candidates(self, dst: tuple, start: int = 0) -> list[int]:
        """Sorted indices >= start of rules whose destination set may meet `dst` (intervals)."""
        if not self.los:
            return [i for i in self.wide if i >= start]
        found = set(i for i in self.wide if i >= start)
        los, his, idx = self.los, self.his, self.idx
        for qlo, qhi in dst:
            k = bisect_right(los, qhi) - 1
            floor = qlo - self.maxspan
            while k >= 0 and los[k] >= floor:
                if his[k] >= qlo and idx[k] >= start:
                    found.add(idx[k])
                k -= 1
        return sorted(found)


def _dst_key(rule) -> list[tuple[int, int]] | None:
    """The intervals of a rule's `-d` when narrow (a superset of what it matches), else None."""
    am = rule.dst
    if am is None or am.negated:
        return None
    pieces = []
    for n in am.nets:
        if n.mask == 0:
            return None
        try:
            pieces.extend(iv_from_mask(n.value, n.mask, n.bits))
        except TooManyIntervals:
            return None
        if len(pieces) > NARROW_PIECES:
            return None
    if any(hi - lo >= NARROW_SPAN for lo, hi in pieces):
        return None
    return pieces


def compile_chain(chain: Chain, space: Space, compiler: MatchCompiler, chain_exists) -> CompiledChain:
    return CompiledChain(chain, space, compiler, chain_exists)
