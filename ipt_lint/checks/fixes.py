"""Fixes: concrete iptables commands, tried on the model and checked with the engine before printing.

A finding's fix is only printed when the semantics engine confirms it: the commands are applied to
a copy of the ruleset (each rule text parsed like a dump line and inserted where iptables would put
it), a new engine answers the exposure question again, and the exposure must be gone with nothing
else changed. If that fails, the finding says "no verified fix" rather than print a wrong command.

Building a fix
--------------
    FixRule(table, chain, rule, position=1)   one `iptables [-t T] -I CHAIN N RULE` (position=None:
                                             `-A CHAIN RULE`); `rule` is everything after the
                                             chain name, in iptables-save syntax
    Fix(rules, family="ipv4", new_chains=(), scope=None, note="")
        .commands -> ("iptables -I DOCKER-USER 1 -p tcp ... -j DROP", ...)   in the order to run
        .text()   -> the commands, one per line (what Finding.fix carries; the note is for
                     the caller to print or not, as a `# ` line that command_argvs skips)
        scope: the outside packets the rules can affect, as engine.packets() field dicts
               ({"proto": "tcp", "dport": (5432, 5432)}, ...): verification then recomputes
               exposures for those packets only. None: every packet (slower, always correct).
               A scope must cover every packet, as it arrives, that the rules could match.
    Fix.from_commands(["iptables -I DOCKER-USER 1 ...", ...], scope=...)   the same from text

Applying and verifying
----------------------
    apply_fix(ruleset, fix) -> Ruleset       a new ruleset; unchanged chains and rules are shared.
                                             Raises FixError when a command would not load.
    Goal(targets, closed=None)               targets(exposure) -> bool: the exposures the fix is
                                             meant to change; closed(targets_after) -> bool
                                             gets those of them left after the fix
                                             (default: none remains); port_key=(proto, lo, hi)
                                             when targets only picks exposures on those ports
    fix_verifier(ctx) -> FixVerifier         cached per lint run; shares the run's engine facts
        .verify(fix, goal) -> Verification  (truthy when verified; .reason says why not)
        .verify_many([(fix, goal), ...])     one engine run for many fixes with disjoint scopes
        .verify_jointly(items)               that joint run alone (None when it cannot decide)
        .verify_with(fix, closed)            closed(engine_after) -> bool for problems that are
                                             not exposures; the scope's exposures must not move
        .know(exposures)                     hand over the run's full exposures (asked once)
    verify_fix(engine_factory, ruleset, fix, goal) -> Verification
                                             the same without a lint context;
                                             engine_factory(ruleset, interfaces) -> Engine
    fix_text(verification) -> str            the commands, or "no verified fix (<why>)"
    command_argvs(finding.fix) -> [argv...]   the printed commands as argv lists (no shell)

Helpers for the usual fixes
---------------------------
    forward_filter_chain(engine, runtime) -> (table, chain, position, why): where a runtime's
        forwarded traffic is best filtered (DOCKER-USER, CNI-ADMIN, FORWARD)
    conntrack_drop(proto, lo, hi, iface=None, negate_iface=False, dnat_only=False, dst=None,
                   orig_dst=None)
        -> rule text matching new connections by their original destination port (after DNAT
        the header shows the container's port; the conntrack original tuple still has the host
        port), in the original direction only, so replies to the containers' own connections
        are never dropped.

What verification covers: new connections from outside (engine.outside()); the commands only
ever add DROP or RETURN-style restrictions in the builders here, and keep replies working by
matching the original direction. Traffic between containers is not part of the question.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..model.types import BUILTIN_CHAINS, Chain, RuleModel, Ruleset, Table
from ..parse.ast import Span
from ..semantics.intervals import IntervalIndex

FIX_LINE_BASE = 1_000_000_000  # line numbers of inserted rules: past the end of any dump
NO_VERIFIED_FIX = "no verified fix"
PROGRAMS = {"ipv4": "iptables", "ipv6": "ip6tables"}
_PROGRAM_FAMILY = {
    "iptables": "ipv4",
    "iptables-nft": "ipv4",
    "iptables-legacy": "ipv4",
    "ip6tables": "ipv6",
    "ip6tables-nft": "ipv6",
    "ip6tables-legacy": "ipv6",
}


class FixError(ValueError):
    """A fix that cannot be applied: a bad command, a rule iptables would reject, a missing chain."""


# --------------------------------------------------------------------------------------------
# fixes


@dataclass(frozen=True)
class FixRule:
    table: str
    chain: str
    rule: str  # everything after the chain name, iptables-save syntax
    position: int | None = 1  # -I CHAIN position (1-based); None: -A CHAIN (append)

    def command(self, family: str = "ipv4") -> str:
        words = [PROGRAMS[family]]
        if self.table != "filter":
            words += ["-t", self.table]
        if self.position is None:
            words += ["-A", self.chain]
        else:
            words += ["-I", self.chain, str(self.position)]
        return " ".join(words) + (" " + self.rule if self.rule else "")


@dataclass(frozen=True)
class Fix:
    rules: tuple[FixRule, ...]
    family: str = "ipv4"
    new_chains: tuple[tuple[str, str], ...] = ()  # (table, chain) created first with -N
    scope: tuple[Mapping, ...] | None = None  # engine.packets() field dicts; None: everything
    note: str = ""

    @property
    def commands(self) -> tuple[str, ...]:
        prog = PROGRAMS[self.family]
        out = []
        for table, chain in self.new_chains:
            out.append(f"{prog}{'' if table == 'filter' else ' -t ' + table} -N {chain}")
        out += [r.command(self.family) for r in self.rules]
        return tuple(out)

    def text(self) -> str:
        """The commands, one per line (the note is for humans reading the code, not printed)."""
        return "\n".join(self.commands)

    @classmethod
    def from_commands(cls, commands: Iterable[str], *, scope=None, note: str = "") -> Fix:
        """Parse `iptables [-t TABLE] -I CHAIN [N] RULE` / `-A CHAIN RULE` / `-N CHAIN` lines."""
        rules: list[FixRule] = []
        chains: list[tuple[str, str]] = []
        family = None
        for cmd in commands:
            argv = parse_command(cmd)
            fam = _PROGRAM_FAMILY[argv[0]]
            if family is not None and fam != family:
                raise FixError("a fix is for one family: iptables and ip6tables commands are mixed")
            family = fam
            args = argv[1:]
            table = "filter"
            if len(args) >= 2 and args[0] in ("-t", "--table"):
                table, args = args[1], args[2:]
            if len(args) < 2:
                raise FixError(f"`{cmd}': expected -I CHAIN, -A CHAIN or -N CHAIN")
            op, chain, rest = args[0], args[1], args[2:]
            if op in ("-N", "--new-chain"):
                if rest:
                    raise FixError(f"`{cmd}': -N takes only a chain name")
                chains.append((table, chain))
                continue
            position: int | None
            if op in ("-I", "--insert"):
                position = 1
                if rest and rest[0].isdigit():
                    position, rest = int(rest[0]), rest[1:]
            elif op in ("-A", "--append"):
                position = None
            else:
                raise FixError(f"`{cmd}': only -I, -A and -N are used in fixes")
            rules.append(FixRule(table, chain, _join(rest), position))
        return cls(tuple(rules), family or "ipv4", tuple(chains), _freeze_scope(scope), note)


def parse_command(cmd: str) -> list[str]:
    """One fix command as an argv list (no shell involved). Raises FixError."""
    argv = _shell_words(cmd)
    if isinstance(argv, str):
        raise FixError(f"`{cmd}': {argv}")
    argv = list(argv)
    if not argv or argv[0] not in _PROGRAM_FAMILY:
        raise FixError(f"`{cmd}': not an iptables or ip6tables command")
    return argv


def command_argvs(fix_text_value: str) -> list[list[str]]:
    """The argv lists of a printed fix (Finding.fix): its command lines, notes skipped."""
    out = []
    for line in (fix_text_value or "").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", NO_VERIFIED_FIX)):
            continue
        out.append(parse_command(line))
    return out


def _join(words: Sequence[str]) -> str:
    out = []
    for w in words:
        if w == "" or any(c.isspace() or c in "\"'\\" for c in w):
            out.append('"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            out.append(w)
    return " ".join(out)


def _freeze_scope(scope):
    if scope is None:
        return None
    return tuple(dict(s) for s in scope)


# --------------------------------------------------------------------------------------------
# applying a fix to the model


def apply_fix(ruleset: Ruleset, fix: Fix) -> Ruleset:
    """The ruleset after running the fix's commands. Raises FixError."""
    return _apply(ruleset, fix)[0]


