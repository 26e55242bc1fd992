"""The rule model: tables, chains and rules with typed matches and targets.

Built from the syntax tree by `ipt_lint.model.build`. Everything later (semantics, checks, reports)
reads this, never the text. Values are typed (addresses as (value, mask) integers, ports as
ranges, interfaces with their `+` wildcard) and negation is kept next to every value.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..frozen import slot_setters

from ..parse.ast import Counters, Rule, Span

BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
TABLE_ORDER = ("raw", "mangle", "nat", "filter", "security")  # netfilter priority order per hook
VERDICTS = frozenset({"ACCEPT", "DROP", "RETURN", "QUEUE"})


@dataclass(frozen=True, slots=True)
class Net:
    """An address with a (possibly non-contiguous) mask, as integers. `bits` is 32 or 128."""

    value: int
    mask: int
    bits: int

    @property
    def family(self) -> str:
        return "ipv6" if self.bits == 128 else "ipv4"

    def contains_int(self, addr: int) -> bool:
        return addr & self.mask == self.value

    @property
    def prefixlen(self) -> int | None:
        """The prefix length when the mask is contiguous, else None."""
        inv = (~self.mask) & ((1 << self.bits) - 1)
        if inv & (inv + 1):
            return None
        return self.bits - inv.bit_length()

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        p = self.prefixlen
        if p is None:
            return None
        return ipaddress.ip_network((self.value, p))

    def __str__(self) -> str:
        addr = ipaddress.ip_address(self.value) if self.bits == 32 else ipaddress.IPv6Address(self.value)
        p = self.prefixlen
        if p is not None:
            return f"{addr}/{p}"
        return f"{addr}/{ipaddress.ip_address(self.mask) if self.bits == 32 else ipaddress.IPv6Address(self.mask)}"


@dataclass(frozen=True, slots=True)
class AddrMatch:
    """`[!] -s a[,b...]`: any of the networks (iptables expands a list into several rules)."""

    negated: bool
    nets: tuple[Net, ...]

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, negated, nets):
        _addr_match_negated(self, negated)
        _addr_match_nets(self, nets)


(_addr_match_negated, _addr_match_nets) = slot_setters(AddrMatch)


@dataclass(frozen=True, slots=True)
class Iface:
    """An interface name; `eth+` is a wildcard on the prefix `eth` (`+` alone matches any)."""

    name: str
    wildcard: bool

    def matches(self, iface: str) -> bool:
        return iface.startswith(self.name) if self.wildcard else iface == self.name

    def __str__(self) -> str:
        return self.name + ("+" if self.wildcard else "")


@dataclass(frozen=True, slots=True)
class IfaceMatch:
    negated: bool
    iface: Iface

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, negated, iface):
        _iface_match_negated(self, negated)
        _iface_match_iface(self, iface)


(_iface_match_negated, _iface_match_iface) = slot_setters(IfaceMatch)


@dataclass(frozen=True, slots=True)
class ProtoMatch:
    negated: bool
    number: int  # 0 means all
    name: str

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, negated, number, name):
        _proto_match_negated(self, negated)
        _proto_match_number(self, number)
        _proto_match_name(self, name)


(_proto_match_negated, _proto_match_number, _proto_match_name) = slot_setters(ProtoMatch)


@dataclass(frozen=True, slots=True)
class OptionValue:
    """One option of a match or target: negation, the values as written, and the typed value.
    Where it was written is the syntax tree's business (RuleModel.ast)."""

    name: str
    negated: bool
    raw: tuple[str, ...]
    value: object = None  # typed by ipt_lint.model.values (ranges, marks, sets ...); None if opaque

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, name, negated, raw, value=None):
        _option_value_name(self, name)
        _option_value_negated(self, negated)
        _option_value_raw(self, raw)
        _option_value_value(self, value)


(_option_value_name, _option_value_negated, _option_value_raw, _option_value_value) = slot_setters(OptionValue)


