"""Physical lines of a dump, and the byte-level problems iptables-restore would trip over.

iptables-restore reads with `fgets` into a 10,240-byte buffer and decides what a line is by its
first byte. It does not strip carriage returns, stops a line at NUL, and has no notion of text
encoding. The problems are reported here (IPT108) and the line is cleaned so that the rest of the
file can still be analysed.
"""

from __future__ import annotations

from .ast import Diagnostic, Span

# fgets() into a 10,240-byte buffer: at most 10,239 bytes of a line including its newline.
MAX_LINE_BYTES = 10_239


def decode(data: bytes) -> tuple[str, bool]:
    """Text of the dump, and whether it had bytes that are not UTF-8 (kept as U+FFFD)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def split_lines(text: str, file: str, undecodable: bool = False) -> tuple[list[str], list[Diagnostic]]:
    """The physical lines (line k is item k - 1), cleaned as described above, and their problems."""
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()  # the file ends with a newline
    if (not undecodable and "\r" not in text and "\x00" not in text
            and max(map(len, raw_lines), default=0) < MAX_LINE_BYTES // 4):
        return raw_lines, []  # nothing to clean or report: the common case, in C
    return _cleaned(raw_lines, file, undecodable)


def _cleaned(raw_lines: list[str], file: str, undecodable: bool) -> tuple[list[str], list[Diagnostic]]:
    """split_lines() line by line."""
    lines: list[str] = []
    problems: list[Diagnostic] = []
    crlf_reported = False
    for number, raw in enumerate(raw_lines, start=1):
        line = raw
        if line.endswith("\r"):
            line = line[:-1]
            if not crlf_reported:
                problems.append(
                    Diagnostic(
                        "IPT108",
                        "CRLF line endings: iptables-restore keeps the carriage return "
                        "(`*filter\\r` is an unknown table)",
                        Span(file, number, len(line) + 1),
                        detail="convert the file to LF line endings (dos2unix)",
                    )
                )
                crlf_reported = True
        if "\x00" in line:
            problems.append(
                Diagnostic(
                    "IPT108",
                    "NUL byte: iptables-restore stops reading the line there",
                    Span(file, number, line.index("\x00") + 1),
                )
            )
            line = line.replace("\x00", " ")
        if undecodable and "\ufffd" in line:
            problems.append(
                Diagnostic(
                    "IPT108",
                    "bytes that are not UTF-8 text",
                    Span(file, number, line.index("\ufffd") + 1),
                )
            )
        if len(line) >= MAX_LINE_BYTES // 4 and len(line.encode("utf-8", "replace")) + 1 > MAX_LINE_BYTES:
            problems.append(
                Diagnostic(
                    "IPT108",
                    f"line of {len(line.encode('utf-8', 'replace'))} bytes: iptables-restore reads at most "
                    f"{MAX_LINE_BYTES - 1} and parses the rest as a new line",
                    Span(file, number, 1),
                )
            )
        lines.append(line)
    return lines, problems


def plain_lines(text: str) -> list[str]:
    """The physical lines as split_lines() cleans them (a final carriage return dropped, NUL as
    a blank), without the problems: all the lazy loader needs, at a fraction of the cost."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\r" in text or "\x00" in text:
        lines = [(line[:-1] if line.endswith("\r") else line).replace("\x00", " ") for line in lines]
    return lines
