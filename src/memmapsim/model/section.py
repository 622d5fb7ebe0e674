"""mem_section state (spec §1.5), kept as runs over section numbers.

A section is 128 MiB (32768 pfns). Its state bits are SECTION_MARKED_PRESENT,
SECTION_HAS_MEM_MAP, SECTION_IS_ONLINE (v4.13+), SECTION_IS_EARLY (v5.3+) and
SECTION_TAINT_ZONE_DEVICE (v5.12+). Where a memmap is stored (:class:`MemmapBacking`)
is the vmemmap's business (:mod:`memmapsim.model.vmemmap`), not the section's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntFlag, StrEnum

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


@dataclass(frozen=True, slots=True)
class MemmapBacking:
    """Where a range's struct pages are stored: which memory, on which node, and for a
    memmap on the device, whose altmap (without the exact altmap pfn, which is
    computable, so that a 3 TiB device stays one run)."""

    medium: Medium
    nid: int
    pgmap: int | None = None

    @property
    def on_dram(self) -> bool:
        return self.medium is not Medium.DEVICE


@dataclass(frozen=True, slots=True)
class SectionState:
    flags: SectionFlag = SectionFlag.NONE
    nid: int | None = None


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
