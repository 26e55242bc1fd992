"""Put it together: which platforms wrote into the dump, and the producer of every rule.

A user chain belongs to the producer its name says (chains.py). A rule in a built-in chain (or in
DOCKER-USER, which Docker creates for the user) is attributed one by one: by the chain it jumps
to, by its comment, or by the runtime bridge it names; otherwise it is "none": written by hand
or by something we do not recognise.
"""

from __future__ import annotations

from ..model.types import RuleModel, Ruleset
from . import cni, docker, firewalld, kube, podman, ufw
from .base import NONE, Recognition
from .chains import CNI_COMMENT, chain_owner
from .common import cni_comment_names


def recognise(ruleset: Ruleset) -> Recognition:
    cni_names = cni_comment_names(ruleset)  # podman and CNI detection both read them: one scan
    found = [
        p
        for p in (
            docker.detect(ruleset),
            podman.detect(ruleset, cni_names),
            cni.detect(ruleset, cni_names),
            kube.detect(ruleset),
            ufw.detect(ruleset),
            firewalld.detect(ruleset),
        )
        if p is not None
    ]
    rec = Recognition(platforms=tuple(found))
    if rec.platform("docker"):
        for b in docker.bridges(ruleset):
            rec.bridges[b] = "docker"
    if rec.platform("podman"):
        for b in podman.bridges(ruleset):
            rec.bridges.setdefault(b, "podman")
    if rec.platform("cni"):
        for b in cni.bridges(ruleset):
            rec.bridges.setdefault(b, "cni")
    podman_cni = rec.platform("podman") is not None and rec.platform("podman").variant == "cni"

    for table in ruleset.tables.values():
        for chain in table.chains.values():
            owner = _chain_owner(chain, rec, podman_cni)
            if owner is not None:
                rec.chain_owner[(table.name, chain.name)] = owner

    def rule_owners(chain, rules) -> None:
        owner = rec.chain_owner.get((chain.table, chain.name))
        for rule in rules:
            if chain.name == "DOCKER-USER":
                who = _docker_user_rule(rule)
            elif owner is not None:
                who = owner
            else:
                who = _builtin_rule(rule, rec, podman_cni)
            if who != NONE:
                rec.rule_owner[id(rule)] = who

    # Rule by rule, once the platforms and bridges are known; a lazily loaded dump's rules as
    # they are built (every rule's owner depends only on the rule, its chain and `rec`).
    ruleset.each_rule_built(rule_owners)
    return rec


def _chain_owner(chain, rec: Recognition, podman_cni: bool) -> str | None:
    owner = None if chain.builtin else chain_owner(chain.name)
    if owner == "cni" and podman_cni and rec.platform("cni") is None:
        owner = "podman"
    return owner


def _docker_user_rule(rule: RuleModel) -> str:
    t = rule.target
    if t is None:
        return NONE
    if t.kind in ("jump", "goto"):
        who = chain_owner(t.name)
        if who == "ufw":
            return "ufw"
    if t.name == "RETURN" and not (
        rule.src or rule.dst or rule.in_iface or rule.out_iface or rule.proto or rule.matches
    ):
        return "docker"
    return NONE


def _builtin_rule(rule: RuleModel, rec: Recognition, podman_cni: bool) -> str:
    t = rule.target
    if t is not None and t.kind in ("jump", "goto"):
        who = chain_owner(t.name)
        if who is not None:
            return "podman" if who == "cni" and podman_cni and rec.platform("cni") is None else who
    comment = rule.comment() or ""
    if comment.startswith("netavark"):
        return "podman"
    m = CNI_COMMENT.match(comment)
    if m:
        return "podman" if m.group(2) == "podman" and podman_cni else "cni"
    if comment.startswith("kubernetes") or comment.startswith("CNI "):
        return "kube" if comment.startswith("kubernetes") else "cni"
    for i in (rule.in_iface, rule.out_iface):
        if i is not None and i.iface.name in rec.bridges:
            return rec.bridges[i.iface.name]
    # Docker >= 28: raw `-d 127.0.0.1/32 ! -i lo -p tcp --dport HP -j DROP` for loopback publishes
    if (
        rec.platform("docker")
        and rule.table == "raw"
        and t is not None
        and t.name == "DROP"
        and rule.in_iface is not None
        and rule.in_iface.negated
        and rule.in_iface.iface.name == "lo"
        and rule.dst is not None
    ):
        return "docker"
    # Docker's hairpin MASQUERADE: -s CIP/32 -d CIP/32 -p P --dport CP -j MASQUERADE
    if (
        t is not None
        and t.name == "MASQUERADE"
        and rule.src
        and rule.dst
        and rule.src.nets == rule.dst.nets
        and rec.platform("docker")
    ):
        return "docker"
    return NONE
