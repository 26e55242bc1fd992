"""Every fixture dump under tests/fixtures draws exactly the findings its `# expect:` lines name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_lint.checks.base import Severity
from ipt_lint.lint import lint_text

from .fixture_expectations import expectations, fixture_files

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path", fixture_files(FIXTURES), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture(path: Path):
    data = path.read_bytes()
    text = data.decode("utf-8", "replace")
    expected = expectations(text)
    result = lint_text(data, str(path))
    assert not result.errors
    expected_codes = {c for c, _ in expected}
    actual = {
        (f.code, f.line)
        for f in result.findings
        if f.severity >= Severity.WARNING or f.code in expected_codes
    }
    assert actual == expected, "\n".join(
        f"{f.line}:{f.column} {f.code} {f.message}" for f in result.findings
    )
