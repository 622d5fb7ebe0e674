"""kernel/memremap.c: ``devm_memremap_pages``, era A (v4.18) and B (v4.20) (spec §4.1, §4.4).

v4.18 order (torvalds/linux kernel/memremap.c at 2fa147bdbf67, a 4.18-rc state; see
docs/spec-corrections.md): align to sections; ``region_intersects`` (MIXED → -ENXIO,
INTERSECTS → return the direct map with no memmap); ref check; insert ``res`` into
``pgmap_radix`` under ``pgmap_lock``; ``track_pfn_remap``; ``mem_hotplug_begin``;
``arch_add_memory``; ``move_pfn_range_to_zone``; ``mem_hotplug_done``; then, with no
lock, the ``for_each_device_pfn`` loop (``list_del(&page->lru)``, ``page->pgmap =
pgmap``, ``percpu_ref_get``, ``cond_resched`` at pfns that are multiples of 1024).

v4.19 adds the conflict probes and kasan_add_zero_shadow; v4.20 stores ``res`` in the
XArray and replaces the page loop by ``memmap_init_zone_device`` + one
``percpu_ref_get_many`` (966cf44f637e with its 2018-10-08 reference-count fix).
"""

from __future__ import annotations

from memmapsim.effects import (
    Acquire,
    Gen,
    GetDevPagemap,
    InitPages,
    PageWork,
    PercpuRefGet,
    PgmapIndexInsert,
    PgmapIndexRemove,
    Printk,
    RegionIntersects,
    Release,
    Step,
    WorkKind,
)
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import EEXIST, ENOMEM, ENXIO
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memory_hotplug import (
    arch_add_memory,
    mem_hotplug_begin,
    mem_hotplug_done,
    move_pfn_range_to_zone,
)
from memmapsim.kernel.page_alloc import (
    list_del_lru,
    memmap_init_zone_device,
    percpu_ref_get_op,
    set_pgmap,
)
from memmapsim.model.locks import PGMAP_LOCK
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import PGMAP_INDEX, Pgmap, foreach_order_pgoff
from memmapsim.model.resource import SYSTEM_RAM, Region
from memmapsim.units import ALIGN, PAGE_SHIFT, PHYS_PFN, SECTION_SIZE, resource_str

DEVICE_PFN_RESCHED = 1024
"""pfn_next(): ``if (pfn % 1024 == 0) cond_resched();``"""


def section_align(res_start: int, res_size: int) -> tuple[int, int]:
    """(align_start, align_size): ``res`` widened to whole 128 MiB sections (≤ v5.2)."""
    align_start = res_start & ~(SECTION_SIZE - 1)
    align_size = ALIGN(res_start + res_size, SECTION_SIZE) - align_start
    return align_start, align_size


def pgmap_index_insert(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[int]:
    """Publish ``res`` in the pgmap index: after this ``get_dev_pagemap(pfn)`` succeeds for
    every pfn of res, before any struct page exists (state S1 of spec §7).

    v4.18: ``foreach_order_pgoff`` chunks into ``pgmap_radix`` under ``pgmap_lock``; an
    occupied slot fails with -EEXIST ("%s: failed: %d"). v4.20: one ``xa_store_range``
    over ``[PHYS_PFN(res.start), PHYS_PFN(res.end)]``, which overwrites."""
    cfg = pgmap.cfg
    first, end = cfg.res_start >> PAGE_SHIFT, cfg.pfn_end()
    if k.p.pgmap_index == "xarray":
        yield PgmapIndexInsert(PGMAP_INDEX, pgmap.id, first, end, entries=1)
        return 0
    chunks = sum(1 for _ in foreach_order_pgoff(first, end - first))
    yield Acquire(PGMAP_LOCK)
    clash = yield PgmapIndexInsert(PGMAP_INDEX, pgmap.id, first, end, entries=chunks)
    yield Release(PGMAP_LOCK)
    if clash is not None:
        yield Printk("err", dev.fmt(f"devm_memremap_pages: failed: {-EEXIST}"))
        return -EEXIST
    return 0


def devm_memremap_pages(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[int]:
    """``devm_memremap_pages(dev, pgmap)``; returns 0 (the kernel returns ``__va(res->start)``)
    or a negative errno."""
    cfg = pgmap.cfg
    altmap = cfg.altmap
    align_start, align_size = section_align(cfg.res_start, cfg.res_size)
    align_end = align_start + align_size - 1

    if k.p.conflict_probes:
        for phys in (align_start, align_end):
            conflict = yield GetDevPagemap(PHYS_PFN(phys))
            if conflict is not None:
                yield Printk("warning", dev.fmt("Conflicting mapping in same section"))
                return -ENOMEM

    is_ram = yield RegionIntersects(align_start, align_size, SYSTEM_RAM)
    if is_ram == Region.REGION_MIXED:
        res = resource_str(cfg.res_start, cfg.res_end)
        yield Printk("warning", f"devm_memremap_pages attempted on mixed region {res}")
        return -ENXIO
    if is_ram == Region.REGION_INTERSECTS:
        yield Step("devm_memremap_pages", "System RAM: return __va(res->start), no memmap")
        return 0

    err = yield from pgmap_index_insert(k, dev, pgmap)
    if err:
        return err

    nid = dev.nid
    yield Step("track_pfn_remap")
    yield from mem_hotplug_begin()
    if k.p.kasan_zero_shadow:
        yield Step("kasan_add_zero_shadow")
    altmap_pgmap = pgmap.id if altmap is not None else None
    error = yield from arch_add_memory(k, nid, align_start, align_size, altmap_pgmap)
    if not error:
        yield from move_pfn_range_to_zone(
            k,
            nid,
            ZoneType.ZONE_DEVICE,
            align_start >> PAGE_SHIFT,
            align_size >> PAGE_SHIFT,
            altmap,
        )
    yield from mem_hotplug_done()
    if error:
        # err_add_memory: sections already added stay (not unwound); err_pfn_remap,
        # err_radix: the index entries go.
        if k.p.kasan_zero_shadow:
            yield Step("kasan_remove_zero_shadow")
        yield Step("untrack_pfn")
        yield PgmapIndexRemove(PGMAP_INDEX, cfg.res_start >> PAGE_SHIFT, cfg.pfn_end())
        return int(error)

    if k.p.zone_device_deferred:
        yield from memmap_init_zone_device(
            k, nid, align_start >> PAGE_SHIFT, align_size >> PAGE_SHIFT, pgmap
        )
        if k.p.zone_device_ref_get_many:
            yield PercpuRefGet(pgmap.id, cfg.pfn_end() - cfg.pfn_first())
    else:
        # for_each_device_pfn: "ZONE_DEVICE pages union ->lru with a ->pgmap back pointer.
        # [...] Seed the storage with LIST_POISON* values."
        work = PageWork(
            "devm_memremap_pages",
            (list_del_lru(), set_pgmap(pgmap.id), percpu_ref_get_op()),
            resched_every=DEVICE_PFN_RESCHED,
            pgmap=pgmap.id,
            kind=WorkKind.PGMAP,
        )
        yield InitPages(cfg.pfn_first(), cfg.pfn_end(), work)
    yield Step("devm_add_action", "devm_memremap_pages_release")
    return 0
