"""The upstream iptables test corpus as ipt-lint tests.

Source: ``../shared/corpus/iptables-upstream/`` (netfilter's own ``extensions/*.t`` unit tests,
replayed against iptables 1.8.9 on both backends, see ``../shared/docs/syntax.md`` §3-§4). Each
oracle row becomes the dump of syntax.md §4::

    *TABLE
    :CHAIN ACCEPT [0:0]          <- every oracle chain is a built-in chain, so it takes a policy
    -A CHAIN RULE                <- line 3
    COMMIT

linted with the row's family. Two rates are measured and printed (``pytest -s``), and written to
``$TMPDIR/ipt-lint-corpus-rates.json``:

* **OK rate**: rows upstream expects to load (``expected == OK``) that iptables 1.8.9 also parses
  (``syntax_class_1_8_9 == parses``) must draw no error-level IPT1xx finding. Target >= 99 %.
* **FAIL rate**: rows upstream expects to fail that 1.8.9 rejects as a parse error
  (``syntax_class_1_8_9 == parse-error``) must draw an error-level IPT1xx finding on line 3, the
  rule's line. Target >= 80 %.

Rows where upstream and 1.8.9 disagree (newer syntax, reversed ranges rejected only since 1.8.11)
and FAIL rows that only the kernel rejects are not in either rate; the differential test
(``test_differential_restore.py``) covers them against the live binary.

Every real dump in ``corpus/iptables-upstream/dumps/`` must lint without an error-level IPT1xx
finding. (All of them are iptables-save syntax: ``nft-only-0010-iptables-nft-save.txt`` is the
output of ``iptables-nft-save``; only ``0010-nft-native.txt``, not in that folder, is nft syntax.)
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ipt_lint.lint import lint_text

from .restore_helpers import (
    CORPUS_DUMPS,
    ROW_RULE_LINE,
    describe,
    error_findings,
    module_of,
    oracle_rows,
    row_dump,
    row_id,
)

OK_TARGET = 0.99
FAIL_TARGET = 0.80
RATES_FILE = Path(tempfile.gettempdir()) / "ipt-lint-corpus-rates.json"

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def rows(shared_dir):
    return oracle_rows(shared_dir)


@pytest.fixture(scope="module")
def rates() -> dict:
    """Collected by the two rate tests, written to RATES_FILE after each."""
    return {}


def _record(rates: dict, key: str, value: dict) -> None:
    rates[key] = value
    RATES_FILE.write_text(json.dumps(rates, indent=2, sort_keys=True) + "\n")


def _report(title: str, failures: list[tuple[dict, str]], limit: int = 60) -> str:
    by_module = Counter(module_of(r) for r, _ in failures)
    lines = [f"{title}: {len(failures)} rows; by extension: {dict(by_module.most_common())}"]
    seen = set()
    for row, why in failures:
        key = (row["family"], row["source_file"], row["line"])
        if key in seen:  # the same test line in other chains
            continue
        seen.add(key)
        if len(seen) > limit:
            lines.append(f"  ... ({len(failures)} rows in all)")
            break
        lines.append(f"  {row_id(row)}  {row['rule_text']!r}\n      -> {why}")
    return "\n".join(lines)


def test_ok_rows_draw_no_error(rows, rates):
    selected = [r for r in rows if r["expected"] == "OK" and r["syntax_class_1_8_9"] == "parses"]
    assert len(selected) > 3000, "the oracle lost rows"
    failures = []
    for row in selected:
        errors = error_findings(lint_text(row_dump(row), "oracle.rules", family=row["family"]))
        if errors:
            failures.append((row, describe(errors)))
    rate = 1 - len(failures) / len(selected)
    _record(rates, "ok_rows", {"rows": len(selected), "failing": len(failures), "rate": round(rate, 4),
                               "target": OK_TARGET,
                               "failing_by_extension": dict(Counter(module_of(r) for r, _ in failures))})
    print(f"\nOK rows (expected OK, 1.8.9 parses) without an error-level IPT1xx finding: "
          f"{len(selected) - len(failures)}/{len(selected)} = {rate:.2%} (target {OK_TARGET:.0%})")
    if failures:
        print(_report("OK rows drawing an error", failures))
    assert rate >= OK_TARGET, _report("OK rows drawing an error", failures)


def test_fail_rows_draw_error_on_rule_line(rows, rates):
    selected = [r for r in rows if r["expected"] == "FAIL" and r["syntax_class_1_8_9"] == "parse-error"]
    assert len(selected) > 1000, "the oracle lost rows"
    failures = []
    for row in selected:
        errors = error_findings(lint_text(row_dump(row), "oracle.rules", family=row["family"]))
        on_line = [f for f in errors if f.line == ROW_RULE_LINE]
        if not on_line:
            why = "no error-level IPT1xx finding" if not errors else f"errors elsewhere: {describe(errors)}"
            failures.append((row, why))
    rate = 1 - len(failures) / len(selected)
    _record(rates, "fail_rows", {"rows": len(selected), "missed": len(failures), "rate": round(rate, 4),
                                 "target": FAIL_TARGET,
                                 "missed_by_extension": dict(Counter(module_of(r) for r, _ in failures))})
    print(f"\nFAIL rows (expected FAIL, 1.8.9 parse error) with an error-level IPT1xx finding on the rule's line: "
          f"{len(selected) - len(failures)}/{len(selected)} = {rate:.2%} (target {FAIL_TARGET:.0%})")
    if failures:
        print(_report("FAIL rows ipt-lint accepts", failures, limit=200))
    assert rate >= FAIL_TARGET, _report("FAIL rows ipt-lint accepts", failures, limit=200)


def _corpus_dumps(shared_dir: Path) -> list[Path]:
    paths = sorted(p for p in (shared_dir / CORPUS_DUMPS).iterdir() if p.is_file())
    assert len(paths) >= 9, f"expected the 9 upstream dumps in {shared_dir / CORPUS_DUMPS}"
    return paths


def _family_of(path: Path) -> str:
    return "ipv6" if "ip6tables" in path.name else "ipv4"


def test_corpus_dumps_lint_clean(shared_dir):
    problems = defaultdict(list)
    for path in _corpus_dumps(shared_dir):
        result = lint_text(path.read_bytes(), path.name, family=_family_of(path))
        assert result.ruleset is not None
        for f in error_findings(result):
            line = result.parsed.source_lines[f.line - 1] if 0 < f.line <= len(result.parsed.source_lines) else ""
            problems[path.name].append(f"{f.code}@{f.line}:{f.column} {f.message}\n      {line}")
    assert not problems, "upstream dumps drawing error-level IPT1xx findings:\n" + "\n".join(
        f"  {name}:\n    " + "\n    ".join(msgs) for name, msgs in problems.items()
    )


def test_corpus_dumps_family_detected(shared_dir):
    """Without --family, the header comment (or the first address) decides, and must decide right."""
    wrong = {}
    for path in _corpus_dumps(shared_dir):
        result = lint_text(path.read_bytes(), path.name)
        if result.parsed.family != _family_of(path):
            wrong[path.name] = (result.parsed.family, result.parsed.family_evidence)
    assert not wrong, f"family detected wrongly: {wrong}"


def test_corpus_dump_rules_all_parsed(shared_dir):
    """Every `-A` line of the upstream dumps ends up as a rule in the model (nothing silently dropped)."""
    short = {}
    for path in _corpus_dumps(shared_dir):
        text = path.read_text(encoding="utf-8", errors="replace")
        written = sum(1 for line in text.split("\n") if line.lstrip("[0123456789:]").lstrip().startswith("-A "))
        result = lint_text(text, path.name, family=_family_of(path))
        modelled = sum(len(chain.rules) for table in result.ruleset.tables.values() for chain in table.chains.values())
        if modelled != written:
            short[path.name] = (written, modelled)
    assert not short, f"(written, modelled) rule counts differ: {short}"
