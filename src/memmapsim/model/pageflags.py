"""page->flags: the page-flag bits and the node/zone/last_cpupid fields (spec §3).

``include/linux/page-flags-layout.h`` packs the fields from bit 63 downward:
``SECTIONS | NODES | ZONES | LAST_CPUPID | ... | flags``. On x86_64 with
SPARSEMEM_VMEMMAP the section field is 0 bits wide. memmapsim models the
distro-style configuration the spec assumes: MAXSMP (NODES_SHIFT = 10, NR_CPUS = 8192,
so LAST_CPUPID = 8 pid bits + 13 cpu bits), NUMA_BALANCING, MEMORY_FAILURE,
IDLE_PAGE_TRACKING and x86 PAT (PG_uncached).

``enum pageflags`` changed between the modelled versions; each list below is the enum
in order, so a flag's bit is its index.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

from memmapsim.model.structpage import WORD_MASK


class ZoneType(IntEnum):
    """enum zone_type on x86_64 with CONFIG_ZONE_DEVICE (no HIGHMEM): MAX_NR_ZONES = 5."""

    ZONE_DMA = 0
    ZONE_DMA32 = 1
    ZONE_NORMAL = 2
    ZONE_MOVABLE = 3
    ZONE_DEVICE = 4


MAX_NR_ZONES = len(ZoneType)

PAGEFLAGS_V4_18: tuple[str, ...] = (
    "PG_locked",
    "PG_error",
    "PG_referenced",
    "PG_uptodate",
    "PG_dirty",
    "PG_lru",
    "PG_active",
    "PG_waiters",
    "PG_slab",
    "PG_owner_priv_1",
    "PG_arch_1",
    "PG_reserved",
    "PG_private",
    "PG_private_2",
    "PG_writeback",
    "PG_head",
    "PG_mappedtodisk",
    "PG_reclaim",
    "PG_swapbacked",
    "PG_unevictable",
    "PG_mlocked",
    "PG_uncached",
    "PG_hwpoison",
    "PG_young",
    "PG_idle",
)
"""v4.18 ``enum pageflags`` for the modelled x86_64 configuration (25 flags)."""

PAGEFLAGS_V4_20: tuple[str, ...] = (
    "PG_locked",
    "PG_referenced",
    "PG_uptodate",
    "PG_dirty",
    "PG_lru",
    "PG_active",
    "PG_workingset",
    "PG_waiters",
    "PG_error",
    "PG_slab",
    "PG_owner_priv_1",
    "PG_arch_1",
    "PG_reserved",
    "PG_private",
    "PG_private_2",
    "PG_writeback",
    "PG_head",
    "PG_mappedtodisk",
    "PG_reclaim",
    "PG_swapbacked",
    "PG_unevictable",
    "PG_mlocked",
    "PG_uncached",
    "PG_hwpoison",
    "PG_young",
    "PG_idle",
)
"""v4.20 ``enum pageflags``: PG_workingset added by 1899ad18c607 ("mm: workingset: tell cache
transitions from workingset thrashing", v4.20-rc1), PG_error moved after PG_waiters (26 flags)."""


def _bits_for_zones(n: int) -> int:
    """ZONES_SHIFT: 0/1/2/3 bits for MAX_NR_ZONES < 2 / <= 2 / <= 4 / <= 8."""
    for shift, limit in ((0, 1), (1, 2), (2, 4), (3, 8)):
        if n <= limit:
            return shift
    raise ValueError(f"MAX_NR_ZONES {n} needs more than 3 bits")


@dataclass(frozen=True)
class PageFlagsLayout:
    """Where each field of page->flags lives, derived as page-flags-layout.h does."""

    pageflags: tuple[str, ...]
    nodes_shift: int = 10
    nr_cpus_bits: int = 13
    last_pid_shift: int = 8
    sections_width: int = 0  # SPARSEMEM_VMEMMAP: the section is not kept in page->flags
    max_nr_zones: int = MAX_NR_ZONES

    @property
    def nr_pageflags(self) -> int:
        return len(self.pageflags)

    @property
    def zones_width(self) -> int:
        return _bits_for_zones(self.max_nr_zones)

    @property
    def nodes_width(self) -> int:
        if self.sections_width + self.nodes_shift + self.zones_width > 64 - self.nr_pageflags:
            raise ValueError("NODES_NOT_IN_PAGE_FLAGS is not modelled")
        return self.nodes_shift

    @property
    def last_cpupid_shift(self) -> int:
        return self.last_pid_shift + self.nr_cpus_bits

    @property
    def last_cpupid_width(self) -> int:
        """LAST_CPUPID_WIDTH: the full shift if it fits beside the flags, else 0."""
        used = self.sections_width + self.nodes_width + self.zones_width
        if used + self.last_cpupid_shift <= 64 - self.nr_pageflags:
            return self.last_cpupid_shift
        return 0

    @property
    def nodes_pgshift(self) -> int:
        return 64 - self.sections_width - self.nodes_width

    @property
    def zones_pgshift(self) -> int:
        return self.nodes_pgshift - self.zones_width

    @property
    def last_cpupid_pgshift(self) -> int:
        return self.zones_pgshift - self.last_cpupid_width

    @cached_property
    def bit(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.pageflags)}

    def flag(self, name: str) -> int:
        """The mask of one page flag, e.g. ``flag("PG_reserved")``."""
        return 1 << self.bit[name]

    # --- decoding ------------------------------------------------------------------
    def zone(self, flags: int) -> int:
        """page_zonenum(): the zone field (7 for a poisoned page)."""
        return (flags >> self.zones_pgshift) & ((1 << self.zones_width) - 1)

    def nid(self, flags: int) -> int:
        """page_to_nid(): the node field (all ones, 1023, for a poisoned page)."""
        return (flags >> self.nodes_pgshift) & ((1 << self.nodes_width) - 1)

    def last_cpupid(self, flags: int) -> int:
        return (flags >> self.last_cpupid_pgshift) & ((1 << self.last_cpupid_width) - 1)

    def test(self, flags: int, name: str) -> bool:
        return bool(flags & self.flag(name))

    def set_names(self, flags: int) -> list[str]:
        """Names of the page flags set in ``flags`` (bit order)."""
        return [name for i, name in enumerate(self.pageflags) if flags >> i & 1]

    def is_poisoned(self, flags: int) -> bool:
        """PagePoisoned(): ``page->flags == PAGE_POISON_PATTERN`` (v4.16+, f165b378bbdf)."""
        return flags == WORD_MASK

    def describe(self) -> str:
        """Bit ranges, highest first, as in spec §3.3."""
        parts = [f"node {self.nodes_pgshift}-{self.nodes_pgshift + self.nodes_width - 1}"]
        parts.append(f"zone {self.zones_pgshift}-{self.zones_pgshift + self.zones_width - 1}")
        if self.last_cpupid_width:
            hi = self.last_cpupid_pgshift + self.last_cpupid_width - 1
            parts.append(f"last_cpupid {self.last_cpupid_pgshift}-{hi}")
        if self.last_cpupid_pgshift > self.nr_pageflags:
            parts.append(f"unused {self.nr_pageflags}-{self.last_cpupid_pgshift - 1}")
        parts.append(f"flags 0-{self.nr_pageflags - 1}")
        return ", ".join(parts)
