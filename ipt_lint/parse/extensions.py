"""The extension (module) table: which options the built-in parser, each match and each target
take, how many values each option reads, whether it may be negated and how its value is checked.

    builtin_option("-s") / builtin_option("--source")  -> OptionSpec of -s
    match_extension("tcp", "ipv4").option("--dpo")      -> OptionSpec of --dport
    target_extension("DNAT", "ipv6")                     -> ExtensionSpec of DNAT

The data is in `extension_data` (read from the iptables 1.8.9 extension libraries, see there).

Option spellings follow getopt_long, as iptables does:

* an exact spelling (name or alias) always wins;
* otherwise an unambiguous prefix works (`--dpo` is `--dport`, `--sou` is `--source`), but only
  if it is not also a prefix of another option in the table at the same time. Built-in options
  are always in iptables' table, so `ExtensionSpec.option` refuses a prefix that also starts a
  built-in long option (`-m recent --re` clashes with nothing, `-m mark --m` clashes with
  `--match`/`--modprobe`). Prefixes shared between two *loaded extensions* are ambiguous in
  iptables too; `resolve_option` implements that check over a list of loaded extensions.
* `--opt=value` is split by the caller; only the `--opt` part is looked up here.

Arity (`OptionSpec.arity`):

* 0, 1, 2: exactly that many values follow (getopt takes the next argument of a required option
  even if it starts with `-`);
* -1: one optional value (rateest `--rateest-bps1 [bps]`): the next argument is the value only if
  it exists and starts with neither `-` nor `!`.
* `-c`/`--set-counters` is arity 2, but iptables also takes `-c PKTS,BYTES` as one argument and
  does not take a second argument that starts with `-`/`!`; `option_value_count` knows that.

Lookups are dictionary hits; resolved spellings are cached, because the parser asks the same
questions for every rule of a 100k-rule dump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from . import extension_data as _data
from .values import VALIDATORS

__all__ = [
    "OptionSpec",
    "ExtensionSpec",
    "BUILTIN_OPTIONS",
    "BUILTIN_LONG_OPTIONS",
    "STANDARD_TARGETS",
    "IMPLICIT_PROTO_MATCHES",
    "builtin_option",
    "match_extension",
    "target_extension",
    "all_extensions",
    "resolve_option",
    "option_value_count",
]

FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class OptionSpec:
    name: str  # canonical spelling: long for extension options ("--dport"), short for built-ins ("-s")
    aliases: tuple[str, ...]  # other spellings accepted ("--destination-port"; "--source", "--src")
    arity: int  # values that follow: 0, 1, 2; -1 = one optional value (see module docstring)
    negatable: bool  # may be preceded by "!"
    value_type: str  # a key of values.VALIDATORS ("none" for flags)
    max_len: int | None = None  # longest value iptables keeps (comment 255, log-prefix 29, ...)

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ExtensionSpec:
    name: str  # "tcp", "conntrack", "DNAT", ...
    kind: str  # "match" | "target"
    families: frozenset[str]  # subset of {"ipv4", "ipv6"}
    options: tuple[OptionSpec, ...]
    # Beyond the agreed API, defaulted so positional construction stays the same:
    required: tuple[str, ...] = ()  # canonical names iptables insists on (DNAT --to-destination)
    exclusive: tuple[frozenset[str], ...] = ()  # at most one of each group may be given
    one_of: tuple[frozenset[str], ...] = ()  # at least one of each group must be given (-j MARK)
    requires: tuple[tuple[str, str], ...] = ()  # (a, b): a only together with b (--every, --packet)
    _exact: dict = field(default=None, init=False, repr=False, compare=False, hash=False)  # type: ignore[assignment]
    _resolved: dict = field(default=None, init=False, repr=False, compare=False, hash=False)  # type: ignore[assignment]
    # any of required/exclusive/one_of/requires: most extensions have none to check
    has_constraints: bool = field(default=False, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "has_constraints", bool(self.required or self.exclusive or self.one_of or self.requires)
        )
        exact = {}
        for spec in self.options:
            for s in spec.spellings:
                exact[s] = spec
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_resolved", {})

    def option(self, spelling: str) -> OptionSpec | None:
        """The option `spelling` names: an exact spelling, or an unambiguous getopt_long prefix
        of this extension's options that starts no built-in long option either."""
        spec = self._exact.get(spelling)
        if spec is not None:
            return spec
        cache = self._resolved
        if spelling in cache:
            return cache[spelling]
        spec = None
        if spelling.startswith("--") and len(spelling) > 2 and not _prefixes_builtin(spelling):
            hits = {id(o): o for s, o in self._exact.items() if s.startswith(spelling)}
            if len(hits) == 1:
                spec = next(iter(hits.values()))
        if len(cache) < 4096:
            cache[spelling] = spec
        return spec

    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)


