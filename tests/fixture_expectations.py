"""Reading `# expect: CODE` lines in fixture dumps (pycodestyle's testsuite style).

`# expect: CODE[, CODE...]` stands directly above the line that must draw those codes. Several
expect lines may stack. A file's findings at warning or above must be exactly the expected ones;
an expected info-level code must be present too.
"""

from __future__ import annotations

import re
from pathlib import Path

EXPECT = re.compile(r"#\s*expect:\s*(.+?)\s*$")


def expectations(text: str) -> set[tuple[str, int]]:
    expected: set[tuple[str, int]] = set()
    pending: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        m = EXPECT.match(line.rstrip("\r"))
        if m:
            pending.extend(c.strip() for c in m.group(1).split(",") if c.strip())
            continue
        for code in pending:
            expected.add((code, number))
        pending = []
    return expected


def fixture_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".rules", ".v4", ".v6") and p.is_file())
