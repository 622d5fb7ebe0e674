"""dev_pagemap, vmem_altmap, percpu_ref and the pgmap index (spec §1.3, §1.4).

``struct dev_pagemap`` (v4.16-v4.20): ``altmap`` + ``altmap_valid``, ``res``, ``ref``
(a caller-owned percpu_ref; for fsdax the block queue's ``q_usage_counter``), ``dev``,
``type``; v5.10 replaced ``res`` by ``nr_range`` + ``ranges[]`` (an altmap only with range
0), v5.17 added ``vmemmap_shift`` (compound pages of ``1 << vmemmap_shift`` pfns). What
the driver fills in before calling devm_memremap_pages is constant afterwards and is kept
as a frozen :class:`PgmapConfig`, which kernel code passes around; the parts that change
(the altmap's ``alloc``/``align``, the ref count) live in :class:`DevPagemap` inside the
memory state, whose id the memory model allocates when the pgmap comes into being.

The lookup index is the radix tree ``pgmap_radix`` (v4.18-v4.19; entries inserted as
power-of-two chunks by ``foreach_order_pgoff`` under ``pgmap_lock``) or the XArray
``pgmap_array`` (v4.20+, ``xa_store_range``), both over the pfns of ``res`` only.
HMM keeps its own ``hmm_devmem_radix`` (one entry per section) that get_dev_pagemap
never reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import msgspec

from memmapsim.model.runmap import RunMap
from memmapsim.units import PAGE_SHIFT


class MemoryType(StrEnum):
    """enum memory_type, by name (the numbers moved between versions: v4.18 PRIVATE = 1,
    PUBLIC, FS_DAX; v4.20 + PCI_P2PDMA; v5.3 PRIVATE, FS_DAX, DEVDAX, PCI_P2PDMA; v5.10
    DEVDAX renamed GENERIC; v6.1 PRIVATE, COHERENT, FS_DAX, GENERIC, PCI_P2PDMA). Device-dax
    leaves the type 0 until v5.2."""

    UNSET = "0"
    MEMORY_DEVICE_PRIVATE = "MEMORY_DEVICE_PRIVATE"
    MEMORY_DEVICE_PUBLIC = "MEMORY_DEVICE_PUBLIC"
    MEMORY_DEVICE_FS_DAX = "MEMORY_DEVICE_FS_DAX"
    MEMORY_DEVICE_DEVDAX = "MEMORY_DEVICE_DEVDAX"
    MEMORY_DEVICE_GENERIC = "MEMORY_DEVICE_GENERIC"
    MEMORY_DEVICE_PCI_P2PDMA = "MEMORY_DEVICE_PCI_P2PDMA"
    MEMORY_DEVICE_COHERENT = "MEMORY_DEVICE_COHERENT"


class AltmapConfig(msgspec.Struct, frozen=True):
    """The constant part of struct vmem_altmap: ``base_pfn``, ``reserve``, ``free``."""

    base_pfn: int
    reserve: int
    free: int

    def offset(self) -> int:
        """vmem_altmap_offset(): pfns from base where pfn_to_page() is valid (reserve + free)."""
        return self.reserve + self.free


class PhysRange(msgspec.Struct, frozen=True):
    """``struct range`` / ``struct resource``: an inclusive physical address range."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1


