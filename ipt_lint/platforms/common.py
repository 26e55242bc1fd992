"""Helpers the recognisers share: walking chains, the first declaration of a chain, CNI comments."""

from __future__ import annotations

from ..model.types import Needles, Ruleset
from .base import Evidence
from .chains import CNI_COMMENT


def all_chains(ruleset: Ruleset):
    for t in ruleset.tables.values():
        for c in t.chains.values():
            yield t.name, c


def first_decl(ruleset: Ruleset, predicate, prefixes: tuple[str, ...]) -> Evidence | None:
    """The first chain (in dump order) whose name satisfies `predicate`; every such name starts
    with one of `prefixes`. Only names with a prefix are tested: a kube-proxy dump has 35k
    chains, and the recognisers ask this a dozen times."""
    for t in ruleset.tables.values():
        for name in _with_prefix(t.chains, prefixes):
            if predicate(name):
                c = t.chains[name]
                return Evidence(c.span.line if c.span else None, f":{c.name}", f"chain {c.name} in table {t.name}")
    return None


def _with_prefix(names, prefixes: tuple[str, ...]):
    """The names (in order) that start with one of `prefixes`, found by str.find in all of them
    joined (a chain name holds no newline: the dump's lines are split at them)."""
    joined = "\n" + "\n".join(names) + "\n"
    starts = set()
    for prefix in prefixes:
        key = "\n" + prefix
        i = joined.find(key)
        while i >= 0:
            starts.add(i + 1)
            i = joined.find(key, i + 1)
    for start in sorted(starts):
        yield joined[start : joined.find("\n", start)]


_CNI_NAME = Needles("name:")  # CNI_COMMENT's words, in every rule it can match
IFACES = Needles("-i", "-o")  # -i, -o, --in-interface, --out-interface and their abbreviations


def cni_comment_names(ruleset: Ruleset) -> set[str]:
    names = set()
    for r in ruleset.rules_with(_CNI_NAME):
        if not _CNI_NAME.may_hold(r.text):  # the comment cannot say "name:" (100k comments unread)
            continue
        c = r.comment()
        if c:
            m = CNI_COMMENT.match(c)
            if m:
                names.add(m.group(2))
    return names


def ifaces_in_chains(ruleset: Ruleset, predicate) -> dict[str, int]:
    """Exact interface names used by -i/-o in chains whose name satisfies `predicate`."""
    out: dict[str, int] = {}
    for _, c in all_chains(ruleset):
        if not predicate(c.name):
            continue
        for r in c.rules_with(IFACES):
            for i in (r.in_iface, r.out_iface):
                if i is not None and not i.iface.wildcard:
                    out.setdefault(i.iface.name, r.line)
    return out
