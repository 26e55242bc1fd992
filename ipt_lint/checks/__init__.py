"""Stage 5, checks: small rules that read the model (and ask the semantics engine) and yield findings.

    ALL_CHECKS (registry.py)  the one list of every check
    structure.py              IPT1xx file and structure
"""

from .base import Check, CheckDoc, Finding, Related, Severity
from .context import LintContext, LintOptions
from .registry import ALL_CHECKS, all_checks, check_by_code_or_name

__all__ = [
    "ALL_CHECKS",
    "Check",
    "CheckDoc",
    "Finding",
    "LintContext",
    "LintOptions",
    "Related",
    "Severity",
    "all_checks",
    "check_by_code_or_name",
]
