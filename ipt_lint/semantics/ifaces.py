"""Interfaces as a finite alphabet, so a set of interfaces is a bit mask.

A dump names some interfaces (`-i eth0`) and some prefixes (`-o br-+`); every other interface
of the machine behaves, for these rules, exactly like one of a few symbolic elements:

* one element per name seen (`eth0`, `docker0`, `lo`, ...);
* one element per prefix `p` ("an interface whose name starts with `p`, that the dump does not
  name and that no longer listed prefix covers"), written `p*`; the empty prefix gives `*`,
  "an interface the dump does not name at all";
* `NONE`: no interface (the input interface of a locally generated packet, the output
  interface of one delivered locally). iptables compares such a packet's interface as "": only
  `+` (any) matches it, and every negated name does.

Element 0 is always NONE. Set membership is exact for every rule of the dump, because a rule can
only tell interfaces apart by the names and prefixes it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

NONE_NAME = "-"


@dataclass(frozen=True)
class IfaceSummary:
    """A set of interfaces in words: named ones, unnamed ones (by prefix) and what is excluded.

    `any_other` is True when the set includes interfaces the dump does not name at all (the
    symbolic `*`); `excluded` lists the named interfaces it leaves out (among those the question
    considered), so a caller can say "any interface other than eth0"; `excluded_prefixes` the
    unnamed-interface prefixes it leaves out.
    """

    named: tuple[str, ...]
    prefixes: tuple[str, ...]  # "br-" means: unnamed interfaces starting with br-
    any_other: bool
    excluded: tuple[str, ...]
    none: bool  # includes "no interface" (locally generated)
    excluded_prefixes: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.any_other:
            out = [*self.excluded, *(f"other {p}* interfaces" for p in self.excluded_prefixes)]
            return "any interface" + (" other than " + ", ".join(out) if out else "")
        parts = list(self.named)
        parts += [f"other {p}* interfaces" for p in self.prefixes]
        if self.none:
            parts.append("(none: locally generated)")
        return ", ".join(parts) if parts else "no interface"

    def as_list(self) -> list[str]:
        """Names, `p+` for unnamed interfaces with prefix p, `*` for interfaces the dump does not name."""
        out = list(self.named)
        out += [p + "+" for p in self.prefixes]
        if self.any_other:
            out.append("*")
        return out


class IfaceAlphabet:
    def __init__(self, names, prefixes=()):
        names = sorted({n for n in names if n})
        prefixes = sorted(set(prefixes) | {""})
        self.elements: list[tuple[str, str]] = [("none", NONE_NAME)]
        self.elements += [("name", n) for n in names]
        self.elements += [("prefix", p) for p in prefixes]
        self.index = {(k, v): i for i, (k, v) in enumerate(self.elements)}
        self.size = len(self.elements)
        self.full = (1 << self.size) - 1
        self.none = 1
        self.names = tuple(names)
        self.prefixes = tuple(prefixes)
        self.unnamed = 0
        for i, (k, _) in enumerate(self.elements):
            if k == "prefix":
                self.unnamed |= 1 << i

    def name_mask(self, name: str) -> int:
        """The element a concrete interface name falls in."""
        i = self.index.get(("name", name))
        if i is not None:
            return 1 << i
        best = ""
        for p in self.prefixes:
            if name.startswith(p) and len(p) > len(best):
                best = p
        return 1 << self.index[("prefix", best)]

    def match(self, name: str, wildcard: bool) -> int:
        """The elements `-i name` (wildcard: `-i name+`) matches."""
        if not wildcard:
            return self.name_mask(name)
        if name == "":
            return self.full  # `+` matches everything, even "no interface"
        mask = 0
        for i, (k, v) in enumerate(self.elements):
            if k in ("name", "prefix") and v.startswith(name):
                mask |= 1 << i
        return mask

    def summary(self, mask: int, within: int | None = None) -> IfaceSummary:
        """`mask` in words; `excluded` lists only names inside `within` (default: all), so the
        interfaces a question never considered (bridges, lo) are not called "excluded"."""
        named, prefixes, excluded, excluded_prefixes = [], [], [], []
        any_other = False
        none = bool(mask & self.none)
        within = self.full if within is None else within
        for i, (k, v) in enumerate(self.elements):
            inside = bool(mask >> i & 1)
            if k == "name":
                if inside:
                    named.append(v)
                elif within >> i & 1:
                    excluded.append(v)
            elif k == "prefix":
                if inside:
                    if v == "":
                        any_other = True
                    else:
                        prefixes.append(v)
                elif v and within >> i & 1:
                    excluded_prefixes.append(v)
        return IfaceSummary(tuple(named), tuple(prefixes), any_other, tuple(excluded), none, tuple(excluded_prefixes))

    def sample(self, mask: int, prefer: tuple[str, ...] = ()) -> str:
        """A concrete interface name in the set (preferring `prefer`), `-` for none."""
        for p in prefer:
            m = self.name_mask(p)
            if mask & m and self.elements[m.bit_length() - 1][0] == "name":
                return p
        for i, (k, v) in enumerate(self.elements):
            if mask >> i & 1:
                if k == "none":
                    continue
                if k == "name":
                    return v
        for i, (k, v) in enumerate(self.elements):
            if mask >> i & 1 and k == "prefix":
                return self._invent(v)
        return NONE_NAME

    def _invent(self, prefix: str) -> str:
        """A name with this prefix that the dump does not name and no longer prefix covers."""
        if prefix:
            candidates = [(prefix + s)[:15] for s in ("x0", "9", "ext", "z9", "_q")]
        else:
            candidates = ["eth9", "ens9", "wan0", "ext0", "if0", "zz0"]
        target = 1 << self.index[("prefix", prefix)]
        for cand in candidates:
            if self.name_mask(cand) == target:
                return cand
        return prefix + "?"

    def label_of(self, mask: int) -> str:
        """A set in one short string: the name when it is one named interface, else the
        comma-joined as_list() (`*` = an interface the dump does not name, `p+` = such an
        interface starting with p)."""
        s = self.summary(mask & ~self.none)
        items = s.as_list()
        return items[0] if len(items) == 1 and not s.any_other and not s.prefixes else ",".join(items)

    def label(self, i: int) -> str:
        k, v = self.elements[i]
        if k == "none":
            return "(none)"
        if k == "name":
            return v
        return (v + "*") if v else "*"
