"""No regular expression backtracks catastrophically on attacker-chosen text.

Every compiled pattern in `ipt_lint` is found by walking the package (so a new one is covered
without anyone remembering to add it) and fed long runs of the characters such patterns repeat,
with and without a character that makes the match fail at the end, the way each pattern is really
applied (`match`, `search`, `sub`, `finditer`; patterns not listed below get both `match` and
`search`, the worst case). The assertion is on growth: 8x the input must not cost more than 32x
the time (see `timing.py`). Then the same runs go through the whole pipeline, where the Lark
grammar's own terminals are regexes too: as a rule argument, a quoted value, a comment, a chain
declaration and a table header.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import tracemalloc

import pytest

import ipt_lint
from ipt_lint.lint import lint_text
from ipt_lint.parse.fastpath import parse_line_fast
from ipt_lint.parse.grammar import LineSyntaxError, parse_line_with_lark

from .invariants import rendered
from .timing import MAX_GROWTH, SIZE_FACTOR, growth, worth_measuring

# How each pattern is applied in the code ("module:NAME" -> methods). Where a pattern reads dump
# text, the method matters: `search` and `sub` try every start position.
USAGE = {
    "ipt_lint.cli.docs_gen:_CONTROL": ("sub",),
    "ipt_lint.model.printer:_BARE": ("match",),
    "ipt_lint.parse:_V6_HEADER": ("match",),
    "ipt_lint.parse:_V4_HEADER": ("match",),
    # finditer, stopped by the caller at the first gap that is not blank: the caller is what runs
    "ipt_lint.parse.fastpath:_ARG": ("fastpath-rule",),
    "ipt_lint.parse.fastpath:_SIMPLE_COUNTERS": ("match",),
    "ipt_lint.parse.fastpath:_CHAIN": ("match",),
    "ipt_lint.parse.fastpath:_TABLE": ("match",),
    "ipt_lint.parse.fastpath:_ESCAPE": ("sub",),
    "ipt_lint.parse.values:_UINT": ("match",),
    "ipt_lint.parse.values:_HOSTNAME": ("match",),
    "ipt_lint.parse.values:_ALL_NUMERIC_LABELS": ("match",),
    "ipt_lint.parse.values:_LEADING_UINT": ("match",),
    "ipt_lint.parse.values:_TIME_OF_DAY": ("match",),
    "ipt_lint.parse.values:_DATE": ("match",),
    "ipt_lint.parse.values:_RATE": ("match",),
    "ipt_lint.parse.values:_BYTE_RATE": ("match",),
    "ipt_lint.parse.values:_BYTES": ("match",),
    "ipt_lint.parse.values:_TC_RATE": ("match",),
    "ipt_lint.parse.values:_TC_TIME": ("match",),
    "ipt_lint.parse.values:_U32_EXPR": ("match",),
    "ipt_lint.platforms.chains:_FIREWALLD": ("match",),
    "ipt_lint.platforms.chains:CNI_COMMENT": ("match",),
    "ipt_lint.platforms.chains:KUBE_COMMENT": ("match", "search"),
    "ipt_lint.policy.baseline:_COUNTERS": ("match",),  # anchored: match at 0, fullmatch from the last `[`
    "ipt_lint.policy.baseline:_BLANKS": ("sub",),
    "ipt_lint.policy.config:_PORT_SPEC": ("match",),
    "ipt_lint.policy.suppressions:_COMMENT_DIRECTIVE": ("match",),
    "ipt_lint.policy.suppressions:_RULE_DIRECTIVE": ("search",),
    "ipt_lint.policy.suppressions:_MAYBE_DIRECTIVE": ("search",),
    "ipt_lint.model.textfacts:_HOST_DST": ("match",),
    "ipt_lint.model.textfacts:_FIRST_SRC": ("match",),
    "ipt_lint.model.textfacts:_PLAIN_QUOTES": ("fullmatch",),
    "ipt_lint.parse:_ANY_HEADER": ("search",),  # over the whole dump, multiline: once per file
    "ipt_lint.policy.suppressions:_KIND": ("match",),
    "ipt_lint.report.safe:_CONTROL": ("sub",),
    "ipt_lint.checks.sensitive_ports:_SPEC": ("match",),  # a --sensitive-ports value, not dump text
    "ipt_lint.cli.lint_cmd:_FAMILY_MARK": ("finditer",),  # a file's base name, not dump text
    # inline patterns (not module attributes), applied to dump text
    "ipt_lint.policy.suppressions:re.split([\\s,]+)": ("split",),
}
INLINE = {"ipt_lint.policy.suppressions:re.split([\\s,]+)": re.compile(r"[\s,]+")}

# Patterns the code only ever applies to short text: the longest input they see.
GUARDED = {"ipt_lint.parse.values:_HOSTNAME": 253}  # looks_like_hostname() checks len <= 253 first

# Genuine bugs, reported: a strict xfail turns red once fixed, so the marker is removed then.
# (Fixed: policy.baseline:_COUNTERS, `\\s*\\[\\d+:\\d+\\]\\s*$` under sub(), quadratic in a rule's blanks.)
KNOWN_QUADRATIC: dict[str, str] = {}


def discovered_patterns() -> dict[str, re.Pattern]:
    found: dict[str, re.Pattern] = {}
    for info in pkgutil.walk_packages(ipt_lint.__path__, "ipt_lint."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found.setdefault(f"{info.name}:{name}", value)
    # A pattern imported into another module is the same object: keep its first (defining) name.
    by_id: dict[int, str] = {}
    for key in sorted(found, key=lambda k: (k.count("."), k)):
        by_id.setdefault(id(found[key]), key)
    out = {key: found[key] for key in by_id.values()}
    out.update(INLINE)
    assert len(out) > 20, sorted(out)  # the walk found the package's patterns
    return out


PATTERNS = discovered_patterns()

# Units repeated to build a long input, and what follows them (a character that makes a match fail
# at the very end is what drives backtracking).
UNITS = (
    " ", "\t", "a", "0", ".", "-", ":", ",", "=", "[", '"', "\\", '\\"', '"a', "a.", "0.", "[1:1] ", "ipt-lint:",
    " ipt-lint", "IN_a", "_dispatch", "\u00a0",
)
PREFIXES = ("", "#", ":", "*", "[", "IN_", '"', "# ipt-lint:", "name: ")
SUFFIXES = ("", "!", '"')

BASE = 2000  # characters at the small size; the large one is SIZE_FACTOR times that


def _caller(pattern: re.Pattern, method: str, text: str):
    if method == "match":
        return lambda: pattern.match(text)
    if method == "search":
        return lambda: pattern.search(text)
    if method == "fullmatch":
        return lambda: pattern.fullmatch(text)
    if method == "sub":
        return lambda: pattern.sub("", text)
    if method == "split":
        return lambda: pattern.split(text)
    if method == "finditer":
        return lambda: list(pattern.finditer(text))
    if method == "fastpath-rule":
        line = "-A X " + text
        return lambda: parse_line_fast(line, "f", 1)
    raise AssertionError(method)


def _params():
    for key in sorted(PATTERNS):
        marks = []
        if key in KNOWN_QUADRATIC:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_QUADRATIC[key]))
        yield pytest.param(key, marks=marks, id=key.removeprefix("ipt_lint."))


def test_every_pattern_has_a_known_usage():
    """Not a failure for a new pattern (it is tested with match and search anyway), but the list
    should say how it is used: a `search` or `sub` on dump text needs the most care."""
    unknown = sorted(set(PATTERNS) - set(USAGE))
    if unknown:
        pytest.skip(f"patterns without a USAGE entry (tested with match+search): {unknown}")


@pytest.mark.parametrize("key", list(_params()))
def test_pattern_time_grows_linearly(key):
    pattern = PATTERNS[key]
    methods = USAGE.get(key, ("match", "search"))
    worst = []
    for method in methods:
        for prefix in PREFIXES:
            for unit in UNITS:
                for suffix in SUFFIXES:

                    def make(size, prefix=prefix, unit=unit, suffix=suffix, method=method):
                        text = prefix + unit * (size // len(unit)) + suffix
                        return _caller(pattern, method, text)

                    if not worth_measuring(make, BASE):
                        continue
                    small, large, ratio = growth(make, BASE)
                    worst.append((ratio, method, prefix, unit, suffix, small, large))
                    assert ratio < MAX_GROWTH, (
                        f"{key}.{method}: {SIZE_FACTOR}x the input ({prefix!r} + {unit!r}*n + {suffix!r}) "
                        f"took {ratio:.0f}x the time ({small * 1e3:.2f} ms -> {large * 1e3:.2f} ms)"
                    )


@pytest.mark.parametrize("key", sorted(PATTERNS), ids=lambda k: k.removeprefix("ipt_lint."))
def test_one_match_needs_constant_memory(key):
    """Python's re keeps a backtracking entry (over 100 bytes) per iteration of a repeated group
    with alternatives, unless the repetition is possessive: a 10 MB quoted comment then cost more
    than 1 GB. One match on 16k characters must stay under 512 kB, whatever the characters."""
    pattern = PATTERNS[key]
    size = min(BASE * SIZE_FACTOR, GUARDED.get(key, BASE * SIZE_FACTOR))
    worst = (0, "")
    for prefix in PREFIXES:
        for unit in UNITS:
            for suffix in SUFFIXES:
                text = prefix + unit * (size // len(unit)) + suffix
                tracemalloc.start()
                try:
                    pattern.match(text)  # one attempt, whatever the method (search may be quadratic: above)
                    if "search" in USAGE.get(key, ("search",)):
                        pattern.search(text)
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
                worst = max(worst, (peak, f"{prefix!r} + {unit!r}*n + {suffix!r}"))
    assert worst[0] < 512 * 1024, f"{key}: {worst[0] / 1e6:.1f} MB for one match on {worst[1]}"


# ----------------------------------------------------------------------------------------------
# the whole pipeline, Lark included

_HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
PLACES = {
    "rule-argument": lambda run: _HEAD + f"-A INPUT -m comment --comment {run} -j ACCEPT\nCOMMIT\n",
    "rule-words": lambda run: _HEAD + f"-A INPUT {run} -j ACCEPT\nCOMMIT\n",
    "quoted-value": lambda run: _HEAD + f'-A INPUT -m comment --comment "{run}" -j ACCEPT\nCOMMIT\n',
    "unterminated-quote": lambda run: _HEAD + f'-A INPUT -m comment --comment "{run}\nCOMMIT\n',
    "comment-line": lambda run: _HEAD + f"#{run}\nCOMMIT\n",
    "suppression": lambda run: _HEAD + f"# ipt-lint: ignore=IPT201 -- {run}\n-A INPUT -j ACCEPT\nCOMMIT\n",
    "chain-declaration": lambda run: _HEAD + f":{run} - [0:0]\nCOMMIT\n",
    "table-header": lambda run: f"*{run}\nCOMMIT\n",
    "counters": lambda run: _HEAD + f"[{run}:{run}] -A INPUT -j ACCEPT\nCOMMIT\n",
    "value": lambda run: _HEAD + f"-A INPUT -s {run} -p tcp --dport {run} -j DNAT --to-destination {run}\nCOMMIT\n",
}
PIPELINE_UNITS = (" ", "a", '"', "\\", '\\"', "! ", "--x ", "-p tcp ", "[1:1] ", "ipt-lint:", "\x0b", "\x1b[")
PIPELINE_BASE = 12_000  # above iptables-restore's 10,239-byte line, so both sizes draw the same findings


@pytest.mark.parametrize("place", sorted(PLACES))
def test_pipeline_time_grows_linearly(place):
    build = PLACES[place]
    for unit in PIPELINE_UNITS:

        def make(size, unit=unit):
            text = build(unit * max(1, size // len(unit)))

            def run():
                result = lint_text(text, "redos.rules")
                for fmt in ("text", "json"):
                    rendered(result, fmt)
            return run

        if not worth_measuring(make, PIPELINE_BASE):
            continue
        small, large, ratio = growth(make, PIPELINE_BASE)
        assert ratio < MAX_GROWTH, (
            f"{place} with {unit!r}*n: {SIZE_FACTOR}x the input took {ratio:.0f}x the time "
            f"({small * 1e3:.1f} ms -> {large * 1e3:.1f} ms)"
        )


@pytest.mark.parametrize("unit", [" ", "\t", '"', "\\", "a", "0", "! ", "-x "])
def test_lark_grammar_time_grows_linearly(unit):
    """Lines the fast path hands to the grammar (an odd quote, a lone `!`), parsed by Lark itself."""

    def make(size):
        line = '-A INPUT "' + unit * max(1, size // len(unit)) + ' x'

        def run():
            try:
                parse_line_with_lark(line, "f", 1)
            except LineSyntaxError:
                pass
        return run

    small, large, ratio = growth(make, 4000)
    assert ratio < MAX_GROWTH, (unit, small, large, ratio)


def test_fingerprints_grow_linearly_with_the_rule():
    """SARIF and GitLab hash each finding's rule text (ipt_lint.policy.baseline.normalise_rule)."""
    from ipt_lint.policy.baseline import fingerprints

    def make(size):
        result = lint_text(_HEAD + "-A INPUT" + " " * size + "x -j ACCEPT\nCOMMIT\n", "f.rules")
        assert result.findings
        return lambda: fingerprints(result.findings)

    small, large, ratio = growth(make, 2000)
    assert ratio < MAX_GROWTH, (small, large, ratio)


def test_normalised_rules_are_what_the_quadratic_pattern_gave():
    """Baselines and SARIF fingerprints hash normalise_rule(): the linear rewrite must give the same
    text as the pattern it replaced, or every recorded baseline would wake up."""
    import random

    from ipt_lint.policy.baseline import normalise_rule

    old = re.compile(r"^\s*\[\d+:\d+\]\s*|\s*\[\d+:\d+\]\s*$")

    def before(text):
        return re.sub(r"\s+", " ", old.sub("", text)).strip() if text else ""

    rng = random.Random(6)
    alphabet = [" ", "\t", "\n", "\r", "[", "]", ":", "1", "23", "a", "-A X", "\u00a0", "\x1c", "\u0663"]
    samples = ["[1:2] -A X -j ACCEPT", "-A X -j ACCEPT [3:4]", "[1:2]", "[1:2][3:4]", "  [1:2]  x  [3:4]\n", "x[1:2]"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    for text in samples:
        assert normalise_rule(text) == before(text), repr(text)
