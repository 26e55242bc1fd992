"""Loading a dump lazily: what `ipt-lint trace` does, so that one packet's journey through a
100k-rule dump does not first turn 100k lines into rules.

    load_lazily(data, file, family=None) -> Ruleset

The result is a `Ruleset` like build_model()'s, and reads the same to everything that uses it.
The difference is when rules are built: a first pass reads every line that is not a plain
`-A CHAIN ...` exactly as parse_text() and build_model() do (table headers, chain declarations,
COMMIT, comments, -I/-D/-F/-X/-N/-P, anything unusual), and for a plain `-A` line records only
its number with the chain it appends to. A chain's lines become rules (parse_line, build_rule,
the model's rule_model: the same code as the eager path, with the same line numbers and the
chain names the line would have seen) the first time anything reads `chain.rules`: the walker
entering it, or a question about the whole dump asking for rules with certain words in them
(Ruleset.rules_with and Needles: platform recognition, topology, the interface alphabet).

Why it is exact:
* a line is deferred only when its chain word is certain: `-A ` then a word without quotes,
  backslashes or tabs, which every tokeniser path reads as the second argument; building checks
  it again and refuses to go on (an internal error, never a wrong answer) if not;
* a rule's index is its place among the chain's rules: the chain's lines are built in order,
  and an eager command on a chain (`-I`, `-D`, `-F`, a second spelling of -A) first builds its
  deferred lines, so the replay order is the file's;
* a deferred line that iptables-restore would fail (a syntax error) gives no rule, as in
  build_model(); trace never shows the load's problems, so nothing else is lost.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from ..parse import ParsedDump, header_family, line_node, rules_family
from ..parse.ast import ChainDecl, Diagnostic, RuleLine
from ..parse.extensions import builtin_option
from ..parse.fastpath import parse_line_fast, plain_decl
from ..parse.reader import decode, plain_lines
from ..parse.structure import build_rule
from .build import _Builder
from .textfacts import gives_one_rule, host_destination, source_texts
from .types import Chain, Needles, RuleModel, Ruleset


def load_lazily(data: bytes, file: str, family: str | None = None) -> Ruleset:
    """The dump's Ruleset, its `-A` lines built into rules chain by chain as they are read.
    The load's problems are not reported (lint and exposure load eagerly for that)."""
    text, _ = decode(data)
    lines = plain_lines(text)
    loader = _Loader(file, lines, text)
    if family is None:
        family = header_family(text)
    if family is None:  # as detect_family(): from the first rule line that tells
        family, _ = rules_family(_first_pass(lines, file, None), loader.rule_line)
    builder = _Builder(ParsedDump(file, family, (), (), ()))
    loader.builder = builder
    owner, pending_for = loader.owner, loader.pending_for
    run: list[tuple[int, str]] = []  # consecutive `-A` lines left unread: deferred together
    for number, node in _first_pass(lines, file, run):
        if run:
            builder.defer_all(run, pending_for, owner)
            run.clear()
        if type(node) is ChainDecl:
            builder.declare(node)
        elif isinstance(node, RuleLine):
            rule, _ = build_rule(node, family, lines[number - 1])
            if rule is not None:
                builder.replay(rule)
        elif type(node) is not str:
            builder.replay(node)
    if run:
        builder.defer_all(run, pending_for, owner)
    ruleset, _ = builder.finish(len(lines))
    loader.ruleset = ruleset
    ruleset.unread = loader
    return ruleset


def _first_pass(lines: list[str], file: str, run: list | None):
    """(line number, node) of every line parse_text() would give a node, in order, except
    plain `-A CHAIN ...` lines, which are left unread: appended to `run` as (number, chain)
    when it is a list (the caller empties it), else given as (number, chain) in place of the
    node."""
    scratch: list[Diagnostic] = []
    for number, line in enumerate(lines, 1):
        if line[:3] == "-A ":
            name = _chain_word(line)
            if name is not None:
                if run is None:
                    yield number, name
                else:
                    run.append((number, name))
                continue
        if line[:1] == ":" and "\t" not in line:
            node = plain_decl(line, file, number)  # what line_node() gives it, fewer steps on
            if node is not None:  # (35k declarations in a kube-proxy dump)
                yield number, node
                continue
        node = line_node(line, file, number, scratch)
        if node is not None:
            yield number, node


def _chain_word(line: str) -> str | None:
    """The chain of `-A CHAIN ...` when no tokeniser could read it otherwise, else None."""
    end = line.find(" ", 3)
    name = line[3:] if end < 0 else line[3:end]
    if not name or '"' in name or "\\" in name or "\t" in name:
        return None
    return name


