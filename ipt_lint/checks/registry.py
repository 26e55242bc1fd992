"""Every check ipt-lint runs, in one visible list. A new check is a class in its family's module
and a line here."""

from __future__ import annotations

from .base import Check
from .chains import CHAIN_CHECKS
from .coverage import COVERAGE_CHECKS
from .docker import DOCKER_CHECKS
from .exposure import EXPOSURE_CHECKS
from .hygiene import HYGIENE_CHECKS
from .kube import KUBE_CHECKS
from .structure import STRUCTURE_CHECKS

ALL_CHECKS: tuple[type[Check], ...] = (
    *STRUCTURE_CHECKS,  # IPT1xx file and structure
    *CHAIN_CHECKS,  # IPT201, IPT204-206 on the chain graph
    *EXPOSURE_CHECKS,  # EXP3xx exposure, from packet semantics
    *KUBE_CHECKS,  # K8S5xx kube-proxy
    *COVERAGE_CHECKS,  # IPT202-203 on packet sets
    *DOCKER_CHECKS,  # DKR4xx Docker configuration
    *HYGIENE_CHECKS,  # IPT9xx suppression hygiene (produced by the policy stage)
)


def all_checks() -> list[Check]:
    return [cls() for cls in ALL_CHECKS]


def check_by_code_or_name(key: str) -> type[Check] | None:
    k = key.strip()
    for cls in ALL_CHECKS:
        if cls.code == k.upper() or cls.name == k.lower():
            return cls
    return None