def _apply(ruleset: Ruleset, fix: Fix) -> tuple[Ruleset, dict[int, RuleModel]]:
    """(new ruleset, {id(old rule): new rule} for rules that moved in their chain)."""
    if fix.family != ruleset.family:
        raise FixError(f"the fix is for {fix.family} but the dump is {ruleset.family}")
    tables: dict[str, Table] = dict(ruleset.tables)
    copied: set[str] = set()
    moved: dict[int, RuleModel] = {}
    originals: set[int] = set()  # ids of the dump's own rules in the chains the fix changes
    line = FIX_LINE_BASE

    def table_of(name: str) -> Table:
        nonlocal line
        t = tables.get(name)
        if t is None:
            if name not in BUILTIN_CHAINS:
                raise FixError(f"unknown table `{name}'")
            line += 1
            span = Span(ruleset.file, line, 1)
            t = Table(name, span, {c: Chain(c, name, True, "ACCEPT", span) for c in BUILTIN_CHAINS[name]}, True)
            tables[name] = t
            copied.add(name)
            return t
        if name not in copied:
            t = Table(t.name, t.span, dict(t.chains), t.committed)
            tables[name] = t
            copied.add(name)
        return t

    for tname, cname in fix.new_chains:
        t = table_of(tname)
        if cname in t.chains:
            raise FixError(f"chain {cname} already exists in table {tname}")
        line += 1
        t.chains[cname] = Chain(cname, tname, False, None, Span(ruleset.file, line, 1))
    changed: dict[tuple[str, str], Chain] = {}
    parsed = _rule_models(ruleset.family, tables, fix.rules) if len(fix.rules) > 1 else None
    for k, fr in enumerate(fix.rules):
        t = table_of(fr.table)
        old = t.chains.get(fr.chain)
        if old is None:
            raise FixError(f"no chain {fr.chain} in table {fr.table}")
        chain = changed.get((fr.table, fr.chain))
        if chain is None:
            chain = Chain(old.name, old.table, old.builtin, old.policy, old.span, old.counters, list(old.rules))
            changed[(fr.table, fr.chain)] = chain
            t.chains[fr.chain] = chain
            originals.update(id(r) for r in old.rules)
        n = len(chain.rules)
        pos = n if fr.position is None else fr.position - 1
        if not 0 <= pos <= n:
            raise FixError(f"-I {fr.chain} {fr.position}: the chain has {n} rule(s) (index of insertion too big)")
        line += 1
        if parsed is None:
            model = _rule_model(ruleset.family, t.chains, fr)
        else:
            model = parsed[k]
        chain.rules.insert(pos, replace(model, span=Span(ruleset.file, line, 1)))
    # positions are settled once all commands ran (a rule's index is its place in the chain)
    for chain in changed.values():
        for i, r in enumerate(chain.rules):
            if r.index != i:
                nr = replace(r, index=i)
                chain.rules[i] = nr
                if id(r) in originals:  # its producer is looked up by identity: say where it went
                    moved[id(r)] = nr
    return Ruleset(ruleset.file, ruleset.family, tables), moved


