"""The error a line's parse raises, apart from the grammar module: importing that one imports
Lark (about 20 ms), which a dump of well-formed lines, all read by the fast path, never needs."""

from __future__ import annotations


class LineSyntaxError(Exception):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message = message
        self.column = column
