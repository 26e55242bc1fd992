"""The same input always gives byte-identical output: run to run, with different hash seeds (set
and dict orders of strings change with PYTHONHASHSEED), serial or with worker processes (`-j 2`).

A CI job that diffs reports, a baseline, a SARIF upload: all of them break if the order of
findings or the wording of a message depends on the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from .invariants import ALL_FORMATS, lint, rendered
from .strategies import corpus_paths, dumps, mutated
from .test_hostile_content import hostile_dump

REPO = Path(__file__).resolve().parents[2]


def _corpus(tmp_path: Path, shared: Path | None) -> list[str]:
    """Real dumps, a hostile one, and generated and mutated ones written to files."""
    paths = [str(p) for p in corpus_paths(shared)]
    hostile = tmp_path / "hostile.rules"
    hostile.write_text(hostile_dump(tmp_path / "never-created"), encoding="utf-8")
    paths.append(str(hostile))
    originals = [Path(p).read_bytes() for p in paths]
    examples: list[bytes] = []

    def collect(strategy, n):
        # `find` stopping at the n-th example, without shrinking: n deterministic draws.
        seen: list = []

        def keep(x):
            seen.append(x)
            return len(seen) >= n

        find(strategy, keep, settings=settings(database=None, derandomize=True, max_examples=n * 4, deadline=None,
                                                phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
        return seen[:n]

    examples += [t.encode("utf-8") for t in collect(dumps(), 12)]
    examples += collect(mutated(originals), 12)
    for i, data in enumerate(examples):
        p = tmp_path / f"generated-{i:02}.rules"
        p.write_bytes(data)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request) -> list[str]:
    try:
        shared = request.getfixturevalue("shared_dir")
    except pytest.skip.Exception:
        shared = None
    return _corpus(tmp_path_factory.mktemp("determinism"), shared)


def _run(args: list[str], seed: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IPT_LINT_", "FORCE_COLOR"))}
    env.update(PYTHONPATH=str(REPO), PYTHONHASHSEED=seed, NO_COLOR="1", COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "ipt_lint", "--isolated", *args], env=env,
                          capture_output=True, timeout=300, check=False, cwd=REPO)


@pytest.mark.parametrize("fmt", ["json", "sarif", "text"])
def test_cli_output_is_byte_identical_across_runs_seeds_and_jobs(fmt, corpus):
    first = _run(["--format", fmt, *corpus], seed="1")
    assert first.returncode in (0, 1), first.stderr.decode("utf-8", "replace")
    assert first.stdout
    for args, seed in ((["--format", fmt, *corpus], "2"), (["--format", fmt, "-j", "2", *corpus], "3")):
        again = _run(args, seed)
        assert again.returncode == first.returncode
        assert again.stdout == first.stdout, f"{fmt} output differs for {args[2:4]} PYTHONHASHSEED={seed}"
        assert again.stderr == first.stderr


def test_every_format_is_identical_for_two_lint_runs_in_process(corpus):
    for path in corpus:
        data = Path(path).read_bytes()
        a, b = lint(data, path), lint(data, path)
        for fmt in ALL_FORMATS:
            assert rendered(a, fmt) == rendered(b, fmt), (path, fmt)


@pytest.mark.parametrize("fmt", ["junit", "gitlab"])  # concise and github render what text and json order
def test_other_formats_identical_across_hash_seeds(fmt, corpus):
    outs = {_run(["--format", fmt, *corpus], seed=s).stdout for s in ("4", "5")}
    assert len(outs) == 1, fmt
