"""Hypothesis profiles for the hardening tests ("ci" bounded and derandomized, "long" for a longer
run: `HYPOTHESIS_PROFILE=long pytest tests/hardening`), registered in `_profiles`, and helpers."""

from __future__ import annotations

from . import _profiles


def pytest_report_header(config):
    return f"ipt-lint hardening: hypothesis profile {_profiles.profile_name()!r} (HYPOTHESIS_PROFILE)"
