"""Smaller versions of the resource bounds of `benchmarks/bounds.py`: no crash, no RecursionError,
bounded output, and the finding iptables itself would give. No timings are asserted here.

Recursion is caught at small sizes by running with a shallow stack: the recursion limit is set to
the current depth plus a few hundred frames, so a 1,200-deep jump chain overflows any algorithm
that recurses once per chain (the default limit of 1,000 would need a 10,000-deep chain, which
`benchmarks/bounds.py` runs).
"""

from __future__ import annotations

import contextlib
import json
import sys

import pytest

from ipt_lint.model import build_model
from ipt_lint.model.printer import model_signature, print_ruleset
from ipt_lint.parse import MAX_PROBLEMS_PER_LINE, parse_text

from . import bigdumps
from .invariants import check_all, lint, rendered

STACK_MARGIN = 300


def _depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


@contextlib.contextmanager
def shallow_stack(margin: int = STACK_MARGIN):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + margin)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def codes(result) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in result.findings:
        out[f.code] = out.get(f.code, 0) + 1
    return out


@pytest.mark.parametrize("depth, reverse", [(400, False), (1200, True)], ids=["in-order", "reverse-order"])
def test_deep_jump_chain_without_recursion(depth, reverse):
    # Declared in reverse, the chains that always end are found in one pass; in file order the
    # fixed point of IPT201/IPT206 needs one pass per level (quadratic, benchmarks/bounds.py).
    text = bigdumps.deep_chain(depth, reverse_declarations=reverse)
    with shallow_stack():
        result = lint(text, "deep.rules")
        printed = print_ruleset(result.ruleset)
        again, _ = build_model(parse_text(printed, "printed.rules"))
        assert model_signature(again) == model_signature(result.ruleset)
        json.loads(rendered(result, "json"))
        json.loads(rendered(result, "sarif"))
        rendered(result, "text")
    assert "IPT205" not in codes(result)


def test_deep_jump_chain_in_the_semantics_engine():
    semantics = pytest.importorskip("ipt_lint.semantics")
    # deeper than the default recursion limit; the engine stops at its own depth bound
    ruleset, _ = build_model(parse_text(bigdumps.deep_chain(2500, reverse_declarations=True), "deep.rules"))
    engine = semantics.engine_for(ruleset)
    exposures = engine.exposures()
    assert exposures  # the ACCEPT rules of the first chains are reachable
    assert all(e.proto == "tcp" for e in exposures)


def test_jump_cycles_are_found_without_recursion():
    with shallow_stack():
        big = lint(bigdumps.deep_chain(1200, cycle=True), "cycle.rules")
        graph = lint(bigdumps.cyclic_graph(900), "graph.rules")
        for r in (big, graph):
            json.loads(rendered(r, "json"))
    assert codes(big).get("IPT205") == 1  # one cycle through 1,200 chains
    assert codes(graph).get("IPT205", 0) >= 1


def test_many_user_chains():
    result = lint(bigdumps.many_chains(2000), "chains.rules")
    assert codes(result).get("IPT204") == 1800  # nine in ten are never jumped to
    assert result.errors == []


@pytest.mark.parametrize("kind", ["comment", "token", "words"])
def test_overlong_line_is_reported_and_bounded(kind):
    text = bigdumps.long_line(150_000, kind)
    result = check_all(text, "long.rules", formats=("json", "concise", "junit"))
    found = codes(result)
    assert found.get("IPT108"), found  # longer than iptables-restore's 10,239-byte buffer
    # however many problems the line has, it draws a bounded number of findings: at most
    # MAX_PROBLEMS_PER_LINE of each code and one line counting the rest
    assert all(n <= 2 * (MAX_PROBLEMS_PER_LINE + 1) for n in found.values()), found
    assert len(rendered(result, "json")) < 80 * len(text)


def test_big_dump():
    result = lint(bigdumps.big_dump(400_000), "big.rules")
    assert sum(1 for _ in result.ruleset.rules()) > 2_000
    assert result.errors == []


def test_many_dnat_rules_and_exposure():
    semantics = pytest.importorskip("ipt_lint.semantics")
    ruleset, _ = build_model(parse_text(bigdumps.dnat_rules(300), "dnat.rules"))
    assert sum(1 for _ in ruleset.rules()) > 600
    engine = semantics.engine_for(ruleset)
    report = engine.exposure_report(())
    json.dumps(report.to_json())
    assert len(report.exposures) >= 1


def test_input_size_limit_is_enforced(tmp_path, monkeypatch):
    from ipt_lint.cli import common

    monkeypatch.setattr(common, "MAX_INPUT_BYTES", 1000)
    path = tmp_path / "big.rules"
    path.write_bytes(b"#" * 1001)
    with pytest.raises(common.UsageProblem, match="refusing to read it"):
        common.read_input(str(path))
    path.write_bytes(b"#" * 1000)
    assert common.read_input(str(path))[0] == b"#" * 1000
