"""Zone and node (pgdat) spans (spec §9.1).

The span is modelled: ``zone_start_pfn``/``spanned_pages`` and
``node_start_pfn``/``node_spanned_pages``, plus ``contiguous``, and for boot and
hot-plugged RAM the page counts (``managed_pages``, ``present_pages``) and the node's
``first_deferred_pfn``. Growing a span is
``resize_zone_range`` / ``resize_pgdat_range`` in mm/memory_hotplug.c: the new span is
the union hull of the old span and the added range.
"""

from __future__ import annotations

import msgspec

from memmapsim.model.pageflags import ZoneType


class Span(msgspec.Struct):
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


class Zone(msgspec.Struct):
    nid: int
    idx: ZoneType
    span: Span
    initialized: bool = False
    contiguous: bool = False
    managed_pages: int = 0
    """Pages given to the buddy allocator (``zone->managed_pages``)."""
    present_pages: int = 0
    """Pages of memory in the span (``zone->present_pages``; boot and onlined RAM)."""

    @property
    def name(self) -> str:
        return self.idx.name.removeprefix("ZONE_").capitalize()


class PgData(msgspec.Struct):
    nid: int
    span: Span
    zones: dict[ZoneType, Zone]
    first_deferred_pfn: int | None = None
    """``pgdat->first_deferred_pfn``: where the deferred struct page init of the node
    begins (None: ULONG_MAX, nothing deferred or already done)."""
    deferred_start: int | None = None
    """Shadow state (not the kernel's): the last ``first_deferred_pfn`` set, kept for reports
    after deferred init has cleared it."""

    @classmethod
    def empty(cls, nid: int) -> PgData:
        return cls(nid, Span(), {z: Zone(nid, z, Span()) for z in ZoneType})
