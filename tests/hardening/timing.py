"""Growth measurements that cannot flake on a loaded machine.

A unit test never asserts an absolute time. It asserts how time *grows*: f on an input 8x longer
must not take more than 32x as long (linear work gives about 8x, quadratic 64x, exponential
never finishes). Time is this thread's CPU time (`time.thread_time`), not the wall clock, so
other processes on a loaded machine do not count; each size is the minimum over several
repetitions (interference only ever adds time), and each repetition loops until it has run for a
few milliseconds, so timer resolution does not matter.

Even CPU time is disturbed by a busy machine (caches and frequency shared with other processes),
so a ratio over MAX_GROWTH is measured again, up to ATTEMPTS times, and the smallest ratio counts:
real superlinear work is over the limit every time (quadratic work shows 64x, twice the limit),
interference is not. The `_ARG` fast-path failure seen under load was such interference: its
8x-longer lines cost 8x (tests/hardening/test_regex_redos.py), with the wall clock and one
measurement it had read 40x once.

`worth_measuring` is a cheap first look (one call per size): when the large call is fast in
absolute terms, or did not grow more than twice linearly, the careful measurement is skipped. It
only decides whether to measure; it never fails a test.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

SIZE_FACTOR = 8
MAX_GROWTH = 32.0  # 4x the linear expectation; quadratic work shows 64x
ATTEMPTS = 3


clock = time.thread_time


def _per_call(fn: Callable[[], object], min_total: float = 0.003) -> float:
    calls = 0
    start = clock()
    while True:
        fn()
        calls += 1
        elapsed = clock() - start
        if elapsed >= min_total:
            return elapsed / calls


def best_time(fn: Callable[[], object], repeats: int = 5) -> float:
    was = gc.isenabled()
    gc.disable()
    try:
        return min(_per_call(fn) for _ in range(repeats))
    finally:
        if was:
            gc.enable()


def worth_measuring(make: Callable[[int], Callable[[], object]], n: int) -> bool:
    """One call at n and one at SIZE_FACTOR * n: False when the large one is fast in absolute
    terms (quadratic work on it would take far longer) or grew no more than twice linearly."""
    small, large = make(n), make(n * SIZE_FACTOR)
    t0 = clock()
    small()
    t1 = clock()
    large()
    t2 = clock()
    t_small, t_large = t1 - t0, t2 - t1
    if t_large < 0.002:
        return False
    return t_large / max(t_small, 1e-6) >= 2 * SIZE_FACTOR


def growth(make: Callable[[int], Callable[[], object]], n: int) -> tuple[float, float, float]:
    """(time at n, time at SIZE_FACTOR * n, ratio). `make(size)` returns the call to time."""
    small, large = make(n), make(n * SIZE_FACTOR)
    best = None
    for _ in range(ATTEMPTS):
        t_large = best_time(large, repeats=5)
        t_small = best_time(small, repeats=7)
        got = (t_small, t_large, t_large / max(t_small, 1e-9))
        if best is None or got[2] < best[2]:
            best = got
        if best[2] < MAX_GROWTH:
            break
    return best
