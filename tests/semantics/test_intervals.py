"""Interval sets and ternary cubes against brute force over small universes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ipt_lint.semantics.cubes import (
    cu_and,
    cu_complement,
    cu_contains,
    cu_or,
    cu_sub,
    cu_xmark,
    cube,
)
from ipt_lint.semantics.intervals import (
    TooManyIntervals,
    iv_and,
    iv_complement,
    iv_contains,
    iv_from_mask,
    iv_normalise,
    iv_or,
    iv_sub,
)

U = range(0, 40)
pairs = st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=6)


def as_set(iv) -> set[int]:
    return {x for lo, hi in iv for x in range(lo, hi + 1)}


def ivs(raw):
    return iv_normalise((min(a, b), max(a, b)) for a, b in raw)


def well_formed(iv) -> bool:
    return all(lo <= hi for lo, hi in iv) and all(iv[k][1] + 1 < iv[k + 1][0] for k in range(len(iv) - 1))


@given(pairs, pairs)
def test_interval_operations_match_python_sets(ra, rb):
    a, b = ivs(ra), ivs(rb)
    sa, sb = as_set(a), as_set(b)
    for got, want in ((iv_and(a, b), sa & sb), (iv_or(a, b), sa | sb), (iv_sub(a, b), sa - sb)):
        assert well_formed(got)
        assert as_set(got) == want
    assert as_set(iv_complement(a, 0, 39)) == set(U) - sa
    for x in (0, 5, 17, 39):
        assert iv_contains(a, x) == (x in sa)


@given(st.integers(0, 255), st.integers(0, 255))
def test_masks_match_brute_force_including_non_contiguous(value, mask):
    got = iv_from_mask(value, mask, 8)
    assert well_formed(got)
    assert as_set(got) == {x for x in range(256) if x & mask == value & mask}


def test_every_prefix_mask_is_one_interval():
    for length in range(9):
        mask = (0xFF << (8 - length)) & 0xFF
        for value in (0, 0x5A, 0xFF):
            got = iv_from_mask(value, mask, 8)
            assert len(got) == 1
            assert as_set(got) == {x for x in range(256) if x & mask == value & mask}


def test_hugely_fragmented_mask_is_refused():
    try:
        iv_from_mask(1, 1, 32)  # every odd address: 2**31 intervals
    except TooManyIntervals:
        return
    raise AssertionError("expected TooManyIntervals")


W = 6  # cube tests over 6-bit values; higher bits are zero in every probe
cubes = st.lists(st.tuples(st.integers(0, 63), st.integers(0, 63)), min_size=0, max_size=4).map(
    lambda cs: tuple(sorted({(v & c, c) for v, c in cs}))
)


def cset(cs) -> set[int]:
    return {x for x in range(64) if cu_contains(cs, x)}


@given(cubes, cubes)
@settings(max_examples=300)
def test_cube_operations_match_brute_force(a, b):
    sa, sb = cset(a), cset(b)
    assert cset(cu_and(a, b)) == sa & sb
    assert cset(cu_or(a, b)) == sa | sb
    assert cset(cu_sub(a, b)) == sa - sb
    assert cset(cu_complement(a)) == set(range(64)) - sa


@given(cubes, st.integers(0, 63), st.integers(0, 63))
def test_xmark_image_is_exact(a, value, mask):
    image = {((x & ~mask) ^ value) & 63 for x in cset(a)}
    got = cset(cu_xmark(a, value, mask))
    # cubes may leave high bits free; restricted to 6 bits the image must be exact
    assert got == image


def test_kube_masq_bit():
    marked = cube(0x4000, 0x4000)
    assert cu_contains(marked, 0x4000) and cu_contains(marked, 0xC000) and not cu_contains(marked, 0x8000)
    assert not cu_contains(cu_xmark(marked, 0x4000, 0), 0x4000)  # --xor-mark clears it
