"""A chain compiled for traversal: each rule's match set and target effect (compiled on first
use), and an index that finds the rules a set of packets can possibly meet without trying every
rule.

kube-proxy's KUBE-SERVICES holds thousands of `-d IP/32 -p tcp --dport P` rules. A rule whose
destination set cannot meet the packets' destinations cannot match them and cannot change them,
so it is skipped. The index keys each rule by its `-d` networks (a superset of what it matches:
other matches only narrow it) when they are narrow; failing that, by its destination ports when
every part of its match restricts them (KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES), or by the
original destination ports of conntrack (`--ctorigdstport`, the DOCKER-USER idiom); other rules are
always candidates. The walker asks per flow, so a flow to one pod meets only the rules about
that pod. Skipping is an optimisation only: every candidate is still matched exactly.
"""

from __future__ import annotations

from bisect import bisect_left

from ..model.types import Chain
from .intervals import IntervalIndex, TooManyIntervals, iv_from_mask
from .matches import MatchCompiler, RuleMatch
from .space import CTDNAT, DPORT, ORIG_DPORT, YES, Space
from .targets import Effect, target_effect

NARROW_SPAN = 1 << 16  # destination intervals up to this size are indexed
NARROW_PIECES = 8
SHORT_CHAIN = 8  # rules
NARROW_PORTS = 1024  # destination port sets up to this wide are indexed


