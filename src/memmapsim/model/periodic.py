"""Periodic pfn runs and shared struct-page storage (vmemmap deduplication).

Compound pages repeat: every compound page of a ZONE_DEVICE range ends up with the same
head, first-tail, second-tail and other-tail states, ``period`` pfns apart. A
:class:`Periodic` value holds that pattern once for a whole run of compound pages, so a
1 TiB device of 2 MiB compound pages costs one run, not half a million.

Since v5.19 ("mm/sparse-vmemmap: populate compound devmaps", "mm/page_alloc: reuse tail
struct pages for compound devmaps"), a compound devmap without an altmap maps only its
first two vmemmap pages per compound page to memory of their own; every further vmemmap
page maps the second one again (:class:`Sharing`). The struct page of such a pfn is
*stored* in another pfn's slot: a write through either is seen through both. memmapsim
keeps the state of each storage slot once (at its canonical pfn) and resolves aliases on
read; writes through an alias go to the canonical slot.

No library does run-length maps with periodic values and aliasing; this module adds them
on top of :class:`~memmapsim.model.runmap.RunMap`'s values.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

import msgspec

from memmapsim.model.page import PageRecord

Entry = tuple[int, int, PageRecord]
"""(first offset, end offset, state) within a period."""


class Sharing(msgspec.Struct, frozen=True):
    """Struct-page storage shared within each naturally aligned compound page of
    ``period`` pfns: offsets below ``own`` have storage of their own; offset ``off >= own``
    is stored at ``base + off % length``. With 64-byte struct pages and 4 KiB vmemmap
    pages, the head page and the first tail page of vmemmap (128 struct pages) are the
    compound's own and every further vmemmap page maps the first tail page
    (``base`` 64, ``length`` 64)."""

    period: int
    own: int = 128
    base: int = 64
    length: int = 64

    def __post_init__(self) -> None:
        if self.period & (self.period - 1) or self.period <= 0:
            raise ValueError(f"period {self.period} is not a power of two")
        if not (self.base >= 0 and self.base + self.length <= self.own):
            raise ValueError("the shared slots must be among the compound's own")
        if self.own % self.length:
            raise ValueError("own must be a multiple of length")

    @property
    def own_hi(self) -> int:
        """End of the offsets with storage of their own."""
        return min(self.period, self.own)

    def canonical(self, off: int) -> int:
        """The offset whose slot stores the struct page of offset ``off``."""
        return off if off < self.own else self.base + off % self.length


class Periodic(msgspec.Struct, frozen=True):
    """A run whose pfn ``p`` has the state of pattern offset ``p % period`` (compound pages
    are naturally aligned). ``pattern`` covers the offsets with storage of their own,
    ``[0, period)`` or ``[0, sharing.own)``; the others alias (see :class:`Sharing`)."""

    period: int
    pattern: tuple[Entry, ...]
    sharing: Sharing | None = None

    @property
    def own_hi(self) -> int:
        return self.sharing.own_hi if self.sharing is not None else self.period

    def at(self, off: int) -> PageRecord:
        """The state stored at own offset ``off``."""
        starts = [lo for lo, _hi, _r in self.pattern]
        i = bisect.bisect_right(starts, off) - 1
        lo, hi, rec = self.pattern[i]
        assert lo <= off < hi, (off, self.pattern)
        return rec

    def canonical(self, off: int) -> int:
        return self.sharing.canonical(off) if self.sharing is not None else off

    def map(self, fn: Callable[[PageRecord], PageRecord]) -> Periodic:
        return Periodic(
            self.period, normalize([(a, b, fn(r)) for a, b, r in self.pattern]), self.sharing
        )


def normalize(entries: list[Entry]) -> tuple[Entry, ...]:
    """Sorted entries with equal neighbours merged."""
    out: list[Entry] = []
    for a, b, r in sorted(entries, key=lambda e: e[0]):
        if a >= b:
            continue
        if out and out[-1][1] == a and out[-1][2] == r:
            out[-1] = (out[-1][0], b, r)
        else:
            out.append((a, b, r))
    return tuple(out)


def update_window(
    entries: tuple[Entry, ...], lo: int, hi: int, fn: Callable[[PageRecord], PageRecord]
) -> tuple[Entry, ...]:
    """``fn`` applied to the offsets ``[lo, hi)`` of a pattern."""
    out: list[Entry] = []
    for a, b, r in entries:
        if b <= lo or a >= hi:
            out.append((a, b, r))
            continue
        if a < lo:
            out.append((a, lo, r))
        out.append((max(a, lo), min(b, hi), fn(r)))
        if b > hi:
            out.append((hi, b, r))
    return normalize(out)


def aliased_windows(sharing: Sharing, lo: int, hi: int) -> list[tuple[int, int]]:
    """The canonical offsets that the alias offsets of ``[lo, hi)`` (within one period) are
    stored at, as merged windows."""
    a, b = max(lo, sharing.own), min(hi, sharing.period)
    if a >= b:
        return []
    if b - a >= sharing.length:
        return [(sharing.base, sharing.base + sharing.length)]
    x, y = sharing.canonical(a), sharing.canonical(b - 1) + 1
    if x < y:
        return [(x, y)]
    return [(sharing.base, y), (x, sharing.base + sharing.length)]


def subtract_windows(
    windows: list[tuple[int, int]], covered: tuple[int, int]
) -> list[tuple[int, int]]:
    out = []
    clo, chi = covered
    for a, b in windows:
        if b <= clo or a >= chi:
            out.append((a, b))
            continue
        if a < clo:
            out.append((a, clo))
        if b > chi:
            out.append((chi, b))
    return out


def periods(lo: int, hi: int, period: int) -> Iterator[tuple[int, int, int]]:
    """``(head, first, end)`` for every period overlapping ``[lo, hi)``: the pfns of the
    period in the range are ``[first, end)``."""
    head = lo - lo % period
    while head < hi:
        yield head, max(lo, head), min(hi, head + period)
        head += period
