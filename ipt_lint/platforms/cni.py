"""CNI plugins: bridge (ipMasq chains), portmap (CNI-HOSTPORT-*, CNI-DN-*), firewall (CNI-FORWARD, CNI-ISOLATION-*). runtimes.md §3."""

from __future__ import annotations

from ..model.types import Ruleset
from .base import Platform
from .common import cni_comment_names, first_decl, ifaces_in_chains


def detect(ruleset: Ruleset, cni_names: set[str] | None = None) -> Platform | None:
    """`cni_names`: cni_comment_names(ruleset), when the caller has it already."""
    plugins = []
    evidence = []
    ev = first_decl(ruleset, lambda n: n.startswith("CNI-") and len(n) == 28 and not n.startswith("CNI-DN-"), ("CNI-",))
    names = cni_comment_names(ruleset) if cni_names is None else cni_names
    if ev is not None or names - {"podman"}:
        plugins.append("bridge")
        if ev:
            evidence.append(ev)
    ev = first_decl(ruleset, lambda n: n.startswith("CNI-HOSTPORT-") or n.startswith("CNI-DN-"), ("CNI-HOSTPORT-", "CNI-DN-"))
    if ev is not None:
        plugins.append("portmap")
        evidence.append(ev)
    ev = first_decl(
        ruleset, lambda n: n in ("CNI-FORWARD", "CNI-ADMIN") or n.startswith("CNI-ISOLATION-STAGE"), ("CNI-",)
    )
    if ev is not None:
        plugins.append("firewall")
        evidence.append(ev)
    if not plugins:
        return None
    if names == {"podman"} and plugins == ["bridge"]:
        return None  # all of it is Podman's
    return Platform("cni", ",".join(plugins), tuple(evidence))


def bridges(ruleset: Ruleset) -> dict[str, int]:
    """Bridges named by the firewall plugin's ingress isolation chains."""
    return ifaces_in_chains(ruleset, lambda n: n.startswith("CNI-ISOLATION-STAGE"))