def _declarations(chains: Mapping[str, Chain], fr: FixRule) -> list[str] | str:
    """The chain declarations a one-rule dump of `fr` needs: its chain and the chains of the
    table it jumps to (or why its words cannot be split)."""
    chain = chains[fr.chain]
    decls = [f":{fr.chain} {'ACCEPT' if chain.builtin else '-'} [0:0]"]
    words = _shell_words(fr.rule)
    if isinstance(words, str):
        return words
    for i, w in enumerate(words[:-1]):
        if w in ("-j", "--jump", "-g", "--goto"):
            target = words[i + 1]
            if target in chains and target != fr.chain:
                decls.append(f":{target} {'ACCEPT' if chains[target].builtin else '-'} [0:0]")
    return decls


def _rule_model(family: str, chains: Mapping[str, Chain], fr: FixRule) -> RuleModel:
    """Parse one rule as a dump line would be parsed, in a one-rule dump of its table (the
    caller gives the rule its place and line)."""
    from ..model.build import build_model
    from ..parse import parse_text

    decls = _declarations(chains, fr)
    if isinstance(decls, str):
        raise FixError(f"`{fr.rule}': {decls}")
    text = f"*{fr.table}\n" + "\n".join(decls) + f"\n-A {fr.chain} {fr.rule}\nCOMMIT\n"
    parsed = parse_text(text, "<fix>", family)
    model, problems = build_model(parsed)
    diags = list(parsed.diagnostics) + list(problems)
    if diags:
        d = diags[0]
        raise FixError(f"`-A {fr.chain} {fr.rule}' would not load: {d.code} {d.message}")
    rules = model.tables[fr.table].chains[fr.chain].rules
    if len(rules) != 1:
        raise FixError(f"`{fr.rule}' is not one rule")
    return rules[0]


def _rule_models(family: str, tables: Mapping[str, Table], rules: Sequence[FixRule]) -> list[RuleModel] | None:
    """_rule_model() of every rule from one parse of one dump that holds them all (a thousand
    fixes verified together would otherwise parse a thousand small dumps). None when that dump
    has any problem, or does not give each rule back: each rule is then parsed on its own, as
    before, and the one that does not load is named."""
    from ..model.build import build_model
    from ..parse import parse_text

    by_table: dict[str, tuple[dict[str, None], list[tuple[int, FixRule]]]] = {}
    for k, fr in enumerate(rules):
        t = tables.get(fr.table)
        if t is not None:
            chains = t.chains
        elif fr.table in BUILTIN_CHAINS:
            chains = {c: Chain(c, fr.table, True, "ACCEPT", None) for c in BUILTIN_CHAINS[fr.table]}
        else:
            return None
        if fr.chain not in chains:
            return None
        decls = _declarations(chains, fr)
        if isinstance(decls, str):
            return None
        got = by_table.setdefault(fr.table, ({}, []))
        got[0].update(dict.fromkeys(decls))
        got[1].append((k, fr))
    lines: list[str] = []
    at: dict[int, int] = {}  # line number in the dump -> index of the fix rule
    for table, (decls, members) in by_table.items():
        lines.append(f"*{table}")
        lines.extend(decls)
        for k, fr in members:
            lines.append(f"-A {fr.chain} {fr.rule}")
            at[len(lines)] = k
        lines.append("COMMIT")
    parsed = parse_text("\n".join(lines) + "\n", "<fix>", family)
    model, problems = build_model(parsed)
    if parsed.diagnostics or problems:
        return None
    out: list[RuleModel | None] = [None] * len(rules)
    for t in model.tables.values():
        for c in t.chains.values():
            for r in c.rules:
                k = at.get(r.line)
                if k is None or out[k] is not None:
                    return None
                out[k] = r
    if any(r is None for r in out):
        return None
    return out  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# exposures, compared


