"""GitLab code quality report (a Code Climate subset): a JSON array, one issue per finding.

    {"description", "check_name", "fingerprint", "severity", "location": {"path", "lines": {"begin"}}}

Severity: error -> critical (blocker for security checks), warning -> major, info -> info.
The fingerprint is the stable key of `ipt_lint.policy.baseline` (code + file + table + chain + rule
text, never the line), unique within the report, so merge-request widgets do not see a moved rule as
a new issue.
"""

from __future__ import annotations

import json

from ..checks.base import Severity
from ..policy.baseline import fingerprints
from .safe import printable

SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def issues(results) -> list[dict]:
    out = []
    for r in results:
        for f, fp in zip(r.findings, fingerprints(r.findings), strict=True):
            severity = "blocker" if f.security and f.severity == Severity.ERROR else SEVERITY[f.severity]
            out.append(
                {
                    "type": "issue",
                    "description": printable(f"{f.code} {f.name}: {f.message}"),
                    "check_name": f.code,
                    "categories": ["Security"] if f.security else ["Bug Risk"],
                    "fingerprint": fp.replace(":", "-"),
                    "severity": severity,
                    "location": {"path": f.file.removeprefix("./"), "lines": {"begin": max(f.line, 1)}},
                }
            )
    return out


def render(results, out, **_) -> None:
    json.dump(issues(results), out, indent=2, ensure_ascii=False)
    out.write("\n")
