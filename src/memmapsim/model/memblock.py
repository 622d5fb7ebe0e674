"""memblock: the boot-time memory map (``memblock.memory``) and its reservations
(``memblock.reserved``), as the kernel's early allocator keeps them (mm/memblock.c).

Each type is a sorted list of disjoint regions ``[base, base + size)`` with a node id.
Adding a region merges it with neighbours of the same node (``memblock_merge_regions``),
as ``memblock_add_range`` does; a reservation inside two nodes' memory keeps the node it
was reserved with (``MAX_NUMNODES`` for "any", as ``memblock_reserve`` records it until
v6.6's ``memmap_init_reserved_pages`` sets the nodes).

What the kernel *does* with them — allocating top-down within a node, walking the free
ranges (memory minus reserved), freeing to the buddy allocator — is kernel code
(``kernel/memblock.py``); this module holds the data.
"""

from __future__ import annotations

import msgspec

MAX_NUMNODES = 1 << 10
"""``MAX_NUMNODES`` on x86_64 (NODES_SHIFT 10): the node of a reservation made for no node."""


class MemblockRegion(msgspec.Struct, frozen=True, order=True):
    base: int
    size: int
    nid: int = MAX_NUMNODES

    @property
    def end(self) -> int:
        return self.base + self.size


def _add(regions: list[MemblockRegion], base: int, size: int, nid: int) -> list[MemblockRegion]:
    """``memblock_add_range``: insert ``[base, base + size)`` (overlaps with existing regions
    are not inserted twice), then merge adjacent regions of the same node."""
    if size <= 0:
        return regions
    end = base + size
    pieces = [(base, end)]
    for r in regions:
        nxt = []
        for a, b in pieces:
            if r.end <= a or b <= r.base:
                nxt.append((a, b))
                continue
            if a < r.base:
                nxt.append((a, r.base))
            if r.end < b:
                nxt.append((r.end, b))
        pieces = nxt
    out = sorted([*regions, *(MemblockRegion(a, b - a, nid) for a, b in pieces if b > a)])
    merged: list[MemblockRegion] = []
    for r in out:
        if merged and merged[-1].end == r.base and merged[-1].nid == r.nid:
            merged[-1] = MemblockRegion(merged[-1].base, merged[-1].size + r.size, r.nid)
        else:
            merged.append(r)
    return merged


class Memblock(msgspec.Struct):
    """``struct memblock``: the memory and reserved region lists."""

    memory: list[MemblockRegion] = msgspec.field(default_factory=list)
    reserved: list[MemblockRegion] = msgspec.field(default_factory=list)

    def add(self, base: int, size: int, nid: int) -> None:
        """``memblock_add_node``."""
        self.memory = _add(self.memory, base, size, nid)

    def reserve(self, base: int, size: int, nid: int = MAX_NUMNODES) -> None:
        """``memblock_reserve`` (``nid`` for ``memblock_alloc_*`` on a node)."""
        self.reserved = _add(self.reserved, base, size, nid)

    def snapshot(self) -> MemblockSnapshot:
        return MemblockSnapshot(tuple(self.memory), tuple(self.reserved))


class MemblockSnapshot(msgspec.Struct, frozen=True):
    """What a reader of memblock sees at one moment (both lists, immutable)."""

    memory: tuple[MemblockRegion, ...]
    reserved: tuple[MemblockRegion, ...]