def exposure_key(e) -> tuple:
    """What an exposure is, without line numbers or the witness (they differ between rulesets)."""
    return (
        e.kind,
        e.proto,
        e.port,
        e.port_end,
        e.destination,
        tuple(e.host_addresses),
        tuple(e.sources.as_list()),
        tuple(e.interfaces.as_list()),
        tuple(e.interfaces.excluded),
        tuple(json.dumps(a.to_json(), sort_keys=True) for a in e.access),
        e.runtime,
        e.certain,
    )


def describe_exposure(e) -> str:
    where = e.destination
    return f"{e.kind} {e.proto}/{e.port_text()} -> {where}"


def scope_set(engine, scope):
    """The fix's scope as a PacketSet of `engine`'s space (None stays None)."""
    if scope is None:
        return None
    out = None
    for fields in scope:
        s = engine.packets(**dict(fields))
        out = s if out is None else (out | s)
    return out if out is not None else engine.packets(proto=[])


def scoped_exposures(engine, scope, interfaces: tuple[str, ...] = ()):
    """engine.exposures(interfaces), for the outside packets inside `scope` (a PacketSet) only.

    exposures() starts from engine.outside(); a shallow copy of the engine whose outside() is
    cut down to the scope answers the same question for fewer packets (everything compiled so
    far is shared)."""
    if scope is None:
        return engine.exposures(tuple(interfaces))
    proxy = copy.copy(engine)
    base = engine.outside

    def outside(interfaces=()):
        return base(interfaces) & scope

    proxy.outside = outside
    return proxy.exposures(tuple(interfaces))


# --------------------------------------------------------------------------------------------
# goals and verification


@dataclass(frozen=True)
class Goal:
    """What a fix must do. `targets` picks the exposures it is meant to change (shrink or close);
    every other exposure must stay exactly as it is, and none may appear. `closed` decides
    whether the problem is gone, from the exposures after the fix (default: no target left)."""

    targets: Callable
    closed: Callable | None = None  # closed(targets left after the fix) -> bool
    description: str = ""
    # (proto, lo, hi) when `targets` only picks exposures of that protocol whose ports meet
    # lo..hi: lets judge() look up the goals of an exposure instead of asking every goal
    port_key: tuple[str, int, int] | None = None
    # the networks (CIDR texts) when `targets` only picks exposures whose destination meets one
    dst_key: tuple[str, ...] | None = None

    def is_closed(self, after) -> bool:
        if self.closed is not None:
            return bool(self.closed(after))
        return not any(self.targets(e) for e in after)


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str = ""
    fix: Fix | None = None

    def __bool__(self) -> bool:
        return self.ok


class GoalLookup:
    """Which goals target an exposure: goals with a port_key are found by protocol and port,
    goals with a dst_key by address, the others are asked every time. Thousands of fixes
    verified together would otherwise ask every goal about every exposure."""

    def __init__(self, goals: Sequence[Goal]):
        self.goals = goals
        self.loose = [i for i, g in enumerate(goals) if g.port_key is None and g.dst_key is None]
        by_proto: dict[str, list] = {}
        by_version: dict[int, list] = {}
        for i, g in enumerate(goals):
            if g.port_key is not None:
                proto, lo, hi = g.port_key
                by_proto.setdefault(proto, []).append((lo, hi, i))
            elif g.dst_key is not None:
                for span in filter(None, map(net_span, g.dst_key)):
                    version, lo, hi = span
                    by_version.setdefault(version, []).append((lo, hi, i))
        self.by_proto = {p: IntervalIndex(e, wide=PORTS_WIDE) for p, e in by_proto.items()}
        self.by_version = {v: IntervalIndex(e) for v, e in by_version.items()}

    def __call__(self, e) -> list[int]:
        """The indices (in order) of the goals whose targets() picks `e`."""
        near: set[int] = set(self.loose)
        index = self.by_proto.get(e.proto)
        if index is not None and e.port is not None:
            index.hits(((e.port, e.port_end if e.port_end is not None else e.port),), near)
        if self.by_version:
            for span in filter(None, dest_spans(e.destination)):
                index = self.by_version.get(span[0])
                if index is not None:
                    index.hits((span[1:],), near)
        return [i for i in sorted(near) if self.goals[i].targets(e)]

    def sort_out(self, exposures) -> tuple[list[list], list]:
        """(for each goal the exposures it targets, the exposures no goal targets)."""
        per_goal: list[list] = [[] for _ in self.goals]
        others = []
        for e in exposures:
            mine = self(e)
            for i in mine:
                per_goal[i].append(e)
            if not mine:
                others.append(e)
        return per_goal, others


