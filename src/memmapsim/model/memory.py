"""MemoryState: everything the kernel code paths change, in one object (spec §9.1).

Engines apply effects to it; invariant checks and reports read it. It holds the memmap
(dense or runs backend) and where the vmemmap stores it, the mem_sections, pageblock
migratetypes, node and zone spans, dev_pagemaps with their altmaps and refs, the pgmap
index, the iomem resources and the locks; for boot, memblock; for hot-plugged System RAM,
the memory block devices.
"""

from __future__ import annotations

import msgspec

from memmapsim.model.locks import LockTable
from memmapsim.model.memblock import Memblock
from memmapsim.model.memmap import Memmap
from memmapsim.model.memory_block import MemoryBlocks
from memmapsim.model.page import PageView
from memmapsim.model.pageblock import PageblockMap
from memmapsim.model.pageflags import PageFlagsLayout, ZoneType
from memmapsim.model.pgmap import DevPagemap, PfnIndex
from memmapsim.model.resource import Resource
from memmapsim.model.section import SectionMap
from memmapsim.model.vmemmap import Vmemmap
from memmapsim.model.zone import PgData, Zone


class UninitRead(msgspec.Struct, frozen=True):
    """A kernel path read a struct page that was never initialized (or is poisoned again)."""

    thread: str
    pfn: int
    by: str
    state: str
    """absent, stale or poisoned."""


class MemoryState(msgspec.Struct):
    memmap: Memmap
    layout: PageFlagsLayout
    pgdats: dict[int, PgData]
    iomem: list[Resource]
    indexes: dict[str, PfnIndex]
    sections: SectionMap = msgspec.field(default_factory=SectionMap)
    vmemmap: Vmemmap = msgspec.field(default_factory=Vmemmap)
    pageblocks: PageblockMap = msgspec.field(default_factory=PageblockMap)
    pgmaps: dict[int, DevPagemap] = msgspec.field(default_factory=dict)
    """By id: the namespace index of the device whose driver filled it."""
    locks: LockTable = msgspec.field(default_factory=LockTable)
    claims: list[Resource] = msgspec.field(default_factory=list)
    """Busy regions claimed with request_mem_region (children of the iomem tree)."""
    highest_memmap_pfn: int = 0
    max_pfn: int = 0
    """The highest RAM pfn + 1 (x86 raises it in add_pages for hot-added ranges too)."""
    uninitialized_reads: list[UninitRead] = msgspec.field(default_factory=list)
    """Reads of struct pages that were never initialized (shadow state, for findings)."""
    memblock: Memblock = msgspec.field(default_factory=Memblock)
    """Boot memory and its reservations (scenarios with a ``[boot]`` table)."""
    memory_blocks: MemoryBlocks = msgspec.field(default_factory=MemoryBlocks)
    """Memory block devices of hot-plugged System RAM."""
    memory_block_size: int = 0
    """``memory_block_size_bytes()`` once boot has probed it (0: not yet)."""
    bound: set[str] = msgspec.field(default_factory=set)
    """Devices whose driver is bound (``driver_bound``): their memory is exposed to user
    space."""

    def page(self, pfn: int) -> PageView:
        return PageView(pfn, self.memmap.record(pfn), self.layout)

    def pgmap(self, pgmap_id: int) -> DevPagemap:
        return self.pgmaps[pgmap_id]

    def all_pgmaps(self) -> list[DevPagemap]:
        """Every pgmap in id order, whatever order the probes created them in."""
        return [self.pgmaps[i] for i in sorted(self.pgmaps)]

    def zone(self, nid: int, zone: ZoneType) -> Zone:
        return self.pgdats[nid].zones[zone]
