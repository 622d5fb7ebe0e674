"""Pageblock migratetypes (spec §2.2), one entry per 512 pfns, kept as runs.

The kernel stores them in the section's usemap (``pageblock_flags``). Up to v5.2
``__kmalloc_section_usemap`` kmallocs it without zeroing, so a pageblock of a hot-added
section that no init loop visits holds stale bits (:data:`STALE_USEMAP`); from v5.3 the
section ``usage`` is kzalloc'ed and such a pageblock reads 0 = MIGRATE_UNMOVABLE. Before
its section exists a pageblock has no usemap (``None`` here).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum

from memmapsim.model.runmap import RunMap
from memmapsim.units import PAGEBLOCK_ORDER

STALE_USEMAP = -1
"""A pageblock whose usemap bits were never written: v4.18-v5.2 kmalloc the hot-added
usemap without zeroing it (v5.3's ``usage`` is kzalloc'ed)."""


class MigrateType(IntEnum):
    """enum migratetype (v4.18-v5.x, with CONFIG_CMA and CONFIG_MEMORY_ISOLATION)."""

    MIGRATE_UNMOVABLE = 0
    MIGRATE_MOVABLE = 1
    MIGRATE_RECLAIMABLE = 2
    MIGRATE_HIGHATOMIC = 3
    MIGRATE_CMA = 4
    MIGRATE_ISOLATE = 5


PAGEBLOCK_LIMIT = 1 << (52 - PAGEBLOCK_ORDER)


def describe(mt: int | None) -> str:
    if mt is None:
        return "no usemap"
    if mt == STALE_USEMAP:
        return "stale (never written)"
    return MigrateType(mt).name


class PageblockMap:
    """Migratetype per pageblock number (pfn >> pageblock_order): a MigrateType value,
    STALE_USEMAP, or None where the section has no usemap."""

    def __init__(self) -> None:
        self._map: RunMap[int | None] = RunMap(None, PAGEBLOCK_LIMIT)

    def get_pfn(self, pfn: int) -> int | None:
        return self._map.get(pfn >> PAGEBLOCK_ORDER)

    def assign(self, lo_block: int, hi_block: int, mt: int | None) -> None:
        self._map.assign(lo_block, hi_block, mt)

    def assign_periodic(
        self, lo_block: int, hi_block: int, period: int, a: int, b: int, mt: int | None
    ) -> None:
        """Pageblocks ``[p + a, p + b)`` of every ``period`` blocks from ``lo_block``."""
        self._map.assign_periodic(lo_block, hi_block, period, a, b, mt)

    def runs(self, lo_block: int, hi_block: int) -> Iterator[tuple[int, int, int | None]]:
        return self._map.runs(lo_block, hi_block)
