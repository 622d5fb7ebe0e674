"""mem_section state (spec §1.5), kept as runs over section numbers.

A section is 128 MiB (32768 pfns). Its state bits are SECTION_MARKED_PRESENT,
SECTION_HAS_MEM_MAP, SECTION_IS_ONLINE (v4.13+), SECTION_IS_EARLY (v5.3+) and
SECTION_TAINT_ZONE_DEVICE (v5.12+). Where a memmap is stored (:class:`MemmapBacking`)
is the vmemmap's business (:mod:`memmapsim.model.vmemmap`), not the section's.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntFlag, StrEnum

import msgspec

from memmapsim.model.runmap import RunMap
from memmapsim.units import PFN_SECTION_SHIFT, pfn_to_section_nr


class SectionFlag(IntFlag):
    NONE = 0
    MARKED_PRESENT = 1 << 0
    HAS_MEM_MAP = 1 << 1
    IS_ONLINE = 1 << 2
    IS_EARLY = 1 << 3
    TAINT_ZONE_DEVICE = 1 << 4


class Medium(StrEnum):
    """The memory a memmap is stored in."""

    BOOT = "boot"  # memblock at boot (DRAM of the node)
    RAM = "ram"  # pages from the node's DRAM, allocated at hot-add
    DEVICE = "device"  # the device itself, through its vmem_altmap
    SELF = "self"  # hot-added System RAM itself (memmap_on_memory): DRAM, through an altmap


class MemmapBacking(msgspec.Struct, frozen=True):
    """Where a range's struct pages are stored: which memory, on which node, and for a
    memmap on the device, whose altmap (without the exact altmap pfn, which is
    computable, so that a 3 TiB device stays one run)."""

    medium: Medium
    nid: int
    pgmap: int | None = None

    @property
    def on_dram(self) -> bool:
        return self.medium is not Medium.DEVICE


SUBSECTIONS_PER_SECTION = 64
"""v5.3+: a section's usage has a 64-bit subsection_map, one bit per 2 MiB."""
ALL_SUBSECTIONS = (1 << SUBSECTIONS_PER_SECTION) - 1


class SectionState(msgspec.Struct, frozen=True):
    flags: SectionFlag = SectionFlag.NONE
    nid: int | None = None
    subsection_map: int = 0
    """v5.3+: which 2 MiB subsections of the section are active (``ms->usage``); 0
    before v5.3, where a section is added whole."""
    usage: bool = False
    """v5.3+: the section has a ``mem_section_usage`` (kzalloc'ed: zeroed pageblock bits)."""

    @property
    def present(self) -> bool:
        return bool(self.flags & SectionFlag.MARKED_PRESENT)

    @property
    def valid(self) -> bool:
        """valid_section(): the section has a memmap."""
        return bool(self.flags & SectionFlag.HAS_MEM_MAP)

    @property
    def early(self) -> bool:
        return bool(self.flags & SectionFlag.IS_EARLY)


NO_SECTION = SectionState()
SECTION_LIMIT = 1 << (52 - 12 - PFN_SECTION_SHIFT + 1)


class SectionMap:
    """All mem_sections, indexed by section number."""

    def __init__(self) -> None:
        self._map: RunMap[SectionState] = RunMap(NO_SECTION, SECTION_LIMIT)

    def get(self, section_nr: int) -> SectionState:
        return self._map.get(section_nr)

    def of_pfn(self, pfn: int) -> SectionState:
        return self._map.get(pfn_to_section_nr(pfn))

    def assign(self, lo: int, hi: int, state: SectionState) -> None:
        self._map.assign(lo, hi, state)

    def runs(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int, SectionState]]:
        return self._map.runs(lo, hi)
