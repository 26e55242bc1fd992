"""Stage 2, model: syntax tree -> `Ruleset`, replaying the dump as iptables-restore would, and the
structure problems that come out of that replay (IPT101-IPT106, value checks for IPT105)."""

from __future__ import annotations

from ..parse import ParsedDump, cap_per_line
from ..parse.ast import ChainDecl, Commit, Diagnostic, Match, Option, Rule, Span, TableHeader
from ..parse.extensions import STANDARD_TARGETS, match_extension, target_extension
from ..parse.values import VALIDATORS
from . import values as V
from .types import (
    BUILTIN_CHAINS,
    AddrMatch,
    Chain,
    IfaceMatch,
    MatchModel,
    OptionValue,
    ProtoMatch,
    RuleModel,
    Ruleset,
    Table,
    TargetModel,
)

MAX_CHAIN_NAME = 28

# Typed parsers for the options the semantics engine reads; (module or "*", option) -> parser.
# Anything else is validated by the extension table's validators and kept as text.
_TYPED = {
    ("*", "--dport"): lambda t, f: V.parse_port_range(t),
    ("*", "--sport"): lambda t, f: V.parse_port_range(t),
    ("multiport", "--dports"): lambda t, f: V.parse_port_list(t),
    ("multiport", "--sports"): lambda t, f: V.parse_port_list(t),
    ("multiport", "--ports"): lambda t, f: V.parse_port_list(t),
    ("conntrack", "--ctstate"): lambda t, f: V.parse_ctstate(t),
    ("state", "--state"): lambda t, f: V.parse_state(t),  # libxt_state knows no SNAT/DNAT
    ("conntrack", "--ctorigdst"): lambda t, f: V.parse_net_list(t, f),
    ("conntrack", "--ctorigsrc"): lambda t, f: V.parse_net_list(t, f),
    ("conntrack", "--ctrepldst"): lambda t, f: V.parse_net_list(t, f),
    ("conntrack", "--ctreplsrc"): lambda t, f: V.parse_net_list(t, f),
    ("conntrack", "--ctorigdstport"): lambda t, f: V.parse_port_range(t),
    ("conntrack", "--ctorigsrcport"): lambda t, f: V.parse_port_range(t),
    ("conntrack", "--ctproto"): lambda t, f: V.parse_protocol(t),
    ("addrtype", "--dst-type"): lambda t, f: V.parse_addrtype(t),
    ("addrtype", "--src-type"): lambda t, f: V.parse_addrtype(t),
    ("mark", "--mark"): lambda t, f: V.parse_mark(t),
    ("connmark", "--mark"): lambda t, f: V.parse_mark(t),
    ("MARK", "--set-xmark"): lambda t, f: V.parse_mark(t),
    ("MARK", "--set-mark"): lambda t, f: V.parse_mark(t),
    ("CONNMARK", "--set-xmark"): lambda t, f: V.parse_mark(t),
    ("CONNMARK", "--set-mark"): lambda t, f: V.parse_mark(t),
    ("DNAT", "--to-destination"): lambda t, f: V.parse_nat_range(t, f),
    ("SNAT", "--to-source"): lambda t, f: V.parse_nat_range(t, f),
    ("REDIRECT", "--to-ports"): lambda t, f: V.parse_port_range(t, "-"),
    ("MASQUERADE", "--to-ports"): lambda t, f: V.parse_port_range(t, "-"),
    ("icmp", "--icmp-type"): lambda t, f: V.parse_icmp_type(t),
}


# (family, module, option, values) -> (typed value, error message, kept length): the same values
# recur thousands of times in large dumps (ports, pod CIDRs, marks), so each is checked once.
_CHECKED: dict[tuple, tuple[object, str | None, int | None]] = {}


