"""Hypothesis settings for the hardening tests, scoped to them (other test modules keep theirs).

    pytest tests/hardening                           # "ci": bounded, derandomized, no database, no shrinking
    HYPOTHESIS_PROFILE=dev pytest tests/hardening    # "ci" with shrinking: minimal failing examples
    HYPOTHESIS_PROFILE=long pytest tests/hardening   # "long": 40x the examples, random seeds, database

Tests ask for `fuzz(n)`: n examples under "ci" and "dev", 40 * n under "long". The profile is read
from $HYPOTHESIS_PROFILE (default "ci"); an unknown name falls back to "ci". "ci" does not shrink a
failure (shrinking can take minutes): the example it prints is reproducible as is (derandomized),
and "dev" shrinks it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}

settings.register_profile(
    "ci", derandomize=True, database=None, max_examples=50,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target], **_COMMON,
)
settings.register_profile("dev", derandomize=True, database=None, max_examples=50, **_COMMON)
settings.register_profile("long", derandomize=False, max_examples=2000, **_COMMON)

SCALE = {"ci": 1, "dev": 1, "long": 40}


def profile_name() -> str:
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    return name if name in SCALE else "ci"


def fuzz(max_examples: int) -> settings:
    """Settings for one property: `max_examples` under "ci", scaled up under "long"."""
    name = profile_name()
    return settings(settings.get_profile(name), max_examples=max_examples * SCALE[name])