# --------------------------------------------------------------------------------------------
# Built-in options
# --------------------------------------------------------------------------------------------


def _o(name, aliases, arity, negatable, value_type, max_len=None) -> OptionSpec:
    return OptionSpec(name, tuple(aliases), arity, negatable, value_type, max_len)


# Rule options of iptables itself (xshared.c). Canonical names are the short forms iptables-save
# prints. `--src`/`--dst` and `--fragments` are the real getopt names behind the documented
# `--source`/`--destination`/`--fragment` (the latter works as a prefix). -f exists for IPv4 only
# (ip6tables: "`-f' is not supported in IPv6, use -m frag instead").
BUILTIN_OPTIONS: tuple[OptionSpec, ...] = (
    _o("-s", ("--source", "--src"), 1, True, "address_list"),
    _o("-d", ("--destination", "--dst"), 1, True, "address_list"),
    _o("-i", ("--in-interface",), 1, True, "interface"),
    _o("-o", ("--out-interface",), 1, True, "interface"),
    _o("-p", ("--protocol",), 1, True, "protocol"),
    _o("-f", ("--fragment", "--fragments"), 0, True, "none"),
    _o("-m", ("--match",), 1, False, "chain"),
    _o("-j", ("--jump",), 1, False, "chain"),
    _o("-g", ("--goto",), 1, False, "chain"),
    _o("-c", ("--set-counters",), 2, False, "counters"),
    _o("-4", ("--ipv4",), 0, False, "none"),
    _o("-6", ("--ipv6",), 0, False, "none"),
)

# Every long option of iptables' own getopt table, commands included, with the letter it stands
# for. Only used to decide whether an abbreviation is ambiguous: `--d` could be --destination,
# --dst or --delete, so getopt refuses it ("unknown option").
BUILTIN_LONG_OPTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "--append": "A", "--delete": "D", "--check": "C", "--insert": "I", "--replace": "R",
        "--list": "L", "--list-rules": "S", "--flush": "F", "--zero": "Z", "--new-chain": "N",
        "--delete-chain": "X", "--rename-chain": "E", "--policy": "P", "--source": "s",
        "--destination": "d", "--src": "s", "--dst": "d", "--protocol": "p", "--in-interface": "i",
        "--jump": "j", "--table": "t", "--match": "m", "--numeric": "n", "--out-interface": "o",
        "--verbose": "v", "--wait": "w", "--wait-interval": "W", "--exact": "x", "--fragments": "f",
        "--version": "V", "--help": "h", "--line-numbers": "0", "--modprobe": "M",
        "--set-counters": "c", "--goto": "g", "--ipv4": "4", "--ipv6": "6",
    }
)  # fmt: skip

_BUILTIN_BY_LETTER = {spec.name[1]: spec for spec in BUILTIN_OPTIONS}
_BUILTIN_EXACT: dict[str, OptionSpec] = {}
for _spec in BUILTIN_OPTIONS:
    for _s in _spec.spellings:
        _BUILTIN_EXACT[_s] = _spec


@lru_cache(maxsize=4096)
def _prefixes_builtin(spelling: str) -> bool:
    return any(name.startswith(spelling) for name in BUILTIN_LONG_OPTIONS)