PORTS_WIDE = 1024  # port ranges wider than this are kept apart in an IntervalIndex


@functools.lru_cache(maxsize=65536)
def net_span(text: str):
    """(IP version, first, last address) of a network or address text; None if it is neither."""
    try:
        n = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return (n.version, int(n.network_address), int(n.broadcast_address))


@functools.lru_cache(maxsize=4096)
def dest_spans(dest: str) -> tuple:
    """net_span() of each part of an exposure's destination text (comma-separated)."""
    return tuple(net_span(d.split(":")[0] if d.count(":") == 1 else d) for d in dest.split(","))


def judge(before, after, goals: Sequence[Goal]) -> list[Verification]:
    """Compare the exposures before and after a fix (or several fixes with disjoint scopes).
    Each goal's `closed` is given the exposures after the fix that its `targets` picks."""
    goals_of = GoalLookup(goals)
    before_keys = Counter(exposure_key(e) for e in before)
    after_keys = Counter(exposure_key(e) for e in after)
    before_of, before_others = goals_of.sort_out(before)
    after_of, after_others = goals_of.sort_out(after)
    common = [f"it would also change {describe_exposure(e)}" for e in before_others if not after_keys[exposure_key(e)]]
    common += [f"it would open {describe_exposure(e)}" for e in after_others if not before_keys[exposure_key(e)]]
    out = []
    for i, g in enumerate(goals):
        if not before_of[i]:
            out.append(Verification(False, "the engine does not see the exposure inside the fix's scope"))
        elif common:
            out.append(Verification(False, common[0]))
        elif not g.is_closed(after_of[i]):
            left = [describe_exposure(e) for e in after_of[i]]
            out.append(Verification(False, "the exposure stays open" + (f" ({left[0]})" if left else "")))
        else:
            out.append(Verification(True))
    return out


@functools.lru_cache(maxsize=65536)
def _shell_words(text: str) -> tuple[str, ...] | str:
    """A fix command's or rule's words as the shell splits them, or the reason it cannot (shlex
    is slow, and verifying a thousand fixes asks for each rule's words several times)."""
    if text.isprintable() and not any(c in text for c in "\"'\\"):
        # no quote, no escape and no blank but the space: shlex would split at spaces alone
        return tuple(w for w in text.split(" ") if w)
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        return str(exc)


def fix_interface_names(fix: Fix) -> tuple[str, ...]:
    """Interface names the fix's rules mention (-i/-o), so engines before and after tell them apart."""
    names = []
    for r in fix.rules:
        words = _shell_words(r.rule)
        if isinstance(words, str):
            continue
        for i, w in enumerate(words[:-1]):
            if w in ("-i", "-o", "--in-interface", "--out-interface"):
                n = words[i + 1]
                if not n.endswith("+"):
                    names.append(n)
    return tuple(dict.fromkeys(names))