def _check_value(family: str, module: str, opt: Option, spec_of) -> tuple[object, str | None, int | None]:
    parser = _TYPED.get((module, opt.name)) or (
        _TYPED.get(("*", opt.name)) if module in ("tcp", "udp", "sctp", "dccp", "udplite") else None
    )
    try:
        if parser is not None and opt.values:
            return parser(opt.values[0], family), None, None
        spec = spec_of(opt.name)
        if spec is None or not opt.values:
            return None, None, None
        check = VALIDATORS.get(spec.value_type)
        if check is not None:
            message = check(" ".join(opt.values) if spec.arity > 1 else opt.values[0], family)
            if message:
                return None, message, None
        if spec.max_len is not None and len(opt.values[0]) > spec.max_len:
            return None, None, spec.max_len
        return None, None, None
    except ValueError as exc:
        return None, str(exc), None


# Explicit protocol matches and the protocol number their `-p` must give.
_PROTO_MATCHES = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33}


class _Builder:
    def __init__(self, parsed: ParsedDump):
        self.parsed = parsed
        self.family = parsed.family
        self.ruleset = Ruleset(parsed.file, parsed.family)
        self.problems: list[Diagnostic] = []
        self.table: Table | None = None
        self.pending_jumps: list[tuple[RuleModel, str]] = []
        # The names of the open table's chains as a deferred `-A` line sees them (a rule's
        # `-j NAME` is a jump when NAME is a chain at that moment); remade only when they change.
        self._names: frozenset[str] | None = None
        # Matches already modelled in this dump, by what they say: a kube-proxy dump repeats
        # `-m tcp`, `-m statistic --mode random --probability 0.5` and each service's comment
        # on many lines (100k rules: 163k matches, 48k different). Only matches that drew no
        # problem are kept (a problem is reported at its own line).
        self._matches: dict[tuple, MatchModel] = {}
        self._builtins: dict[tuple, tuple[int, object]] = {}  # the same for -s, -d, -p ...

    def problem(self, code: str, message: str, span: Span, detail: str = "") -> None:
        self.problems.append(Diagnostic(code, message, span, detail))

    # --- replay -----------------------------------------------------------------------

    def run(self) -> tuple[Ruleset, list[Diagnostic]]:
        for node in self.parsed.statements:
            self.replay(node)
        return self.finish(len(self.parsed.source_lines))

    def replay(self, node) -> None:
        if isinstance(node, Rule):  # (nearly every statement of a large dump)
            self.command(node)
        elif isinstance(node, TableHeader):
            self.open_table(node)
        elif isinstance(node, ChainDecl):
            self.declare(node)
        elif isinstance(node, Commit):
            self.commit(node)

    def defer_all(self, entries: list[tuple[int, str]], pending_of, owner: list) -> None:
        """Consecutive `-A CHAIN ...` lines left unread (lazy loading), as (line number, chain):
        each is recorded with its chain, if that chain exists now, together with the chain
        names a rule would see now (a line of no chain gives no rule: IPT102, or `rule outside
        a table`). `pending_of(chain)` makes the lazy loader's record of a chain's unread
        lines; owner[number] is set to it."""
        table = self.table
        if table is None:
            return
        chains = table.chains
        if self._names is None:
            self._names = frozenset(chains)
        names = self._names
        last, pending = None, None
        for number, name in entries:
            if name != last:  # a chain's lines come together: look it up once per run of them
                last = name
                chain = chains.get(name)
                if chain is None:
                    pending = None
                else:
                    pending = chain.pending
                    if pending is None:
                        pending = chain.pending = pending_of(chain)
            if pending is not None:
                pending.lines.append((number, names))
                owner[number] = pending

    def finish(self, last: int) -> tuple[Ruleset, list[Diagnostic]]:
        if self.table is not None:
            self.problem(
                "IPT103",
                f"table `{self.table.name}' is not closed by COMMIT (iptables-restore: COMMIT expected at line {last + 1})",
                self.table.span,
                detail="add a line `COMMIT` at the end of the table",
            )
            self.close_table()
        return self.ruleset, cap_per_line(self.problems)

    def open_table(self, node: TableHeader) -> None:
        if self.table is not None:
            self.problem(
                "IPT103",
                f"table `{self.table.name}' is not closed by COMMIT before `*{node.name}' on line {node.span.line}",
                self.table.span,
                detail="add `COMMIT` before the next table",
            )
            self.close_table()
        if node.name not in BUILTIN_CHAINS:
            self.problem("IPT106", f"unknown table `{node.name}'", node.span)
        if len(node.name) > 31:
            self.problem("IPT105", f"table name `{node.name}' is longer than 31 characters", node.span)
        if node.name in self.ruleset.tables:
            first = self.ruleset.tables[node.name].span.line
            self.problem(
                "IPT104",
                f"table `{node.name}' appears again (first on line {first}); iptables-restore flushes it, "
                "so the rules of the first block are lost",
                node.span,
            )
        table = Table(node.name, node.span)
        for name in BUILTIN_CHAINS.get(node.name, ()):
            table.chains[name] = Chain(name, node.name, True, "ACCEPT", None)
        self.table = table
        self._names = None
        self.ruleset.tables[node.name] = table

    def close_table(self) -> None:
        table = self.table
        assert table is not None
        for rule, target in self.pending_jumps:
            if target not in table.chains:
                self.problem(
                    "IPT101",
                    f"jump to chain `{target}', which is not declared in table `{table.name}' "
                    "and is not a target module",
                    rule.target.span or rule.span,
                    detail=f"declare it with `:{target} - [0:0]` or fix the name",
                )
        self.pending_jumps = []
        self.table = None

    def commit(self, node: Commit) -> None:
        if self.table is None:
            self.problem("IPT100", "COMMIT outside a table (iptables-restore: line failed)", node.span)
            return
        self.table.committed = True
        self.close_table()

    def declare(self, node: ChainDecl) -> None:
        table = self.table
        if table is None:
            self.problem("IPT100", "chain declaration outside a table", node.span)
            return
        name = node.name
        if len(name) > MAX_CHAIN_NAME:
            self.problem("IPT105", f"chain name `{name}' is longer than {MAX_CHAIN_NAME} characters", node.span)
        if name in STANDARD_TARGETS or name.startswith(("-", "!")):
            self.problem("IPT105", f"invalid chain name `{name}'", node.span)
        if table.name not in BUILTIN_CHAINS:
            return  # an unknown table is reported once, at its header
        builtin = name in BUILTIN_CHAINS.get(table.name, ())
        chain = table.chains.get(name)
        if builtin:
            if node.policy not in ("ACCEPT", "DROP"):
                self.problem("IPT106", f"Bad policy name `{node.policy}' for built-in chain {name}", node.span.at(2 + len(name)))
            if chain is not None and chain.span is not None:
                self.problem("IPT104", f"chain `{name}' declared twice (first on line {chain.span.line})", node.span)
            chain = table.chains[name]
            chain.policy = node.policy if node.policy in ("ACCEPT", "DROP") else chain.policy
            chain.span = node.span
            chain.counters = node.counters
            return
        if node.policy != "-":
            self.problem(
                "IPT106",
                f"policy `{node.policy}' on user chain `{name}': only built-in chains have policies",
                node.span.at(2 + len(name)),
            )
        if chain is not None:
            self.problem("IPT104", f"chain `{name}' declared twice (first on line {chain.span.line if chain.span else '?'})", node.span)
            return
        table.chains[name] = Chain(name, table.name, False, None, node.span, node.counters)
        self._names = None

    def command(self, rule: Rule) -> None:
        table = self.table
        if rule.command == "-A" and table is not None:  # the common case first
            chain = table.chains.get(rule.chain)
            if chain is not None:
                chain.rules.append(self.rule_model(rule, table.name, len(chain.rules)))
                return
        if table is None:
            self.problem("IPT100", "rule outside a table (iptables-restore: line failed)", rule.span)
            return
        if rule.command == "-N":
            self.declare(ChainDecl(rule.span, rule.chain, "-", None))
            return
        if rule.command == "-P":
            if rule.target:
                self.declare_policy(rule)
            return
        chain = table.chains.get(rule.chain)
        if chain is None:
            if rule.command in ("-A", "-I"):
                self.problem(
                    "IPT102",
                    f"rule added to chain `{rule.chain}', which is not declared in table `{table.name}'",
                    rule.span,
                    detail=f"declare it with `:{rule.chain} - [0:0]`",
                )
            return
        if rule.command == "-F":
            chain.rules.clear()
            return
        if rule.command == "-X":
            if not chain.builtin:
                del table.chains[rule.chain]
                self._names = None
            return
        model = self.rule_model(rule, table.name, len(chain.rules))
        if rule.command == "-A":
            chain.rules.append(model)
            return
        if rule.command == "-I":
            pos = (rule.position or 1) - 1
            chain.rules.insert(min(pos, len(chain.rules)), model)
        elif rule.command == "-D" and rule.position is not None:
            if 1 <= rule.position <= len(chain.rules):  # `-D CHAIN N` deletes rule N
                del chain.rules[rule.position - 1]
        elif rule.command == "-D":
            for k, existing in enumerate(chain.rules):
                if _same_rule(existing.ast, rule):
                    del chain.rules[k]
                    break
        else:
            self.problem("IPT107", f"command {rule.command} is not modelled; the rule is ignored", rule.span)
            return
        # -I and -D move the rules after them; -A (the common case) needs no renumbering.
        for k, r in enumerate(chain.rules):
            if r.index != k:
                chain.rules[k] = _reindex(r, k)

    def declare_policy(self, rule: Rule) -> None:
        """`-P CHAIN POLICY` inside a table: sets a built-in chain's policy (no new declaration)."""
        assert self.table is not None and rule.target is not None
        chain = self.table.chains.get(rule.chain)
        policy = rule.target.name
        if chain is None or not chain.builtin:
            self.problem("IPT106", f"-P on `{rule.chain}', which is not a built-in chain of `{self.table.name}'", rule.span)
        elif policy not in ("ACCEPT", "DROP"):
            self.problem("IPT106", f"Bad policy name `{policy}' for built-in chain {rule.chain}", rule.target.span)
        else:
            chain.policy = policy

    # --- rules ------------------------------------------------------------------------

    def rule_model(self, rule: Rule, table: str, index: int, chain_names=None) -> RuleModel:
        """The model of one rule, at `index` in its chain. `chain_names`: the table's chains
        when the rule was replayed (default: the open table's, now)."""
        problems_before = len(self.problems)
        # src, dst, in_iface, out_iface, proto, fragment
        parts: list = [None, None, None, None, None, None]
        memo = self._builtins
        for opt in rule.builtins:
            got = memo.get((opt.name, opt.negated, opt.values))
            if got is None:
                got = self.builtin_model(opt)
            if got is not _NO_PART:
                parts[got[0]] = got[1]
        src, dst, in_iface, out_iface, proto, fragment = parts
        matches = tuple([self.match_model(m) for m in rule.matches]) if rule.matches else ()
        target = self.target_model(rule, table, self.table.chains if chain_names is None else chain_names)
        self.check_protocol_needs(rule, proto, matches, target)
        invalid = rule.broken or (
            len(self.problems) > problems_before and any(p.code == "IPT105" for p in self.problems[problems_before:])
        )
        # positional: (table, chain, index, span, src, dst, in_iface, out_iface, proto, fragment,
        # matches, target, ast, counters, invalid), the hot path of a large dump
        model = RuleModel(table, rule.chain, index, rule.span, src, dst, in_iface, out_iface, proto, fragment,
                          matches, target, rule, rule.counters, invalid)
        if target is not None and target.kind in ("jump", "goto"):
            self.pending_jumps.append((model, target.name))
        return model

    def builtin_model(self, opt: Option) -> tuple[int, object]:
        """(where in rule_model's parts, the model) of one built-in option (-s, -d, -i, -o, -p,
        -f), or _NO_PART. Kept for the dump when it drew no problem: kube-proxy writes the same
        `-p tcp` and `-d` address on many lines."""
        problems_before = len(self.problems)
        got = _NO_PART
        try:
            name = opt.name
            if not opt.values and name not in ("-f", "-4", "-6"):
                pass
            elif name in ("-s", "-d"):
                got = (0 if name == "-s" else 1, AddrMatch(opt.negated, V.parse_net_list(opt.values[0], self.family)))
            elif name in ("-i", "-o"):
                got = (2 if name == "-i" else 3, IfaceMatch(opt.negated, V.parse_iface(opt.values[0])))
            elif name == "-p":
                number = V.parse_protocol(opt.values[0])
                got = (4, ProtoMatch(opt.negated, number, V.PROTOCOL_NAMES.get(number, str(number))))
            elif name == "-f":
                got = (5, not opt.negated)
                if self.family == "ipv6":
                    self.problem("IPT100", "-f is not supported by ip6tables (use -m frag)", opt.span)
            elif name == "-c":
                for v in opt.values:
                    if not v.isdigit():
                        raise ValueError("-c packet counter not numeric")
        except ValueError as exc:
            self.problem("IPT105", str(exc), opt.span)
        if len(self.problems) == problems_before:
            self._builtins[(opt.name, opt.negated, opt.values)] = got
        return got

    def options(self, module: str, options: tuple[Option, ...], spec_of) -> dict[str, OptionValue]:
        out: dict[str, OptionValue] = {}
        for opt in options:
            key = (self.family, module, opt.name, opt.values)
            checked = _CHECKED.get(key)
            if checked is None:
                if len(_CHECKED) > 200_000:
                    _CHECKED.clear()
                checked = _CHECKED[key] = _check_value(self.family, module, opt, spec_of)
            value, error, kept = checked
            if error is not None:
                self.problem("IPT105", error, opt.span)
            if kept is not None:
                # iptables keeps the first `kept` characters without a word: the rule loads, but
                # not as written.
                self.problems.append(Diagnostic(
                    "IPT108",
                    f"value of {opt.name} is {len(opt.values[0])} characters long; iptables silently "
                    f"keeps only the first {kept}",
                    opt.span, severity="warning",
                ))
            out[opt.name] = OptionValue(opt.name, opt.negated, opt.values, value)
        return out

    def match_model(self, m: Match) -> MatchModel:
        """The model of one match; equal matches of a dump share one (frozen) model."""
        key = (m.module, m.known, m.implicit, tuple([(o.name, o.negated, o.values) for o in m.options]))
        got = self._matches.get(key)
        if got is not None:
            return got
        problems_before = len(self.problems)
        ext = match_extension(m.module, self.family) if m.known else None
        spec_of = ext.option if ext is not None else _no_spec
        options = self.options(m.module, m.options, spec_of)
        if ext is not None and ext.has_constraints:
            self.check_combination(ext, options, m.span)
        got = MatchModel(m.module, options, m.known, m.implicit)
        if len(self.problems) == problems_before:
            self._matches[key] = got
        return got

    def check_protocol_needs(self, rule: Rule, proto: ProtoMatch | None, matches, target) -> None:
        """What iptables refuses because of the rule's protocol: `-m tcp` needs `-p tcp`, NAT
        ports need a protocol with ports, `! -p all` matches nothing."""
        number = proto.number if proto is not None and not proto.negated else None
        if proto is not None and proto.negated and proto.number == 0:
            self.problem("IPT100", "rule would never match protocol (`! -p all`)", rule.span)
        for m, node in zip(matches, rule.matches):  # a problem is placed at the match as written
            needed = _PROTO_MATCHES.get(m.module)
            if needed is None or number == needed or not m.known:
                continue
            if not m.implicit:
                self.problem("IPT100", f"-m {m.module} needs `-p {m.module}`: the kernel refuses it otherwise", node.span)
            elif proto is not None and proto.negated:
                # `! -p tcp --dport 22`: the option loads -m tcp from the negated protocol, which
                # iptables-legacy's kernel refuses at COMMIT like the written `-m tcp` (nft loads it)
                self.problem(
                    "IPT100",
                    f"`! -p {proto.name}` with a {m.module} option loads -m {m.module} on a negated protocol: "
                    f"-m {m.module} needs `-p {m.module}`, the kernel refuses it otherwise",
                    node.span,
                )
        if target is not None and target.kind == "extension":
            ports = None
            if target.name in ("DNAT", "SNAT"):
                nat = next((ov.value for ov in target.options.values() if isinstance(ov.value, V.NatRange)), None)
                ports = nat is not None and nat.port_lo is not None
            elif target.name in ("REDIRECT", "MASQUERADE"):
                ports = "--to-ports" in target.options
            if ports and number not in (6, 17, 33, 132):
                self.problem("IPT100", f"{target.name}: need TCP, UDP, SCTP or DCCP with port specification", target.span or rule.span)

    def check_combination(self, ext, options: dict[str, OptionValue], span: Span) -> None:
        """What iptables' extensions insist on across options: DNAT needs --to-destination,
        MARK one of its mark options, --every needs --packet, and exclusive options."""
        given = set(options)
        for name in ext.required:
            if name not in given:
                self.problem("IPT100", f"{ext.name}: option \"{name}\" must be specified", span)
        for group in ext.one_of:
            if not given & group:
                self.problem("IPT100", f"{ext.name}: one of {', '.join(sorted(group))} is required", span)
        for group in ext.exclusive:
            both = sorted(given & group)
            if len(both) > 1:
                self.problem("IPT100", f"{ext.name}: {' and '.join(both)} cannot be combined", span)
        for a, b in ext.requires:
            if a in given and b not in given:
                self.problem("IPT100", f"{ext.name}: {a} needs {b}", span)

    def target_model(self, rule: Rule, table: str, chain_names) -> TargetModel | None:
        t = rule.target
        if t is None:
            return None
        if t.goto:
            return TargetModel(t.name, "goto", {}, t.span)
        if t.name in STANDARD_TARGETS:
            return TargetModel(t.name, "verdict", {}, t.span)
        if t.name in chain_names:
            return TargetModel(t.name, "jump", {}, t.span)
        ext = target_extension(t.name, self.family)
        if ext is None and not t.options:
            # Not a target module: a jump to a user chain, checked when the table is committed.
            return TargetModel(t.name, "jump", {}, t.span)
        if ext is None:
            self.problem("IPT107", f"target `{t.name}' is not known to ipt-lint", t.span)
            spec_of = _no_spec
        else:
            spec_of = ext.option
        options = self.options(t.name, t.options, spec_of)
        if ext is not None and ext.has_constraints:
            self.check_combination(ext, options, t.span)
        return TargetModel(t.name, "extension", options, t.span)


_NO_PART = (-1, None)  # a built-in option that sets nothing in the model (-c, -4, an empty value)


def _no_spec(name: str) -> None:
    """The option table of a module ipt-lint does not know: no option is known."""


def _same_rule(a: Rule, b: Rule) -> bool:
    """`-D CHAIN rule-spec` deletes the first rule with the same options (positions aside)."""

    def key(r: Rule):
        opts = lambda options: [(o.name, o.negated, o.values) for o in options]  # noqa: E731
        target = (r.target.name, r.target.goto, opts(r.target.options)) if r.target else None
        return opts(r.builtins), [(m.module, opts(m.options)) for m in r.matches], target

    return key(a) == key(b)


def _reindex(rule: RuleModel, index: int) -> RuleModel:
    from dataclasses import replace

    return replace(rule, index=index)


def build_model(parsed: ParsedDump) -> tuple[Ruleset, list[Diagnostic]]:
    return _Builder(parsed).run()
