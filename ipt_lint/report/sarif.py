"""SARIF 2.1.0, for GitHub code scanning and every other SARIF viewer.

* One run; `tool.driver.rules` holds every registered check (not only those that fired), with its
  summary, its documentation as `help` (text and markdown, the same text `ipt-lint explain` prints)
  and its default level (or the level a severity override gives it).
* Levels: error -> error, warning -> warning, info -> note.
* Security checks (`security = True`) carry `properties.security-severity` on the rule and on each
  result (error 8.0, warning 5.5, info 2.0: high / medium / low in GitHub's bands) and the tag
  `security`, so code scanning ranks them as security alerts.
* `partialFingerprints["iptLint/v1"]`: a hash of code + file + table + chain + normalised rule text
  (the baseline's key), never the line number, with `:N` counting identical keys in one file, so an
  alert survives lines moving around it.
* Columns count Unicode code points (`columnKind`), like every other ipt-lint report.
* Internal errors appear as `invocations[0].toolExecutionNotifications`.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from .. import __version__
from ..checks.base import Severity
from ..checks.registry import ALL_CHECKS
from ..policy.baseline import fingerprints
from .safe import printable

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SECURITY_SEVERITY = {Severity.ERROR: "8.0", Severity.WARNING: "5.5", Severity.INFO: "2.0"}
FINGERPRINT_KEY = "iptLint/v1"


def artifact_uri(name: str) -> str:
    """A SARIF URI for a reported file name: relative paths stay relative (code scanning resolves
    them against the repository), absolute ones become file: URIs."""
    if name.startswith("live:"):
        return "live:" + quote(name[5:], safe="")
    path = name.replace(os.sep, "/")
    if os.path.isabs(name):
        return "file://" + quote(path if path.startswith("/") else "/" + path, safe="/")
    if path.startswith("./"):
        path = path[2:]
    return quote(path, safe="/")


def rule_markdown(cls) -> str:
    d = cls.doc

    def block(title: str, text: str) -> list[str]:
        return [f"**{title}**", "", text.strip(), ""]

    parts = [f"**{cls.code} {cls.name}** ({cls.severity}): {cls.summary}", ""]
    parts += block("What it finds", d.what)
    parts += block("Why it matters", d.why)
    parts += ["**Example (draws the finding)**", "", "```", d.example_bad.rstrip("\n"), "```", ""]
    parts += ["**Example (clean)**", "", "```", d.example_good.rstrip("\n"), "```", ""]
    parts += block("Fix", d.fix)
    parts += block("When to ignore", d.when_to_ignore)
    if d.references:
        parts += ["**References**", "", *(f"- {r}" for r in d.references), ""]
    return "\n".join(parts)


def _rule(cls, severity_for) -> dict:
    from ..cli.explain import explain_text

    sev = severity_for(cls.code, cls.severity)
    props: dict = {"tags": ["security"] if getattr(cls, "security", False) else ["correctness"]}
    if getattr(cls, "security", False):
        props["security-severity"] = SECURITY_SEVERITY[sev]
    return {
        "id": cls.code,
        "name": cls.name,
        "shortDescription": {"text": cls.summary},
        "fullDescription": {"text": cls.doc.what},
        "help": {"text": explain_text(cls), "markdown": rule_markdown(cls)},
        "defaultConfiguration": {"level": LEVEL[sev]},
        "properties": props,
    }


def _location(file: str, line: int, column: int, snippet: str | None = None) -> dict:
    phys: dict = {"artifactLocation": {"uri": artifact_uri(file)}}
    if line >= 1:
        region: dict = {"startLine": line, "startColumn": max(column, 1)}
        if snippet is not None:
            region["snippet"] = {"text": printable(snippet)}
        phys["region"] = region
    return {"physicalLocation": phys}


def document(results, run=None) -> dict:
    selection = getattr(run, "selection", None)

    def severity_for(code: str, default: Severity) -> Severity:
        return selection.severity_for(code, default) if selection is not None else default

    checks = list(ALL_CHECKS)
    index = {cls.code: i for i, cls in enumerate(checks)}
    rules = [_rule(cls, severity_for) for cls in checks]
    sarif_results = []
    for r in results:
        for f, fp in zip(r.findings, fingerprints(r.findings), strict=True):
            loc = _location(f.file, f.line, f.column, f.rule)
            if f.chain:
                loc["logicalLocations"] = [
                    {"name": f.chain, "fullyQualifiedName": f"{f.table}/{f.chain}" if f.table else f.chain}
                ]
            res: dict = {
                "ruleId": f.code,
                "level": LEVEL[f.severity],
                "message": {"text": printable(f.message)},
                "locations": [loc],
                "partialFingerprints": {FINGERPRINT_KEY: fp},
            }
            if f.code in index:
                res["ruleIndex"] = index[f.code]
            else:  # a finding of a code that is not registered: still a valid result
                index[f.code] = len(rules)
                rules.append({"id": f.code, "name": f.name, "shortDescription": {"text": f.name}})
                res["ruleIndex"] = index[f.code]
            if f.related:
                res["relatedLocations"] = [
                    {"id": i + 1, **_location(rel.file, rel.line, 1), "message": {"text": printable(rel.message)}}
                    for i, rel in enumerate(f.related)
                ]
            props: dict = {"name": f.name, "severity": str(f.severity)}
            if f.table:
                props["table"] = f.table
            if f.chain:
                props["chain"] = f.chain
            if f.fix:
                props["fix"] = printable(f.fix)
            if f.witness is not None:
                props["witness"] = f.witness
            if f.security:
                props["security-severity"] = SECURITY_SEVERITY[f.severity]
                props["tags"] = ["security"]
            res["properties"] = props
            sarif_results.append(res)
    errors = [e for r in results for e in r.errors] + list(getattr(run, "errors", None) or ())
    invocation: dict = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": printable(e)}} for e in errors
        ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ipt-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }


def render(results, out, run=None, **_) -> None:
    json.dump(document(results, run), out, indent=2, ensure_ascii=False)
    out.write("\n")
