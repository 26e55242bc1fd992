"""Each check's documentation is complete, and its examples are tests: the bad example draws the
check's code, the good example does not."""

from __future__ import annotations

import re

import pytest

from ipt_lint.checks.context import LintOptions
from ipt_lint.checks.registry import ALL_CHECKS
from ipt_lint.lint import lint_text

# An example of a check that compares two dumps (EXP304 ipv6-gap) shows both: the IPv4 dump, this
# comment line, then the IPv6 dump, which the test hands over as --ipv6-dump.
PAIRED = "# ipt-lint-example: ipv6-dump\n"


def lint_example(text: str, name: str, tmp_path):
    options = None
    if PAIRED in text:
        text, other = text.split(PAIRED, 1)
        path = tmp_path / f"{name}.v6"
        path.write_text(other)
        options = LintOptions(ipv6_dump=str(path))
    return lint_text(text.encode(), name, options=options)

CODE = re.compile(r"^(IPT|EXP|DKR|K8S)\d{3}$")
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_codes_and_names_are_unique_and_well_formed():
    codes = [c.code for c in ALL_CHECKS]
    names = [c.name for c in ALL_CHECKS]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    for cls in ALL_CHECKS:
        assert CODE.match(cls.code), cls.code
        assert NAME.match(cls.name), cls.name


@pytest.mark.parametrize("cls", ALL_CHECKS, ids=lambda c: c.code)
def test_documentation_is_complete(cls):
    d = cls.doc
    for field in ("what", "why", "example_bad", "example_good", "fix", "when_to_ignore"):
        assert getattr(d, field).strip(), f"{cls.code}: empty {field}"
    assert cls.summary.strip()


@pytest.mark.parametrize("cls", ALL_CHECKS, ids=lambda c: c.code)
def test_bad_example_draws_the_code(cls, tmp_path):
    result = lint_example(cls.doc.example_bad, f"{cls.code}-bad.rules", tmp_path)
    assert cls.code in {f.code for f in result.findings}, [f"{f.code}:{f.line} {f.message}" for f in result.findings]


@pytest.mark.parametrize("cls", ALL_CHECKS, ids=lambda c: c.code)
def test_good_example_does_not(cls, tmp_path):
    result = lint_example(cls.doc.example_good, f"{cls.code}-good.rules", tmp_path)
    assert cls.code not in {f.code for f in result.findings}, [f"{f.code}:{f.line} {f.message}" for f in result.findings]
