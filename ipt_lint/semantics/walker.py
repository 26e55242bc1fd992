"""Walking one table's built-in chain with sets of packets, the way the kernel walks it.

A `Flow` is a set of packets (dense boxes) that have taken exactly the same path so far (its
`trail` of steps). At each rule a flow splits into the part the rule matches and the rest.
Matched parts follow the target: a verdict ends the table, RETURN goes back to the caller (or to
the policy in a built-in chain), a jump enters the chain and comes back after it, a goto enters
it and comes back to the caller's caller, a non-terminal target rewrites and goes on.

The walk is iterative (an explicit stack of frames), so a dump with thousands of nested jumps
cannot overflow Python's stack, and a jump back into a chain already on the path (a loop, which
iptables-restore refuses) ends that flow as uncertain instead of running forever.
"""

from __future__ import annotations

from heapq import heappop, heappush

from ..model.types import Chain, Ruleset
from .chainindex import CompiledChain, compile_chain
from .matches import MatchCompiler
from .packetset import box_split
from .results import Step, UncertainRule
from .space import CTDNAT, DPORT, DST, ORIG_DPORT, YES, Space

MAX_DEPTH = 512


class Trail:
    """A persistent list of steps (shared tails), so splitting a flow never copies its past."""

    __slots__ = ("step", "prev", "n")

    def __init__(self, step: Step, prev: "Trail | None"):
        self.step = step
        self.prev = prev
        self.n = 1 + (prev.n if prev is not None else 0)

    def steps(self) -> tuple[Step, ...]:
        out = []
        t = self
        while t is not None:
            out.append(t.step)
            t = t.prev
        return tuple(reversed(out))


class Flow:
    """`branch` records the side taken at each undecided or random rule ("m" matched, "u" not),
    so the journey where such rules match can be put first."""

    __slots__ = ("boxes", "trail", "uncertain", "random", "branch")

    def __init__(
        self, boxes, trail: Trail | None = None, uncertain: tuple = (), random: bool = False, branch: str = ""
    ):
        self.boxes = boxes
        self.trail = trail
        self.uncertain = uncertain
        self.random = random
        self.branch = branch

    def but(self, boxes, uncertain: tuple = (), random: bool | None = None, branch: str = "") -> "Flow":
        """The same journey so far with other packets (and more uncertainty, a branch taken)."""
        u = self.uncertain
        if uncertain:  # (most calls add nothing: one per flow and rule on a large dump)
            u = u + tuple(x for x in uncertain if x not in u)
        return Flow(boxes, self.trail, u, self.random if random is None else random,
                    self.branch + branch if branch else self.branch)

    def then(self, step: Step, boxes=None, uncertain: UncertainRule | None = None, random: bool = False) -> "Flow":
        u = self.uncertain
        if uncertain is not None and uncertain not in u:
            u = u + (uncertain,)
        return Flow(
            self.boxes if boxes is None else boxes, Trail(step, self.trail), u, self.random or random, self.branch
        )

    def steps(self) -> tuple[Step, ...]:
        return self.trail.steps() if self.trail is not None else ()


def split_boxes(boxes, constraints) -> tuple[list, list]:
    """(the parts of `boxes` inside the union of `constraints`, the parts outside)."""
    matched, rest = [], []
    for b in boxes:
        pieces = [b]
        for c in constraints:
            nxt = []
            for p in pieces:
                m, rest_of_p = box_split(p, c)
                if m is not None:
                    matched.append(m)
                nxt.extend(rest_of_p)
            pieces = nxt
            if not pieces:
                break
        rest.extend(pieces)
    return matched, rest


