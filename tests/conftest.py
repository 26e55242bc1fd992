"""Shared test fixtures.

Two kinds of tests depend on things outside the repository:

* tests that read ``../shared`` (the upstream corpus, example dumps, the SARIF schema), and
* kernel tests that need root, network namespaces and the real ``iptables-restore``.

Both skip with a reason where those are missing, except when CI sets
``IPT_LINT_REQUIRE_SHARED=1`` / ``IPT_LINT_REQUIRE_KERNEL=1``: then a missing dependency is a failure,
so a green CI run really ran them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _required(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0")


def _unavailable(reason: str, require_var: str) -> None:
    if _required(require_var):
        pytest.fail(f"{reason} (and {require_var}=1 says it is required)", pytrace=False)
    pytest.skip(reason)


def find_shared() -> Path | None:
    """The project's ``shared`` folder: $IPT_LINT_SHARED, else ``../shared`` beside the clone."""
    env = os.environ.get("IPT_LINT_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared")
    for c in candidates:
        if (c / "docs").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = find_shared()
    if path is None:
        _unavailable("../shared is not present beside the repository", "IPT_LINT_REQUIRE_SHARED")
    return path


def kernel_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "kernel tests need root (network namespaces, iptables-restore)"
    for tool in ("ip", "iptables-restore", "ip6tables-restore", "iptables-save"):
        if shutil.which(tool) is None:
            return f"kernel tests need `{tool}` (apt-get install iptables iproute2)"
    return None


@pytest.fixture(scope="session")
def kernel() -> None:
    """Use in every test that touches the real kernel."""
    reason = kernel_unavailable_reason()
    if reason:
        _unavailable(reason, "IPT_LINT_REQUIRE_KERNEL")
