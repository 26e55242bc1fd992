"""A hand-written reader for the common, well-formed lines: the hot loop on 100k-rule dumps.

It gives exactly the nodes the grammar gives (tests/test_parse_equivalence.py checks every line of
every corpus dump and sample). When a line is anything unusual it returns None and the line goes to
the grammar, which is the definition of the format and the one that explains errors.
"""

from __future__ import annotations

import re

from .ast import ChainDecl, Comment, Commit, Counters, LineNode, RuleLine, Span, TableHeader, _new_span

# One rule argument, as iptables' tokeniser sees it: a token with a closed quoted section (the
# closing quote ends it), or a plain run of non-blank characters. Anything else (an unterminated
# quote) is left to the grammar. Blanks are space and tab only, as in iptables (not Python's `\s`:
# a vertical tab or a no-break space is part of a token there).
# Possessive (`*+`): nothing to backtrack into, and Python's re would otherwise keep a
# backtracking entry per character of a quoted value (over 100 bytes each: a 10 MB comment took
# more than 1 GB).
_ARG = re.compile(r'[^ \t"]*+"(?:\\.|[^"\\])*+"|[^ \t"]++')
_SIMPLE_COUNTERS = re.compile(r"\[([^ \t:\]]+):([^ \t:\]]+)\]")
_CHAIN = re.compile(r":([^ \t]+)[ \t]+([^ \t\[\]]+)(?:[ \t]+\[([^ \t:\]]+):([^ \t:\]]+)\])?[ \t]*\Z")
_TABLE = re.compile(r"\*([^ \t]+)(?:[ \t].*)?\Z")
_ESCAPE = re.compile(r"\\(.)")


def parse_line_fast(text: str, file: str, line: int) -> LineNode | None:
    if not text:
        return None
    first = text[0]
    if first == "-":
        return _rule(text, file, line, 0, None)
    if first == "#":
        return Comment(Span(file, line, 1), text)
    if first == ":":
        if "\t" not in text:
            decl = plain_decl(text, file, line)
            if decl is not None:
                return decl
        m = _CHAIN.match(text)
        if m is None:
            return None
        counters = Counters(m.group(3), m.group(4)) if m.group(3) is not None else None
        return ChainDecl(Span(file, line, 1), m.group(1), m.group(2), counters)
    if first == "*":
        m = _TABLE.match(text)
        return TableHeader(Span(file, line, 1), m.group(1)) if m else None
    if first == "[":
        m = _SIMPLE_COUNTERS.match(text)
        if m is None:
            return None
        return _rule(text, file, line, m.end(), Counters(m.group(1), m.group(2)))
    if text == "COMMIT":
        return Commit(Span(file, line, 1))
    return None


def plain_decl(text: str, file: str, line: int) -> ChainDecl | None:
    """`:NAME POLICY [p:b]` as iptables-save writes it (single spaces, no tab): what _CHAIN
    gives, by splitting (a kube-proxy dump declares 35k chains). None: ask _CHAIN."""
    parts = text[1:].split(" ")
    if len(parts) != 3:
        return None
    name, policy, counters = parts
    if not name or not policy or "[" in policy or "]" in policy or counters[:1] != "[" or counters[-1:] != "]":
        return None
    packets, colon, octets = counters[1:-1].partition(":")
    if not packets or not octets or ":" in octets or "]" in packets or "]" in octets:
        return None
    return ChainDecl(_new_span(Span, (file, line, 1)), name, policy, Counters(packets, octets))


def reads_rule_line(text: str) -> bool:
    """Does parse_line_fast() read this line (one starting with `-`, no counters) as a RuleLine,
    for certain? The same tests as _rule()'s first two ways, without building the node: the
    lazy loader (model/lazy.py) counts a chain's rules from its lines' text with it."""
    if '"' not in text:
        return True
    return "\\" not in text and "\t" not in text and text.isprintable() and _quoted_words(text, 0) is not None


def _rule(text: str, file: str, line: int, start: int, counters: Counters | None) -> RuleLine | None:
    if '"' not in text:
        # The common case: no quotes, so arguments are words between spaces and tabs. str.split()
        # would also split at \v, \f, \r, \x1c-\x1f and Unicode spaces, which iptables does not; in
        # a printable string the only one of those is the space itself.
        # split at single blanks: the empty words between repeated blanks keep the columns
        tokens, columns = [], []
        pos = start + 1
        for word in text[start:].replace("\t", " ").split(" "):
            if word:
                tokens.append(word)
                columns.append(pos)
            pos += len(word) + 1
        if not tokens:
            return None
        column = 1 if counters is not None else columns[0]
        return RuleLine(Span(file, line, column), counters, tuple(tokens), tuple(columns))
    if "\\" not in text and "\t" not in text and text.isprintable():
        got = _quoted_words(text, start)
        if got is not None:
            tokens, columns, quoted = got
            column = 1 if counters is not None else columns[0]
            return RuleLine(Span(file, line, column), counters, tuple(tokens), tuple(columns), frozenset(quoted))
    tokens, columns, quoted = [], [], set()
    pos = start
    for m in _ARG.finditer(text, start):
        gap = text[pos : m.start()]
        if gap.strip(" \t"):
            return None  # an unterminated quote or something else unusual
        raw = m.group()
        if '"' in raw:
            if not (raw.endswith('"') and raw.count('"') >= 2):
                return None
            prefix, _, body = raw.partition('"')
            quoted.add(len(tokens))
            body = body[:-1]
            raw = prefix + (_ESCAPE.sub(r"\1", body) if "\\" in body else body)
        tokens.append(raw)
        columns.append(m.start() + 1)
        pos = m.end()
    tail = text[pos:]
    if tail.strip(" \t") or not tokens:
        return None
    column = 1 if counters is not None else columns[0]
    return RuleLine(Span(file, line, column), counters, tuple(tokens), tuple(columns), frozenset(quoted))


def _quoted_words(text: str, start: int) -> tuple[list[str], list[int], list[int]] | None:
    """The line as iptables-save writes quotes (`--comment "two words"`): balanced quotes, each
    quoted section a whole word between spaces, no escapes (the caller checked for backslashes
    and tabs). Splitting at the quotes is then exact and much cheaper than the regular
    expression; anything else returns None and takes the general path."""
    parts = text[start:].split('"')
    if len(parts) % 2 == 0:
        return None  # an unterminated quote
    last = len(parts) - 1
    tokens: list[str] = []
    columns: list[int] = []
    quoted = []
    offset = start  # where the current part begins in `text`
    for k, part in enumerate(parts):
        if k % 2:  # inside quotes: one token, its column at the opening quote
            quoted.append(len(tokens))
            tokens.append(part)
            columns.append(offset)  # 1-based column of the quote = 0-based offset of the text
        else:
            if part:
                # a word glued to a quote (`ab"c d"`, `"a"b`) is the general path's business
                if (k > 0 and part[0] != " ") or (k < last and part[-1] != " "):
                    return None
                pos = offset + 1
                for word in part.split(" "):
                    if word:
                        tokens.append(word)
                        columns.append(pos)
                    pos += len(word) + 1
            elif 0 < k < last or (k == 0 and last == 0):
                return None  # two quoted sections touching (`"a""b"`), or nothing at all
        offset += len(part) + 1
    if not tokens:
        return None
    return tokens, columns, quoted