@lru_cache(maxsize=4096)
def builtin_option(spelling: str) -> OptionSpec | None:
    """The built-in rule option `spelling` names (`-s`, `--source`, `--src`, `--sou` ...).

    Abbreviations resolve when they are unambiguous among iptables' own long options and are not
    the exact spelling of some extension option (getopt prefers an exact match anywhere in its
    table: `-m recent --set` is recent's --set, not an abbreviated --set-counters). Commands
    (`-A`, `--append` ...) are not rule options and give None."""
    spec = _BUILTIN_EXACT.get(spelling)
    if spec is not None:
        return spec
    if not spelling.startswith("--") or len(spelling) <= 2 or spelling in _ALL_EXTENSION_SPELLINGS:
        return None
    letters = {letter for name, letter in BUILTIN_LONG_OPTIONS.items() if name.startswith(spelling)}
    if len(letters) != 1:
        return None
    return _BUILTIN_BY_LETTER.get(letters.pop())


# --------------------------------------------------------------------------------------------
# Extensions
# --------------------------------------------------------------------------------------------

STANDARD_TARGETS = frozenset({"ACCEPT", "DROP", "RETURN", "QUEUE"})

# `-p NAME` makes the match of that name available without `-m` (find_proto in xshared.c): the
# protocol as written (lower-cased, as -p does), or for a number its /etc/protocols name. There
# is no udplite or mobility-header match, so `-p udplite --dport 1` is an unknown option; `mh`
# (iptables' own alias of protocol 135) does load the mh match. icmp is IPv4-only and icmp6
# IPv6-only; match_extension() returns None for the other family.
IMPLICIT_PROTO_MATCHES: MappingProxyType[str, str] = MappingProxyType(
    {
        "tcp": "tcp", "6": "tcp",
        "udp": "udp", "17": "udp",
        "sctp": "sctp", "132": "sctp",
        "dccp": "dccp", "33": "dccp",
        "icmp": "icmp", "1": "icmp",
        "icmpv6": "icmp6", "ipv6-icmp": "icmp6", "58": "icmp6",
        "esp": "esp", "50": "esp",
        "ah": "ah", "51": "ah",
        "ipcomp": "ipcomp", "108": "ipcomp",
        "mh": "mh",
    }
)  # fmt: skip


def _parse_option(text: str) -> tuple[OptionSpec, ...]:
    head, *rest = text.split()
    negatable = head.startswith("!")
    spellings = head.lstrip("!").split(",")
    value_type = "none"
    arity = 0
    max_len = None
    for word in rest:
        if word.startswith("n="):
            arity = -1 if word == "n=?" else int(word[2:])
        elif word.startswith("max="):
            max_len = int(word[4:])
        else:
            value_type = word
            arity = arity or 1
    if value_type not in VALIDATORS:
        raise ValueError(f"extension_data: unknown value type {value_type!r} in {text!r}")
    return OptionSpec(spellings[0], tuple(spellings[1:]), arity, negatable, value_type, max_len)


def _build() -> tuple[tuple[ExtensionSpec, ...], dict]:
    specs = []
    index: dict[tuple[str, str, str], ExtensionSpec] = {}
    for kind, name, families, options, required, exclusive, requires in (*_data.MATCHES, *_data.TARGETS):
        fams = frozenset(FAMILIES[0 if c == "4" else 1] for c in families)
        extra = _data.CHECKS.get((kind, name), {})
        opts = tuple(_parse_option(o) for o in options)
        names = {o.name for o in opts}
        groups = (
            *extra.get("one_of", ()),
            *extra.get("exclusive", ()),
            *extra.get("requires", ()),
            extra.get("required", ()),
        )
        unknown = {n for g in groups for n in g} - names
        if unknown:
            raise ValueError(f"extension_data.CHECKS: {kind} {name} has no option {sorted(unknown)}")
        spec = ExtensionSpec(
            name,
            kind,
            fams,
            opts,
            (*required, *extra.get("required", ())),
            (*(frozenset(g) for g in exclusive), *(frozenset(g) for g in extra.get("exclusive", ()))),
            tuple(frozenset(g) for g in extra.get("one_of", ())),
            (*requires, *(tuple(p) for p in extra.get("requires", ()))),
        )
        specs.append(spec)
        for fam in fams:
            key = (kind, name, fam)
            if key in index:
                raise ValueError(f"extension_data: {kind} {name} listed twice for {fam}")
            index[key] = spec
    for alias, real in _data.MATCH_ALIASES.items():
        for fam in FAMILIES:
            if ("match", real, fam) in index:
                index[("match", alias, fam)] = index[("match", real, fam)]
    return tuple(specs), index


