"""Podman: netavark's iptables driver (Podman 4+, netavark 1.x) or CNI with network `podman` (Podman <= 3). runtimes.md §2."""

from __future__ import annotations

from ..model.types import Ruleset
from .base import Evidence, Platform
from .common import cni_comment_names, first_decl, ifaces_in_chains


def detect(ruleset: Ruleset, cni_names: set[str] | None = None) -> Platform | None:
    """`cni_names`: cni_comment_names(ruleset), when the caller has it already."""
    ev = first_decl(ruleset, lambda n: n.startswith("NETAVARK"), ("NETAVARK",))
    if ev is not None:
        return Platform("podman", "netavark", (ev,))
    if "podman" in (cni_comment_names(ruleset) if cni_names is None else cni_names):
        return Platform(
            "podman", "cni", (Evidence(None, 'name: "podman"', "CNI comment naming network podman (Podman <= 3)"),)
        )
    return None


def bridges(ruleset: Ruleset) -> dict[str, int]:
    """Interfaces named in NETAVARK chains (podman0, podman1...)."""
    return ifaces_in_chains(ruleset, lambda n: n.startswith("NETAVARK"))
