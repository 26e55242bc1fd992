"""Output formats by name (`--format`), each a function (results, console/stream, run=RunInfo) -> None.

`RunInfo` carries what is true of the whole run rather than of one file: the selection (severity
overrides for SARIF rule levels), the baseline and its stale entries, internal errors.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from . import concise, github, gitlab, json_, junit, sarif, text
from .jsonout import write_document


@dataclass
class RunInfo:
    selection: object = None  # ipt_lint.policy.Selection
    fail_on: str = "warning"
    baseline: str | None = None  # the --baseline file
    stale: list = field(default_factory=list)  # ipt_lint.policy.baseline.Entry, no longer found
    errors: list[str] = field(default_factory=list)


def json_document(results, run: RunInfo | None = None) -> dict:
    """json_.document plus what the policy stage hid: suppressed findings with their reasons and the
    baseline's hidden and stale counts."""
    doc = json_.document(results)
    suppressed = []
    for r in results:
        for s in getattr(r, "suppressed", ()):
            d = json_.finding_dict(s.finding)
            d["suppression"] = {"line": s.line, "kind": s.kind, "reason": s.reason}
            suppressed.append(d)
    doc["suppressed"] = suppressed
    summary = doc.setdefault("summary", {})
    summary["suppressed"] = len(suppressed)
    summary["suppressed_by_code"] = dict(sorted(Counter(d["code"] for d in suppressed).items()))
    baselined = sum(len(getattr(r, "baselined", ())) for r in results)
    if run is not None and run.baseline is not None:
        summary["baseline"] = {
            "file": run.baseline,
            "hidden": baselined,
            "stale": sum(e.count for e in run.stale),
            "stale_entries": [e.as_dict() for e in run.stale],
        }
    return doc


def render_json(results, out, run: RunInfo | None = None, **_) -> None:
    write_document(json_document(results, run), out)


FORMATS: dict[str, Callable] = {
    "text": text.render,
    "concise": concise.render,
    "json": render_json,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
    "gitlab": gitlab.render,
}


def render(fmt: str, results, out, **kwargs) -> None:
    FORMATS[fmt](results, out, **kwargs)


def statistics(results) -> list[dict]:
    """Findings per code, most frequent first (ruff's --statistics)."""
    counts: Counter = Counter()
    meta: dict[str, tuple[str, str]] = {}
    for r in results:
        for f in r.findings:
            counts[f.code] += 1
            meta.setdefault(f.code, (f.name, str(f.severity)))
    return [
        {"code": code, "name": meta[code][0], "severity": meta[code][1], "count": n}
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def render_statistics(results, out, fmt: str = "text") -> None:
    rows = statistics(results)
    if fmt == "json":
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    width = max((len(str(r["count"])) for r in rows), default=1)
    name_w = max((len(r["name"]) for r in rows), default=0)
    for r in rows:
        out.write(f"{r['count']:>{width}}\t{r['code']}\t{r['name']:<{name_w}}\t[{r['severity']}]\n")