class Pending:
    """The unread `-A` lines of one chain: (line number, the table's chain names then).

    While every line certainly gives one rule (textfacts.gives_one_rule, true of any line
    iptables-save writes), the k-th line is the chain's rule len(chain.built) + k, and a line can
    be built on its own (rule(k)) with its exact index: a trace needs a few of KUBE-SERVICES'
    thousands. Building the whole chain later reuses those rules, so each stays one object."""

    __slots__ = ("chain", "lines", "loader", "early", "_sure")

    def __init__(self, loader: _Loader, chain: Chain):
        self.loader = loader
        self.chain = chain
        self.lines: list[tuple[int, frozenset[str]]] = []
        self.early: dict[int, RuleModel] = {}  # k -> the rule of lines[k], built on its own
        self._sure: bool | None = None

    def build_into(self, chain: Chain) -> None:
        self.loader.build(chain, self.lines, self.early)

    def countable(self) -> bool:
        """Does every line give exactly one rule (so that lines and rules number alike)?"""
        if self._sure is None:
            text = self.loader.lines
            self._sure = all(gives_one_rule(text[n - 1]) for n, _ in self.lines)
        return self._sure

    def rule(self, k: int) -> RuleModel:
        """The rule of lines[k], built alone (only when countable())."""
        got = self.early.get(k)
        if got is None:
            got = self.early[k] = self.loader.build_one(self.chain, self.lines[k], len(self.chain.built) + k)
        return got

    def host_dst(self, k: int) -> int | None:
        """The single address lines[k]'s rule has as `-d`, when its text says so for certain."""
        loader = self.loader
        return host_destination(loader.lines[self.lines[k][0] - 1], loader.builder.family)

    def position(self, number: int) -> int | None:
        """k of the line numbered `number`, if it is one of these lines."""
        k = bisect_left(self.lines, (number,))
        return k if k < len(self.lines) and self.lines[k][0] == number else None

    def holding(self, needles: Needles) -> list[int] | None:
        """The k of every line that may hold one of `needles`, or None when that is not worth
        asking line by line (every line, or lines that may not give one rule each)."""
        if not all(needles.words) or not self.countable():
            return None
        numbers: set[int] = set()
        for word in needles.words:
            numbers.update(self.loader.holding(word).get(self, ()))
        return sorted(k for k in map(self.position, numbers) if k is not None)

    def may_hold(self, needles: Needles) -> bool:
        """Could one of the lines hold a needle (outside its `-A CHAIN`)?"""
        return self.loader.may_hold(self, needles)

    def source_hints(self) -> set[str] | None:
        """Every text a `-s` of these lines could have (a superset), or None when a line is too
        unusual to tell without building it."""
        text = self.loader.lines
        out: set[str] = set()
        for number, _ in self.lines:  # (line by line: cheaper than indexing `-s` in 100k lines)
            line = text[number - 1]
            got = source_texts(line)  # the line as iptables-save writes it, without tokenising
            if got is None:
                got = _source_tokens(line, number)
                if got is None:
                    return None
            out.update(got)
        return out


def _source_tokens(line: str, number: int) -> list[str] | None:
    """The values of every argument of `line` that may be a `-s` option, from its tokens."""
    node = parse_line_fast(line, "", number)
    if node is None:
        return None
    tokens = node.tokens
    out = []
    for i, token in enumerate(tokens):
        if "-s" not in token:
            continue
        spelling, eq, inline = token.partition("=") if token.startswith("--") else (token, "", "")
        spec = builtin_option(spelling)
        if spec is None or spec.name != "-s":
            continue
        if eq:
            out.append(inline)
        elif i + 1 < len(tokens):
            out.append(tokens[i + 1])
    return out


