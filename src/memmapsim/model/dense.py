"""The dense memmap backend: numpy rows of struct pages, the exact oracle for tests and
small machines (see :mod:`memmapsim.model.memmap`). A module of its own so that numpy is
imported only when a run asks for this backend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from memmapsim.model.memmap import Memmap, Step, _coalesce
from memmapsim.model.page import ABSENT_RECORD, PageRecord, PassRecord
from memmapsim.model.periodic import Sharing
from memmapsim.model.structpage import ABSENT, NR_WORDS, STALE, WORD_MASK, Write


class _Window:
    __slots__ = ("hi", "hist", "lo", "slot", "words")

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        self.words: npt.NDArray[np.uint64] = np.full((hi - lo, NR_WORDS), ABSENT, dtype=np.uint64)
        self.hist: npt.NDArray[np.uint32] = np.zeros(hi - lo, dtype=np.uint32)
        self.slot: npt.NDArray[np.int64] = np.arange(hi - lo, dtype=np.int64)
        """The storage row of each pfn (its own row unless shared)."""


class DenseMemmap(Memmap):
    """Dense memmap: numpy rows of eight uint64 words plus a history id, one per storage
    slot, and each pfn's slot."""

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

    def populate(self, lo: int, hi: int, sharing: Sharing | None = None) -> None:
        if lo > hi:
            raise IndexError(f"empty range [{lo:#x}, {hi:#x})")
        if lo == hi:
            return
        w = self._window(lo, hi)
        pfns = np.arange(lo, hi, dtype=np.int64)
        if sharing is not None:
            off = pfns % sharing.period
            canon = np.where(off < sharing.own, off, sharing.base + off % sharing.length)
            pfns = pfns - off + canon
            if pfns.min() < w.lo or pfns.max() >= w.hi:
                raise IndexError("shared storage outside the dense window")
        rows = pfns - w.lo
        idx = np.arange(lo - w.lo, hi - w.lo, dtype=np.int64)
        w.slot[idx] = rows
        # fresh storage for the pfns stored in their own slot; a slot shared with pfns
        # outside the range (the tail page an earlier section populated) keeps its contents
        own = idx[rows == idx]
        w.words[own] = np.uint64(STALE)
        w.hist[own] = 0

    def depopulate(self, lo: int, hi: int) -> None:
        if lo > hi:
            raise IndexError(f"empty range [{lo:#x}, {hi:#x})")
        if lo == hi:
            return
        w = self._window(lo, hi)
        idx = np.arange(lo - w.lo, hi - w.lo, dtype=np.int64)
        w.slot[idx] = idx
        w.words[idx] = np.uint64(ABSENT)
        w.hist[idx] = 0

    def _apply_rows(
        self,
        w: _Window,
        rows: npt.NDArray[np.int64],
        writes: tuple[Write, ...],
        record: PassRecord | None,
    ) -> None:
        for wr in writes:
            col = w.words[rows, wr.word]
            col &= np.uint64(~wr.mask & WORD_MASK)
            col |= np.uint64(wr.value)
            w.words[rows, wr.word] = col
        if record is not None:
            hist = w.hist[rows]
            ids, inverse = np.unique(hist, return_inverse=True)
            lut = np.array(
                [self._intern((*self._hist[int(i)], record)) for i in ids], dtype=np.uint32
            )
            w.hist[rows] = lut[inverse]

    def apply(
        self, lo: int, hi: int, writes: tuple[Write, ...] = (), record: PassRecord | None = None
    ) -> None:
        if lo > hi:
            raise IndexError(f"empty range [{lo:#x}, {hi:#x})")
        if lo == hi:
            return
        w = self._window(lo, hi)
        rows = np.unique(w.slot[lo - w.lo : hi - w.lo])
        self._apply_rows(w, rows, writes, record)

    def apply_periodic(self, lo: int, hi: int, period: int, steps: Sequence[Step]) -> None:
        if lo % period or hi % period:
            raise ValueError(f"[{lo:#x}, {hi:#x}) is not whole compound pages of {period}")
        if lo == hi:
            return
        w = self._window(lo, hi)
        heads = np.arange(lo, hi, period, dtype=np.int64) - w.lo
        for s in steps:
            pfns = (heads[:, None] + np.arange(s.lo, s.hi, dtype=np.int64)).ravel()
            self._apply_rows(w, np.unique(w.slot[pfns]), s.writes, s.record)

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
        rows = w.slot[lo - w.lo : hi - w.lo]
        words = w.words[rows]
        hist = w.hist[rows]
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

    def storage_histogram(self, lo: int, hi: int) -> Counter[PageRecord]:
        out: Counter[PageRecord] = Counter()
        for s, e, r in self.runs(lo, hi):
            pos = s
            for w in self._windows:
                a, b = max(s, w.lo), min(e, w.hi)
                if a >= b:
                    continue
                out[r] += a - pos  # pfns outside every window: no memmap, own "slot"
                idx = np.arange(a - w.lo, b - w.lo)
                out[r] += int(np.count_nonzero(w.slot[idx] == idx))
                pos = b
            out[r] += e - pos
        return out
