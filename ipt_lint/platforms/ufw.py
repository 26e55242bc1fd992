"""ufw (ufw-* / ufw6-* chains) and the ufw-docker fix (ufw-docker-logging-deny). runtimes.md §5.2-5.3."""

from __future__ import annotations

from ..model.types import Ruleset
from .base import Platform
from .common import first_decl


def detect(ruleset: Ruleset) -> Platform | None:
    names = ("ufw-before-input", "ufw-user-input", "ufw6-before-input", "ufw6-user-input")
    ev = first_decl(ruleset, lambda n: n in names, names)
    if ev is None:
        return None
    details = []
    fix = first_decl(ruleset, lambda n: n == "ufw-docker-logging-deny", ("ufw-docker-logging-deny",))
    details.append(("ufw-docker", "yes" if fix else "no"))
    return Platform("ufw", "ufw", (ev,), tuple(details))