class CompiledChain:
    """Rules are read through rule(i): a lazily loaded chain (model/lazy.py) builds a rule when
    the walker first meets it, and an unread `-d A.B.C.D/32` line is indexed from its text
    (Chain.host_dst), exactly as the built rule would be, so a trace to one address builds only
    the lines about that address and the lines without such a key."""

    def __init__(self, chain: Chain, space: Space, compiler: MatchCompiler, chain_exists):
        self.chain = chain
        self.space = space
        self.compiler = compiler
        self.chain_exists = chain_exists
        if chain.pending is None:
            self._rules: list = chain.rules
            n = len(self._rules)
        else:
            n = chain.count()
            self._rules = list(chain.built) + [None] * (n - len(chain.built))
        self.n = n
        self._matches: list[RuleMatch | None] = [None] * n
        self._effects: list[Effect | None] = [None] * n
        self.every_rule = list(range(n))
        # A short chain is walked rule by rule; its index is built only if candidates() is
        # asked directly (kube-proxy's thousands of two-rule KUBE-SEP and KUBE-SVC chains).
        self.indexed = False
        self._index(keys=n > SHORT_CHAIN)

    def rule(self, i: int):
        r = self._rules[i]
        if r is None:
            r = self._rules[i] = self.chain.rule(i)
        return r

    def match(self, i: int) -> RuleMatch:
        m = self._matches[i]
        if m is None:
            m = self._matches[i] = self.compiler.compile(self.rule(i))
        return m

    def effect(self, i: int) -> Effect:
        e = self._effects[i]
        if e is None:
            e = self._effects[i] = target_effect(self.rule(i), self.space, self.chain_exists)
        return e

    @property
    def matches(self) -> list[RuleMatch]:
        return [self.match(i) for i in range(self.n)]

    def _index(self, keys: bool = True) -> None:
        """local_free and, with `keys`, the index of the rules by destination and ports."""
        self.has_keys = keys
        dst_entries: list[tuple[int, int, int]] = []
        port_entries: dict[int, list[tuple[int, int, int]]] = {DPORT: [], ORIG_DPORT: []}
        wide: list[int] = []
        chain, n = self.chain, self.n
        unread = len(chain.built) if chain.pending is not None else n  # rules from here may be unread
        local_free = True
        for i in range(n):
            if i >= unread:
                a = chain.host_dst(i)
                if a is not None:  # what _dst_key() gives the built rule
                    dst_entries.append((a, a, i))
                    continue
            rule = self.rule(i)
            if local_free and rule.match("addrtype") is not None:
                local_free = False
            if not keys:
                continue
            pieces = _dst_key(rule)
            if pieces is not None:
                dst_entries.extend((lo, hi, i) for lo, hi in pieces)
                continue
            key = _port_key(self.match(i)) if _may_restrict_ports(rule) else None
            if key is not None:
                field, ports = key
                if _dnat_only(self.match(i)):
                    field = (field, "dnat")
                port_entries.setdefault(field, []).extend((lo, hi, i) for lo, hi in ports)
            else:
                wide.append(i)
        # a chain without addrtype matches does not depend on which addresses are local; with
        # lines left unread it is not known (False only means Engine.with_local recompiles it)
        self.local_free = local_free and None not in self._rules
        if not keys:
            return
        self.dst_index = IntervalIndex(dst_entries)
        self.port_index = IntervalIndex(port_entries[DPORT])
        self.orig_port_index = IntervalIndex(port_entries[ORIG_DPORT])
        # rules that match only DNATed connections (`--ctstate DNAT --ctorigdstport P`, the
        # DOCKER-USER idiom): packets routed straight to a container never meet them
        self.dnat_port_index = IntervalIndex(port_entries.get((DPORT, "dnat"), []))
        self.dnat_orig_port_index = IntervalIndex(port_entries.get((ORIG_DPORT, "dnat"), []))
        self.wide = wide
        # a short chain, or one whose rules are all wide, is cheaper to try rule by rule
        # than to ask the index for every flow that enters it
        self.indexed = n > SHORT_CHAIN and len(wide) < n

    def candidates_from(self, start: int, summary) -> list[int]:
        """candidates() for a flow entering at rule `start`; `summary()` -> (dst, ports,
        orig_ports, may be DNATed) of its packets, called only when the index is worth asking."""
        if not self.indexed:
            rules = self.every_rule
            return rules if start == 0 else rules[start:]
        dst, ports, orig_ports, dnat = summary()
        return self.candidates(dst, start, (ports, orig_ports), dnat)

    def candidates(self, dst: tuple, start: int = 0, ports: tuple | None = None, dnat: bool = True) -> list[int]:
        """Sorted indices >= start of rules that may meet packets with destinations `dst`
        (intervals) and, when given, `ports` = (destination ports, original destination ports),
        both intervals; without `ports` every port-keyed rule is a candidate. `dnat`: may some
        of the packets belong to a DNATed connection?"""
        if not self.has_keys:
            self._index()
        found = set(self.wide[bisect_left(self.wide, start) :])
        self.dst_index.hits(dst, found, start)
        indexes = [(self.port_index, 0), (self.orig_port_index, 1)]
        if dnat:
            indexes += [(self.dnat_port_index, 0), (self.dnat_orig_port_index, 1)]
        for index, query in indexes:
            if not index:
                continue
            if ports is None:
                found.update(index.all_items(start))
            else:
                index.hits(ports[query], found, start)
        return sorted(found)


def _may_restrict_ports(rule) -> bool:
    """Cheap pre-test (no compiling): only a rule with a match module can restrict ports."""
    return bool(rule.matches) and rule.proto is not None


def _dnat_only(rm: RuleMatch) -> bool:
    """Does every part of the match require a DNATed connection (conntrack --ctstate DNAT)?"""
    return bool(rm.over) and all(any(f == CTDNAT and v == YES for f, v in c) for c in rm.over)


def _port_key(rm: RuleMatch) -> tuple[int, tuple] | None:
    """(DPORT or ORIG_DPORT, the union of the ports the rule's match allows there), when every
    part of the match restricts that field to a narrow set; else None."""
    for field in (DPORT, ORIG_DPORT):
        pieces = _narrow_union(rm.over, field)
        if pieces is not None:
            return field, pieces
    return None


def _narrow_union(over: tuple, field: int) -> tuple | None:
    if not over:
        return None
    pieces: list = []
    for constraint in over:
        ports = None
        for f, v in constraint:
            if f == field:
                ports = v
        if ports is None:
            return None
        pieces.extend(ports)
        if len(pieces) > NARROW_PIECES:
            return None
    if any(hi - lo >= NARROW_PORTS for lo, hi in pieces):
        return None
    return tuple(pieces)


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
