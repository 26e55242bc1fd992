"""Input caps, `--no-inline-suppressions`, bounded suppression hygiene and the caret under escaped
source lines.

* Inputs are capped (default 64 MiB, `--max-input-size MIB` or IPT_LINT_MAX_INPUT_MB to raise it):
  a dump, standard input, `--ipset` and `--ipv6-dump` files alike; one line on stderr, exit 2,
  and a file is never read past the cap.
* `--no-inline-suppressions` reports what `ipt-lint: ignore=` comments in the dump would hide, and
  no IPT901/IPT902 about them.
* A suppression naming a million made-up codes draws a bounded number of IPT902 findings, each
  quoting a bounded part of what it names.
* The text report escapes control characters in the source line (`\\x1b` is four cells wide) and
  the caret still points at the finding's column.
"""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from rich.console import Console

from ipt_lint.cli import common
from ipt_lint.cli.main import cli
from ipt_lint.lint import lint_text
from ipt_lint.parse import MAX_PROBLEMS_PER_LINE
from ipt_lint.report.text import render_finding

from .timing import MAX_GROWTH, growth

H = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
CLEAN = H + "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
MIB = 1024 * 1024


def _run(args, input=None, env=None):
    return CliRunner().invoke(cli, ["--isolated", *args], input=input, env=env or {})


def test_default_cap_is_a_memory_bound():
    assert common.MAX_INPUT_BYTES == 64 * MIB  # docs/bounds.md: about 40 bytes of memory per byte of dump


def _big(tmp_path, mib: float, name: str = "big.rules"):
    path = tmp_path / name
    body = "# padding " + "x" * 200 + "\n"
    path.write_text(CLEAN + body * int(mib * MIB / len(body) + 1))
    return path


def test_a_dump_over_the_cap_is_refused_in_one_line(tmp_path):
    path = _big(tmp_path, 1.2)
    res = _run(["--max-input-size", "1", str(path)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line]
    assert len(lines) == 1 and "larger than 1 MiB; refusing to read it" in lines[0], res.output
    assert "--max-input-size" in lines[0]
    assert _run(["--max-input-size", "2", "--format", "json", str(path)]).exit_code == 0


def test_the_cap_comes_from_the_environment_too(tmp_path):
    path = _big(tmp_path, 1.2)
    assert _run([str(path)], env={"IPT_LINT_MAX_INPUT_MB": "1"}).exit_code == 2
    assert _run([str(path)], env={"IPT_LINT_MAX_INPUT_MB": "2"}).exit_code == 0


def test_standard_input_is_capped(tmp_path):
    data = _big(tmp_path, 1.2).read_text()
    res = _run(["--max-input-size", "1", "-"], input=data)
    assert res.exit_code == 2 and "refusing to read it" in res.output


def test_ipset_and_ipv6_dump_files_are_capped(tmp_path):
    dump = tmp_path / "host.rules"
    dump.write_text(CLEAN)
    ipset = tmp_path / "sets.save"
    ipset.write_text("create s hash:ip\n" + "add s 10.0.0.1\n" * 120_000)  # 1.8 MB
    res = _run(["--max-input-size", "1", "--ipset", str(ipset), str(dump)])
    assert res.exit_code == 2 and "(--ipset) larger than 1 MiB" in res.output, res.output
    v6 = _big(tmp_path, 1.2, "host6.rules")
    res = _run(["--max-input-size", "1", "--ipv6-dump", str(v6), str(dump)])
    assert res.exit_code == 2 and "(--ipv6-dump) larger than 1 MiB" in res.output, res.output


def test_a_file_is_never_read_past_the_cap(tmp_path, monkeypatch):
    path = _big(tmp_path, 0.1)
    sizes = []
    real_open = open

    class Recorder:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def read(self, n=-1):
            sizes.append(n)
            return self.fh.read(n)

    monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: Recorder(real_open(p, mode, *a, **k)))
    with pytest.raises(common.UsageProblem):
        common.read_input(str(path), limit=1000)
    assert sizes == [1001]


# ----------------------------------------------------------------------------------------------
# --no-inline-suppressions

SUPPRESSED = (
    H + "# ipt-lint: ignore=IPT101 -- created by the VPN unit\n-A INPUT -j MISSING\n"
    "# ipt-lint: ignore=IPT9999\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    '-A INPUT -j MISSING2 -m comment --comment "ipt-lint: ignore=undefined-chain"\nCOMMIT\n'
)


def _codes(res) -> list[tuple[str, int]]:
    return sorted((f["code"], f["line"]) for f in json.loads(res.output)["findings"])


