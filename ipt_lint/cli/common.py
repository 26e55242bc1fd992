"""Helpers shared by the commands: reading a dump path or stdin, and the rich console."""

from __future__ import annotations

import os
import sys

# A dump larger than this is refused with a clear message instead of exhausting memory: linting
# takes about 40 bytes of memory per byte of dump (docs/bounds.md: a 50 MB dump peaks near 2 GB),
# so the default keeps a run within a few GB. `ipt-lint --max-input-size MIB` (or the environment
# variable IPT_LINT_MAX_INPUT_MB) raises it for a run. The same cap applies to --ipset and
# --ipv6-dump files and to what --live reads.
MIB = 1024 * 1024
DEFAULT_MAX_INPUT_MB = 64
MAX_INPUT_BYTES = DEFAULT_MAX_INPUT_MB * MIB


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


def too_large(name: str, limit: int, what: str = "") -> UsageProblem:
    return UsageProblem(
        f"{name}: {what}larger than {limit / MIB:g} MiB; refusing to read it "
        f"(raise the limit with --max-input-size MIB or IPT_LINT_MAX_INPUT_MB)"
    )


def check_size(path: str, limit: int | None = None, what: str = "") -> None:
    """Refuse a file named in an option (--ipset, --ipv6-dump) that is larger than the cap, before
    anything reads it whole."""
    limit = MAX_INPUT_BYTES if limit is None else limit
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # the reader reports it
    if size > limit:
        raise too_large(display_name(path), limit, what)


def read_input(path: str, stdin_filename: str = "-", limit: int | None = None) -> tuple[bytes, str]:
    """The bytes of `path` (`-`: standard input) and the name to report it under; at most `limit`
    bytes (default MAX_INPUT_BYTES), else UsageProblem. Never reads more than limit + 1 bytes."""
    limit = MAX_INPUT_BYTES if limit is None else limit
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
        name = display_name(stdin_filename)
    else:
        if os.path.isdir(path):
            raise UsageProblem(f"{path}: is a directory, not a dump")
        try:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except FileNotFoundError:
            raise UsageProblem(f"{path}: no such file") from None
        except OSError as exc:
            raise UsageProblem(f"{path}: cannot read: {exc.strerror or exc}") from None
        name = display_name(path)
    if len(data) > limit:
        raise too_large(name, limit)
    return data, name


def console_for(color: str, file=None, width: int | None = None) -> Console:
    """A rich console honouring --color, NO_COLOR and FORCE_COLOR (rich reads the two variables).
    rich is imported here, for text output only (`--format json` needs none of its 15 ms)."""
    from rich.console import Console

    kwargs = {"file": file or sys.stdout, "highlight": False, "emoji": False, "markup": False}
    if width:
        kwargs["width"] = width
    if color == "always":
        kwargs["force_terminal"] = True
    elif color == "never":
        kwargs["no_color"] = True
        kwargs["color_system"] = None
    return Console(**kwargs)