@dataclass(frozen=True, slots=True)
class MatchModel:
    """One match: what it says, not where (RuleModel.ast has the positions). Equal matches of a
    dump are one shared object (the options dict is never changed after building)."""

    module: str
    options: dict[str, OptionValue]
    known: bool = True
    implicit: bool = False

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, module, options, known=True, implicit=False):
        _match_model_module(self, module)
        _match_model_options(self, options)
        _match_model_known(self, known)
        _match_model_implicit(self, implicit)

    def get(self, name: str) -> OptionValue | None:
        return self.options.get(name)


(_match_model_module, _match_model_options, _match_model_known, _match_model_implicit) = slot_setters(MatchModel)


@dataclass(frozen=True, slots=True)
class TargetModel:
    """What a rule does. `kind`: verdict (ACCEPT/DROP/RETURN/QUEUE), jump, goto, extension (DNAT,
    MARK, LOG, ...). `name` is the chain or extension name."""

    name: str
    kind: str
    options: dict[str, OptionValue]  # {} for a verdict, jump or goto
    span: Span | None = None

    # stores through the slots (ipt_lint.frozen): one of these per rule of a dump
    def __init__(self, name, kind, options, span=None):
        _target_model_name(self, name)
        _target_model_kind(self, kind)
        _target_model_options(self, options)
        _target_model_span(self, span)

    def get(self, name: str) -> OptionValue | None:
        return self.options.get(name)


(_target_model_name, _target_model_kind, _target_model_options, _target_model_span) = slot_setters(TargetModel)


@dataclass(frozen=True, slots=True)
class RuleModel:
    table: str
    chain: str
    index: int  # position in its chain, from 0
    span: Span
    src: AddrMatch | None
    dst: AddrMatch | None
    in_iface: IfaceMatch | None
    out_iface: IfaceMatch | None
    proto: ProtoMatch | None
    fragment: bool | None  # True for -f, False for ! -f, None when absent
    matches: tuple[MatchModel, ...]
    target: TargetModel | None
    ast: Rule
    counters: Counters | None = None
    invalid: bool = False  # a value iptables rejects (IPT105): what it would match is unknown

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(
        self, table, chain, index, span, src, dst, in_iface, out_iface, proto, fragment, matches, target, ast, counters=None, invalid=False
    ):
        _rule_model_table(self, table)
        _rule_model_chain(self, chain)
        _rule_model_index(self, index)
        _rule_model_span(self, span)
        _rule_model_src(self, src)
        _rule_model_dst(self, dst)
        _rule_model_in_iface(self, in_iface)
        _rule_model_out_iface(self, out_iface)
        _rule_model_proto(self, proto)
        _rule_model_fragment(self, fragment)
        _rule_model_matches(self, matches)
        _rule_model_target(self, target)
        _rule_model_ast(self, ast)
        _rule_model_counters(self, counters)
        _rule_model_invalid(self, invalid)

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def text(self) -> str:
        return self.ast.text

    def match(self, module: str) -> MatchModel | None:
        for m in self.matches:
            if m.module == module:
                return m
        return None

    @property
    def unconditional(self) -> bool:
        """True when the rule matches every packet: no addresses, interfaces, protocol, fragment
        flag, and no matches other than comments."""
        return (
            not self.invalid
            and self.src is None
            and self.dst is None
            and self.in_iface is None
            and self.out_iface is None
            and (self.proto is None or (self.proto.number == 0 and not self.proto.negated))
            and self.fragment is None
            and all(m.module == "comment" for m in self.matches)
        )

    def comment(self) -> str | None:
        for m in self.matches:
            if m.module == "comment":
                ov = m.options.get("--comment")
                if ov and ov.raw:
                    return ov.raw[0]
        return None