class PgmapConfig(msgspec.Struct, frozen=True):
    """What a driver fills into struct dev_pagemap."""

    dev_name: str
    type: MemoryType
    ranges: tuple[PhysRange, ...]
    """``res`` (one range, up to v5.9) or ``ranges[nr_range]`` (v5.10+)."""
    ref_name: str
    altmap: AltmapConfig | None = None
    vmemmap_shift: int = 0
    """Compound pages of ``1 << vmemmap_shift`` pfns (v5.17+; 0: none)."""
    release_puts_pages: bool = True
    """Whether the release the driver registers puts one page (one ref) per device pfn:
    devm_memremap_pages_release does; hmm_devmem_release (v4.18-v4.20) does not."""

    @property
    def altmap_valid(self) -> bool:
        return self.altmap is not None

    @property
    def res(self) -> PhysRange:
        """The single ``res`` of v4.16-v5.9 (range 0 later)."""
        return self.ranges[0]

    @property
    def res_start(self) -> int:
        return self.res.start

    @property
    def res_end(self) -> int:
        return self.res.end

    @property
    def res_size(self) -> int:
        return self.res.size

    def pfn_first(self, range_id: int = 0) -> int:
        """pfn_first(): the range's first pfn, plus vmem_altmap_offset() for range 0 when
        an altmap is valid (the altmap only ever covers range 0)."""
        pfn = self.ranges[range_id].start >> PAGE_SHIFT
        if range_id == 0 and self.altmap is not None:
            pfn += self.altmap.offset()
        return pfn

    def pfn_end(self, range_id: int = 0) -> int:
        """pfn_end(): one past the range's last pfn."""
        r = self.ranges[range_id]
        return (r.start + r.size) >> PAGE_SHIFT


class Pgmap(msgspec.Struct, frozen=True):
    """A handle kernel code holds: the pgmap's number in the memory state and its config."""

    id: int
    cfg: PgmapConfig


class PercpuRef(msgspec.Struct):
    """A percpu_ref: count (the initial reference included), live/dead, gets and puts."""

    name: str
    count: int = 1
    live: bool = True
    gets: int = 0
    puts: int = 0

    def get_many(self, n: int) -> None:
        self.count += n
        self.gets += n

    def put_many(self, n: int) -> None:
        self.count -= n
        self.puts += n

    def kill(self) -> None:
        """percpu_ref_kill: dead for tryget_live, and the initial reference is put."""
        self.live = False
        self.count -= 1


class VmemAltmap(msgspec.Struct):
    """The mutable part of struct vmem_altmap: what the vmemmap allocator has used."""

    cfg: AltmapConfig
    align: int = 0
    alloc: int = 0


class DevPagemap(msgspec.Struct):
    id: int
    cfg: PgmapConfig
    nid: int
    ref: PercpuRef
    altmap: VmemAltmap | None = None
    freed: bool = False
    """Torn down (its memory is gone: the driver's remove ran to the end)."""


class PfnIndex(msgspec.Struct):
    """pfn -> pgmap id, with the number of entries the kernel stored."""

    name: str
    kind: str
    entries: int = 0
    _map: RunMap[int | None] = msgspec.field(default_factory=lambda: RunMap(None, 1 << 52))

    def lookup(self, pfn: int) -> int | None:
        return self._map.get(pfn)

    def first_entry(self, lo: int, hi: int) -> int | None:
        """The pgmap id of the first occupied pfn in ``[lo, hi)``, or None."""
        for _lo, _hi, pid in self._map.runs(lo, hi):
            if pid is not None:
                return pid
        return None

    def assign(self, lo: int, hi: int, pgmap_id: int | None, entries: int) -> None:
        self._map.assign(lo, hi, pgmap_id)
        self.entries += entries

    def runs(self) -> Iterator[tuple[int, int, int | None]]:
        return self._map.runs()


PGMAP_INDEX = "pgmap"
HMM_DEVMEM_INDEX = "hmm_devmem"


def order_at(res_start_pfn: int, nr_pages: int, pgoff: int) -> int | None:
    """order_at() of kernel/memremap.c (v4.18): the largest aligned power-of-two chunk
    available at ``pgoff`` of the resource, or None at its end."""
    if pgoff == nr_pages:
        return None
    remaining = nr_pages - pgoff
    mask = (res_start_pfn + pgoff) | (1 << (remaining.bit_length() - 1))
    return (mask & -mask).bit_length() - 1


def foreach_order_pgoff(res_start_pfn: int, nr_pages: int) -> Iterator[tuple[int, int]]:
    """The (order, pgoff) chunks ``foreach_order_pgoff`` inserts into pgmap_radix."""
    pgoff = 0
    while (order := order_at(res_start_pfn, nr_pages, pgoff)) is not None:
        yield order, pgoff
        pgoff += 1 << order
