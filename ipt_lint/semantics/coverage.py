"""Is a rule covered by the rules before it in its chain (shadowed: no packet can reach it and
match it)? The rule-logic checks ask this; the answer is sound:

* an earlier rule removes packets only if its target ends the chain for them (ACCEPT, DROP,
  REJECT, RETURN, goto, a NAT target) and only the part it matches for certain: an uncertain
  earlier rule removes nothing;
* the rule itself is taken at its largest possible match set;
* when an earlier rule rewrites packets (MARK, CONNMARK, NOTRACK ...), packets reaching the rule
  are not simply "those not taken earlier", so the answer is "not covered, not certain".

Only rules that can meet the rule's destinations are looked at (the chain index), so asking this
for every rule of a 100k-rule dump stays linear in practice.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.types import RuleModel
from .packetset import PacketSet, box_meets, box_sub, merge_boxes
from .space import DST

ENDING = ("verdict", "return", "goto", "nat")


@dataclass(frozen=True)
class Coverage:
    rule: RuleModel
    covered: bool  # no packet that reaches this rule's position can match it
    certain: bool  # `covered`/not covered is decided exactly
    by: tuple[RuleModel, ...]  # earlier rules that take away part of its packets, in order
    remaining: PacketSet  # the packets that still reach the rule and match it (at most)
    note: str = ""


def coverage(engine, rule: RuleModel) -> Coverage:
    table = engine.ruleset.tables[rule.table]
    chain = table.chains[rule.chain]
    cc = engine.walker.compiled(rule.table, chain)
    i = rule.index
    rm = cc.match(i)
    space = engine.space
    remaining = list(PacketSet.from_constraints(space, rm.over).boxes)
    if not remaining:
        return Coverage(rule, True, True, (), PacketSet(space), "the rule's own matches exclude each other")
    dst = PacketSet(space, remaining).values(DST)
    by: list[RuleModel] = []
    certain = rm.exact
    for k in cc.candidates(dst):
        if k >= i:
            break
        eff = cc.effect(k)
        em = cc.match(k)
        if eff.kind == "continue" and eff.transform is not None:
            touched = any(_meets(b, em.over) for b in remaining)
            if touched:
                return Coverage(
                    rule,
                    False,
                    False,
                    tuple(by),
                    PacketSet(space, remaining),
                    f"line {chain.rules[k].line} rewrites packets before it",
                )
            continue
        if eff.kind not in ENDING:
            continue
        if not em.exact:
            if any(_meets(b, em.over) for b in remaining):
                certain = False
            continue
        before = remaining
        for c in em.over:
            nxt = []
            for b in remaining:
                nxt.extend(box_sub(b, c))
            remaining = nxt
        if remaining != before:
            by.append(chain.rules[k])
            if len(remaining) > 16:
                remaining = merge_boxes(remaining)
        if not remaining:
            # even its largest possible match is taken: covered for certain
            return Coverage(rule, True, True, tuple(by), PacketSet(space))
    return Coverage(rule, False, certain, tuple(by), PacketSet(space, remaining))


def _meets(box, constraints) -> bool:
    return any(box_meets(box, c) for c in constraints)