_ALL, _INDEX = _build()
_ALL_EXTENSION_SPELLINGS = frozenset(s for spec in _ALL for o in spec.options for s in o.spellings)


def match_extension(name: str, family: str) -> ExtensionSpec | None:
    """The match `-m name` loads in `family` ("ipv4"/"ipv6"), or None if there is none."""
    return _INDEX.get(("match", name, family))


def target_extension(name: str, family: str) -> ExtensionSpec | None:
    """The target extension `-j name` loads, or None (standard verdicts and user chains too)."""
    return _INDEX.get(("target", name, family))


def all_extensions() -> tuple[ExtensionSpec, ...]:
    return _ALL


# --------------------------------------------------------------------------------------------
# Helpers for the rule parser
# --------------------------------------------------------------------------------------------


def resolve_option(spelling: str, loaded) -> tuple[ExtensionSpec | None, OptionSpec] | None:
    """Resolve `spelling` the way getopt_long does over iptables' merged option table.

    `loaded` lists the extensions loaded so far (matches, then the target), in the order they
    were loaded; a module loaded twice is listed twice, and its copies count as different
    options, as in iptables. Returns (extension, option), with extension None for a built-in
    option, or None when the spelling is unknown or ambiguous ("unknown option" in iptables).

    Exact spellings win; among them a built-in first, then the most recently loaded extension
    (iptables merges each new extension's options in front of the older ones). An abbreviation
    must match exactly one option of one extension (or one built-in letter)."""
    spec = _BUILTIN_EXACT.get(spelling)
    if spec is not None:
        return None, spec
    for ext in reversed(loaded):
        spec = ext._exact.get(spelling)
        if spec is not None:
            return ext, spec
    if not spelling.startswith("--") or len(spelling) <= 2:
        return None
    found: tuple[ExtensionSpec | None, OptionSpec] | None = None
    identity = None
    letters = {letter for name, letter in BUILTIN_LONG_OPTIONS.items() if name.startswith(spelling)}
    if len(letters) > 1:
        return None
    if letters:
        builtin = _BUILTIN_BY_LETTER.get(next(iter(letters)))
        if builtin is None:  # a command
            return None
        found, identity = (None, builtin), ("builtin", builtin.name)
    for position, ext in enumerate(loaded):
        for s, spec in ext._exact.items():
            if s.startswith(spelling):
                key = (position, spec.name)
                if identity is not None and identity != key:
                    return None
                found, identity = (ext, spec), key
    return found


def _takes_value(token: str) -> bool:
    # xs_has_arg(): an optional value is taken only if it does not look like an option or `!`
    return not token.startswith("-") and not token.startswith("!")


def option_value_count(spec: OptionSpec, following) -> int:
    """How many of the `following` arguments (those after the option) iptables takes as values.

    Exact arities take that many, whatever they look like (the caller reports a shortfall);
    optional values (arity -1) only a non-option-looking next argument; `-c` takes one argument
    when it is `PKTS,BYTES` and otherwise a second one unless that starts with `-` or `!`."""
    if spec.arity >= 0 and spec.name != "-c":
        return min(spec.arity, len(following))
    if spec.arity == -1:
        return 1 if following and _takes_value(following[0]) else 0
    # -c
    if not following:
        return 0
    if "," in following[0]:
        return 1
    return 2 if len(following) > 1 and _takes_value(following[1]) else 1
