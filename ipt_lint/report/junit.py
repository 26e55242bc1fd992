"""JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure, ...).

One `<testsuite>` per linted file (its name is the file). Each finding is a `<testcase>` named
`CODE name at line L:C` with a `<failure>` (type = severity, message = the finding's message, body =
location, rule, fix and witness). A file without findings has one passing test case `ipt-lint`, so
every file shows up. Text from the dump is passed through `printable`, so characters XML 1.0 cannot
carry never reach the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .safe import printable


def _text(s) -> str:
    return printable(str(s)).replace("\x09", " ")


def document(results) -> ET.Element:
    root = ET.Element("testsuites", name="ipt-lint")
    total_tests = total_failures = 0
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=_text(r.file))
        tests = failures = 0
        for f in r.findings:
            tests += 1
            failures += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_text(r.file),
                name=_text(f"{f.code} {f.name} at line {f.line}:{f.column}"),
                file=_text(f.file),
                line=str(f.line),
            )
            failure = ET.SubElement(case, "failure", message=_text(f.message), type=str(f.severity))
            body = [f"{f.file}:{f.line}:{f.column}: {f.code} [{f.severity}] {f.message}"]
            if f.table or f.chain:
                body.append(f"table {f.table or '?'}, chain {f.chain or '?'}")
            if f.rule is not None:
                body.append(f"rule: {f.rule}")
            for rel in f.related:
                body.append(f"note: {rel.file}:{rel.line}: {rel.message}")
            if f.witness:
                body.append("witness: " + ", ".join(f"{k}={v}" for k, v in f.witness.items()))
            if f.fix:
                body.append(f"fix: {f.fix}")
            failure.text = "\n".join(_text(line) for line in body)
        if tests == 0:
            tests = 1
            ET.SubElement(suite, "testcase", classname=_text(r.file), name="ipt-lint", file=_text(r.file))
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(len(r.errors)))
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    return root


def render(results, out, **_) -> None:
    root = document(results)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
