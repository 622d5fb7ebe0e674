"""The vmemmap: where each pfn's struct page is stored.

The struct pages of pfns live in memory that the vmemmap maps: memblock at boot, node RAM
or the device's own media (through its vmem_altmap) at hot-add. memmapsim records, per
pfn run, the :class:`~memmapsim.model.section.MemmapBacking` the vmemmap maps it to; a
pfn with none has no struct page (reading it would fault). This is what the timing
engine consults to charge a write to the right memory, and it is set when the memmap is
populated, before anything writes to it (poisoning included).
"""

from __future__ import annotations

from collections.abc import Iterator

from memmapsim.model.runmap import RunMap
from memmapsim.model.section import MemmapBacking

PFN_LIMIT = 1 << 52


class Vmemmap:
    def __init__(self) -> None:
        self._map: RunMap[MemmapBacking | None] = RunMap(None, PFN_LIMIT)

    def backing(self, pfn: int) -> MemmapBacking | None:
        return self._map.get(pfn)

    def populate(self, lo: int, hi: int, backing: MemmapBacking | None) -> None:
        self._map.assign(lo, hi, backing)

    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, MemmapBacking | None]]:
        return self._map.runs(lo, hi)
