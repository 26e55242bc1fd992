"""Stage 2, model: tables, chains and rules with typed matches and targets, and the chain graph.

    build_model(parsed) -> (Ruleset, diagnostics)
    load_lazily(data, file, family=None) -> Ruleset     the same rules, each chain built when first
                                                       read (what trace uses; see lazy.py)
    ruleset.rules_with(needles, where=None) -> the rules a whole-dump question needs (Needles, EVERY_RULE)
    ruleset.chains_with(needles, table=None) -> the chains where such a rule may be
"""

from .build import build_model
from .lazy import load_lazily
from .types import EVERY_RULE, Chain, Needles, Ruleset, RuleModel, Table

__all__ = ["EVERY_RULE", "Chain", "Needles", "RuleModel", "Ruleset", "Table", "build_model", "load_lazily"]