class FixVerifier:
    """Verifies fixes against one dump, sharing the lint run's engine facts (topology, platform
    recognition, ipsets): a fix changes rules, not the machine."""

    def __init__(self, engine, *, interfaces: tuple[str, ...] = (), individual_budget: int = 40):
        self.base = engine
        self.interfaces = tuple(interfaces)  # --external: the question's arrival interfaces
        self.individual_budget = individual_budget
        self._old_engines: dict[tuple, object] = {}
        self._before: dict[tuple, list] = {}
        self.too_big: str | None = None  # why fixes are not verified at all in this dump

    def _refused(self, fix: Fix | None) -> Verification | None:
        return Verification(False, self.too_big, fix) if self.too_big else None

    # -- engines --

    def _names(self, fixes: Sequence[Fix]) -> tuple[str, ...]:
        names = list(self.interfaces)
        for f in fixes:
            names += fix_interface_names(f)
        return tuple(sorted(set(names)))

    def _same_alphabet(self, names) -> bool:
        alpha = self.base.space.alphabet
        return all(n in alpha.names for n in names)

    def _engine(self, ruleset, recognition, names):
        from ..semantics import Engine

        if self._same_alphabet(names):
            e = Engine(ruleset, self.base.topology, recognition=recognition, ipsets=self.base.ipsets,
                       _alphabet=self.base.space.alphabet)
            self._share(e)
            return e
        return Engine(ruleset, self.base.topology, recognition=recognition, ipsets=self.base.ipsets, interfaces=names)

    def _share(self, e) -> None:
        """Reuse what the base engine compiled for rules and chains the fix did not touch (same
        packet space, same rule objects), as Engine.with_local does: a fix changes one or two
        chains of a dump that may have 100k rules. Only an optimisation: skipped if the engine's
        internals differ."""
        try:
            base = self.base
            e.compiler.cache.update(base.compiler.cache)
            same_chains: dict[str, bool] = {}  # jump targets resolve against the table's chains
            for name, t_new in e.ruleset.tables.items():
                t_old = base.ruleset.tables.get(name)
                same_chains[name] = t_old is not None and (
                    t_new is t_old or (len(t_new.chains) == len(t_old.chains) and t_new.chains.keys() == t_old.chains.keys())
                )
            for (table, name), cc in base.walker._compiled.items():
                if not same_chains.get(table):
                    continue
                if e.ruleset.tables[table].chains.get(name) is not base.ruleset.tables[table].chains.get(name):
                    continue
                e.walker._compiled[(table, name)] = cc
            e.walker.hook_memo = base.walker.hook_memo  # same space and topology: keyed by chains
        except AttributeError:
            pass

    def _old(self, names):
        if self._same_alphabet(names):
            return self.base
        e = self._old_engines.get(names)
        if e is None:
            e = self._engine(self.base.ruleset, self.base.recognition, names)
            self._old_engines[names] = e
        return e

    def _new(self, ruleset, moved, names):
        from ..platforms import Recognition

        rec = self.base.recognition
        owners = rec.rule_owner
        if moved:
            owners = dict(owners)
            for old_id, new in moved.items():
                who = rec.rule_owner.get(old_id)
                if who is not None:
                    owners[id(new)] = who
        new_rec = Recognition(rec.platforms, dict(rec.chain_owner), owners, dict(rec.bridges))
        return self._engine(ruleset, new_rec, names)

    def know(self, exposures, interfaces: tuple[str, ...] | None = None) -> None:
        """Hand over exposures already computed with the base engine for every outside packet
        (the lint run's own exposure question), so verification does not ask it again."""
        names = self._names([])
        if interfaces is None or tuple(interfaces) == self.interfaces:
            self._before[(names, _scope_key(None))] = list(exposures)
        if len(exposures) > MAX_EXPOSURES_TO_VERIFY:
            # every check of a fix walks the dump again for packets that reach this many places
            self.too_big = (f"not verified: {len(exposures):,} exposures are more than ipt-lint checks a fix "
                            f"against ({MAX_EXPOSURES_TO_VERIFY:,})")

    def _before_for(self, names, scope):
        key = (names, _scope_key(scope))
        got = self._before.get(key)
        if got is None:
            old = self._old(names)
            got = scoped_exposures(old, scope_set(old, scope), self.interfaces)
            self._before[key] = got
        return got

    # -- verification --

    def _applied(self, fix: Fix):
        """(ruleset, moved rules, interface names) with `fix` applied, or the Verification that
        refuses it (too big a dump, or a fix that does not load)."""
        if self.too_big:
            return self._refused(fix)
        try:
            ruleset, moved = _apply(self.base.ruleset, fix)
        except FixError as exc:
            return Verification(False, f"the fix does not load: {exc}", fix)
        return ruleset, moved, self._names([fix])

    def verify(self, fix: Fix, goal: Goal) -> Verification:
        applied = self._applied(fix)
        if isinstance(applied, Verification):
            return applied
        ruleset, moved, names = applied
        try:
            before = self._before_for(names, fix.scope)
            new = self._new(ruleset, moved, names)
            after = scoped_exposures(new, scope_set(new, fix.scope), self.interfaces)
        except Exception as exc:  # noqa: BLE001 - the engine could not answer: never print an unchecked fix
            return Verification(False, f"the engine could not check it ({type(exc).__name__}: {exc})", fix)
        v = judge(before, after, [goal])[0]
        return replace(v, fix=fix)

    def verify_with(self, fix: Fix, closed: Callable, why_open: str = "the exposure stays open") -> Verification:
        """For problems the exposure question does not show (kube-proxy's route_localnet, the
        service network): `closed(engine_after)` decides whether the fix works; the exposures
        inside the fix's scope must stay exactly as they were."""
        applied = self._applied(fix)
        if isinstance(applied, Verification):
            return applied
        ruleset, moved, names = applied
        try:
            new = self._new(ruleset, moved, names)
            if not closed(new):
                return Verification(False, why_open, fix)
            before = self._before_for(names, fix.scope)
            after = scoped_exposures(new, scope_set(new, fix.scope), self.interfaces)
        except Exception as exc:  # noqa: BLE001 - the engine could not answer: never print an unchecked fix
            return Verification(False, f"the engine could not check it ({type(exc).__name__}: {exc})", fix)
        if sorted(map(exposure_key, before)) != sorted(map(exposure_key, after)):
            return Verification(False, "it would change other exposures", fix)
        return Verification(True, "", fix)

    def first_verified(self, candidates: Iterable[tuple[Fix, Goal]]) -> Verification:
        """The first candidate that verifies; else the first candidate's failure."""
        first = None
        for fix, goal in candidates:
            v = self.verify(fix, goal)
            if v:
                return v
            first = first or v
        return first or Verification(False, "no candidate fix")

    def verify_many(self, items: Sequence[tuple[Fix, Goal]]) -> list[Verification]:
        """Verify many fixes. When their scopes are pairwise disjoint, one engine run with all of
        them applied decides for each (a rule only changes what happens to the packets it
        matches, and each fix's rules match only its own scope); otherwise, or when that joint
        run finds a problem, each fix is verified on its own (at most `individual_budget`)."""
        items = list(items)
        if not items:
            return []
        results: list[Verification | None] = [None] * len(items)
        if len(items) > 1 and all(f.scope is not None for f, _ in items) and len({f.family for f, _ in items}) == 1:
            joint = self.verify_jointly(items)
            if joint is not None:
                return joint
        budget = self.individual_budget
        for i, (fix, goal) in enumerate(items):
            if budget <= 0:
                results[i] = Verification(False, "too many fixes to verify one by one in this run", fix)
                continue
            budget -= 1
            results[i] = self.verify(fix, goal)
        return results  # type: ignore[return-value]

    def verify_jointly(self, items: Sequence[tuple[Fix, Goal]]) -> list[Verification] | None:
        """All fixes applied at once, one engine run; None when their scopes overlap or the
        joint run finds any problem (then verify them one by one)."""
        if self.too_big:
            return [self._refused(f) for f, _ in items]
        fixes = [f for f, _ in items]
        names = self._names(fixes)
        old = self._old(names)
        if not _disjoint(old, fixes):
            return None
        rules = tuple(r for f in fixes for r in f.rules)
        chains = tuple(c for f in fixes for c in f.new_chains)
        scope = tuple(s for f in fixes for s in f.scope)
        if len(scope) > JOINT_SCOPE_LIMIT:
            scope = None  # hundreds of small boxes cost the walk more than every packet at once
        combined = Fix(rules, fixes[0].family, chains, scope)
        try:
            ruleset, moved = _apply(self.base.ruleset, combined)
            before = self._before_for(names, combined.scope)
            new = self._new(ruleset, moved, names)
            after = scoped_exposures(new, scope_set(new, combined.scope), self.interfaces)
        except Exception:  # noqa: BLE001 - undecided jointly: each fix is then verified on its own
            return None
        verdicts = judge(before, after, [g for _, g in items])
        if not all(verdicts):
            return None
        return [replace(v, fix=f) for v, f in zip(verdicts, fixes)]


