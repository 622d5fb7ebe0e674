"""RunMap: an integer-keyed map stored as maximal runs of equal values.

The kernel's per-pfn and per-section state is uniform over long ranges (a 3 TiB
namespace is, after init, a handful of runs), so memmapsim stores it as sorted run
starts. ``sortedcontainers.SortedDict`` supplies the ordered index; this class adds the
run semantics on top (split at range ends, map values over a range, coalesce equal
neighbours), which no library provides. Cost of an operation is O(log n + runs touched),
independent of how many keys the range covers.

Invariant: key 0 is always present; adjacent runs never hold equal values.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from sortedcontainers import SortedDict

V = TypeVar("V", bound=Hashable)


class RunMap(Generic[V]):
    """A total map from ``[0, limit)`` to values, every key starting at ``default``."""

    __slots__ = ("_runs", "default", "limit")

    def __init__(self, default: V, limit: int = 1 << 64) -> None:
        self.default = default
        self.limit = limit
        self._runs: SortedDict = SortedDict({0: default})

    def _check(self, lo: int, hi: int) -> None:
        if not 0 <= lo <= hi <= self.limit:
            raise IndexError(f"range [{lo:#x}, {hi:#x}) outside [0, {self.limit:#x})")

    def get(self, key: int) -> V:
        self._check(key, key + 1)
        idx = self._runs.bisect_right(key) - 1
        value: V = self._runs.peekitem(idx)[1]
        return value

    def _split(self, key: int) -> None:
        """Make ``key`` the start of a run (no-op at 0, at the limit, or if already one)."""
        if key >= self.limit or key in self._runs:
            return
        idx = self._runs.bisect_right(key) - 1
        self._runs[key] = self._runs.peekitem(idx)[1]

    def _coalesce(self, lo: int, hi: int) -> None:
        """Remove run starts in [lo, hi] whose value equals the run before them."""
        runs = self._runs
        idx = max(runs.bisect_left(lo) - 1, 0)
        first_key, prev = runs.peekitem(idx)
        for k in list(runs.irange(first_key, hi, inclusive=(False, True))):
            v = runs[k]
            if v == prev:
                del runs[k]
            else:
                prev = v

    def assign(self, lo: int, hi: int, value: V) -> None:
        """Set every key in ``[lo, hi)`` to ``value``."""
        self._check(lo, hi)
        if lo == hi:
            return
        self._split(lo)
        self._split(hi)
        for k in list(self._runs.irange(lo, hi, inclusive=(False, False))):
            del self._runs[k]
        self._runs[lo] = value
        self._coalesce(lo, hi)

    def assign_periodic(self, lo: int, hi: int, period: int, a: int, b: int, value: V) -> None:
        """Set keys ``[p + a, p + b)`` to ``value`` for every ``p`` in ``range(lo, hi,
        period)`` (``0 <= a <= b <= period``; ``hi - lo`` a multiple of ``period``): the same
        as one :meth:`assign` per period, in one sweep over the runs of ``[lo, hi)``
        rather than a split and a coalesce per period (a pageblock pattern repeated over
        thousands of memory blocks)."""
        self._check(lo, hi)
        if not (0 <= a <= b <= period and (hi - lo) % period == 0):
            raise ValueError(f"window [{a}, {b}) of period {period} over [{lo:#x}, {hi:#x})")
        if lo == hi or a == b:
            return
        old = list(self.runs(lo, hi))
        out: list[tuple[int, V]] = []
        j = 0

        def emit(start: int, v: V) -> None:
            if not out or out[-1][1] != v:
                out.append((start, v))

        def keep(lo_: int, hi_: int) -> None:
            """Emit the old runs over ``[lo_, hi_)``."""
            nonlocal j
            while j < len(old) and old[j][1] <= lo_:
                j += 1
            k = j
            while k < len(old) and old[k][0] < hi_:
                emit(max(old[k][0], lo_), old[k][2])
                k += 1

        pos = lo
        for p in range(lo, hi, period):
            if p + a > pos:
                keep(pos, p + a)
            emit(p + a, value)
            pos = p + b
        if pos < hi:
            keep(pos, hi)
        self._split(lo)
        self._split(hi)
        runs = self._runs
        for k in list(runs.irange(lo, hi, inclusive=(True, False))):
            del runs[k]
        runs.update(out)
        self._coalesce(lo, lo)
        self._coalesce(hi, hi)

    def update(self, lo: int, hi: int, fn: Callable[[V], V]) -> None:
        """Replace each value ``v`` in ``[lo, hi)`` by ``fn(v)`` (``fn`` must be pure)."""
        self._check(lo, hi)
        if lo == hi:
            return
        self._split(lo)
        self._split(hi)
        memo: dict[V, V] = {}
        for k in list(self._runs.irange(lo, hi, inclusive=(True, False))):
            old = self._runs[k]
            new = memo.get(old)
            if new is None:
                new = memo[old] = fn(old)
            self._runs[k] = new
        self._coalesce(lo, hi)

    def runs(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int, V]]:
        """Yield ``(start, end, value)`` for the maximal runs clipped to ``[lo, hi)``."""
        if hi is None:
            hi = self.limit
        self._check(lo, hi)
        if lo == hi:
            return
        runs = self._runs
        idx = runs.bisect_right(lo) - 1
        n = len(runs)
        while idx < n:
            start, value = runs.peekitem(idx)
            end = runs.peekitem(idx + 1)[0] if idx + 1 < n else self.limit
            if start >= hi:
                break
            yield max(start, lo), min(end, hi), value
            idx += 1

    def first_match(self, lo: int, hi: int, pred: Callable[[V], bool]) -> int | None:
        """The smallest key in ``[lo, hi)`` whose value satisfies ``pred``, or None."""
        for start, _end, value in self.runs(lo, hi):
            if pred(value):
                return start
        return None

    def count(self, lo: int, hi: int, pred: Callable[[V], bool]) -> int:
        """How many keys in ``[lo, hi)`` have a value satisfying ``pred``."""
        return sum(end - start for start, end, value in self.runs(lo, hi) if pred(value))

    def nruns(self) -> int:
        return len(self._runs)
