"""One JSON document: {"version": 1, "files": [...], "findings": [...], "summary": {...}}."""

from __future__ import annotations

from collections import Counter

from .jsonout import write_document


def finding_dict(f) -> dict:
    d = {
        "code": f.code,
        "name": f.name,
        "severity": str(f.severity),
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "table": f.table,
        "chain": f.chain,
        "rule": f.rule,
        "related": [{"file": r.file, "line": r.line, "message": r.message} for r in f.related],
        "fix": f.fix,
    }
    if f.witness is not None:
        d["witness"] = f.witness
    return d


def document(results) -> dict:
    findings = [finding_dict(f) for r in results for f in r.findings]
    by_sev = Counter(f["severity"] for f in findings)
    return {
        "version": 1,
        "files": [
            {"path": r.file, "family": r.parsed.family, "rules": sum(1 for _ in r.ruleset.rules())} for r in results
        ],
        "findings": findings,
        "summary": {
            "files": len(results),
            "findings": len(findings),
            "error": by_sev.get("error", 0),
            "warning": by_sev.get("warning", 0),
            "info": by_sev.get("info", 0),
            "by_code": dict(sorted(Counter(f["code"] for f in findings).items())),
        },
    }


def render(results, out, **_) -> None:
    write_document(document(results), out)