class _Loader:
    """What building a deferred line needs (the lines, the replay's builder), and the index
    that answers Needles without building: where each needle occurs in the text."""

    def __init__(self, file: str, lines: list[str], source: str):
        self.file = file
        self.lines = lines
        self.source = source  # the decoded dump: the lines, joined by newlines
        self.builder: _Builder | None = None
        self.ruleset: Ruleset | None = None
        self.owner: list[Pending | None] = [None] * (len(lines) + 1)  # line number -> its Pending
        self._text: str | None = None
        self._hits: dict[str, set[int]] = {}
        self._holders: dict[str, dict[Pending, list[int]]] = {}
        self._union: dict[tuple[str, ...], set[Pending]] = {}
        self._unsure: set[int] | None = None

    def pending_for(self, chain: Chain) -> Pending:
        return Pending(self, chain)

    def rule_line(self, number: int) -> RuleLine | None:
        """A deferred line's RuleLine, for family detection when no header comment decides."""
        node = line_node(self.lines[number - 1], self.file, number, [])
        return node if isinstance(node, RuleLine) else None

    def build(self, chain: Chain, entries: list[tuple[int, frozenset[str]]], early: dict) -> None:
        """Build `entries` (deferred lines of `chain`) into rules at the end of chain.built, as
        parse_text() and build_model() would have built them; entries[k] is early[k] when that
        was built on its own already."""
        fresh: list[RuleModel] = []
        for k, entry in enumerate(entries):
            rule = early.get(k)
            if rule is None:
                rule = self._model(chain, entry, len(chain.built))
                if rule is None:
                    continue  # iptables-restore fails the line: no rule (as parse_text drops it)
                fresh.append(rule)
            chain.built.append(rule)
        if self.ruleset is not None:
            self.ruleset.rules_built(chain, fresh)

    def build_one(self, chain: Chain, entry: tuple[int, frozenset[str]], index: int) -> RuleModel:
        """One deferred line of `chain`, which certainly gives a rule, at `index`."""
        rule = self._model(chain, entry, index)
        if rule is None:
            raise RuntimeError(f"lazy loading miscounted line {entry[0]} (chain {chain.name})")
        if self.ruleset is not None:
            self.ruleset.rules_built(chain, [rule])
        return rule

    def _model(self, chain: Chain, entry: tuple[int, frozenset[str]], index: int) -> RuleModel | None:
        number, names = entry
        builder = self.builder
        text = self.lines[number - 1]
        node = line_node(text, self.file, number, [])
        if node is None:
            return None
        rule, _ = build_rule(node, builder.family, text)
        if rule is None:
            return None
        if rule.command != "-A" or rule.chain != chain.name:
            raise RuntimeError(f"lazy loading misread line {number} (chain {chain.name})")
        mark, jumps = len(builder.problems), len(builder.pending_jumps)
        model = builder.rule_model(rule, chain.table, index, names)
        del builder.problems[mark:]  # trace reports no load problems
        del builder.pending_jumps[jumps:]  # jumps were checked against `names` already (IPT101 is lint's)
        return model

    # --- needles ----------------------------------------------------------------------------

    def text(self) -> str:
        """The lines joined, quotes taken out: the needles are looked for here (Needles)."""
        if self._text is None:
            source = self.source
            if "\r" in source or "\x00" in source:  # plain_lines() changed some lines
                source = "\n".join(self.lines)
            self._text = source.replace('"', "")  # (the lines, and a final newline)
        return self._text

    def lines_holding(self, word: str) -> set[int]:
        """Numbers of the deferred lines where `word` occurs after `-A CHAIN`, plus every line
        with a backslash (whose arguments may differ from its text)."""
        got = self._hits.get(word)
        if got is not None:
            return got
        text, owner = self.text(), self.owner
        if self._unsure is None:
            self._unsure = self._find("\\", text, owner, skip_prefix=False)
        got = self._find(word, text, owner, skip_prefix=True) | self._unsure
        self._hits[word] = got
        return got

    @staticmethod
    def _find(word: str, text: str, owner: list, skip_prefix: bool) -> set[int]:
        found: set[int] = set()
        if len(word) == 1 and word not in text:  # (one character: str's search is memchr)
            return found
        line, counted, n = 1, 0, len(word)
        # each match runs from the first occurrence on a line to the line's end, so the scan
        # (re's literal search: about twice str.find's speed for a short word) goes on at the
        # next line without a step in Python
        for m in re.compile(re.escape(word) + "[^\n]*").finditer(text):
            pos = m.start()
            line += text.count("\n", counted, pos)
            counted = pos
            p = owner[line]
            if p is None:
                continue
            if skip_prefix:
                prefix_end = text.rfind("\n", 0, pos) + 4 + len(p.chain.name)
                # in `-A NAME` itself, which is no argument the question is about
                # (`KUBE-NODEPORTS` would otherwise find every line of that chain): only an
                # occurrence reaching past it counts
                if pos + n <= prefix_end and text.find(word, prefix_end - n + 1, m.end()) < 0:
                    continue
            found.add(line)
        return found

    def may_hold(self, pending: Pending, needles: Needles) -> bool:
        hot = self.holders(needles)
        return hot is None or pending in hot

    def holders(self, needles: Needles) -> set[Pending] | None:
        """The Pendings with a line that may hold one of `needles` (None: every one)."""
        if not all(needles.words):
            return None
        got = self._union.get(needles.words)
        if got is None:
            got = self._union[needles.words] = set().union(*(self.holding(w) for w in needles.words))
        return got

    def holding(self, word: str) -> dict[Pending, list[int]]:
        """The deferred lines that may hold `word` (lines_holding), by the chain they go to."""
        got = self._holders.get(word)
        if got is None:
            got = self._holders[word] = {}
            owner = self.owner
            for n in self.lines_holding(word):
                got.setdefault(owner[n], []).append(n)
        return got
