"""Text from a dump is untrusted: it must reach the terminal literally.

Reporters build rich `Text` objects (never markup strings) from dump content, so `[red]` in a
comment prints as `[red]`; and control characters (escape sequences, carriage returns, bells) are
shown as visible escapes so a dump cannot move the cursor or recolour the screen.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

# C0/C1 controls and DEL; zero-width and bidi marks; lone surrogates (from a file name that is not
# UTF-8: no UTF-8 output can encode them) and the noncharacters U+FFFE/U+FFFF (XML 1.0, hence JUnit,
# cannot carry them).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """`text` with control and bidi characters replaced by `\\xNN` / `\\uNNNN` escapes."""

    def esc(m: re.Match) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _CONTROL.sub(esc, text.replace("\t", " "))


def caret_offset(line: str, column: int) -> int:
    """How many terminal cells precede 1-based `column` of `line` once printed with printable():
    an escaped control character takes four cells or six (`\\x1b`, `\\u202e`), a wide character
    two, so the caret under the source line points at the character the finding names."""
    return cell_len(printable(line[: max(column - 1, 0)]))
