"""Stage 2, model: tables, chains and rules with typed matches and targets, and the chain graph.

    build_model(parsed) -> (Ruleset, diagnostics)
"""

from .build import build_model
from .types import Chain, Ruleset, RuleModel, Table

__all__ = ["Chain", "RuleModel", "Ruleset", "Table", "build_model"]
