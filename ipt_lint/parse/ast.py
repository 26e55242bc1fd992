"""The syntax tree of an iptables-save dump: frozen dataclasses, each node with its source position.

Two layers:

* line level, straight from the grammar: `Comment`, `TableHeader`, `ChainDecl`, `Commit`, and
  `RuleLine` (the rule's arguments, tokenised exactly as iptables-restore does);
* rule level, built by `ipt_lint.parse.structure`: a `Rule` with its built-in options, its `Match`
  blocks (`-m tcp --dport 22`) and its `Target` (`-j DNAT --to-destination ...`), each option an
  `Option` with its values.

Positions are 1-based lines and columns of the physical file. A column counts characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..frozen import slot_setters


class Span(NamedTuple):
    """Where a node starts. A named tuple, not a dataclass: there is one per option of every rule,
    and on a 100k-rule dump their construction cost shows."""

    file: str
    line: int
    column: int = 1

    def at(self, column: int) -> "Span":
        return _new_span(Span, (self[0], self[1], column))  # skips the generated __new__


@dataclass(frozen=True, slots=True)
class Counters:
    """`[packets:bytes]`. Kept as text: iptables-restore discards them unchecked without `-c`."""

    packets: str
    bytes: str

    # stores through the slots (ipt_lint.frozen): one per chain declaration, 35k in a kube dump
    def __init__(self, packets, bytes):  # noqa: A002 - the field's name
        _counters_packets(self, packets)
        _counters_bytes(self, bytes)


(_counters_packets, _counters_bytes) = slot_setters(Counters)


_new_span = tuple.__new__

# --- line level ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comment:
    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class TableHeader:
    span: Span
    name: str


@dataclass(frozen=True, slots=True)
class ChainDecl:
    span: Span
    name: str
    policy: str
    counters: Counters | None

    # stores through the slots (ipt_lint.frozen): a kube-proxy dump declares 35k chains
    def __init__(self, span, name, policy, counters):
        _chain_decl_span(self, span)
        _chain_decl_name(self, name)
        _chain_decl_policy(self, policy)
        _chain_decl_counters(self, counters)


(_chain_decl_span, _chain_decl_name, _chain_decl_policy, _chain_decl_counters) = slot_setters(ChainDecl)


@dataclass(frozen=True, slots=True)
class Commit:
    span: Span


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a rule line after iptables' tokeniser: quotes removed, escapes resolved."""

    text: str
    column: int
    quoted: bool = False
    unterminated: bool = False


@dataclass(frozen=True, slots=True)
class RuleLine:
    """A rule line's arguments. Kept as parallel tuples (text, column) rather than one `Arg` per
    argument because this is the hot path; `args` gives the `Arg` view."""

    span: Span
    counters: Counters | None
    tokens: tuple[str, ...]
    columns: tuple[int, ...]
    quoted: frozenset[int] = frozenset()  # indexes of tokens that had a quoted section
    unterminated: int | None = None  # index of a token whose quote was never closed

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, span, counters, tokens, columns, quoted=frozenset(), unterminated=None):
        _rule_line_span(self, span)
        _rule_line_counters(self, counters)
        _rule_line_tokens(self, tokens)
        _rule_line_columns(self, columns)
        _rule_line_quoted(self, quoted)
        _rule_line_unterminated(self, unterminated)

    @property
    def args(self) -> tuple[Arg, ...]:
        return tuple(
            Arg(t, c, i in self.quoted, i == self.unterminated)
            for i, (t, c) in enumerate(zip(self.tokens, self.columns))
        )

    @classmethod
    def from_args(cls, span: Span, counters: Counters | None, args) -> "RuleLine":
        args = tuple(args)
        unterminated = next((i for i, a in enumerate(args) if a.unterminated), None)
        return cls(
            span,
            counters,
            tuple(a.text for a in args),
            tuple(a.column for a in args),
            frozenset(i for i, a in enumerate(args) if a.quoted),
            unterminated,
        )


(
    _rule_line_span, _rule_line_counters, _rule_line_tokens, _rule_line_columns, _rule_line_quoted,
    _rule_line_unterminated
) = slot_setters(RuleLine)


LineNode = Comment | TableHeader | ChainDecl | Commit | RuleLine


# --- rule level -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """`[!] --name value...`. `name` is the canonical spelling; `written` what the dump said."""

    span: Span
    name: str
    negated: bool
    values: tuple[str, ...]
    written: str = ""

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, span, name, negated, values, written=""):
        _option_span(self, span)
        _option_name(self, name)
        _option_negated(self, negated)
        _option_values(self, values)
        _option_written(self, written)


(_option_span, _option_name, _option_negated, _option_values, _option_written) = slot_setters(Option)


@dataclass(frozen=True, slots=True)
class Match:
    """A match block: `-m conntrack --ctstate NEW`, or one loaded implicitly by `-p tcp --dport`."""

    span: Span
    module: str
    options: tuple[Option, ...]
    implicit: bool = False
    known: bool = True

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, span, module, options, implicit=False, known=True):
        _match_span(self, span)
        _match_module(self, module)
        _match_options(self, options)
        _match_implicit(self, implicit)
        _match_known(self, known)


(_match_span, _match_module, _match_options, _match_implicit, _match_known) = slot_setters(Match)


@dataclass(frozen=True, slots=True)
class Target:
    """`-j NAME [options]` or `-g CHAIN`."""

    span: Span
    name: str
    options: tuple[Option, ...] = ()
    goto: bool = False
    known: bool = True

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(self, span, name, options=(), goto=False, known=True):
        _target_span(self, span)
        _target_name(self, name)
        _target_options(self, options)
        _target_goto(self, goto)
        _target_known(self, known)


(_target_span, _target_name, _target_options, _target_goto, _target_known) = slot_setters(Target)


@dataclass(frozen=True, slots=True)
class Rule:
    span: Span
    command: str  # "-A", "-I", ...: iptables-save only writes -A
    chain: str
    builtins: tuple[Option, ...]  # -s -d -i -o -p -f, in the order written
    matches: tuple[Match, ...]
    target: Target | None
    counters: Counters | None = None
    position: int | None = None  # for -I CHAIN N
    text: str = field(default="", compare=False)  # the physical line, for reports
    broken: bool = False  # iptables rejects the line (IPT100/IPT105): what it matches is unknown

    # stores through the slots (ipt_lint.frozen): one of these per rule or option of a dump
    def __init__(
        self, span, command, chain, builtins, matches, target, counters=None, position=None, text="", broken=False
    ):
        _rule_span(self, span)
        _rule_command(self, command)
        _rule_chain(self, chain)
        _rule_builtins(self, builtins)
        _rule_matches(self, matches)
        _rule_target(self, target)
        _rule_counters(self, counters)
        _rule_position(self, position)
        _rule_text(self, text)
        _rule_broken(self, broken)


(
    _rule_span, _rule_command, _rule_chain, _rule_builtins, _rule_matches, _rule_target, _rule_counters,
    _rule_position, _rule_text, _rule_broken
) = slot_setters(Rule)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem the parse or model stage found, with the finding code it becomes."""

    code: str
    message: str
    span: Span
    detail: str = ""
    severity: str | None = None  # overrides the check's default (e.g. a truncation is a warning)
