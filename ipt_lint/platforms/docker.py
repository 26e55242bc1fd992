"""Docker Engine (moby/libnetwork bridge driver): generation and bridges (runtimes.md §1, §7).

Generations, told apart by chain layout:
  "<=17"   DOCKER-ISOLATION (single stage)
  "18-27"  DOCKER-ISOLATION-STAGE-1/2 ending in `-j RETURN`
  "28.0.0" `-m set --match-set docker-ext-bridges-v4|v6`
  "28.x"   DOCKER-FORWARD/-CT/-BRIDGE with STAGE-1/2 (no RETURN)
  "29"     DOCKER-FORWARD without isolation chains (DOCKER-INTERNAL)
"""

from __future__ import annotations

from ..model.types import Needles, Ruleset
from .base import Evidence, Platform
from .common import IFACES

_EXT_BRIDGES = Needles("docker-ext-bridges-v")


def _chains(ruleset: Ruleset, table: str) -> dict:
    t = ruleset.tables.get(table)
    return t.chains if t else {}


def _bare(rule) -> bool:
    return not (rule.src or rule.dst or rule.in_iface or rule.out_iface or rule.proto or rule.matches)


def generation(ruleset: Ruleset) -> tuple[str, list[Evidence]] | None:
    filt = _chains(ruleset, "filter")
    nat = _chains(ruleset, "nat")
    if not any(n.startswith("DOCKER") for n in list(filt) + list(nat)):
        return None

    def decl(name):
        c = filt.get(name)
        line = c.span.line if c is not None and c.span else None
        return Evidence(line, f":{name}", f"chain {name} exists")

    for c in filt.values():
        for r in c.rules_with(_EXT_BRIDGES):
            m = r.match("set")
            if m is not None:
                ov = m.get("--match-set")
                if ov and ov.raw and ov.raw[0].startswith("docker-ext-bridges-v"):
                    return "28.0.0", [Evidence(r.line, r.text, "ipset docker-ext-bridges (Docker 28.0.0 only)")]
    if "DOCKER-ISOLATION" in filt:
        return "<=17", [decl("DOCKER-ISOLATION")]
    stage1 = filt.get("DOCKER-ISOLATION-STAGE-1")
    if stage1 is not None:
        ret = [r for r in stage1.rules if r.target and r.target.name == "RETURN" and _bare(r)]
        if ret:
            return "18-27", [
                decl("DOCKER-ISOLATION-STAGE-1"),
                Evidence(ret[0].line, ret[0].text, "STAGE-1 ends in RETURN (18.03-27.x)"),
            ]
        if "DOCKER-FORWARD" in filt or "DOCKER-CT" in filt:
            return "28.x", [decl("DOCKER-FORWARD"), decl("DOCKER-ISOLATION-STAGE-1")]
        return "18-27", [decl("DOCKER-ISOLATION-STAGE-1")]
    if "DOCKER-FORWARD" in filt or "DOCKER-INTERNAL" in filt:
        return "29", [decl("DOCKER-FORWARD"), Evidence(None, "", "no DOCKER-ISOLATION chains (removed in 29.0)")]
    return "unknown", [Evidence(None, "", "DOCKER chains without a recognisable FORWARD layout")]


def bridges(ruleset: Ruleset) -> dict[str, int]:
    """Bridge interfaces Docker manages -> a line naming it."""
    out: dict[str, int] = {}
    filt = _chains(ruleset, "filter")
    nat = _chains(ruleset, "nat")

    def add(iface, rule):
        if iface is not None and not iface.iface.wildcard:
            out.setdefault(iface.iface.name, rule.line)

    for name, chain in filt.items():
        for r in chain.rules_with(IFACES):  # every case below names an interface
            t = r.target.name if r.target else ""
            if t in ("DOCKER",) and r.out_iface and not r.out_iface.negated:
                add(r.out_iface, r)
            if name in ("DOCKER-ISOLATION-STAGE-2", "DOCKER-CT", "DOCKER-BRIDGE") and r.out_iface:
                add(r.out_iface, r)
            if name in ("DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION") and r.in_iface:
                add(r.in_iface, r)
            if name in ("DOCKER-INTERNAL", "DOCKER-ISOLATION-STAGE-1") and r.out_iface and not r.out_iface.negated:
                add(r.out_iface, r)
            if name == "DOCKER" and r.out_iface and r.in_iface and r.in_iface.negated:
                add(r.out_iface, r)
            if name == "DOCKER-FORWARD" and r.in_iface and not r.in_iface.negated:
                add(r.in_iface, r)
    for name, chain in nat.items():
        for r in chain.rules_with(IFACES):
            if name == "DOCKER" and r.in_iface and r.target and r.target.name == "RETURN":
                add(r.in_iface, r)
            if name == "DOCKER" and r.in_iface and r.in_iface.negated and r.target and r.target.name == "DNAT":
                add(r.in_iface, r)
    return out


def details(ruleset: Ruleset) -> list[tuple[str, str]]:
    out = []
    nat = _chains(ruleset, "nat")
    filt = _chains(ruleset, "filter")
    raw = _chains(ruleset, "raw")
    output = nat.get("OUTPUT")
    if output is not None:
        for r in output.rules:
            if r.target and r.target.name == "DOCKER":
                out.append(("userland-proxy", "on" if r.dst and r.dst.negated else "off"))
                break
    user = filt.get("DOCKER-USER")
    if user is not None:
        has_return = any(r.target and r.target.name == "RETURN" and _bare(r) for r in user.rules)
        out.append(("docker-user-return", "yes" if has_return else "no"))
    pre = raw.get("PREROUTING")
    if pre is not None:
        drops = [
            r for r in pre.rules if r.target and r.target.name == "DROP" and r.in_iface and r.in_iface.negated and r.dst
        ]
        per_port = any(
            r.match("tcp") or r.match("udp") or r.match("sctp") for r in drops if r.in_iface.iface.name != "lo"
        )
        per_container = any(not r.matches and r.in_iface.iface.name != "lo" for r in drops)
        if per_container:
            out.append(("direct-routing-protection", "per-container"))
        elif per_port:
            out.append(("direct-routing-protection", "per-port"))
        else:
            out.append(("direct-routing-protection", "none"))
    else:
        out.append(("direct-routing-protection", "none"))
    return out


def detect(ruleset: Ruleset) -> Platform | None:
    gen = generation(ruleset)
    if gen is None:
        return None
    variant, evidence = gen
    return Platform("docker", variant, tuple(evidence), tuple(details(ruleset)))
