from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "precommit: runs `pre-commit try-repo` (builds the hook's environment with pip; slow)"
    )


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty temporary folder, so no configuration file of the repository is found."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IPT_LINT_FORMAT", raising=False)
    return tmp_path