def _scope_key(scope) -> str:
    if scope is None:
        return "*"
    return json.dumps([sorted((k, _jsonable(v)) for k, v in d.items()) for d in scope], sort_keys=True)


def _jsonable(v):
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


JOINT_SCOPE_LIMIT = 32
# a dump whose outside packets reach more places than this gets its findings without verified
# fixes: each verification walks the whole dump again (10^5 published ports: minutes a run)
MAX_EXPOSURES_TO_VERIFY = 50_000


def _disjoint(engine, fixes) -> bool:
    """Are the fixes' scopes pairwise disjoint? Scopes of one protocol and a port range (what the
    EXP fixes use) are sorted and compared with their neighbours; anything else pair by pair."""
    simple: dict[str, list] = {}
    other = []
    for i, f in enumerate(fixes):
        for d in f.scope:
            port = d.get("dport")
            if set(d) <= {"proto", "dport", "dst"} and isinstance(d.get("proto"), str) and isinstance(port, tuple):
                simple.setdefault(d["proto"], []).append((port[0], port[1], i, d))
            else:
                other.append((i, d))
    sets: dict[int, object] = {}  # id(scope dict) -> its PacketSet, built once

    def meet(d, dj) -> bool:
        if _dst_apart(d, dj):
            return False
        for x in (d, dj):
            if id(x) not in sets:
                sets[id(x)] = engine.packets(**x)
        return sets[id(d)].intersects(sets[id(dj)])

    for items in simple.values():
        items.sort(key=lambda x: x[:3])  # never compare the scopes themselves (dicts)
        reach = []  # (hi, i, d) of earlier ranges that may still overlap
        for lo, hi, i, d in items:
            reach = [x for x in reach if x[0] >= lo]
            for _hi, j, dj in reach:
                if j != i and meet(d, dj):
                    return False
            reach.append((hi, i, d))
    for k, (i, d) in enumerate(other):
        for j, dj in other[k + 1 :]:
            if i != j and meet(d, dj):
                return False
        for items in simple.values():
            for _lo, _hi, j, dj in items:
                if i != j and meet(d, dj):
                    return False
    return True


def _dst_apart(a: Mapping, b: Mapping) -> bool:
    """Do two scopes name destination networks that share no address? (Many fixes of one port
    differ only in the address: a kube-proxy dump's load-balancer IPs.) False when unsure."""
    da, db = a.get("dst"), b.get("dst")
    if not (isinstance(da, str) and isinstance(db, str)):
        return False
    sa, sb = net_span(da), net_span(db)
    return sa is not None and sb is not None and sa[0] == sb[0] and (sa[2] < sb[1] or sb[2] < sa[1])