class _Frame:
    """One chain being walked. Each live flow waits at the next rule that may meet it (the chain
    index asked per flow: a flow to one pod skips the thousands of rules about other
    addresses); `done` holds flows past the chain's last such rule."""

    __slots__ = ("cc", "pos", "waiting", "order", "done", "incoming", "ret_to", "root", "path")

    def __init__(self, cc: CompiledChain, live: list, ret_to, root, path: frozenset):
        self.cc = cc
        self.pos = 0
        self.waiting: dict[int, list] = {}  # rule index -> [(flow, candidates, k)]
        self.order: list[int] = []  # heap of the keys of `waiting`
        self.done: list[Flow] = []
        self.incoming: list = []
        self.ret_to = ret_to  # the frame returned flows go to; None: the root's policy
        self.root = root or self
        self.path = path
        for f in live:
            self.enter(f, 0)

    def enter(self, f: Flow, start: int) -> None:
        """A flow that reaches rule `start` of this chain (fresh, returned or rewritten)."""
        self.wait(f, self.cc.candidates_from(start, lambda: _dst_and_ports(f.boxes)), 0)

    def wait(self, f: Flow, cands: list, k: int) -> None:
        """Park `f` at cands[k], the next rule that may meet it, or in `done`."""
        if k >= len(cands):
            self.done.append(f)
            return
        i = cands[k]
        q = self.waiting.get(i)
        if q is None:
            self.waiting[i] = [(f, cands, k)]
            heappush(self.order, i)
        else:
            q.append((f, cands, k))


def _dst_and_ports(boxes) -> tuple[tuple, tuple, tuple, bool]:
    """The unions (intervals) of the boxes' destinations, destination ports and conntrack
    original destination ports (the same as the ports where the box ties them), and whether
    any of them may belong to a DNATed connection."""
    dsts: list = []
    ports: list = []
    orig: list = []
    dnat = 0
    for b in boxes:
        dsts.extend(b[DST])
        ports.extend(b[DPORT])
        o = b[ORIG_DPORT]
        orig.extend(b[DPORT] if o is None else o)
        dnat |= b[CTDNAT]
    return _merged(dsts), _merged(ports), _merged(orig), bool(dnat & YES)


def _merged(pieces: list) -> tuple:
    pieces.sort()
    out: list[list[int]] = []
    for lo, hi in pieces:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1][1] = hi
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


