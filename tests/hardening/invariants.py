"""What must hold for every input, however hostile: shared by the fuzz and bounds tests.

* no exception escapes `lint_text`, and `result.errors` (checks that crashed) is empty;
* every finding's line, and every related line, is a line of the file: 1..number of physical lines
  (a finding about the end of the file, like a missing COMMIT, points at the table's header line,
  never past the end); columns are at least 1; one line draws a bounded number of findings;
* every report format renders; json, sarif and gitlab are valid JSON, junit is well-formed XML;
* the human formats (text, concise, github, junit, gitlab) carry no control character from the
  dump: no ESC, no C0 control other than newline and tab, no DEL or C1 control;
* the fast path and the grammar read every line the same way (the fast path may decline a line,
  never read it differently).
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

from rich.console import Console

from ipt_lint.lint import LintResult, lint_text
from ipt_lint.parse import MAX_PROBLEMS_PER_LINE
from ipt_lint.parse.fastpath import parse_line_fast
from ipt_lint.parse.grammar import LineSyntaxError, parse_line_with_lark
from ipt_lint.parse.reader import decode, split_lines
from ipt_lint.report import render
from ipt_lint.report.registry import RunInfo

from .strategies import physical_line_count

MACHINE_FORMATS = ("json", "sarif", "gitlab")
HUMAN_FORMATS = ("text", "concise", "github", "junit", "gitlab")
ALL_FORMATS = ("text", "concise", "json", "sarif", "github", "junit", "gitlab")

# Raw control characters a terminal or a CI log would act on. Newline and tab are layout.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def lint(data: bytes | str, name: str = "fuzz.rules") -> LintResult:
    result = lint_text(data, name)
    assert result.errors == [], result.errors
    return result


# Findings of one code on one line: the parse and model stages report at most
# MAX_PROBLEMS_PER_LINE and one that counts the rest; a check adds at most one per rule; a
# suppression directive draws at most MAX_PROBLEMS_PER_LINE + 1 IPT902. IPT901 is one per code a
# directive names that exists (bounded by the number of checks, so not counted here).
MAX_PER_LINE_AND_CODE = 2 * (MAX_PROBLEMS_PER_LINE + 1) + 2


def check_lines(data: bytes | str, result: LintResult) -> None:
    n = physical_line_count(data)
    per_line = Counter((f.line, f.code) for f in result.findings if f.code != "IPT901")
    assert not per_line or max(per_line.values()) <= MAX_PER_LINE_AND_CODE, per_line.most_common(3)
    for f in result.findings:
        assert 1 <= f.line <= n, (f.code, f.line, n, f.message)
        assert f.column >= 1, (f.code, f.line, f.column, f.message)
        for r in f.related:
            assert 1 <= r.line <= n, (f.code, "related", r.line, n, r.message)


def rendered(result: LintResult, fmt: str, *, color: bool = False) -> str:
    out = io.StringIO()
    if fmt == "text":
        console = Console(
            file=out, force_terminal=color, color_system="truecolor" if color else None, width=120,
            highlight=False, emoji=False, markup=False, no_color=not color,
        )
        render(fmt, [result], console, run=RunInfo())
    else:
        render(fmt, [result], out, run=RunInfo())
    return out.getvalue()


def strip_sgr(text: str) -> str:
    """Text without the colour sequences rich itself writes (ESC [ ... m)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def check_reports(result: LintResult, formats=ALL_FORMATS) -> dict[str, str]:
    outputs = {}
    for fmt in formats:
        text = rendered(result, fmt)
        outputs[fmt] = text
        if fmt in ("json", "sarif", "gitlab"):
            json.loads(text)
        if fmt == "junit":
            ET.fromstring(text.encode("utf-8"))
        if fmt in HUMAN_FORMATS:
            bad = RAW_CONTROL.search(text)
            assert bad is None, (fmt, repr(text[max(0, bad.start() - 40) : bad.end() + 40]))
    return outputs


def check_all(data: bytes | str, name: str = "fuzz.rules", formats=ALL_FORMATS) -> LintResult:
    result = lint(data, name)
    check_lines(data, result)
    check_fast_path_agrees(data)
    check_reports(result, formats)
    return result


def check_fast_path_agrees(data: bytes | str) -> None:
    text = decode(data)[0] if isinstance(data, bytes) else data
    lines, _ = split_lines(text, "f")
    for number, line in enumerate(lines, 1):
        fast = parse_line_fast(line, "f", number)
        if fast is None:
            continue
        try:
            slow = parse_line_with_lark(line, "f", number)
        except LineSyntaxError as exc:
            raise AssertionError(f"fast path accepted a line the grammar rejects ({exc.message}): {line!r}")
        assert fast == slow, f"fast path and grammar disagree on {line!r}:\n{fast}\n{slow}"
