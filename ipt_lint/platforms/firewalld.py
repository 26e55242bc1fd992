"""firewalld's iptables backend: zone chains (old) or dispatch chains (2.x). runtimes.md §5.4."""

from __future__ import annotations

from ..model.types import Ruleset
from .base import Platform
from .common import first_decl


def detect(ruleset: Ruleset) -> Platform | None:
    names = ("INPUT_ZONES", "INPUT_direct", "INPUT_dispatch")
    ev = first_decl(ruleset, lambda n: n in names, names)
    if ev is None:
        return None
    new = first_decl(ruleset, lambda n: n == "INPUT_dispatch", ("INPUT_dispatch",))
    return Platform("firewalld", "2.x" if new else "old", (ev,))
