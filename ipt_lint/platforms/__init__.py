"""Stage 4, platforms: name what produced each rule and chain of a dump.

    recognise(ruleset) -> Recognition
        .platforms                 Platform(name, variant, evidence, details) for each producer found:
                                   docker (variant = generation "<=17" | "18-27" | "28.0.0" | "28.x" | "29"),
                                   podman ("netavark" | "cni"), cni ("bridge,portmap,firewall"),
                                   kube ("iptables"), ufw, firewalld ("old" | "2.x")
        .platform(name)            one of them, or None
        .docker_generation         shortcut
        .producer(rule)            "docker" | "podman" | "cni" | "kube" | "ufw" | "firewalld" | "none"
        .chain_producer(table, chain)
        .bridges                   container bridge interface -> runtime

Recognisers read only the model (names, interfaces, comments, chain layout); signatures are those
of ../shared/docs/runtimes.md §7. "none" means hand-written or not recognised. Past chain names
they ask the ruleset for rules with given words (Ruleset.rules_with, Needles), and a rule's
producer is recorded when its chain is built, so a lazily loaded dump (trace) stays mostly unread.
"""

from .base import NONE, RUNTIMES, Evidence, Platform, Recognition
from .recognise import recognise

__all__ = ["NONE", "RUNTIMES", "Evidence", "Platform", "Recognition", "recognise"]
