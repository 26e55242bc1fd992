"""Helpers shared by the commands: reading a dump path or stdin, and the rich console."""

from __future__ import annotations

import os
import sys

from rich.console import Console

# A dump larger than this is refused with a clear message instead of exhausting memory.
MAX_INPUT_BYTES = 512 * 1024 * 1024


class UsageProblem(Exception):
    """A problem with what the user asked for: printed as one line, exit 2."""


def display_name(name: str) -> str:
    """A file name as reports show it. A name that is not UTF-8 reaches Python with lone
    surrogates (surrogateescape), which no UTF-8 report can encode (SARIF and JSON would fail or
    be invalid): each such byte is shown as U+FFFD instead."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_input(path: str, stdin_filename: str = "-") -> tuple[bytes, str]:
    """The bytes of `path` (`-`: standard input) and the name to report it under."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = display_name(stdin_filename)
    else:
        if os.path.isdir(path):
            raise UsageProblem(f"{path}: is a directory, not a dump")
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
        except FileNotFoundError:
            raise UsageProblem(f"{path}: no such file") from None
        except OSError as exc:
            raise UsageProblem(f"{path}: cannot read: {exc.strerror or exc}") from None
        name = display_name(path)
    if len(data) > MAX_INPUT_BYTES:
        raise UsageProblem(f"{name}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; refusing to read it")
    return data, name


def console_for(color: str, file=None, width: int | None = None) -> Console:
    """A rich console honouring --color, NO_COLOR and FORCE_COLOR (rich reads the two variables)."""
    kwargs = {"file": file or sys.stdout, "highlight": False, "emoji": False, "markup": False}
    if width:
        kwargs["width"] = width
    if color == "always":
        kwargs["force_terminal"] = True
    elif color == "never":
        kwargs["no_color"] = True
        kwargs["color_system"] = None
    return Console(**kwargs)
