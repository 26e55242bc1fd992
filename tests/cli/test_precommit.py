"""The pre-commit hook (.pre-commit-hooks.yaml), run for real with `pre-commit try-repo`.

SLOW (marker `precommit`): pre-commit builds the hook's virtualenv with `pip install` of this
repository, which fetches lark, click and rich from the package index (about half a minute, once per
test session). `pre-commit try-repo` only carries a local repository's *tracked* changes, so the
test copies what the package needs into a scratch git repository and commits it there: the hook is
tested on the working tree, committed or not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ipt_lint.checks.registry import check_by_code_or_name
from ipt_lint.cli.lint_cmd import is_dump_name

from .helpers import CLEAN, REPO, SYNTAX, UNDEFINED, write

pytestmark = pytest.mark.precommit

HOOKS = REPO / ".pre-commit-hooks.yaml"
GIT = ["git", "-c", "user.name=ipt-lint tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false"]


def _hook() -> dict:
    hooks = yaml.safe_load(HOOKS.read_text())
    (hook,) = [h for h in hooks if h["id"] == "ipt-lint"]
    return hook


def test_hook_definition():
    hook = _hook()
    assert hook["entry"] == "ipt-lint" and hook["language"] == "python"
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def linted(name: str) -> bool:
        return bool(files.search(name)) and not exclude.search(name)

    for name in ("rules.v4", "rules.v6", "etc/iptables/rules.v4", "fw/edge.rules", "dumps/host.v6",
                 "iptables.txt", "backup/iptables-2024-01-01.txt", "ip6tables-save.txt"):
        assert linted(name), name
        assert is_dump_name(name), name
    for name in ("README.md", "notes.txt", "my-iptables/notes.txt", "rules.v4.bak", "etc/udev/rules.d/99-x.rules",
                 "rules.v5", "x.rules.orig"):
        assert not linted(name), name


def _scratch_hook_repo(dest: Path) -> Path:
    """A git repository holding the package as it is in the working tree, committed."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    for folder in ("ipt_lint", "grammar"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([*GIT, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "snapshot"], cwd=dest, check=True)
    return dest


@pytest.fixture(scope="module")
def try_repo(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.fail("the pre-commit test needs git")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.fail("pre-commit is not installed: pip install '.[test]' (it is in the test extra)")
    base = tmp_path_factory.mktemp("precommit")
    hook_repo = _scratch_hook_repo(base / "hook-repo")
    project = base / "project"
    project.mkdir()
    subprocess.run([*GIT, "init", "-q"], cwd=project, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPT_LINT_", "PYTHONPATH", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(base / "cache")  # the hook's environment is built once per session
    env["NO_COLOR"] = "1"

    def run(*files: str, text: dict[str, str]):
        for name, content in text.items():
            write(project / name, content)
        subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "ipt-lint", "--color", "never",
             "--files", *files],
            cwd=project, env=env, capture_output=True, text=True, timeout=900,
        )

    return run


def test_hook_fails_on_error_findings(try_repo):
    proc = try_repo("fw/bad.rules", "rules.v4", text={"fw/bad.rules": SYNTAX, "rules.v4": UNDEFINED})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "fw/bad.rules:4:" in out and "IPT100" in out
    assert "rules.v4:4:10" in out and "IPT101" in out


def test_hook_passes_a_clean_dump_and_skips_other_files(try_repo):
    proc = try_repo("clean.rules", "notes.txt", text={"clean.rules": CLEAN, "notes.txt": "not a dump -A\n"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Passed" in out


def test_hook_fails_on_a_wide_open_published_port(try_repo):
    if check_by_code_or_name("EXP301") is None:
        pytest.skip("EXP301 published-port-open is not registered yet")
    sample = (REPO / "samples" / "docker27-published.rules").read_text()
    proc = try_repo("docker.rules", text={"docker.rules": sample})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "EXP301" in out
