"""kube-proxy in iptables mode (KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-*, KUBE-EXT-*). runtimes.md §4."""

from __future__ import annotations

from ..model.types import Ruleset
from .base import Platform
from .common import all_chains, first_decl


def detect(ruleset: Ruleset) -> Platform | None:
    names = ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-FORWARD", "KUBE-POSTROUTING")
    ev = first_decl(ruleset, lambda n: n in names, names)
    if ev is None:
        return None
    details = []
    for table, c in all_chains(ruleset):
        if c.name.startswith("KUBE-XLB-"):
            details.append(("generation", "<=1.23 (KUBE-XLB)"))
            break
        if c.name.startswith("KUBE-EXT-"):
            details.append(("generation", ">=1.24 (KUBE-EXT)"))
            break
    return Platform("kube", "iptables", (ev,), tuple(details))
