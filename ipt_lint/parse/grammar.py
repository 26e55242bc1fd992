"""The Lark grammar (`grammar/iptables_save.lark`) and the transformer that turns its trees into
line-level AST nodes.

This is the definition of the format. `ipt_lint.parse.fastpath` reads well-formed lines faster and
must agree with it on every line (tests/test_parse_equivalence.py); whenever the fast path is not
sure, the line comes here.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput

from .ast import Arg, ChainDecl, Comment, Commit, Counters, LineNode, RuleLine, Span, TableHeader
from .errors import LineSyntaxError

__all__ = ["LineSyntaxError", "lark_parser", "parse_line_with_lark", "grammar_text", "unquote", "LineBuilder"]

GRAMMAR_NAME = "iptables_save.lark"


def grammar_text() -> str:
    """The grammar shipped in the wheel (ipt_lint/grammar/), or the repository's top-level copy."""
    packaged = resources.files("ipt_lint").joinpath("grammar", GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source_tree = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return source_tree.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def lark_parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", lexer="contextual", start=["dump", "statement"])


def unquote(raw: str) -> tuple[str, bool]:
    """Resolve a quoted token: text before the quote is literal, inside it `\\x` is `x`."""
    prefix, _, rest = raw.partition('"')
    out = [prefix]
    i, n = 0, len(rest)
    closed = False
    while i < n:
        ch = rest[i]
        if ch == "\\" and i + 1 < n:
            out.append(rest[i + 1])
            i += 2
            continue
        if ch == '"':
            closed = True
            break
        if ch == "\\":  # a lone backslash at the end of an unterminated quote
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out), closed


class LineBuilder(Transformer):
    """Builds line-level nodes for one physical line (`line` and `file` give the position)."""

    def __init__(self, file: str, line: int):
        super().__init__()
        self.file = file
        self.line = line

    def _span(self, token: Token) -> Span:
        return Span(self.file, self.line, token.column)

    # statements
    def comment(self, items):
        (tok,) = items
        return Comment(self._span(tok), str(tok))

    def table_header(self, items):
        star, name = items[0], items[1]
        return TableHeader(self._span(star), str(name))

    def chain_decl(self, items):
        colon, name, policy = items[0], items[1], items[2]
        counters = items[3] if len(items) > 3 and isinstance(items[3], Counters) else None
        return ChainDecl(self._span(colon), str(name), str(policy), counters)

    def commit(self, items):
        return Commit(self._span(items[0]))

    def counters(self, items):
        return Counters(str(items[1]), str(items[3]))

    policy_counters = counters

    def rule(self, items):
        counters = items[0] if items and isinstance(items[0], Counters) else None
        args = tuple(a for a in items if isinstance(a, Arg))
        column = args[0].column if args else 1
        if counters is not None:
            column = 1
        return RuleLine.from_args(Span(self.file, self.line, column), counters, args)

    # rule arguments
    def negation(self, items):
        return Arg("!", items[0].column)

    def option_name(self, items):
        return Arg(str(items[0]), items[0].column)

    def word(self, items):
        return Arg(str(items[0]), items[0].column)

    def quoted(self, items):
        text, _ = unquote(str(items[0]))
        return Arg(text, items[0].column, quoted=True)

    def unterminated(self, items):
        text, _ = unquote(str(items[0]))
        return Arg(text, items[0].column, quoted=True, unterminated=True)


def parse_line_with_lark(text: str, file: str, line: int) -> LineNode:
    """Parse one physical line (no newline) with the grammar; raises LineSyntaxError."""
    try:
        tree = lark_parser().parse(text, start="statement")
    except UnexpectedInput as exc:
        column = getattr(exc, "column", 1) or 1
        token = getattr(exc, "token", None)
        if token is not None and str(token):
            shown = str(token) if len(str(token)) <= 40 else str(token)[:40] + "..."
            message = f"Bad argument `{shown}'"
        else:
            char = text[column - 1] if 0 < column <= len(text) else ""
            message = f"unexpected `{char}`" if char.strip() else "incomplete line"
        raise LineSyntaxError(message, column) from None
    return LineBuilder(file, line).transform(tree)
