"""mm/hmm.c: ``hmm_devmem_pages_create`` for device-private memory, v4.18-v4.20 (spec §4.1).

HMM keeps its own ``hmm_devmem_radix`` (one entry per section, under
``hmm_devmem_lock``), which ``get_dev_pagemap`` never reads. It adds DEVICE_PRIVATE
memory with ``add_pages`` (a memmap but no direct map) and DEVICE_PUBLIC with
``arch_add_memory``; ``move_pfn_range_to_zone`` then initializes the whole section-aligned
span under ``mem_hotplug_lock``. Outside the lock, v4.18 sets only ``page->pgmap`` on
``[pfn_first, pfn_last)`` — no per-page reference, ``hmm_data`` left as the
INIT_LIST_HEAD self-pointer — and v4.20 calls ``memmap_init_zone_device`` on the aligned
span instead (966cf44f637e), again taking no references.
"""

from __future__ import annotations

from memmapsim.effects import (
    Acquire,
    Gen,
    InitPages,
    PageWork,
    PercpuRefKill,
    PgmapIndexInsert,
    PgmapIndexRemove,
    Printk,
    ReadPage,
    ReadPgmap,
    RegionIntersects,
    Release,
    WorkKind,
)
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import EBUSY, ENXIO
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memory_hotplug import (
    __remove_pages,
    add_pages,
    arch_add_memory,
    arch_remove_memory,
    mem_hotplug_begin,
    mem_hotplug_done,
    move_pfn_range_to_zone,
)
from memmapsim.kernel.memremap import section_align
from memmapsim.kernel.page_alloc import set_pgmap
from memmapsim.model.locks import HMM_DEVMEM_LOCK
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import HMM_DEVMEM_INDEX, MemoryType, Pgmap
from memmapsim.model.resource import SYSTEM_RAM, Region
from memmapsim.units import PAGE_SHIFT, PAGES_PER_SECTION, resource_str


def hmm_devmem_pages_create(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[int]:
    """``hmm_devmem_pages_create(devmem)``."""
    cfg = pgmap.cfg
    align_start, align_size = section_align(cfg.res_start, cfg.res_size)
    is_ram = yield RegionIntersects(align_start, align_size, SYSTEM_RAM)
    if is_ram == Region.REGION_MIXED:
        res = resource_str(cfg.res_start, cfg.res_end)
        yield Printk("warning", f"hmm_devmem_pages_create attempted on mixed region {res}")
        return -ENXIO
    if is_ram == Region.REGION_INTERSECTS:
        return -ENXIO

    lo, hi = align_start >> PAGE_SHIFT, (align_start + align_size) >> PAGE_SHIFT
    yield Acquire(HMM_DEVMEM_LOCK)
    dup = yield PgmapIndexInsert(
        HMM_DEVMEM_INDEX, pgmap.id, lo, hi, entries=(hi - lo) // PAGES_PER_SECTION
    )
    yield Release(HMM_DEVMEM_LOCK)
    if dup is not None:
        other = yield ReadPgmap(dup)
        msg = f"hmm_devmem_pages_create: collides with mapping for {other.dev_name}"
        yield Printk("err", dev.fmt(msg))
        return -EBUSY

    nid = dev.nid
    yield from mem_hotplug_begin()
    if cfg.type == MemoryType.MEMORY_DEVICE_PUBLIC:
        ret = yield from arch_add_memory(k, nid, align_start, align_size, None)
    else:
        ret = yield from add_pages(k, nid, lo, hi - lo, None)
    if ret:
        yield from mem_hotplug_done()
        yield PgmapIndexRemove(HMM_DEVMEM_INDEX, lo, hi)
        return int(ret)
    yield from move_pfn_range_to_zone(k, nid, ZoneType.ZONE_DEVICE, lo, hi - lo, None)
    yield from mem_hotplug_done()

    if k.p.zone_device_deferred:
        yield from k.paths.memmap_init_zone_device(k, nid, lo, hi - lo, pgmap)
    else:
        pfn_first = cfg.res_start >> PAGE_SHIFT
        pfn_last = pfn_first + (cfg.res_size >> PAGE_SHIFT)
        work = PageWork(
            "hmm_devmem_pages_create", (set_pgmap(pgmap.id),), pgmap=pgmap.id, kind=WorkKind.PGMAP
        )
        yield InitPages(pfn_first, pfn_last, work)
    return 0


def hmm_devmem_release(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[None]:
    """The teardown of ``hmm_devmem_add`` (v4.18-v4.20), devres actions in reverse order:
    ``hmm_devmem_ref_kill`` (kill the ref and wait), then ``hmm_devmem_release``: warn if
    the ref is still live, read the zone from the struct page at the section-aligned start
    (``page_zone(pfn_to_page(start_pfn))``), remove the memory under the hotplug lock
    (``__remove_pages`` for DEVICE_PRIVATE), and drop the radix entries. No page reference
    is put: none was taken."""
    cfg = pgmap.cfg
    yield PercpuRefKill(pgmap.id)
    align_start, align_size = section_align(cfg.res_start, cfg.res_size)
    lo, n = align_start >> PAGE_SHIFT, align_size >> PAGE_SHIFT
    yield ReadPage(lo, "hmm_devmem_release")
    yield from mem_hotplug_begin()
    if cfg.type == MemoryType.MEMORY_DEVICE_PUBLIC:
        yield from arch_remove_memory(k, dev.nid, align_start, align_size, None, None)
    else:
        yield from __remove_pages(k, dev.nid, ZoneType.ZONE_DEVICE, lo, n, None)
    yield from mem_hotplug_done()
    yield Acquire(HMM_DEVMEM_LOCK)
    yield PgmapIndexRemove(HMM_DEVMEM_INDEX, lo, lo + n)
    yield Release(HMM_DEVMEM_LOCK)
