"""Baselines: adopt ipt-lint on an old dump without fixing everything first.

    ipt-lint --write-baseline .ipt-lint-baseline.json rules/*.rules   record today's findings
    ipt-lint --baseline .ipt-lint-baseline.json rules/*.rules         report only new ones

A finding's key is code + file + table + chain + a hash of its normalised rule text, never the line
number, so lines added or removed elsewhere in the dump do not wake old findings. The rule text is
normalised by dropping `[packets:bytes]` counters (before a rule, after a chain declaration) and
collapsing blanks; a finding without a rule
line (a file-level finding) hashes its message instead. Identical rules in one chain give identical
keys: the baseline stores a count per key and hides at most that many.

Files are stored relative to the baseline file's folder (with `/`), so the baseline works from any
working directory; names that are not paths (`-`, `live:iptables-save`) are stored as they are.

Stale entries (recorded, but no longer found) are counted only for files linted in this run and for
codes selected for that file: linting one file of many (as pre-commit does) makes no other file's
entries stale.

The same key, hashed, is the stable fingerprint of a finding in SARIF (`partialFingerprints`) and
GitLab code quality reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass

from ..checks.base import Finding

BASELINE_VERSION = 1
# `[packets:bytes]`, matched only where it is anchored (at the start, and at the end after
# stripping): a search for `\s*\[...\]\s*$` retried every start in a run of blanks, quadratic.
_COUNTERS = re.compile(r"\[\d+:\d+\]")
_BLANKS = re.compile(r"\s+")


class BaselineError(ValueError):
    """A baseline file that cannot be read or written: one line, exit 2."""


def normalise_rule(text: str | None) -> str:
    """The rule without a leading and a trailing `[packets:bytes]` and with blanks collapsed.
    Linear in the text (tests/hardening/test_regex_redos.py)."""
    if not text:
        return ""
    return _BLANKS.sub(" ", _strip_counters(text)).strip()


def _strip_counters(text: str) -> str:
    text = text.strip()
    m = _COUNTERS.match(text)
    if m:
        text = text[m.end() :].lstrip()
    if text.endswith("]"):
        start = text.rfind("[")
        if start >= 0 and _COUNTERS.fullmatch(text, start):
            text = text[:start]
    return text


def rule_hash(f: Finding) -> str:
    basis = normalise_rule(f.rule) if f.rule else "message:" + _BLANKS.sub(" ", f.message).strip()
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def finding_key(f: Finding, file: str | None = None) -> tuple[str, str, str, str, str]:
    """(code, file, table, chain, rule hash): what identifies a finding across edits of its dump."""
    return (f.code, f.file if file is None else file, f.table or "", f.chain or "", rule_hash(f))


def fingerprint(f: Finding) -> str:
    """A stable hash of the finding's key (file as reported), for SARIF and GitLab."""
    return hashlib.sha256("\x00".join(finding_key(f)).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def fingerprints(findings: list[Finding]) -> list[str]:
    """`fingerprint:N` per finding, N counting identical keys in order, so each one is unique."""
    seen: Counter = Counter()
    out = []
    for f in findings:
        fp = fingerprint(f)
        seen[fp] += 1
        out.append(f"{fp}:{seen[fp]}")
    return out


def is_path_name(name: str) -> bool:
    return name not in ("", "-") and not name.startswith("live:")


def stored_path(name: str, base_dir: str) -> str:
    if not is_path_name(name):
        return name
    try:
        rel = os.path.relpath(os.path.abspath(name), base_dir)
    except ValueError:
        rel = os.path.abspath(name)
    return rel.replace(os.sep, "/")


@dataclass(frozen=True)
class Entry:
    code: str
    file: str
    table: str
    chain: str
    rule_hash: str
    count: int
    name: str = ""
    message: str = ""
    rule: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.code, self.file, self.table, self.chain, self.rule_hash)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "file": self.file,
            "table": self.table or None,
            "chain": self.chain or None,
            "rule_hash": self.rule_hash,
            "count": self.count,
            "message": self.message,
            "rule": self.rule or None,
        }


def _base_dir(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def write_baseline(path: str, results) -> int:
    """Record every finding of `results` in `path`; returns how many findings were recorded."""
    base = _base_dir(path)
    counts: Counter = Counter()
    first: dict[tuple, Finding] = {}
    for r in results:
        for f in r.findings:
            key = finding_key(f, stored_path(f.file, base))
            counts[key] += 1
            first.setdefault(key, f)
    entries = [
        Entry(*key, count=counts[key], name=first[key].name, message=first[key].message, rule=normalise_rule(first[key].rule))
        for key in sorted(counts)
    ]
    doc = {
        "version": BASELINE_VERSION,
        "tool": "ipt-lint",
        "comment": "Findings recorded by `ipt-lint --write-baseline`; `--baseline` hides them. "
        "Matched by code, file, table, chain and rule_hash (never the line).",
        "findings": [e.as_dict() for e in entries],
    }
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None
    return sum(counts.values())


@dataclass
class Baseline:
    path: str
    entries: list[Entry]

    @classmethod
    def load(cls, path: str) -> "Baseline":
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except FileNotFoundError:
            raise BaselineError(f"{path}: no such baseline file (create it with --write-baseline {path})") from None
        except OSError as exc:
            raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BaselineError(f"{path}: not a JSON baseline: {exc}") from None
        if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION or not isinstance(doc.get("findings"), list):
            raise BaselineError(f"{path}: not an ipt-lint baseline (version {BASELINE_VERSION} with a `findings' list)")
        entries = []
        for i, e in enumerate(doc["findings"]):
            try:
                entries.append(
                    Entry(
                        code=_str(e["code"]),
                        file=_str(e["file"]),
                        table=_str(e.get("table") or ""),
                        chain=_str(e.get("chain") or ""),
                        rule_hash=_str(e["rule_hash"]),
                        count=_count(e.get("count", 1)),
                        name=str(e.get("name") or ""),
                        message=str(e.get("message") or ""),
                        rule=str(e.get("rule") or ""),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise BaselineError(f"{path}: entry {i + 1} of `findings' is malformed ({exc})") from None
        return cls(path, entries)

    def apply(self, results, selection=None) -> list[Entry]:
        """Move the baselined findings of each result from `findings` to `baselined`; return the
        stale entries (see the module's documentation)."""
        base = _base_dir(self.path)
        remaining: Counter = Counter()
        for e in self.entries:
            remaining[e.key] += e.count
        linted: dict[str, object] = {}
        for r in results:
            stored = stored_path(r.file, base)
            linted[stored] = r
            kept = []
            for f in r.findings:
                key = finding_key(f, stored)
                if remaining[key] > 0:
                    remaining[key] -= 1
                    r.baselined.append(f)
                else:
                    kept.append(f)
            r.findings = kept
        stale = []
        for e in self.entries:
            r = linted.get(e.file)
            if r is None or remaining[e.key] <= 0:
                continue
            if selection is not None and not selection.for_file(r.file).wants(e.code):
                continue
            n = min(remaining[e.key], e.count)
            remaining[e.key] -= n
            stale.append(Entry(e.code, e.file, e.table, e.chain, e.rule_hash, n, e.name, e.message, e.rule))
        return stale


def _str(v) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a string, got {type(v).__name__}")
    return v


def _count(v) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError("count must be a positive integer")
    return v