(
    _rule_model_table, _rule_model_chain, _rule_model_index, _rule_model_span, _rule_model_src, _rule_model_dst,
    _rule_model_in_iface, _rule_model_out_iface, _rule_model_proto, _rule_model_fragment, _rule_model_matches,
    _rule_model_target, _rule_model_ast, _rule_model_counters, _rule_model_invalid
) = slot_setters(RuleModel)


@dataclass(slots=True)
class Chain:
    """A chain and its rules. `rules` is the list of rules in order; when the dump was loaded
    lazily (`ipt_lint.model.lazy`, what `trace` does), the chain's `-A` lines are turned into
    rules the first time anything asks for `rules`, so a trace builds only the chains it walks.
    Either way `rules` is the same list, and a rule is the same object, every time it is read.
    (Equality and repr look at the rules built so far: compare chains only once read in full.)"""

    name: str
    table: str
    builtin: bool
    policy: str | None  # ACCEPT/DROP for built-in chains, None for user chains
    span: Span | None  # the declaration line; None if never declared
    counters: Counters | None = None
    built: list[RuleModel] = field(default_factory=list)  # read `rules`, which builds the rest first
    pending: object = field(default=None, repr=False, compare=False)  # lazy.Pending: lines not built yet

    @property
    def rules(self) -> list[RuleModel]:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.build_into(self)
        return self.built

    def rules_with(self, needles: Needles) -> list[RuleModel]:
        """At least the rules whose text holds one of `needles`: see Needles. Of unread lines,
        only those that may hold one are built (alone, when they can be); rules already built
        are all returned. Every caller tests each rule for what it needs (the needles only
        choose what a lazily loaded dump builds), and testing the text of 100k built rules
        first cost lint 0.3 s."""
        pending = self.pending
        if pending is None or not pending.may_hold(needles):
            return self.built
        ks = pending.holding(needles)
        if ks is None:
            return self.rules
        return self.built + [pending.rule(k) for k in ks]

    # Reading one rule at a time: the walker's compiled chains (semantics/chainindex.py) use
    # these, so a lazily loaded chain of 10k rules builds only the rules a packet may meet.

    def count(self) -> int:
        """len(self.rules), without building the chain when its unread lines tell."""
        pending = self.pending
        if pending is not None and pending.countable():
            return len(self.built) + len(pending.lines)
        return len(self.rules)

    def rule(self, i: int) -> RuleModel:
        """self.rules[i] (0 <= i < count()), building no other unread line."""
        pending = self.pending
        n = len(self.built)
        if pending is None or i < n:
            return self.built[i]
        if pending.countable():
            return pending.rule(i - n)
        return self.rules[i]

    def host_dst(self, i: int) -> int | None:
        """When rule i is unread and its text says for certain that its `-d` is exactly one
        IPv4 address (`-d A.B.C.D/32`, not negated), that address; else None."""
        pending = self.pending
        k = i - len(self.built)
        if pending is None or k < 0 or k in pending.early or not pending.countable():
            return None
        return pending.host_dst(k)

    def rule_on_line(self, line: int) -> RuleModel | None:
        """The rule written on `line`, building no other unread line when it can."""
        pending = self.pending
        if pending is not None and pending.countable():
            k = pending.position(line)
            if k is not None:
                return pending.rule(k)
            chosen = self.built
        else:
            chosen = self.rules
        for r in chosen:
            if r.line == line:
                return r
        return None

    def source_hints(self) -> set[str] | None:
        """Every text a `-s` of the chain's rules may have (exact for built rules, a superset
        for unread lines), or None when an unread line cannot tell without being built."""
        out = {o.values[0] for r in self.built for o in r.ast.builtins if o.name == "-s" and o.values}
        if self.pending is not None:
            more = self.pending.source_hints()
            if more is None:
                return None
            out |= more
        return out


