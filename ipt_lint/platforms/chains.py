"""Chain-name signatures: which producer a user chain belongs to, by its name alone
(runtimes.md §7). Built-in chains belong to nobody; their rules are attributed one by one."""

from __future__ import annotations

import re

_FIREWALLD = re.compile(
    r"^(INPUT_direct|FORWARD_direct|OUTPUT_direct|PREROUTING_direct|POSTROUTING_direct|"
    r"INPUT_ZONES(_SOURCE)?|FORWARD_(IN|OUT)_ZONES(_SOURCE)?|PREROUTING_ZONES(_SOURCE)?|POSTROUTING_ZONES(_SOURCE)?|"
    r"OUTPUT_POLICIES|INPUT_dispatch|FORWARD_dispatch|OUTPUT_dispatch|PREROUTING_dispatch|POSTROUTING_dispatch|"
    r"(IN|FWDI|FWDO|PRE|POST|FWD)_[A-Za-z0-9-]+(_(allow|deny|log|pre|post|rule|dispatch.*))?|"
    r".*_dispatch(_stage\d)?)$"
)


def chain_owner(name: str) -> str | None:
    if name.startswith("DOCKER"):
        return "docker"
    if name.startswith("NETAVARK"):
        return "podman"
    if name.startswith("CNI-"):
        return "cni"
    if name.startswith("KUBE-"):
        return "kube"
    if name.startswith(("ufw-", "ufw6-")):
        return "ufw"
    if _FIREWALLD.match(name):
        return "firewalld"
    return None


CNI_COMMENT = re.compile(r'^(dnat )?name: "?([^"\s]+)"? id: ')
KUBE_COMMENT = re.compile(r"^kubernetes |^[a-z0-9.-]+/[A-Za-z0-9.-]+(:[A-Za-z0-9-]*)?( |$)")
