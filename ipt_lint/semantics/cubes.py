"""Sets of fixed-width bit vectors as unions of ternary cubes: `((value, care), ...)`.

A cube fixes the bits in `care` to those of `value` and leaves the others free. Packet marks are
tested and set through masks (`--mark 0x4000/0x4000`, `--set-xmark 0x4000/0x4000`), which are
cubes exactly, whereas the same set as integer intervals would need 2^17 pieces.

The empty set is `()` (falsy). Results are normalised: no duplicates, no cube inside another.
"""

from __future__ import annotations

Cubes = tuple[tuple[int, int], ...]

MARK_BITS = 32
FULL32: Cubes = ((0, 0),)


def cube(value: int, care: int) -> Cubes:
    return ((value & care, care),)


def _cube_and(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int] | None:
    av, ac = a
    bv, bc = b
    if (av ^ bv) & ac & bc:
        return None
    return (av | bv, ac | bc)


def _cube_within(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """a is a subset of b."""
    av, ac = a
    bv, bc = b
    return (bc & ~ac) == 0 and (av & bc) == bv


def _normalise(cubes) -> Cubes:
    items = sorted(set(cubes), key=lambda c: (bin(c[1]).count("1"), c))  # widest first
    out: list[tuple[int, int]] = []
    for c in items:
        if not any(_cube_within(c, o) for o in out):
            out.append(c)
    return tuple(sorted(out))


def cu_and(a: Cubes, b: Cubes) -> Cubes:
    if not a or not b:
        return ()
    if a == b:
        return a
    if a == FULL32:
        return b
    if b == FULL32:
        return a
    out = []
    for x in a:
        for y in b:
            z = _cube_and(x, y)
            if z is not None:
                out.append(z)
    return _normalise(out)


def cu_or(a: Cubes, b: Cubes) -> Cubes:
    if not a:
        return b
    if not b or a == b:
        return a
    return _normalise(a + b)


def _cube_sub(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    if _cube_and(a, b) is None:
        return [a]
    av, ac = a
    bv, bc = b
    out = []
    fixed_v, fixed_c = av, ac
    free = bc & ~ac  # bits b fixes that a leaves free: one piece per such bit
    bit = 1
    while free:
        if free & bit:
            # this bit opposite to b's, the ones before it equal to b's
            out.append(((fixed_v & ~bit) | (~bv & bit), fixed_c | bit))
            fixed_v = (fixed_v & ~bit) | (bv & bit)
            fixed_c |= bit
            free &= ~bit
        bit <<= 1
    return out


def cu_sub(a: Cubes, b: Cubes) -> Cubes:
    if not a or not b:
        return a
    pieces = list(a)
    for y in b:
        nxt = []
        for x in pieces:
            nxt.extend(_cube_sub(x, y))
        pieces = nxt
        if not pieces:
            return ()
    return _normalise(pieces)


def cu_complement(a: Cubes) -> Cubes:
    return cu_sub(FULL32, a)


def cu_xmark(a: Cubes, value: int, mask: int, bits: int = MARK_BITS) -> Cubes:
    """The image of `a` under `x -> (x & ~mask) ^ value` (MARK/CONNMARK --set-xmark)."""
    full = (1 << bits) - 1
    out = []
    for v, c in a:
        # bits under mask become known zeros, then everything is xored with value
        nv = ((v & ~mask) ^ value) & full
        nc = (c | mask) & full
        out.append((nv & nc, nc))
    return _normalise(out)


def cu_and_mask(a: Cubes, mask: int, bits: int = MARK_BITS) -> Cubes:
    """x -> x & mask (MARK --and-mark): bits outside mask become known zeros."""
    full = (1 << bits) - 1
    clear = ~mask & full
    return _normalise([((v & mask), (c | clear) & full) for v, c in a])


def cu_or_mask(a: Cubes, bits_on: int, bits: int = MARK_BITS) -> Cubes:
    """x -> x | bits_on (MARK --or-mark)."""
    return _normalise([((v | bits_on), c | bits_on) for v, c in a])


def cu_contains(a: Cubes, x: int) -> bool:
    return any((x & c) == v for v, c in a)


def cu_sample(a: Cubes) -> int:
    """A member: the first cube with its free bits at zero."""
    return a[0][0]


def cu_str(a: Cubes) -> str:
    if a == FULL32:
        return "any"
    return ",".join(f"{v:#x}/{c:#x}" for v, c in a)
