#!/usr/bin/env python3
"""Time the whole check catalog (every check in ipt_lint.checks.registry.ALL_CHECKS) on kube-proxy dumps.

    python benchmarks/catalog.py                          # 1k, 10k and 100k rules, 3 runs each
    python benchmarks/catalog.py --sizes 100000 --runs 5
    python benchmarks/catalog.py --dump samples/plain-server.rules --dump /tmp/other.rules
    python benchmarks/catalog.py --select IPT2,DKR --json /tmp/catalog.json
    python benchmarks/catalog.py --every-rule      # also coverage over kube-proxy's own rules

The dumps come from ``benchmarks/gen_kube.py`` (fixed seed). Parsing and model building happen
once per dump and are reported apart: this times what the checks cost on top of them. Each run
gets a fresh ``LintContext`` (so nothing cached by an earlier run is reused), builds the semantics
engine first (reported as its own row, since whichever check asks first would otherwise pay for
it), then runs the checks in registry order, in one process, with the garbage collector as
``ipt_lint.lint`` leaves it. Per row: the median over ``--runs`` of wall-clock seconds.

Target (reported, not asserted): the whole catalog within a few seconds on 100k rules.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from gen_kube import generate

from ipt_lint.checks import LintContext, LintOptions
from ipt_lint.checks.registry import ALL_CHECKS
from ipt_lint.model.build import build_model
from ipt_lint.parse import parse_text

TARGET_S = 5.0


def load(text: str, name: str):
    t = time.perf_counter()
    was = gc.isenabled()
    gc.disable()
    try:
        parsed = parse_text(text, name)
        ruleset, problems = build_model(parsed)
    finally:
        if was:
            gc.enable()
    return parsed, ruleset, list(parsed.diagnostics) + problems, time.perf_counter() - t


def one_run(parsed, ruleset, diagnostics, checks, every_rule=False) -> tuple[dict[str, float], dict[str, int]]:
    ctx = LintContext(parsed, ruleset, list(diagnostics), LintOptions())
    times: dict[str, float] = {}
    counts: dict[str, int] = {}
    t = time.perf_counter()
    try:
        _ = ctx.engine  # built here so that its cost has its own row
    except ValueError:
        pass
    times["engine"] = time.perf_counter() - t
    for cls in checks:
        t = time.perf_counter()
        n = sum(1 for _ in cls().run(ctx))
        times[cls.code] = time.perf_counter() - t
        counts[cls.code] = n
    if every_rule:
        from ipt_lint.checks.coverage import CoverageAnalysis

        t = time.perf_counter()
        CoverageAnalysis(ctx, every_rule=True)
        times["every-rule"] = time.perf_counter() - t
    return times, counts


def bench(text: str, name: str, runs: int, checks, every_rule=False) -> dict:
    parsed, ruleset, diagnostics, load_s = load(text, name)
    rules = sum(1 for _ in ruleset.rules())
    samples: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    totals = []
    for _ in range(runs):
        times, counts = one_run(parsed, ruleset, diagnostics, checks, every_rule)
        for k, v in times.items():
            samples.setdefault(k, []).append(v)
        totals.append(sum(v for k, v in times.items() if k != "every-rule"))
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "dump": name,
        "rules": rules,
        "parse_and_model_s": round(load_s, 3),
        "runs": runs,
        "catalog_s": round(statistics.median(totals), 3),
        "catalog_min_s": round(min(totals), 3),
        "per_check_s": {k: round(v, 4) for k, v in med.items()},
        "findings": {k: v for k, v in counts.items() if v},
    }


def table(results: list[dict], top: int) -> str:
    out = ["| dump | rules | parse+model s | catalog s (median) | min s | slowest (median s) | findings |",
           "|---|---:|---:|---:|---:|---|---|"]
    for r in results:
        slow = sorted(((k, v) for k, v in r["per_check_s"].items() if k != "every-rule"), key=lambda kv: -kv[1])[:top]
        slow_txt = ", ".join(f"{k} {v:.3f}" for k, v in slow)
        out.append(
            f"| {r['dump']} | {r['rules']:,} | {r['parse_and_model_s']:.2f} | {r['catalog_s']:.3f} | "
            f"{r['catalog_min_s']:.3f} | {slow_txt} | {r['findings'] or '{}'} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="rule counts of generated kube-proxy dumps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dump", action="append", default=[], help="time this dump file instead (repeatable)")
    ap.add_argument("--select", default="", help="only checks whose code starts with one of these (comma-separated)")
    ap.add_argument("--top", type=int, default=4, help="slowest rows to show per dump")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--every-rule",
        action="store_true",
        help="also time IPT202/IPT203's coverage over every rule, kube-proxy's own included (the checks "
        "skip runtime rules; this exercises the rule index on KUBE-SERVICES), as row `every-rule`",
    )
    args = ap.parse_args(argv)
    prefixes = tuple(p.strip().upper() for p in args.select.split(",") if p.strip())
    checks = [c for c in ALL_CHECKS if not prefixes or c.code.startswith(prefixes)]
    results = []
    if args.dump:
        for path in args.dump:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
            results.append(bench(text, path, args.runs, checks, args.every_rule))
    else:
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            text, _facts = generate(size, args.seed)
            results.append(bench(text, f"kube-{size // 1000}k", args.runs, checks, args.every_rule))
    print(f"{len(checks)} checks: {', '.join(c.code for c in checks)}")
    print(table(results, args.top))
    for r in results:
        if "every-rule" in r["per_check_s"]:
            print(f"* {r['dump']}: coverage over every rule (not part of the catalog) {r['per_check_s']['every-rule']:.2f} s")
        verdict = "met" if r["catalog_s"] <= TARGET_S else "NOT met"
        print(f"* {r['dump']}: catalog {r['catalog_s']:.2f} s on {r['rules']:,} rules (target <= {TARGET_S:.0f} s: {verdict})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