def verify_fix(engine_factory, ruleset: Ruleset, fix: Fix, goal: Goal, *, interfaces=()) -> Verification:
    """Verify a fix without a lint context: engine_factory(ruleset, interfaces) -> Engine builds
    the engines before and after (interfaces: names both must tell apart)."""
    try:
        new_rs = apply_fix(ruleset, fix)
    except FixError as exc:
        return Verification(False, f"the fix does not load: {exc}", fix)
    names = tuple(sorted(set(interfaces) | set(fix_interface_names(fix))))
    old_e = engine_factory(ruleset, names)
    new_e = engine_factory(new_rs, names)
    before = scoped_exposures(old_e, scope_set(old_e, fix.scope), tuple(interfaces))
    after = scoped_exposures(new_e, scope_set(new_e, fix.scope), tuple(interfaces))
    return replace(judge(before, after, [goal])[0], fix=fix)


def fix_verifier(ctx) -> FixVerifier:
    """The lint run's verifier (one per dump; built on first use)."""
    v = ctx.__dict__.get("_ipt_fix_verifier")
    if v is None:
        v = FixVerifier(ctx.engine, interfaces=tuple(ctx.options.external_interfaces or ()))
        ctx.__dict__["_ipt_fix_verifier"] = v
    return v


def fix_text(verification: Verification | None, *, fallback: str = "") -> str:
    """What a finding prints as its fix: the verified commands, one per line, or
    `no verified fix (<why>); <fallback advice>`."""
    if verification is not None and verification.ok and verification.fix is not None:
        return verification.fix.text()
    why = verification.reason if verification is not None else "no fix could be built"
    text = f"{NO_VERIFIED_FIX} ({why})"
    return text + (f"; {fallback}" if fallback else "")


# --------------------------------------------------------------------------------------------
# building the usual fixes


def forward_filter_chain(engine, runtime: str) -> tuple[str, str, int | None, str]:
    """(table, chain, position, why): where to filter forwarded traffic of `runtime`.

    docker: DOCKER-USER (position 1: above its `-j RETURN` and Docker never flushes it) when
    FORWARD jumps to it; cni: CNI-ADMIN, the firewall plugin's chain for the admin's own rules;
    anything else (podman/netavark, kube-proxy, hand-written): FORWARD position 1."""
    rs = engine.ruleset
    filt = rs.tables.get("filter")
    chains = filt.chains if filt else {}

    def jumped_from_forward(name: str) -> bool:
        seen, stack = set(), ["FORWARD"]
        while stack:
            c = chains.get(stack.pop())
            if c is None or c.name in seen:
                continue
            seen.add(c.name)
            for r in c.rules:
                t = r.target
                if t is not None and t.kind in ("jump", "goto"):
                    if t.name == name:
                        return True
                    stack.append(t.name)
        return False

    if runtime == "docker" and "DOCKER-USER" in chains and jumped_from_forward("DOCKER-USER"):
        return "filter", "DOCKER-USER", 1, "DOCKER-USER is where Docker expects your rules; it never flushes it"
    if runtime == "cni" and "CNI-ADMIN" in chains and jumped_from_forward("CNI-ADMIN"):
        return "filter", "CNI-ADMIN", 1, "CNI-ADMIN is the CNI firewall plugin's chain for the admin's own rules"
    return "filter", "FORWARD", 1, "at the top of FORWARD, before the runtime's own accept rules"


def conntrack_drop(
    proto: str,
    lo: int,
    hi: int | None = None,
    *,
    iface: str | None = None,
    negate_iface: bool = False,
    dnat_only: bool = False,
    dst: str | None = None,
    orig_dst: str | None = None,
    target: str = "DROP",
) -> str:
    """`[-d DST] [[!] -i IFACE] -p PROTO -m conntrack [--ctstate DNAT] [--ctorigdst A]
    --ctorigdstport P --ctdir ORIGINAL -j DROP`: new connections by the address and port they
    were sent to (before DNAT)."""
    hi = lo if hi is None else hi
    words = []
    if dst:
        words += ["-d", dst]
    if iface:
        words += (["!"] if negate_iface else []) + ["-i", iface]
    words += ["-p", proto, "-m", "conntrack"]
    if dnat_only:
        words += ["--ctstate", "DNAT"]
    if orig_dst:
        words += ["--ctorigdst", orig_dst]
    words += ["--ctorigdstport", str(lo) if lo == hi else f"{lo}:{hi}", "--ctdir", "ORIGINAL", "-j", target]
    return " ".join(words)


__all__ = [
    "FIX_LINE_BASE",
    "NO_VERIFIED_FIX",
    "Fix",
    "FixError",
    "FixRule",
    "FixVerifier",
    "Goal",
    "Verification",
    "apply_fix",
    "command_argvs",
    "conntrack_drop",
    "describe_exposure",
    "exposure_key",
    "fix_interface_names",
    "fix_text",
    "fix_verifier",
    "forward_filter_chain",
    "judge",
    "parse_command",
    "scope_set",
    "scoped_exposures",
    "verify_fix",
]
