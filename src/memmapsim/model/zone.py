"""Zone and node (pgdat) spans (spec §9.1).

Only the span is modelled: ``zone_start_pfn``/``spanned_pages`` and
``node_start_pfn``/``node_spanned_pages``, plus ``contiguous``. Growing a span is
``resize_zone_range`` / ``resize_pgdat_range`` in mm/memory_hotplug.c: the new span is
the union hull of the old span and the added range.
"""

from __future__ import annotations

from dataclasses import dataclass

from memmapsim.model.pageflags import ZoneType


@dataclass
class Span:
    start_pfn: int = 0
    spanned_pages: int = 0

    @property
    def end_pfn(self) -> int:
        return self.start_pfn + self.spanned_pages

    @property
    def empty(self) -> bool:
        return self.spanned_pages == 0

    def grow(self, start_pfn: int, nr_pages: int) -> None:
        """resize_zone_range()/resize_pgdat_range(): extend to cover the added range."""
        end = start_pfn + nr_pages
        if self.empty:
            self.start_pfn, self.spanned_pages = start_pfn, nr_pages
            return
        lo = min(self.start_pfn, start_pfn)
        hi = max(self.end_pfn, end)
        self.start_pfn, self.spanned_pages = lo, hi - lo


@dataclass
class Zone:
    nid: int
    idx: ZoneType
    span: Span
    initialized: bool = False
    contiguous: bool = False

    @property
    def name(self) -> str:
        return self.idx.name.removeprefix("ZONE_").capitalize()


@dataclass
class PgData:
    nid: int
    span: Span
    zones: dict[ZoneType, Zone]

    @classmethod
    def empty(cls, nid: int) -> PgData:
        return cls(nid, Span(), {z: Zone(nid, z, Span()) for z in ZoneType})
