"""What the text of an unread `-A CHAIN ...` line tells for certain, without building it: the
lazy loader (model/lazy.py) uses it to place a chain's rules and to key them by destination, so
a trace through kube-proxy's KUBE-SERVICES (thousands of `-d SERVICE_IP/32 ...` lines) builds
only the lines about the packet's own destination.

Each answer is either exact or "cannot tell" (False / None); "cannot tell" only costs building
the line. tests/test_lazy_loading.py holds both to the built rules on tricky lines.
"""

from __future__ import annotations

import re

from ..parse.extensions import builtin_option
from ..parse.fastpath import reads_rule_line

# `-A CHAIN -d A.B.C.D/32 `: the destination as the third argument, as iptables-save writes it.
# There no earlier argument can take `-d` as its value, and nothing can negate it (`!` would be
# the chain). Octets as iptables prints them: no leading zeros, at most 255.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HOST_DST = re.compile(rf"-A [^ ]+ -d {_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/32(?: |\Z)")
# `-A CHAIN [!] -s VALUE `: the source where iptables-save writes it (kube-proxy's `! -s POD_CIDR`)
_FIRST_SRC = re.compile(r'-A [^ ]+ (?:! )?-s ([^ \t"\\]+)(?: |\Z)')


# A line whose every quoted section is a whole word (a blank or the line's end on each side)
# with no backslash or tab anywhere: the fast path reads it (fastpath._quoted_words); one
# regular expression instead of splitting in Python, for the 9,500 lines of KUBE-SERVICES.
_PLAIN_QUOTES = re.compile(r'(?:[^"\\\t]++|(?<= )"[^"\\\t]*+"(?= |\Z))*+')


def gives_one_rule(text: str) -> bool:
    """Does this deferred `-A` line certainly give exactly one rule? It does when the fast path
    reads it (then line_node() has a RuleLine whose command is `-A`, and build_rule() a Rule:
    see parse/structure.py, which returns no rule only without a command). Otherwise the grammar
    decides, which may refuse the line (no rule): False, build it to know."""
    if '"' not in text or (_PLAIN_QUOTES.fullmatch(text) is not None and text.isprintable()):
        return True
    return reads_rule_line(text)


def host_destination(text: str, family: str) -> int | None:
    """The one IPv4 address a deferred `-A` line's rule has as its `-d` (the rule's `dst` is then
    exactly `AddrMatch(False, (Net(a, 0xFFFFFFFF, 32),))`), or None when the text does not say
    so for certain: another argument that may be a destination option (`-d`, `--destination`,
    `--dst`, `--dest=...`, an abbreviation; in quotes or not), a backslash, an IPv6 dump."""
    if family != "ipv4" or "\\" in text:
        return None
    m = _HOST_DST.match(text)
    if m is None:
        return None
    # quotes only group words: without them every argument is a word (or several), and every
    # spelling of the destination option holds `-d` (`-"d"` is `-d` too)
    rest = text[m.end() :].replace('"', "")
    if "-d" in rest and _names_option(rest, "-d"):
        return None
    a, b, c, d = m.groups()
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def source_texts(text: str) -> list[str] | None:
    """Every text a `-s` of a deferred `-A` line's rule may have (a superset), or None when the
    text does not tell for certain (then the line is tokenised). Exact for the line as
    iptables-save writes it: `-s` right after the chain, no other source option."""
    if "\\" in text:
        return None
    if "-s" not in text and '-"' not in text:  # every spelling holds `-s`, or `-"` quoted
        return []
    m = _FIRST_SRC.match(text)
    if m is not None:
        out, rest = [m.group(1)], text[m.end() :]
    else:
        end = text.find(" ", 3)  # after `-A CHAIN` (whose word the first pass checked)
        out, rest = [], text[end:] if end >= 0 else ""
    rest = rest.replace('"', "")
    if "-s" in rest and _names_option(rest, "-s"):
        return None
    return out


def _names_option(rest: str, name: str) -> bool:
    """May a word of `rest` (quotes taken out) be a spelling of built-in option `name`?"""
    for word in rest.replace("\t", " ").split(" "):
        if name not in word:
            continue
        spelling = word.split("=", 1)[0] if word.startswith("--") else word
        spec = builtin_option(spelling)
        if spec is not None and spec.name == name:
            return True
    return False
