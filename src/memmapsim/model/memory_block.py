"""Memory block devices (drivers/base/memory.c): ``/sys/devices/system/memory/memoryN``.

Hot-plugged System RAM is onlined and offlined per memory block (128 MiB to 2 GiB on
x86_64). memmapsim keeps one :class:`MemoryBlockState` per block id in a run map, so a
terabyte of blocks in one state costs one run.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import msgspec

from memmapsim.model.pageflags import ZoneType
from memmapsim.model.runmap import RunMap

BLOCK_LIMIT = 1 << 40


class BlockState(StrEnum):
    """``mem->state``: MEM_ONLINE, MEM_OFFLINE (sysfs ``state`` reads "online"/"offline")."""

    ONLINE = "online"
    OFFLINE = "offline"


class MemoryBlockState(msgspec.Struct, frozen=True):
    """One memory block device: its node, state, zone (once onlined) and, with
    memmap_on_memory, how many of its first pfns host its own memmap (``nr_vmemmap_pages``,
    ``mem->altmap->free`` from v6.6)."""

    nid: int
    state: BlockState
    zone: ZoneType | None = None
    vmemmap_pages: int = 0
    boot: bool = False
    """A block of boot memory (created MEM_ONLINE by ``memory_dev_init``)."""


class MemoryBlocks:
    """Every memory block device, by block id (``pfn_to_block_id``)."""

    def __init__(self) -> None:
        self._map: RunMap[MemoryBlockState | None] = RunMap(None, BLOCK_LIMIT)

    def get(self, block_id: int) -> MemoryBlockState | None:
        return self._map.get(block_id)

    def assign(self, lo: int, hi: int, state: MemoryBlockState | None) -> None:
        self._map.assign(lo, hi, state)

    def runs(self, lo: int, hi: int) -> Iterator[tuple[int, int, MemoryBlockState | None]]:
        return self._map.runs(lo, hi)