class Walker:
    def __init__(self, ruleset: Ruleset, space: Space, compiler: MatchCompiler):
        self.ruleset = ruleset
        self.space = space
        self.compiler = compiler
        self._compiled: dict[tuple[str, str], CompiledChain] = {}
        # whole-hook results by (the hook's chains, the flows that entered): see Journey.hook.
        # Engines over the same packet space and topology may share it (a fix verified on a
        # copy of the dump that changed only filter chains walks nat PREROUTING once).
        self.hook_memo: dict = {}

    def chains_key(self, tables: tuple[str, ...]) -> tuple:
        """The identity of every chain in `tables`: equal keys mean the same rules."""
        key = []
        for name in tables:
            t = self.ruleset.tables.get(name)
            key.append(None if t is None else tuple(map(id, t.chains.values())))
        return tuple(key)

    def compiled(self, table: str, chain: Chain) -> CompiledChain:
        key = (table, chain.name)
        cc = self._compiled.get(key)
        if cc is None:
            tbl = self.ruleset.tables[table]
            cc = compile_chain(chain, self.space, self.compiler, lambda name: name in tbl.chains)
            self._compiled[key] = cc
        return cc

    def walk(self, hook: str, table: str, flows: list[Flow]) -> list[tuple[Flow, str]]:
        """Run `flows` through built-in chain `hook` of `table`. Returns (flow, verdict) with verdict
        ACCEPT (go on to the next table), DROP or REJECT."""
        chain = self.ruleset.chain(table, hook)
        if chain is None or not flows:
            return [(f, "ACCEPT") for f in flows]
        results: list[tuple[Flow, str]] = []
        root = _Frame(self.compiled(table, chain), list(flows), None, None, frozenset([chain.name]))
        stack = [root]

        def policy(frame: _Frame, f: Flow) -> None:
            c = frame.root.cc.chain
            pol = c.policy or "ACCEPT"
            line = c.span.line if c.span else None
            step = Step(hook, table, c.name, line, f":{c.name} {pol}", f"policy {pol}", "policy")
            results.append((f.then(step), pol))

        def give_back(frame: _Frame, flows_back: list) -> None:
            if frame.ret_to is None:
                for f in flows_back:
                    policy(frame, f)
            else:
                frame.ret_to.incoming.extend(flows_back)

        while stack:
            fr = stack[-1]
            if fr.incoming:
                back, fr.incoming = fr.incoming, []
                for f in back:
                    fr.enter(f, fr.pos)
            if not fr.order:  # no live flow meets another rule: the end of the chain
                stack.pop()
                if fr.done:
                    if fr is root:
                        for f in fr.done:
                            policy(fr, f)
                    else:
                        give_back(fr, fr.done)
                continue
            i = heappop(fr.order)
            fr.pos = i + 1
            self._apply(fr, i, fr.waiting.pop(i), hook, table, stack, results, policy, give_back)
        return results

    def _apply(
        self, fr: "_Frame", i: int, waiting: list, hook: str, table: str, stack: list, results: list, policy, give_back
    ) -> None:
        """Rule i of the frame's chain against the flows waiting at it ((flow, candidates, k))."""
        cc = fr.cc
        rule = cc.rule(i)
        rm = cc.match(i)
        eff = cc.effect(i)
        # A target that changes nothing (LOG, NFLOG, ...): whether an undecided match matches
        # cannot change the packet's fate, so it is not a source of uncertainty.
        no_op = eff.kind == "continue" and eff.transform is None and eff.uncertain is None
        decided = rm.exact or no_op
        why = "; ".join(rm.uncertain)
        u_match = None if decided else UncertainRule(rule.line, rule.text, why, "match")
        matched: list[Flow] = []
        for f, cands, k in waiting:
            # the parts that go on in this chain wait at their next candidate rule
            m, rest = split_boxes(f.boxes, rm.over)
            if not m:
                fr.wait(f, cands, k + 1)
                continue
            if rest:
                fr.wait(f.but(rest), cands, k + 1)
            if not decided:  # undecided: follow both branches, marked
                matched.append(f.but(m, (u_match,), branch="m"))
                fr.wait(f.but(m, (u_match,), branch="u"), cands, k + 1)
            elif rm.random and not no_op:  # statistic: both branches really happen
                matched.append(f.but(m, random=True, branch="m"))
                fr.wait(f.but(m, random=True, branch="u"), cands, k + 1)
            else:
                matched.append(f.but(m))
        if not matched:
            return
        note = None if rm.exact else "may or may not match: " + why
        effect_text = eff.text + (" (random branch)" if rm.random else "")
        step = Step(hook, table, cc.chain.name, rule.line, rule.text, effect_text, "rule", note)
        target_u = UncertainRule(rule.line, rule.text, eff.uncertain, "model") if eff.uncertain else None
        kind = eff.kind
        if kind == "fork":
            # decided outside iptables (NFQUEUE ...): both verdicts, each marked as undecided
            u = UncertainRule(rule.line, rule.text, eff.uncertain or f"{eff.name} decides outside iptables", "match")
            for f in matched:
                g = f.then(step, uncertain=u)
                results.append((g.but(g.boxes, branch="m"), "ACCEPT"))
                results.append((g.but(g.boxes, branch="u"), "DROP"))
            return
        moved = [f.then(step, uncertain=target_u) for f in matched]
        if kind == "verdict":
            results.extend((f, eff.name) for f in moved)
        elif kind == "return":
            give_back(fr, moved)  # to the caller, or the policy in a built-in chain
        elif kind in ("jump", "goto"):
            tbl = self.ruleset.tables[table]
            target = tbl.chains[eff.name]
            if eff.name in fr.path or len(stack) >= MAX_DEPTH:
                why_loop = f"jump loop into {eff.name}" if eff.name in fr.path else "jumps nested too deeply"
                u = UncertainRule(rule.line, rule.text, why_loop, "model")
                results.extend((f.but(f.boxes, (u,)), "DROP") for f in moved)
                return
            ret_to = fr if kind == "jump" else fr.ret_to
            stack.append(_Frame(self.compiled(table, target), moved, ret_to, fr.root, fr.path | {eff.name}))
        elif kind == "nat":
            for f in moved:
                boxes, lossy = self._transform(eff, f.boxes, hook)
                extra = (UncertainRule(rule.line, rule.text, lossy, "model"),) if lossy else ()
                if boxes:
                    results.append((f.but(boxes, extra), "ACCEPT"))
        else:  # continue
            for f in moved:
                if eff.transform is None:
                    fr.enter(f, i + 1)
                    continue
                boxes, lossy = self._transform(eff, f.boxes, hook)
                extra = (UncertainRule(rule.line, rule.text, lossy, "model"),) if lossy else ()
                if boxes:
                    fr.enter(f.but(boxes, extra), i + 1)

    @staticmethod
    def _transform(eff, boxes, hook):
        out = []
        why = None
        for b in boxes:
            nb, w = eff.transform(b, hook)
            out.extend(nb)
            why = why or w
        return out, why
