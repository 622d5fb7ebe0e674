"""The memmap (all struct pages) behind one interface, with two backends (DESIGN.md).

- :class:`DenseMemmap` — numpy, one row of eight words per pfn, like the real memmap:
  exact, for small machines and zoom windows, and the oracle for tests. It covers the
  pfn windows given at construction; every other pfn is ABSENT (no memmap).
- :class:`RunsMemmap` — a :class:`RunMap` of pfn runs that share one
  :class:`PageRecord`; terabytes cost as much as the number of distinct runs.

Both expose the same operation, :meth:`Memmap.apply` (ordered word writes and/or one
shadow pass record over a pfn range), and the same observation, :meth:`Memmap.runs`
(maximal runs of equal records). Property tests require identical runs from both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from memmapsim.model.page import ABSENT_RECORD, PageRecord, PassRecord
from memmapsim.model.runmap import RunMap
from memmapsim.model.structpage import ABSENT, NR_WORDS, WORD_MASK, Write

PFN_LIMIT = 1 << 52
"""pfns are below 2^52 (MAX_PHYSMEM_BITS 52 with 5-level paging, minus PAGE_SHIFT, plus slack)."""


class Memmap(ABC):
    """All struct pages of the machine; pfns without a memmap read as ABSENT."""

    name: str

    @abstractmethod
    def apply(
        self, lo: int, hi: int, writes: tuple[Write, ...] = (), record: PassRecord | None = None
    ) -> None:
        """Apply ``writes`` in order to every struct page in ``[lo, hi)``, then append ``record``
        to each page's shadow history."""

    @abstractmethod
    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        """Maximal runs ``(start, end, record)`` of identical pages covering ``[lo, hi)``."""

    def record(self, pfn: int) -> PageRecord:
        for _s, _e, rec in self.runs(pfn, pfn + 1):
            return rec
        raise AssertionError("runs() must cover the range")  # pragma: no cover

    def count(self, lo: int, hi: int, pred: Callable[[PageRecord], bool]) -> int:
        """Number of pfns in ``[lo, hi)`` whose record satisfies ``pred``."""
        return sum(e - s for s, e, r in self.runs(lo, hi) if pred(r))


class RunsMemmap(Memmap):
    """Run-length memmap: state is a sorted map of pfn runs (see :mod:`.runmap`)."""

    name = "runs"

    def __init__(self) -> None:
        self._map: RunMap[PageRecord] = RunMap(ABSENT_RECORD, PFN_LIMIT)

    def apply(
        self, lo: int, hi: int, writes: tuple[Write, ...] = (), record: PassRecord | None = None
    ) -> None:
        def step(old: PageRecord) -> PageRecord:
            new = old.with_writes(writes) if writes else old
            return new.with_pass(record) if record is not None else new

        self._map.update(lo, hi, step)

    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        return self._map.runs(lo, hi)

    def nruns(self) -> int:
        return self._map.nruns()


class _Window:
    __slots__ = ("hi", "hist", "lo", "words")

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        self.words: npt.NDArray[np.uint64] = np.full((hi - lo, NR_WORDS), ABSENT, dtype=np.uint64)
        self.hist: npt.NDArray[np.uint32] = np.zeros(hi - lo, dtype=np.uint32)


class DenseMemmap(Memmap):
    """Dense memmap: one numpy row of eight uint64 words per pfn, plus a history id."""

    name = "dense"

    def __init__(self, windows: Sequence[tuple[int, int]]) -> None:
        spans = sorted((lo, hi) for lo, hi in windows if hi > lo)
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        self._windows = [_Window(lo, hi) for lo, hi in merged]
        self._hist: list[tuple[PassRecord, ...]] = [()]
        self._hist_id: dict[tuple[PassRecord, ...], int] = {(): 0}

    @property
    def windows(self) -> list[tuple[int, int]]:
        return [(w.lo, w.hi) for w in self._windows]

    def _intern(self, hist: tuple[PassRecord, ...]) -> int:
        hid = self._hist_id.get(hist)
        if hid is None:
            hid = self._hist_id[hist] = len(self._hist)
            self._hist.append(hist)
        return hid

    def _window(self, lo: int, hi: int) -> _Window:
        for w in self._windows:
            if w.lo <= lo and hi <= w.hi:
                return w
        raise IndexError(
            f"dense memmap does not cover pfns [{lo:#x}, {hi:#x}); windows: "
            + ", ".join(f"[{w.lo:#x}, {w.hi:#x})" for w in self._windows)
        )

    def apply(
        self, lo: int, hi: int, writes: tuple[Write, ...] = (), record: PassRecord | None = None
    ) -> None:
        if lo > hi:
            raise IndexError(f"empty range [{lo:#x}, {hi:#x})")
        if lo == hi:
            return
        w = self._window(lo, hi)
        rows = w.words[lo - w.lo : hi - w.lo]
        for wr in writes:
            col = rows[:, wr.word]
            col &= np.uint64(~wr.mask & WORD_MASK)
            col |= np.uint64(wr.value)
        if record is not None:
            hist = w.hist[lo - w.lo : hi - w.lo]
            ids, inverse = np.unique(hist, return_inverse=True)
            lut = np.array(
                [self._intern((*self._hist[int(i)], record)) for i in ids], dtype=np.uint32
            )
            hist[:] = lut[inverse]

    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, PageRecord]]:
        pos = lo
        out: list[tuple[int, int, PageRecord]] = []
        for w in self._windows:
            if w.hi <= pos or w.lo >= hi:
                continue
            if w.lo > pos:
                out.append((pos, w.lo, ABSENT_RECORD))
                pos = w.lo
            end = min(w.hi, hi)
            out.extend(self._window_runs(w, pos, end))
            pos = end
        if pos < hi:
            out.append((pos, hi, ABSENT_RECORD))
        return iter(_coalesce(out))

    def _window_runs(self, w: _Window, lo: int, hi: int) -> list[tuple[int, int, PageRecord]]:
        if lo >= hi:
            return []
        words = w.words[lo - w.lo : hi - w.lo]
        hist = w.hist[lo - w.lo : hi - w.lo]
        change = np.any(words[1:] != words[:-1], axis=1) | (hist[1:] != hist[:-1])
        starts = [0, *(np.flatnonzero(change) + 1).tolist()]
        ends = [*starts[1:], hi - lo]
        return [
            (
                lo + s,
                lo + e,
                PageRecord(tuple(int(x) for x in words[s]), self._hist[int(hist[s])]),
            )
            for s, e in zip(starts, ends, strict=True)
        ]


def _coalesce(runs: list[tuple[int, int, PageRecord]]) -> list[tuple[int, int, PageRecord]]:
    out: list[tuple[int, int, PageRecord]] = []
    for s, e, r in runs:
        if out and out[-1][2] == r and out[-1][1] == s:
            out[-1] = (out[-1][0], e, r)
        else:
            out.append((s, e, r))
    return out


BACKENDS = ("runs", "dense")
