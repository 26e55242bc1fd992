"""The docs cannot drift from the code: docs/checks.md is generated from the checks' documentation,
configuration examples are real configuration, suppression examples are real suppressions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ipt_lint.cli.docs_gen import COMMAND, _visible, checks_markdown
from ipt_lint.lint import lint_text
from ipt_lint.policy.config import ConfigError, _keys, load_config

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ("getting-started.md", "ci.md", "pre-commit.md", "configuration.md", "suppressions.md", "baseline.md",
         "formats.md", "checks.md")


def blocks(page: str, lang: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def test_checks_page_is_generated_from_the_checks():
    path = DOCS / "checks.md"
    current = path.read_bytes().decode("utf-8") if path.exists() else ""
    assert current == checks_markdown(), f"docs/checks.md is out of date: run `{COMMAND}` and commit the result"


def test_generator_lists_every_check_with_its_examples():
    from ipt_lint.checks.registry import ALL_CHECKS

    md = checks_markdown()
    for cls in ALL_CHECKS:
        assert f"### {cls.code} {cls.name}" in md
        for example in (cls.doc.example_bad, cls.doc.example_good):
            assert _visible(example.rstrip("\n")) in md


@pytest.mark.parametrize("page", PAGES)
def test_pages_exist_and_links_resolve(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([a-z0-9-]+\.md)(?:#[^)]*)?\)", text):
        assert (DOCS / target).exists(), f"{page} links to missing {target}"


@pytest.mark.parametrize("index", range(len(blocks("configuration.md", "toml"))))
def test_configuration_examples_load(tmp_path, index):
    text = blocks("configuration.md", "toml")[index]
    name = "pyproject.toml" if "[tool.ipt-lint]" in text else ".ipt-lint.toml"
    (tmp_path / name).write_text(text)
    cfg = load_config(str(tmp_path / name))
    assert cfg.settings


def test_configuration_page_lists_every_key():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    table_keys = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, re.M))
    assert table_keys == set(_keys()), "docs/configuration.md's key table differs from ipt_lint.policy.config"


def test_configuration_error_examples_are_what_ipt_lint_says(tmp_path):
    cfg = tmp_path / ".ipt-lint.toml"
    cfg.write_text("fail_on = 'error'\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(cfg))
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert str(e.value).replace(str(cfg), "/repo/.ipt-lint.toml") in text
    cfg.write_text('severity = {IPT206 = "loud"}\n')
    with pytest.raises(ConfigError) as e:
        load_config(str(cfg))
    assert str(e.value).replace(str(cfg), "/repo/.ipt-lint.toml") in text


@pytest.mark.parametrize("index", range(len(blocks("suppressions.md", "iptables"))))
def test_suppression_examples_suppress(index):
    text = blocks("suppressions.md", "iptables")[index]
    result = lint_text(text, "example.rules")
    assert result.findings == [], [f"{f.code}:{f.line} {f.message}" for f in result.findings]
    assert result.suppressed, "the example suppresses nothing"


def test_ci_page_has_sarif_upload_and_gitlab_codequality():
    docs = [yaml.safe_load(b) for b in blocks("ci.md", "yaml")]
    gh = next(d for d in docs if isinstance(d, dict) and "jobs" in d)
    steps = gh["jobs"]["ipt-lint"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif"))
    lint = next(s for s in steps if "--format sarif" in str(s.get("run", "")))
    assert upload["with"]["sarif_file"] in lint["run"] and upload.get("if") == "always()"
    assert gh["permissions"]["security-events"] == "write"
    gl = next(d for d in docs if isinstance(d, dict) and "ipt-lint" in d and "script" in d["ipt-lint"])
    report = gl["ipt-lint"]["artifacts"]["reports"]["codequality"]
    assert any("--format gitlab" in line and report in line for line in gl["ipt-lint"]["script"])


def test_pre_commit_page_uses_the_hook_id():
    hooks = yaml.safe_load((DOCS.parent / ".pre-commit-hooks.yaml").read_text())
    for block in blocks("pre-commit.md", "yaml"):
        cfg = yaml.safe_load(block)
        ids = [h["id"] for repo in cfg["repos"] for h in repo["hooks"]]
        assert ids == [h["id"] for h in hooks]


def test_docs_gen_check_mode(tmp_path, capsys):
    from ipt_lint.cli.docs_gen import main

    target = tmp_path / "checks.md"
    target.write_text("# stale\n")
    assert main(["--check", str(target)]) == 1
    assert f"run `{COMMAND}`" in capsys.readouterr().err
    assert main([str(target)]) == 0
    assert main(["--check", str(target)]) == 0
    assert target.read_bytes().decode() == checks_markdown()
