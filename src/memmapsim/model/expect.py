"""What a kernel version intends for a device, as data handed to the invariant checks.

The checks in ``check/`` know no version: the kernel layer tells them, per device, which
pfns its add covers, which classes those pfns fall in and how many init passes each class
gets when all goes as the version intends, which pfns must end up fully initialized
ZONE_DEVICE pages, and how many pgmap references release will put.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import msgspec

from memmapsim.model.memmap import Memmap, Spread
from memmapsim.model.page import PageRecord

Ranges = tuple[tuple[int, int], ...]
K = TypeVar("K")


def count_window(lo: int, hi: int, period: int, a: int, b: int) -> int:
    """How many pfns of ``[lo, hi)`` have an offset in ``[a, b)`` within their period."""

    def below(x: int) -> int:  # pfns in [0, x) in the window
        whole, rest = divmod(x, period)
        return whole * (b - a) + max(0, min(rest, b) - a)

    return below(hi) - below(lo) if hi > lo else 0


class PfnClass(msgspec.Struct, frozen=True):
    """A class of pfns of one device (e.g. the altmap reserve, the data pages). With a
    ``period``, only the pfns of ``ranges`` whose offset within their (naturally aligned)
    compound page of ``period`` pfns lies in ``window`` (compound heads, first tails, ...):
    queries on it cost O(runs), not O(compound pages)."""

    key: str
    label: str
    ranges: Ranges
    max_passes: int
    """Init passes a pfn of the class gets in this version when all goes as intended."""
    period: int = 0
    window: tuple[int, int] = (0, 0)

    def _clipped(self, clip: tuple[int, int] | None) -> list[tuple[int, int]]:
        if clip is None:
            return list(self.ranges)
        return [(max(lo, clip[0]), min(hi, clip[1])) for lo, hi in self.ranges
                if max(lo, clip[0]) < min(hi, clip[1])]  # fmt: skip

    def pages_in(self, clip: tuple[int, int] | None = None) -> int:
        if not self.period:
            return sum(hi - lo for lo, hi in self._clipped(clip))
        a, b = self.window
        return sum(count_window(lo, hi, self.period, a, b) for lo, hi in self._clipped(clip))

    @property
    def pages(self) -> int:
        return self.pages_in()

    def histogram(self, memmap: Memmap, clip: tuple[int, int] | None = None) -> Counter[PageRecord]:
        """How many pfns of the class (within ``clip``) read each state."""
        out: Counter[PageRecord] = Counter()
        for lo, hi in self._clipped(clip):
            if self.period:
                out.update(memmap.histogram_window(lo, hi, self.period, *self.window))
            else:
                out.update(memmap.histogram(lo, hi))
        return out

    def spread(
        self,
        memmap: Memmap,
        key: Callable[[PageRecord], K | None],
        out: dict[K, Spread],
        clip: tuple[int, int] | None = None,
    ) -> dict[K, Spread]:
        """Where the pfns of the class (within ``clip``) of each ``key`` are."""
        for lo, hi in self._clipped(clip):
            if self.period:
                memmap.spread_window(lo, hi, self.period, *self.window, key, out)
            else:
                memmap.spread(lo, hi, key, out)
        return out

    @property
    def lo(self) -> int:
        return self.ranges[0][0]

    @property
    def hi(self) -> int:
        return self.ranges[-1][1]


class DeviceExpectations(msgspec.Struct, frozen=True):
    pgmap: int
    span: tuple[int, int]
    """The pfns the add initializes: section-aligned before v5.3, the ranges after."""
    classes: tuple[PfnClass, ...]
    """The non-empty classes of the span, in pfn order, clipped to pfns no other device's
    ranges own."""
    device_pages: tuple[int, int]
    """The pfns that must end up as this pgmap's ZONE_DEVICE pages (I5)."""
    span_pages: Ranges
    """The span minus other devices' ranges (whose pageblocks I4 checks)."""
    release_puts: int
    """pgmap references the release the driver registered will put."""
    compound_order: int = 0
    """The order of the device's compound pages (0: none): a tail's ``page->pgmap`` word
    holds its compound head instead (I5)."""
    removed: bool = False
    """The device was torn down: its span must have no memmap left and every reference
    taken must have been put."""


def subtract(lo: int, hi: int, holes: list[tuple[int, int]] | Ranges) -> Ranges:
    """``[lo, hi)`` minus the ``holes``."""
    out: list[tuple[int, int]] = []
    pos = lo
    for hlo, hhi in sorted(holes):
        if hhi <= pos or hlo >= hi:
            continue
        if hlo > pos:
            out.append((pos, hlo))
        pos = max(pos, hhi)
    if pos < hi:
        out.append((pos, hi))
    return tuple(out)
