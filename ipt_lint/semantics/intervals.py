"""Sets of integers as sorted, disjoint, non-adjacent closed intervals: `((lo, hi), ...)`.

Addresses, ports, protocol numbers and ICMP type/code pairs are all such sets. The empty set is
`()`, which is falsy, so `if not s` tests emptiness. Every function returns a normalised tuple
(sorted, merged), so equal sets compare equal with `==`.
"""

from __future__ import annotations

from bisect import bisect_right

Intervals = tuple[tuple[int, int], ...]

EMPTY: Intervals = ()


def iv(lo: int, hi: int) -> Intervals:
    return ((lo, hi),) if lo <= hi else ()


def iv_point(x: int) -> Intervals:
    return ((x, x),)


def iv_normalise(pairs) -> Intervals:
    """Any iterable of (lo, hi) pairs -> the normalised set (empty pairs dropped)."""
    items = sorted(p for p in pairs if p[0] <= p[1])
    if not items:
        return ()
    out = [list(items[0])]
    for lo, hi in items[1:]:
        last = out[-1]
        if lo <= last[1] + 1:
            if hi > last[1]:
                last[1] = hi
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def iv_or(a: Intervals, b: Intervals) -> Intervals:
    if not a:
        return b
    if not b or a == b:
        return a
    return iv_normalise(a + b)


def iv_union(sets) -> Intervals:
    """The union of many sets at once: one sort, where folding iv_or over them re-sorts the
    growing result every time (quadratic on thousands of sources)."""
    sets = [x for x in sets if x]
    if len(sets) < 2:
        return sets[0] if sets else ()
    return iv_normalise([p for x in sets for p in x])


def iv_and(a: Intervals, b: Intervals) -> Intervals:
    if not a or not b:
        return ()
    if a is b or a == b:
        return a
    # The common case in rule matching: one side is a single interval.
    if len(b) == 1:
        a, b = b, a
    if len(a) == 1:
        lo, hi = a[0]
        if len(b) == 1:
            blo, bhi = b[0]
            nlo, nhi = max(lo, blo), min(hi, bhi)
            return ((nlo, nhi),) if nlo <= nhi else ()
        out = []
        for blo, bhi in b:
            if bhi < lo:
                continue
            if blo > hi:
                break
            out.append((max(lo, blo), min(hi, bhi)))
        return tuple(out)
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        alo, ahi = a[i]
        blo, bhi = b[j]
        lo, hi = max(alo, blo), min(ahi, bhi)
        if lo <= hi:
            out.append((lo, hi))
        if ahi < bhi:
            i += 1
        else:
            j += 1
    return tuple(out)


def iv_sub(a: Intervals, b: Intervals) -> Intervals:
    """a minus b."""
    if not a or not b:
        return a
    if a == b:
        return ()
    out = []
    j = 0
    nb = len(b)
    for lo, hi in a:
        cur = lo
        while j < nb and b[j][1] < cur:
            j += 1
        k = j
        while k < nb and b[k][0] <= hi:
            blo, bhi = b[k]
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
            if cur > hi:
                break
            k += 1
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


def iv_complement(a: Intervals, lo: int, hi: int) -> Intervals:
    return iv_sub(((lo, hi),), a)


def iv_contains(a: Intervals, x: int) -> bool:
    k = bisect_right(a, (x, float("inf"))) - 1
    return k >= 0 and a[k][0] <= x <= a[k][1]


def iv_subset(a: Intervals, b: Intervals) -> bool:
    return not iv_sub(a, b)


def iv_size(a: Intervals) -> int:
    return sum(hi - lo + 1 for lo, hi in a)


def iv_is_point(a: Intervals) -> bool:
    return len(a) == 1 and a[0][0] == a[0][1]


class TooManyIntervals(ValueError):
    """A non-contiguous mask that would need more intervals than is reasonable to enumerate."""


MAX_MASK_FRAGMENTS = 4096


def iv_from_mask(value: int, mask: int, bits: int) -> Intervals:
    """{x : x & mask == value} over `bits`-bit integers, exactly, as intervals.

    A contiguous (prefix) mask gives one interval. A non-contiguous one gives one interval per
    combination of the zero bits above the lowest set bit, which is enumerated up to
    MAX_MASK_FRAGMENTS and refused (TooManyIntervals) beyond, so the caller can say "uncertain".
    """
    full = (1 << bits) - 1
    mask &= full
    value &= mask
    if mask == 0:
        return ((0, full),)
    low = (mask & -mask).bit_length() - 1  # index of the lowest set bit
    span = (1 << low) - 1  # the free low bits: a run of trailing zeros
    if mask | span == full:  # a prefix (every -s/-d network): one interval, nothing to enumerate
        return ((value, value + span),)
    free_high = [k for k in range(low, bits) if not (mask >> k) & 1]
    if len(free_high) > MAX_MASK_FRAGMENTS.bit_length() - 1:
        raise TooManyIntervals(f"mask leaves {len(free_high)} free bits inside it")
    out = []
    for combo in range(1 << len(free_high)):
        base = value
        for i, k in enumerate(free_high):
            if (combo >> i) & 1:
                base |= 1 << k
        out.append((base, base + span))
    return iv_normalise(out)


class IntervalIndex:
    """Numbered items keyed by intervals, `(lo, hi, item)`: which items meet a set of intervals.

    The keys are sorted by start and searched by bisection, walking back at most the widest key's
    span. Keys wider than `wide` (when given) are kept apart and always returned, so a single wide
    key cannot make every search walk back over the whole list. The engine's chain index, the fix
    verifier's goals and the exposure checks all ask their "which of these meet that" here."""

    __slots__ = ("los", "his", "items", "span", "wide")

    def __init__(self, entries, wide: int | None = None):
        narrow, always = [], []
        for entry in entries:
            (always if wide is not None and entry[1] - entry[0] > wide else narrow).append(entry)
        narrow.sort()
        self.los = [e[0] for e in narrow]
        self.his = [e[1] for e in narrow]
        self.items = [e[2] for e in narrow]
        self.span = max((e[1] - e[0] for e in narrow), default=0)
        self.wide = sorted({e[2] for e in always})

    def __bool__(self) -> bool:
        return bool(self.los or self.wide)

    def all_items(self, start: int = 0):
        """Every item >= start (in no particular order)."""
        return [i for i in self.items + self.wide if i >= start]

    def hits(self, query: Intervals, found: set, start: int = 0) -> None:
        """Add to `found` the items >= start whose key meets `query`."""
        los, his, items = self.los, self.his, self.items
        for qlo, qhi in query:
            k = bisect_right(los, qhi) - 1
            floor = qlo - self.span
            while k >= 0 and los[k] >= floor:
                if his[k] >= qlo and items[k] >= start:
                    found.add(items[k])
                k -= 1
        if self.wide:
            found.update(i for i in self.wide if i >= start)

    def meeting(self, query: Intervals, start: int = 0) -> list[int]:
        """The items >= start whose key meets `query`, sorted."""
        found: set[int] = set()
        self.hits(query, found, start)
        return sorted(found)