def test_no_inline_suppressions_reports_what_they_hide(tmp_path):
    path = tmp_path / "s.rules"
    path.write_text(SUPPRESSED)
    with_them = _run(["--format", "json", str(path)])
    assert _codes(with_them) == [("IPT902", 7)]
    assert json.loads(with_them.output)["summary"]["suppressed"] == 2
    without = _run(["--format", "json", "--no-inline-suppressions", str(path)])
    assert _codes(without) == [("IPT101", 6), ("IPT101", 9)]
    assert json.loads(without.output)["summary"]["suppressed"] == 0
    assert without.exit_code == 1


def test_no_inline_suppressions_in_the_python_api():
    from ipt_lint.policy import Selection

    result = lint_text(SUPPRESSED, "s.rules", selection=Selection.from_options(inline_suppressions=False))
    assert sorted((f.code, f.line) for f in result.findings) == [("IPT101", 6), ("IPT101", 9)]
    assert result.suppressed == []


# ----------------------------------------------------------------------------------------------
# IPT902 bounded per directive


def _directive(n: int, code_len: int = 6) -> str:
    codes = ",".join(f"N{i:0{code_len}}" for i in range(n))
    return H + f"# ipt-lint: ignore={codes},IPT101\n-A INPUT -j MISSING\nCOMMIT\n"


def test_a_suppression_with_many_unknown_codes_draws_a_bounded_number_of_findings():
    result = lint_text(_directive(5000), "s.rules")
    on_line = [f for f in result.findings if f.line == 5 and f.code.startswith("IPT9")]
    assert {f.code for f in on_line} == {"IPT902"}  # (the line also draws IPT108: longer than 10,239 bytes)
    assert len(on_line) == MAX_PROBLEMS_PER_LINE + 1
    assert "4990 more" in on_line[-1].message
    assert len(result.suppressed) == 1  # the known code still works


def test_many_directives_on_one_rule_draw_a_bounded_number_of_findings():
    comments = " ".join(f'-m comment --comment "ipt-lint: ignore=A{i},B{i},C{i}"' for i in range(60))
    result = lint_text(H + f"-A INPUT {comments} -j ACCEPT\nCOMMIT\n", "s.rules")
    ipt902 = [f for f in result.findings if f.code == "IPT902"]
    assert len(ipt902) == MAX_PROBLEMS_PER_LINE + 1 and "170 more" in ipt902[-1].message


def test_a_huge_unknown_code_is_quoted_in_part():
    text = H + "# ipt-lint: ignore=" + "Y" * 100_000 + "\n-A INPUT -j ACCEPT\nCOMMIT\n"
    (f,) = [f for f in lint_text(text, "s.rules").findings if f.code == "IPT902"]
    assert len(f.message) < 200


def test_suppression_work_grows_linearly():
    def make(n):
        text = _directive(n)
        return lambda: lint_text(text, "s.rules")

    small, large, ratio = growth(make, 2000)
    assert ratio < MAX_GROWTH, (small, large, ratio)


# ----------------------------------------------------------------------------------------------
# the caret under an escaped source line


def _text_report(source: str, column: int) -> list[str]:
    from ipt_lint.checks.base import Finding, Severity

    f = Finding(code="IPT100", name="syntax-error", severity=Severity.ERROR, message="m", file="f.rules",
                line=3, column=column, rule=source)
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False, color_system=None, highlight=False,
                      markup=False, emoji=False)
    render_finding(f, console)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("prefix", ["", "\x1b[31m", "\x07\x08\r", "\u202e", "\x9b", "日本", "\t\t", "a\u200bb"])
def test_caret_points_at_the_column_after_escaped_characters(prefix):
    source = f'-A INPUT -m comment --comment "{prefix}" BAD -j ACCEPT'
    column = source.index("BAD") + 1
    lines = _text_report(source, column)
    src = next(line for line in lines if line.lstrip().startswith("3 |"))
    caret = next(line for line in lines if line.rstrip().endswith("^"))
    from rich.cells import cell_len

    # the caret's cell is the first cell of BAD in the printed source line
    at = cell_len(caret.rstrip()) - 1
    printed_prefix = src[: src.index("BAD")]
    assert cell_len(printed_prefix) == at, (src, caret)
    assert "\x1b" not in src and "\x07" not in src


def test_caret_under_a_real_finding_with_control_characters():
    text = H + '-A INPUT -m comment --comment "\x1b[2J\x1b[31m" -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n'
    result = lint_text(text, "c.rules")
    (f,) = [f for f in result.findings if f.code == "IPT105"]
    lines = _text_report(f.rule, f.column)
    src = next(line for line in lines if line.lstrip().startswith("3 |"))
    caret = next(line for line in lines if line.rstrip().endswith("^"))
    assert src[len(caret.rstrip()) - 1 :].startswith(f.rule[f.column - 1 :][:5]), (src, caret)
