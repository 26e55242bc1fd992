"""From a rule line's flat arguments to a `Rule`: built-in options, match blocks and the target.

This mirrors iptables' own option parser (`do_parse` in xshared.c): `-m NAME` loads a match whose
options follow, `-p tcp` makes tcp's options available without `-m tcp`, `-j NAME` loads a target
whose options may follow, and an option takes as many values as the extension table says,
whatever they look like (getopt takes the next argument of a required option even if it starts
with `-`). Problems become diagnostics at the argument's column; the rest of the line is still
read so that one mistake does not hide the next.

Speed: how a line groups depends only on its option words (and the names after -m/-j/-g/-p), not
on the values, and a 100k-rule dump has a few dozen such shapes. So the grouping is worked out
once per shape as a `_Plan` of token indexes, and each line only fills its plan with its values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ast import Diagnostic, Match, Option, Rule, RuleLine, Span, Target, _new_span
from .extensions import (
    IMPLICIT_PROTO_MATCHES,
    STANDARD_TARGETS,
    ExtensionSpec,
    OptionSpec,
    builtin_option,
    match_extension,
    option_value_count,
    target_extension,
)

COMMANDS = {
    "-A": "-A", "--append": "-A",
    "-I": "-I", "--insert": "-I",
    "-N": "-N", "--new-chain": "-N", "--new": "-N",
    "-P": "-P", "--policy": "-P",
    "-D": "-D", "--delete": "-D",
    "-R": "-R", "--replace": "-R",
    "-F": "-F", "--flush": "-F",
    "-X": "-X", "--delete-chain": "-X",
    "-Z": "-Z", "--zero": "-Z",
}

# iptables-restore inserts 3 argv slots of its own and has room for 255 (`Parser cannot handle
# more arguments`); a single token may be at most 1,023 bytes (`Parameter too long!`).
MAX_ARGS = 255 - 3
MAX_TOKEN_BYTES = 1023

# Words whose following value decides how the rest of the line groups.
_NAMING = frozenset({"-m", "--match", "-j", "--jump", "-g", "--goto", "-p", "--protocol",
                     "-c", "--set-counters"})  # -c takes one value `P,B` or two `P B`

# Commands that take a rule number after the chain (`-I CHAIN 2`, `-D CHAIN 3`, `-R CHAIN 1`).
_NUMBERED = frozenset({"-I", "--insert", "-D", "--delete", "-R", "--replace"})
MAX_RULE_NUMBER = 2**31 - 1  # parse_rulenumber(): 1..INT_MAX, else "Invalid rule number"

# Options that iptables accepts more than once in one block.
_REPEATABLE = frozenset({"--u32", "--string", "--hex-string"})

TOK = "{tok}"  # in a problem's message: replaced by the text of the token it points at


def is_option_word(text: str | None) -> bool:
    return text is not None and len(text) > 1 and text[0] == "-" and text != "--"


# A value reference: i >= 0 is the whole token i; -(i + 1) is the part after `=` in token i.
Ref = int


@dataclass(frozen=True, slots=True)
class _OptionPlan:
    name: str
    negated: bool
    values: tuple[Ref, ...]
    at: int  # token index of the option word
    # the option word as written, when the shape holds it (shared by every rule of the shape,
    # instead of one copy of `--comment` per line); None: read it from the tokens
    written: str | None = None
    plain: bool = field(init=False, default=False)  # every value a whole token (no `--opt=value`)
    single: Ref = field(init=False, default=-1)  # the token of the one value, when plain and one

    def __post_init__(self):
        plain = all(r >= 0 for r in self.values)
        object.__setattr__(self, "plain", plain)
        object.__setattr__(self, "single", self.values[0] if plain and len(self.values) == 1 else -1)


@dataclass(frozen=True, slots=True)
class _BlockPlan:
    name: str
    at: int
    options: tuple[_OptionPlan, ...]
    implicit: bool
    known: bool
    goto: bool = False
    name_ref: Ref = -1  # for a jump to a user chain: where its name is


@dataclass(frozen=True, slots=True)
class _Plan:
    command: str | None
    position: int | None  # token index of -I's position
    builtins: tuple[_OptionPlan, ...]
    matches: tuple[_BlockPlan, ...]
    target: _BlockPlan | None
    problems: tuple[tuple[str, str, int], ...]  # (code, message, token index)


class _Block:
    __slots__ = ("name", "spec", "options", "implicit", "at", "goto", "name_ref")

    def __init__(self, name, spec, at, implicit=False, goto=False, name_ref=-1):
        self.name_ref = name_ref
        self.name = name
        self.spec: ExtensionSpec | None = spec
        self.options: list[_OptionPlan] = []
        self.implicit = implicit
        self.at = at
        self.goto = goto


_JUMPS = frozenset({"-j", "--jump", "-g", "--goto"})


def _shape(tokens: tuple[str, ...], family: str) -> tuple:
    key = []
    naming = None
    for i, t in enumerate(tokens):
        if naming is not None:
            # After -j/-g only the kind of name matters: a user chain is a user chain. A word
            # that looks like an option stays itself: the -j/-g before it may be another
            # option's value (`--comment -g -j ACCEPT`), and then this word is an option.
            if (naming in _JUMPS and t[:1] != "-" and t != "!" and t not in STANDARD_TARGETS
                    and target_extension(t, family) is None):
                key.append(_CHAIN)
            else:
                key.append(t)
        elif t[:1] == "-" or t == "!":
            key.append(t)
        elif i == 2 and t.isascii() and t.isdigit() and tokens[0] in _NUMBERED:
            key.append(0)  # -I/-D/-R CHAIN N: the rule number is a number, whatever its value
        else:
            key.append(None)
        naming = t if t in _NAMING else None
    return tuple(key)


def _word(shape: tuple, i: int) -> str | None:
    """Token i as the shape holds it (an option word, `!`), or None where the shape only says
    "a value" or "a user chain"."""
    w = shape[i]
    return w if isinstance(w, str) and w is not _CHAIN else None


class _ChainName(str):
    """Stands in a shape for "the name of a user chain", whichever it is."""


_CHAIN = _ChainName("<chain>")


_FAMILY_FLAGS = {"-4": "ipv4", "--ipv4": "ipv4", "-6": "ipv6", "--ipv6": "ipv6"}

_PLANS: dict[tuple, _Plan] = {}
_MAX_PLANS = 20_000  # a hostile dump with endless shapes must not grow the cache without bound


def build_rule(line: RuleLine, family: str, text: str = "") -> tuple[Rule | None, list[Diagnostic]]:
    """Group the arguments of `line`. Returns (None, problems) when there is no command at all."""
    tokens = line.tokens
    if tokens and tokens[0] in _FAMILY_FLAGS:
        # `-4 -A ...`: iptables-restore applies the line, ip6tables-restore skips it (and -6 the
        # other way round).
        if _FAMILY_FLAGS[tokens[0]] != family:
            return None, []
        line = RuleLine(line.span, line.counters, tokens[1:], line.columns[1:],
                        frozenset(i - 1 for i in line.quoted if i), None if line.unterminated is None else line.unterminated - 1)
        tokens = line.tokens
    key = (family, _shape(tokens, family))
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = _compile(key[1], family)
    return _fill(plan, line, text)


def _fill(plan: _Plan, line: RuleLine, text: str) -> tuple[Rule | None, list[Diagnostic]]:
    """Build the rule of `line` by its shape's plan. The hot loop of a large dump: spans are made
    directly as tuples and values taken by index (see _OptionPlan.values)."""
    tokens, columns, span = line.tokens, line.columns, line.span
    file, number = span[0], span[1]
    problems = (
        [Diagnostic(code, msg.replace(TOK, tokens[i]) if i >= 0 else msg, _new_span(Span, (file, number, columns[i] if i >= 0 else 1)))
         for code, msg, i in plan.problems]
        if plan.problems else []
    )
    if (len(tokens) > MAX_ARGS or line.unterminated is not None
            or max(map(len, tokens)) > MAX_TOKEN_BYTES // 4):
        _per_token_problems(line, problems)
    if plan.command is None:
        return None, problems

    def options(plans):
        out = []
        for o in plans:
            refs = o.values
            if o.single >= 0:  # (most options: one value, a whole token)
                values = (tokens[o.single],)
            elif not refs:
                values = ()
            elif o.plain:
                values = tuple([tokens[r] for r in refs])
            else:
                values = tuple([tokens[r] if r >= 0 else tokens[-r - 1].split("=", 1)[1] for r in refs])
            written = o.written if o.written is not None else tokens[o.at]
            out.append(Option(_new_span(Span, (file, number, columns[o.at])), o.name, o.negated, values, written))
        return tuple(out)

    builtins = options(plan.builtins) if plan.builtins else ()
    matches = tuple([
        Match(_new_span(Span, (file, number, columns[b.at])), b.name, options(b.options) if b.options else (), b.implicit, b.known)
        for b in plan.matches
    ])
    target = None
    t = plan.target
    if t is not None:
        if plan.command == "-P":
            name = tokens[t.at]  # -P CHAIN POLICY: the policy word
        elif t.name is _CHAIN:
            r = t.name_ref  # the chain jumped to
            name = tokens[r] if r >= 0 else tokens[-r - 1].split("=", 1)[1]
        else:
            name = t.name
        target = Target(_new_span(Span, (file, number, columns[t.at])), name, options(t.options) if t.options else (),
                        t.goto, t.known)
    position = None
    if plan.position is not None:
        position = int(tokens[plan.position])
        if not 1 <= position <= MAX_RULE_NUMBER:
            problems.append(Diagnostic("IPT100", f"Invalid rule number `{tokens[plan.position]}'",
                                       _new_span(Span, (file, number, columns[plan.position]))))
    broken = any(p.code in ("IPT100", "IPT105") for p in problems) if problems else False
    rule = Rule(span, plan.command, tokens[1], builtins, matches, target, line.counters, position, text, broken)
    return rule, problems


def _per_token_problems(line: RuleLine, problems: list[Diagnostic]) -> None:
    """Limits that depend on the values themselves, not on the shape."""
    tokens, columns, span = line.tokens, line.columns, line.span
    if len(tokens) > MAX_ARGS:
        problems.append(Diagnostic(
            "IPT108", f"{len(tokens)} arguments: iptables-restore handles at most {MAX_ARGS} per line", span.at(1)))
    for i, t in enumerate(tokens):
        if len(t) > MAX_TOKEN_BYTES // 4 and len(t.encode("utf-8", "replace")) > MAX_TOKEN_BYTES:
            problems.append(Diagnostic(
                "IPT105", f"argument of {len(t)} characters: iptables accepts at most {MAX_TOKEN_BYTES}",
                span.at(columns[i])))
    if line.unterminated is not None:
        problems.append(Diagnostic(
            "IPT108",
            "unterminated quote: iptables-restore takes the rest of the line, newline included, as this value",
            span.at(columns[line.unterminated])))


def _compile(shape: tuple, family: str) -> _Plan:
    """Work out the grouping of one shape. `shape[i]` is the token, or None for a plain value."""
    problems: list[tuple[str, str, int]] = []

    def problem(code: str, message: str, i: int) -> None:
        problems.append((code, message, i))

    def text(i: int) -> str:
        """The token at i as the shape knows it, or TOK where the shape generalised it away."""
        return shape[i] if isinstance(shape[i], str) and shape[i] is not _CHAIN else TOK

    def done(command=None, position=None, builtins=(), matches=(), target=None) -> _Plan:
        return _Plan(command, position, tuple(builtins), tuple(matches), target, tuple(problems))

    n = len(shape)
    if n == 0:
        problem("IPT100", "no command specified", -1)
        return done()
    command = COMMANDS.get(shape[0]) if isinstance(shape[0], str) else None
    if command is None:
        problem("IPT100", f"Bad argument `{text(0)}'", 0)
        return done()
    if n < 2:
        problem("IPT100", f"option \"{shape[0]}\" requires an argument", 0)
        return done()
    i = 2
    position = None
    if command in ("-I", "-D", "-R") and i < n and shape[i] == 0:
        position = i
        i += 1
    if command in ("-N", "-X", "-F", "-Z"):
        for k in range(i, n):
            problem("IPT100", f"Bad argument `{text(k)}'", k)
        return done(command)
    if command == "-P":
        if i >= n:
            problem("IPT100", "-P requires a policy", 1)
            return done()
        for k in range(i + 1, n):
            problem("IPT100", f"Bad argument `{text(k)}'", k)
        return done(command, target=_BlockPlan("", i, (), False, True))

    builtins: list[_OptionPlan] = []
    blocks: list[_Block] = []
    target_block: _Block | None = None
    seen_builtin: set[str] = set()
    protocol: str | None = None
    negate_at: int | None = None

    while i < n:
        word = shape[i]
        if word == "!":
            if negate_at is not None:
                problem("IPT100", "multiple consecutive ! not allowed", i)
            negate_at = i
            i += 1
            continue
        if not is_option_word(word):
            problem("IPT100", f"Bad argument `{text(i)}'", i)
            negate_at = None
            i += 1
            continue

        spelling, inline = word, False
        if spelling.startswith("--") and "=" in spelling:
            spelling, inline = spelling.split("=", 1)[0], True
        negated = negate_at is not None
        negate_at = None
        at = i

        spec = builtin_option(spelling)
        if spec is not None:
            name = spec.name
            values, i = _take_values(shape, i, spec, inline, problem, spelling)
            if name in ("-m", "-j", "-g"):
                if negated:
                    msg = {"-m": "unexpected ! flag before --match", "-j": "cannot have ! before -j",
                           "-g": "cannot have ! before -g"}[name]
                    problem("IPT100", msg, at)
                if not values:
                    continue
                ext_name = shape[values[0]] if values[0] >= 0 else shape[-values[0] - 1].split("=", 1)[1]
                if name == "-m":
                    ext = match_extension(ext_name, family)
                    if ext is None:
                        problem("IPT107", f"match module `{ext_name}' is not known to ipt-lint", at)
                    blocks.append(_Block(ext_name, ext, at))
                else:
                    if target_block is not None:
                        problem("IPT100", "multiple -j flags not allowed", at)
                    ext = target_extension(ext_name, family) if name == "-j" and ext_name not in STANDARD_TARGETS else None
                    target_block = _Block(ext_name, ext, at, goto=(name == "-g"), name_ref=values[0])
                continue
            if values and values[0] >= 0 and shape[values[0]] == "!" and spec.negatable:
                problem("IPT100", f"`{spelling} !' puts the negation after the option, which iptables removed "
                        f"in 1.4.12: write `! {spelling}'", values[0])
                continue
            if name in seen_builtin and name != "-c":
                problem("IPT100", f"multiple {name} flags not allowed", at)
            seen_builtin.add(name)
            if negated and not spec.negatable:
                problem("IPT100", f"cannot have ! before {name}", at)
            builtins.append(_OptionPlan(name, negated, tuple(values), at, _word(shape, at)))
            if name == "-p" and values:
                v = values[0]
                protocol = (shape[v] if v >= 0 else shape[-v - 1].split("=", 1)[1]).lower()
            continue

        # An extension option: the target, then the most recently loaded match, then any loaded
        # block, then the protocol's implicit match (`-p tcp --dport 22`).
        owner, ospec = _find_owner(spelling, target_block, blocks)
        if owner is None and protocol is not None:
            implicit = IMPLICIT_PROTO_MATCHES.get(protocol)
            ext = match_extension(implicit, family) if implicit else None
            if ext is not None and ext.option(spelling) is not None:
                existing = next((b for b in blocks if b.implicit and b.name == ext.name), None)
                owner = existing or _Block(ext.name, ext, at, implicit=True)
                if existing is None:
                    blocks.append(owner)
                ospec = ext.option(spelling)
        if owner is None:
            # Unknown here. Inside an extension ipt-lint does not know, its options are opaque.
            opaque = _last_unknown_block(target_block, blocks)
            if spelling in ("-t", "--table"):
                problem("IPT100", "The -t option cannot be used in iptables-restore", at)
            elif opaque is None:
                # The extension table is iptables' own: an option none of the loaded extensions
                # knows is one iptables rejects (`unknown option`). Only inside an extension
                # ipt-lint does not know (IPT107 on its -m/-j) are options taken on trust.
                problem("IPT100", f"unknown option \"{spelling}\"", at)
            values = [-(i + 1)] if inline else []
            j = i + 1
            while j < n and not is_option_word(shape[j]) and shape[j] != "!":
                values.append(j)
                j += 1
            i = j
            if opaque is not None:
                opaque.options.append(_OptionPlan(spelling, negated, tuple(values), at, _word(shape, at)))
            continue
        values, i = _take_values(shape, i, ospec, inline, problem, spelling)
        if negated and not ospec.negatable:
            problem("IPT100", f"option \"{ospec.name}\" cannot be inverted", at)
        if any(o.name == ospec.name for o in owner.options) and ospec.name not in _REPEATABLE and owner.name != "policy":
            problem("IPT100", f"option \"{ospec.name}\" given twice in one `{owner.name}' block", at)
        owner.options.append(_OptionPlan(ospec.name, negated, tuple(values), at, _word(shape, at)))

    if negate_at is not None:
        problem("IPT100", "! at the end of the rule negates nothing", negate_at)

    matches = [_BlockPlan(b.name, b.at, tuple(b.options), b.implicit, b.spec is not None) for b in blocks]
    target = None
    if target_block is not None:
        t = target_block
        known = t.spec is not None or t.name in STANDARD_TARGETS
        target = _BlockPlan(t.name, t.at, tuple(t.options), False, known, t.goto, t.name_ref)
    return done(command, position, builtins, matches, target)


def _find_owner(spelling: str, target: _Block | None, blocks: list[_Block]) -> tuple[_Block | None, OptionSpec | None]:
    candidates = [target] if target is not None and target.spec is not None else []
    candidates.extend(reversed(blocks))
    for block in candidates:
        if block.spec is None:
            continue
        spec = block.spec.option(spelling)
        if spec is not None:
            return block, spec
    return None, None


def _last_unknown_block(target: _Block | None, blocks: list[_Block]) -> _Block | None:
    if target is not None:
        return target if target.spec is None and target.name not in STANDARD_TARGETS else None
    if blocks and blocks[-1].spec is None:
        return blocks[-1]
    return None


def _take_values(shape, i: int, spec: OptionSpec, inline: bool, problem, spelling: str):
    """References to `spec.arity` values after shape[i]; returns (refs, next index)."""
    values: list[Ref] = [-(i + 1)] if inline else []
    j = i + 1
    want = spec.arity
    if spec.name == "-c" and not inline:
        following = [t if isinstance(t, str) else "0" for t in shape[j : j + 2]]
        want = option_value_count(spec, following) or 2
    if want < 0:  # one optional value: taken only if it does not look like an option
        if not values and j < len(shape) and not is_option_word(shape[j]) and shape[j] != "!":
            values.append(j)
            j += 1
        return values, j
    while len(values) < want:
        if j >= len(shape):
            problem("IPT100", f"option \"{spelling}\" requires an argument", i)
            break
        values.append(j)
        j += 1
    return values, j
