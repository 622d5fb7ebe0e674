"""The memmap (all struct pages) behind one interface, with two backends (DESIGN.md).

- :class:`~memmapsim.model.dense.DenseMemmap` — numpy (imported only when used), one row
  of eight words per storage slot and a slot index per pfn, like the real memmap behind
  its vmemmap: exact, for small machines and zoom windows, and the oracle for tests. It
  covers the pfn windows given at construction; every other pfn is ABSENT (no memmap).
- :class:`RunsMemmap` — a :class:`~memmapsim.model.runmap.RunMap` of pfn runs that share
  one :class:`PageRecord`, or repeat one pattern per compound page
  (:class:`~memmapsim.model.periodic.Periodic`); terabytes cost as much as the number of
  distinct runs.

Struct-page *storage* is separate from pfns: :meth:`Memmap.populate` maps a pfn range to
storage, either one slot per pfn or shared within compound pages
(:class:`~memmapsim.model.periodic.Sharing`, the vmemmap deduplication of v5.19+), and a
write through any pfn changes its slot, which every pfn sharing it reads.

Both backends expose the same operations — :meth:`~Memmap.populate`,
:meth:`~Memmap.apply` (ordered word writes and/or one shadow pass record over a pfn
range, once per distinct slot), :meth:`~Memmap.apply_periodic` (a program of steps per
compound page) — and the same observations: :meth:`~Memmap.runs` (maximal runs of equal
resolved states, pfn by pfn), :meth:`~Memmap.histogram` (pfns per state),
:meth:`~Memmap.storage_histogram` (distinct slots per state) and :meth:`~Memmap.spread`
(where the pfns of each class of state are). Property tests require identical
observations from both.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TypeVar

import msgspec

from memmapsim.model.page import ABSENT_RECORD, PageRecord, PassRecord
from memmapsim.model.periodic import (
    Periodic,
    Sharing,
    aliased_windows,
    periods,
    subtract_windows,
    update_window,
)
from memmapsim.model.runmap import RunMap
from memmapsim.model.structpage import NR_WORDS, STALE, Write

PFN_LIMIT = 1 << 52
"""pfns are below 2^52 (MAX_PHYSMEM_BITS 52 with 5-level paging, minus PAGE_SHIFT, plus slack)."""

STALE_RECORD = PageRecord((STALE,) * NR_WORDS)
"""A struct page whose memory was never written in this boot."""

K = TypeVar("K", bound=Hashable)


class Step(msgspec.Struct, frozen=True):
    """One step of a per-compound-page program: ``writes`` then ``record`` on the offsets
    ``[lo, hi)`` of every compound page, in pfn order."""

    lo: int
    hi: int
    writes: tuple[Write, ...] = ()
    record: PassRecord | None = None


class Spread(msgspec.Struct):
    """Where the pfns of one class are: the first ``keep`` maximal ranges, how many ranges
    there are and how many pfns."""

    keep: int = 8
    ranges: list[tuple[int, int]] = msgspec.field(default_factory=list)
    nranges: int = 0
    pages: int = 0
    _end: int = -1

    def add(self, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        self.pages += hi - lo
        if lo == self._end:
            if self.ranges and self.nranges <= self.keep and self.ranges[-1][1] == lo:
                self.ranges[-1] = (self.ranges[-1][0], hi)
        else:
            self.nranges += 1
            if self.nranges <= self.keep:
                self.ranges.append((lo, hi))
        self._end = hi

    def add_repeated(self, offsets: list[tuple[int, int]], first: int, period: int, n: int) -> None:
        """``offsets`` (sorted, disjoint, within ``[0, period)``) repeated for ``n``
        periods from ``first``: in closed form past what :attr:`keep` shows."""
        if n <= 0 or not offsets:
            return
        shown = 0
        head = first
        while shown < n and self.nranges <= self.keep:
            for a, b in offsets:
                self.add(head + a, head + b)
            head += period
            shown += 1
        rest = n - shown
        if rest <= 0:
            return
        width = sum(b - a for a, b in offsets)
        wraps = offsets[0][0] == 0 and offsets[-1][1] == period
        joins = head + offsets[0][0] == self._end  # the first one left joins what came before
        self.pages += rest * width
        self.nranges += len(offsets) - int(joins) + (rest - 1) * (len(offsets) - int(wraps))
        self._end = first + (n - 1) * period + offsets[-1][1]


class Memmap(ABC):
    """All struct pages of the machine; pfns without a memmap read as ABSENT."""

    name: str

    @abstractmethod
    def populate(self, lo: int, hi: int, sharing: Sharing | None = None) -> None:
        """Map pfns ``[lo, hi)`` to fresh storage holding stale memory (STALE, no history),
        one slot per pfn or shared within compound pages."""

    @abstractmethod
    def depopulate(self, lo: int, hi: int) -> None:
        """Unmap pfns ``[lo, hi)``: they read ABSENT (no struct page) again."""

    @abstractmethod
    def apply(
        self, lo: int, hi: int, writes: tuple[Write, ...] = (), record: PassRecord | None = None
    ) -> None:
        """Apply ``writes`` in order to the storage of every pfn in ``[lo, hi)`` — each
        distinct slot once — then append ``record`` to its shadow history."""

    @abstractmethod
    def apply_periodic(self, lo: int, hi: int, period: int, steps: Sequence[Step]) -> None:
        """Run ``steps`` in order on every (naturally aligned) compound page of ``period``
        pfns in ``[lo, hi)``, which must be whole compound pages."""

    @abstractmethod
    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        """Maximal runs ``(start, end, record)`` of identical resolved pages covering
        ``[lo, hi)``."""

    def record(self, pfn: int) -> PageRecord:
        for _s, _e, rec in self.runs(pfn, pfn + 1):
            return rec
        raise AssertionError("runs() must cover the range")  # pragma: no cover

    def histogram(self, lo: int, hi: int) -> Counter[PageRecord]:
        """How many pfns of ``[lo, hi)`` read each state."""
        out: Counter[PageRecord] = Counter()
        for s, e, r in self.runs(lo, hi):
            out[r] += e - s
        return out

    @abstractmethod
    def storage_histogram(self, lo: int, hi: int) -> Counter[PageRecord]:
        """How many distinct storage slots of the pfns in ``[lo, hi)`` that are stored in
        their own slot hold each state (aliases of a slot are not counted again)."""

    def spread(
        self,
        lo: int,
        hi: int,
        key: Callable[[PageRecord], K | None],
        out: dict[K, Spread] | None = None,
    ) -> dict[K, Spread]:
        """For each value of ``key`` (None: not of interest), where its pfns are; ``out``
        accumulates over several calls in ascending pfn order."""
        out = {} if out is None else out
        for s, e, r in self.runs(lo, hi):
            k = key(r)
            if k is not None:
                out.setdefault(k, Spread()).add(s, e)
        return out

    def count(self, lo: int, hi: int, pred: Callable[[PageRecord], bool]) -> int:
        """Number of pfns in ``[lo, hi)`` whose record satisfies ``pred``."""
        return sum(n for r, n in self.histogram(lo, hi).items() if pred(r))

    # --- the same, for the pfns at offsets [a, b) of every period (compound-page classes) --
    def window_runs(
        self, lo: int, hi: int, period: int, a: int, b: int
    ) -> Iterator[tuple[int, int, PageRecord]]:
        """Runs of the pfns of ``[lo, hi)`` whose offset in their period is in ``[a, b)``,
        in pfn order (one or more per period: the generic form walks the periods)."""
        for head, x, y in periods(lo, hi, period):
            s, e = max(x, head + a), min(y, head + b)
            if s < e:
                yield from self.runs(s, e)

    def histogram_window(
        self, lo: int, hi: int, period: int, a: int, b: int
    ) -> Counter[PageRecord]:
        out: Counter[PageRecord] = Counter()
        for s, e, r in self.window_runs(lo, hi, period, a, b):
            out[r] += e - s
        return out

    def spread_window(
        self,
        lo: int,
        hi: int,
        period: int,
        a: int,
        b: int,
        key: Callable[[PageRecord], K | None],
        out: dict[K, Spread] | None = None,
    ) -> dict[K, Spread]:
        out = {} if out is None else out
        for s, e, r in self.window_runs(lo, hi, period, a, b):
            k = key(r)
            if k is not None:
                out.setdefault(k, Spread()).add(s, e)
        return out


# --- the runs backend ---------------------------------------------------------------------
Value = PageRecord | Periodic


def _reduce(v: Value) -> Value:
    """A periodic value with one state and no sharing is that state."""
    if isinstance(v, Periodic) and v.sharing is None and len(v.pattern) == 1:
        return v.pattern[0][2]
    return v


class RunsMemmap(Memmap):
    """Run-length memmap: state is a sorted map of pfn runs (see :mod:`.runmap`)."""

    name = "runs"

    def __init__(self) -> None:
        self._map: RunMap[Value] = RunMap(ABSENT_RECORD, PFN_LIMIT)

    def nruns(self) -> int:
        return self._map.nruns()

    # --- writes ---------------------------------------------------------------------------
    def populate(self, lo: int, hi: int, sharing: Sharing | None = None) -> None:
        if sharing is None or sharing.own_hi == sharing.period:
            self._map.assign(lo, hi, STALE_RECORD)
            return
        pattern = ((0, sharing.own_hi, STALE_RECORD),)
        self._map.assign(lo, hi, Periodic(sharing.period, pattern, sharing))

    def depopulate(self, lo: int, hi: int) -> None:
        self._map.assign(lo, hi, ABSENT_RECORD)

    def apply(
        self, lo: int, hi: int, writes: tuple[Write, ...] = (), record: PassRecord | None = None
    ) -> None:
        if lo > hi:
            raise IndexError(f"empty range [{lo:#x}, {hi:#x})")
        if lo == hi:
            return
        step = _step(writes, record)
        extra: list[tuple[int, int]] = []
        for a, b, v in list(self._map.runs(lo, hi)):
            if isinstance(v, Periodic) and v.sharing is not None:
                extra += _outside_aliases(v.sharing, a, b, lo, hi)
        self._map.update(
            lo, hi, lambda v: _reduce(v.map(step)) if isinstance(v, Periodic) else step(v)
        )
        for a, b in _merge(extra):
            self.apply(a, b, writes, record)

    def apply_periodic(self, lo: int, hi: int, period: int, steps: Sequence[Step]) -> None:
        if lo % period or hi % period:
            raise ValueError(f"[{lo:#x}, {hi:#x}) is not whole compound pages of {period}")
        if lo == hi:
            return
        runs = list(self._map.runs(lo, hi))
        if all(not isinstance(v, Periodic) or v.sharing is None for _a, _b, v in runs):
            # no storage is shared: every step changes only its own offsets, so the steps
            # fold into each run's pattern, which is stored once
            fns = [(s.lo, s.hi, _step(s.writes, s.record)) for s in steps]
            blocks: list[tuple[int, int, Value]] = []
            for a, b, v in runs:
                if isinstance(v, Periodic) and v.period != period:
                    raise NotImplementedError(
                        f"compound pages of {period} pfns over storage shared per {v.period}"
                    )
                pattern = v.pattern if isinstance(v, Periodic) else ((0, period, v),)
                for s_lo, s_hi, fn in fns:
                    pattern = update_window(pattern, s_lo, s_hi, fn)
                blocks += [
                    (x, y, _reduce(Periodic(period, pattern, None))) for x, y in _cut(a, b, period)
                ]
            for x, y, val in blocks:
                self._map.assign(x, y, val)
            return
        for s in steps:
            self._apply_strided(lo, hi, period, s)

    def _apply_strided(self, lo: int, hi: int, period: int, s: Step) -> None:
        """One step on offsets ``[s.lo, s.hi)`` of every compound page of ``[lo, hi)``.

        Each run is cut into its partial and whole periods. In whole periods, a write
        through an alias offset goes to the canonical offsets of the same period, inside
        the same value; in a partial period the canonical slots may be in another run, so
        those writes are collected and applied afterwards (a slot the step writes as its
        own offset is not written again)."""
        fn = _step(s.writes, s.record)
        extras: list[tuple[int, int]] = []
        blocks: list[tuple[int, int, Value]] = []
        for a, b, v in list(self._map.runs(lo, hi)):
            if isinstance(v, Periodic):
                if v.period != period:
                    raise NotImplementedError(
                        f"compound pages of {period} pfns over storage shared per {v.period}"
                    )
                pattern, sharing = v.pattern, v.sharing
            else:
                pattern, sharing = ((0, period, v),), None
            own_hi = sharing.own_hi if sharing is not None else period
            if s.lo < own_hi:
                pattern = update_window(pattern, s.lo, min(s.hi, own_hi), fn)
            for x, y in _cut(a, b, period):
                new = pattern
                if sharing is not None:
                    head = x - x % period
                    whole = x % period == 0 and y % period == 0
                    cover = (0, period) if whole else (x - head, y - head)
                    wa, wb = max(s.lo, cover[0]), min(s.hi, cover[1])
                    alias = aliased_windows(sharing, wa, wb) if wa < wb else []
                    alias = subtract_windows(alias, (s.lo, s.hi))
                    if whole:
                        for ca, cb in alias:
                            new = update_window(new, ca, cb, fn)
                    else:
                        extras += [(head + ca, head + cb) for ca, cb in alias]
                blocks.append((x, y, _reduce(Periodic(period, new, sharing))))
        for x, y, val in blocks:
            self._map.assign(x, y, val)
        for ea, eb in _merge(extras):
            self.apply(ea, eb, s.writes, s.record)

    # --- reads ----------------------------------------------------------------------------
    def record(self, pfn: int) -> PageRecord:
        v = self._map.get(pfn)
        if isinstance(v, PageRecord):
            return v
        off = pfn % v.period
        if off < v.own_hi:
            return v.at(off)
        return self._own(pfn - off + v.canonical(off))

    def _own(self, pfn: int) -> PageRecord:
        """The state stored in the own slot of ``pfn``."""
        v = self._map.get(pfn)
        if isinstance(v, PageRecord):
            return v
        off = pfn % v.period
        assert off < v.own_hi, "an alias never stores a struct page"
        return v.at(off)

    def _own_runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        """Runs of the states stored at pfns ``[lo, hi)``, which are all own slots."""
        for a, b, v in self._map.runs(lo, hi):
            if isinstance(v, PageRecord):
                yield a, b, v
                continue
            for head, x, y in periods(a, b, v.period):
                for pa, pb, r in v.pattern:
                    s, e = max(x, head + pa), min(y, head + pb)
                    if s < e:
                        yield s, e, r

    def _resolved(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        for a, b, v in self._map.runs(lo, hi):
            if isinstance(v, PageRecord):
                yield a, b, v
                continue
            for head, x, y in periods(a, b, v.period):
                own_end = min(y, head + v.own_hi)
                if x < own_end:
                    yield from self._own_runs(x, own_end)
                s = max(x, head + v.own_hi)
                sharing = v.sharing
                while s < y and sharing is not None:
                    off = s - head
                    chunk_end = min(y, s + sharing.length - off % sharing.length)
                    c = head + sharing.canonical(off)
                    for ca, cb, r in self._own_runs(c, c + chunk_end - s):
                        yield s + ca - c, s + cb - c, r
                    s = chunk_end

    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        out: list[tuple[int, int, PageRecord]] = []
        for s, e, r in self._resolved(lo, hi):
            if out and out[-1][2] == r and out[-1][1] == s:
                out[-1] = (out[-1][0], e, r)
            else:
                out.append((s, e, r))
        return iter(out)

    def _blocks(self, lo: int, hi: int) -> Iterator[tuple[int, int, Value]]:
        """Runs of ``[lo, hi)``, with each periodic run cut into its leading partial period,
        its whole periods and its trailing partial period."""
        for a, b, v in self._map.runs(lo, hi):
            if isinstance(v, PageRecord):
                yield a, b, v
                continue
            for x, y in _cut(a, b, v.period):
                yield x, y, v

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _period_runs(v: Periodic) -> tuple[tuple[int, int, PageRecord], ...]:
        """The resolved states of one whole period, as offset runs (cached: the same value
        is asked about by every census and check)."""
        out: list[tuple[int, int, PageRecord]] = list(v.pattern)
        sh = v.sharing
        base = (
            [(a, b, r) for a, b, r in v.pattern if a < sh.base + sh.length and b > sh.base]
            if sh
            else []
        )
        if sh is not None and len(base) == 1:
            # the shared slots hold one state: every alias reads it, one run
            out.append((sh.own_hi, v.period, base[0][2]))
        elif sh is not None:
            for s in range(sh.own_hi, v.period, sh.length):
                for a, b, r in v.pattern:
                    x, y = max(a, sh.base), min(b, sh.base + sh.length)
                    if x < y:
                        out.append((s + x - sh.base, s + y - sh.base, r))
        out.sort(key=lambda e: e[0])
        merged: list[tuple[int, int, PageRecord]] = []
        for a, b, r in out:
            if merged and merged[-1][2] == r and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b, r)
            else:
                merged.append((a, b, r))
        return tuple(merged)

    def _whole_periods(
        self, lo: int, hi: int, period: int
    ) -> Iterator[tuple[int, int, Sequence[tuple[int, int, PageRecord]] | None]]:
        """``[lo, hi)`` cut at ``period`` boundaries into pieces ``(x, y, runs)``: ``runs``
        are the resolved offset runs shared by every period of a piece of whole periods
        of one value, None for a partial period (or a value of another period)."""
        for x0, y0, v in self._map.runs(lo, hi):
            for x, y in _cut(x0, y0, period):
                whole = x % period == 0 and y % period == 0
                if whole and isinstance(v, PageRecord):
                    yield x, y, [(0, period, v)]
                elif whole and isinstance(v, Periodic) and v.period == period:
                    yield x, y, self._period_runs(v)
                else:
                    yield x, y, None

    def histogram_window(
        self, lo: int, hi: int, period: int, a: int, b: int
    ) -> Counter[PageRecord]:
        out: Counter[PageRecord] = Counter()
        for x, y, runs in self._whole_periods(lo, hi, period):
            if runs is None:
                out.update(super().histogram_window(x, y, period, a, b))
                continue
            n = (y - x) // period
            for s, e, r in _window_cut(runs, a, b):
                out[r] += (e - s) * n
        return out

    def spread_window(
        self,
        lo: int,
        hi: int,
        period: int,
        a: int,
        b: int,
        key: Callable[[PageRecord], K | None],
        out: dict[K, Spread] | None = None,
    ) -> dict[K, Spread]:
        out = {} if out is None else out
        for x, y, runs in self._whole_periods(lo, hi, period):
            if runs is None:
                super().spread_window(x, y, period, a, b, key, out)
                continue
            by_key: dict[K, list[tuple[int, int]]] = {}
            for s, e, r in _window_cut(runs, a, b):
                k = key(r)
                if k is not None:
                    offs = by_key.setdefault(k, [])
                    if offs and offs[-1][1] == s:
                        offs[-1] = (offs[-1][0], e)
                    else:
                        offs.append((s, e))
            for k, offs in by_key.items():
                out.setdefault(k, Spread()).add_repeated(offs, x, period, (y - x) // period)
        return out

    def histogram(self, lo: int, hi: int) -> Counter[PageRecord]:
        out: Counter[PageRecord] = Counter()
        for a, b, v in self._blocks(lo, hi):
            if isinstance(v, Periodic) and a % v.period == 0 and b % v.period == 0:
                n = (b - a) // v.period
                for x, y, r in self._period_runs(v):
                    out[r] += (y - x) * n
                continue
            for s, e, r in self._resolved(a, b):
                out[r] += e - s
        return out

    def storage_histogram(self, lo: int, hi: int) -> Counter[PageRecord]:
        out: Counter[PageRecord] = Counter()
        for a, b, v in self._blocks(lo, hi):
            if isinstance(v, PageRecord):
                out[v] += b - a
            elif a % v.period == 0 and b % v.period == 0:
                n = (b - a) // v.period
                for x, y, r in v.pattern:
                    out[r] += (y - x) * n
            else:
                for head, x, y in periods(a, b, v.period):
                    for pa, pb, r in v.pattern:
                        s, e = max(x, head + pa), min(y, head + pb)
                        if s < e:
                            out[r] += e - s
        return out

    def spread(
        self,
        lo: int,
        hi: int,
        key: Callable[[PageRecord], K | None],
        out: dict[K, Spread] | None = None,
    ) -> dict[K, Spread]:
        out = {} if out is None else out
        for a, b, v in self._blocks(lo, hi):
            if isinstance(v, Periodic) and a % v.period == 0 and b % v.period == 0:
                by_key: dict[K, list[tuple[int, int]]] = {}
                for x, y, r in self._period_runs(v):
                    k = key(r)
                    if k is not None:
                        offs = by_key.setdefault(k, [])
                        if offs and offs[-1][1] == x:
                            offs[-1] = (offs[-1][0], y)
                        else:
                            offs.append((x, y))
                n = (b - a) // v.period
                for k, offs in by_key.items():
                    out.setdefault(k, Spread()).add_repeated(offs, a, v.period, n)
                continue
            for s, e, r in self._resolved(a, b):
                k = key(r)
                if k is not None:
                    out.setdefault(k, Spread()).add(s, e)
        return out


def _window_cut(
    runs: Sequence[tuple[int, int, PageRecord]], a: int, b: int
) -> list[tuple[int, int, PageRecord]]:
    """Offset runs of one period clipped to ``[a, b)``."""
    return [(max(s, a), min(e, b), r) for s, e, r in runs if max(s, a) < min(e, b)]


def _step(
    writes: tuple[Write, ...], record: PassRecord | None
) -> Callable[[PageRecord], PageRecord]:
    def step(old: PageRecord) -> PageRecord:
        new = old.with_writes(writes) if writes else old
        return new.with_pass(record) if record is not None else new

    return step


def _cut(a: int, b: int, period: int) -> list[tuple[int, int]]:
    """``[a, b)`` cut into its leading partial period, its whole periods (one piece) and its
    trailing partial period."""
    wa, wb = -(-a // period) * period, b - b % period
    if wa > wb:  # inside one period
        return [(a, b)]
    out = [(a, wa)] if a < wa else []
    if wa < wb:
        out.append((wa, wb))
    if wb < b:
        out.append((wb, b))
    return out


def _outside_aliases(sh: Sharing, a: int, b: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """The canonical pfns of the alias pfns of ``[a, b)`` that lie outside ``[lo, hi)``:
    only the periods holding ``lo`` and ``hi - 1`` can have any (a whole period in the
    range holds its own canonical slots)."""
    out = []
    for pfn in {a, b - 1}:
        head = pfn - pfn % sh.period
        x, y = max(a, head), min(b, head + sh.period)
        for ca, cb in aliased_windows(sh, x - head, y - head):
            for s, e in subtract_windows([(head + ca, head + cb)], (lo, hi)):
                out.append((s, e))
    return out


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def _coalesce(runs: list[tuple[int, int, PageRecord]]) -> list[tuple[int, int, PageRecord]]:
    out: list[tuple[int, int, PageRecord]] = []
    for s, e, r in runs:
        if out and out[-1][2] == r and out[-1][1] == s:
            out[-1] = (out[-1][0], e, r)
        else:
            out.append((s, e, r))
    return out


BACKENDS = ("runs", "dense")