class Needles:
    """What a question about the whole dump needs to see: the rules whose text holds one of a
    few words (`"DNAT"`, `"-o"`, `"physdev"`): a superset, never missing one. A lazily loaded
    dump builds only the chains with such a line, so platform recognition and topology do not
    turn 100k lines into rules to find a few dozen.

    A needle must be part of one argument as the rule is written (an option name, a target, a
    comment's words), never span two. The tokeniser only removes quotes and resolves `\\x`
    escapes inside quotes, so an argument's text is in the line once the quotes are taken out;
    a line with a backslash always counts. Long options may be abbreviated (`--in-int`): a
    needle for an option is a part every spelling of it contains (`-i` is in `--in-interface`,
    `--in` ...)."""

    __slots__ = ("words",)

    def __init__(self, *words: str):
        self.words = words

    def may_hold(self, text: str) -> bool:
        """Whether one rule's line may hold a needle (the test the lazy loader's word index
        answers for many lines at once; tests hold the index to it). Plain `in` first, quotes
        taken out only when that finds nothing."""
        for w in self.words:
            if w in text:
                return True
        if "\\" in text:
            return True
        if '"' in text:
            text = text.replace('"', "")
            for w in self.words:
                if w in text:
                    return True
        return False


EVERY_RULE = Needles("")  # the empty word is in every line: the whole chain


@dataclass(slots=True)
class Table:
    name: str
    span: Span
    chains: dict[str, Chain] = field(default_factory=dict)
    committed: bool = False


@dataclass(slots=True)
class Ruleset:
    """One dump: its tables (in file order), family and where it came from."""

    file: str
    family: str
    tables: dict[str, Table] = field(default_factory=dict)
    # called with the rules a lazily loaded dump builds, chain by chain (see each_rule_built)
    _on_built: list = field(default_factory=list, repr=False, compare=False)
    # a lazily loaded dump's index of its unread lines (lazy._Loader: holders(needles))
    unread: object = field(default=None, repr=False, compare=False)

    def chain(self, table: str, name: str) -> Chain | None:
        t = self.tables.get(table)
        return t.chains.get(name) if t else None

    def rules(self):
        for t in self.tables.values():
            for c in t.chains.values():
                yield from c.rules

    def each_rule_built(self, fn) -> None:
        """Call fn(chain, rules) for the rules built so far (all of them, unless the dump was
        loaded lazily), and later for the rules of each chain as they are built, once each.
        For what is worked out rule by rule, such as who wrote each rule (platforms/recognise.py)."""
        for t in self.tables.values():
            for c in t.chains.values():
                if c.built:
                    fn(c, c.built)
                if c.pending is not None and c.pending.early:
                    fn(c, list(c.pending.early.values()))
        self._on_built.append(fn)

    def rules_built(self, chain: Chain, rules: list[RuleModel]) -> None:
        for fn in self._on_built:
            fn(chain, rules)

    def chains_with(self, needles: Needles, table: str | None = None) -> Iterator[Chain]:
        """The chains (of `table`, or of every table) in dump order where a built rule or an unread
        line may hold one of `needles`: any other chain's rules_with(needles) is empty. A lazily
        loaded dump answers from its index of the text, without a call per chain."""
        hot = self.unread.holders(needles) if self.unread is not None else None
        if table is None:
            tables = self.tables.values()
        else:
            tables = [self.tables[table]] if table in self.tables else []
        for t in tables:
            for c in t.chains.values():
                if c.built or (c.pending is not None and (hot is None or c.pending in hot)):
                    yield c

    def rules_with(self, needles: Needles, where=None) -> Iterator[RuleModel]:
        """The rules a question about the whole dump needs, in the order of rules(): those
        holding one of `needles` (EVERY_RULE for all) in the chains where `where(table, chain)`
        holds (default: every chain). The answer may hold more rules than asked for, never
        fewer: the caller still tests each rule. A lazily loaded dump builds only lines where
        a needle may be."""
        for c in self.chains_with(needles):
            if where is None or where(c.table, c.name):
                yield from c.rules_with(needles)
