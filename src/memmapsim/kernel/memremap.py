"""kernel/memremap.c: ``devm_memremap_pages`` and its release, v4.18-v5.2 (spec §4.1, §4.4;
docs/kernel-notes/zone-device-early.md §1-§6).

v4.18 order: align to sections; the conflict probes on the aligned ends;
``region_intersects`` (MIXED → -ENXIO, INTERSECTS → return the direct map with no memmap);
ref check; insert ``res`` into ``pgmap_radix`` under ``pgmap_lock``; ``track_pfn_remap``;
``mem_hotplug_begin``; ``arch_add_memory``; ``move_pfn_range_to_zone``;
``mem_hotplug_done``; then, with no lock, the ``for_each_device_pfn`` loop
(``list_del(&page->lru)``, ``page->pgmap = pgmap``, ``percpu_ref_get``, ``cond_resched`` at
pfns that are multiples of 1024).

v4.19 adds kasan_add_zero_shadow; v4.20 stores ``res`` in the XArray and replaces the page
loop by ``memmap_init_zone_device`` + one ``percpu_ref_get_many`` (966cf44f637e with its
2018-10-08 reference-count fix). v5.0 (69324b8f4833 "mm, devm_memremap_pages: add
MEMORY_DEVICE_PRIVATE support", and "fix shutdown handling"): any System RAM in the range
refuses ("%s attempted on %s region %pr"), DEVICE_PRIVATE is added with ``add_pages`` (no
direct map), the error paths and the release kill the ref first, and the release reads
the node from the struct page at the section-aligned start.
"""

from __future__ import annotations

from memmapsim.effects import (
    Acquire,
    Gen,
    GetDevPagemap,
    InitPages,
    PageOp,
    PageWork,
    PercpuRefGet,
    PercpuRefKill,
    PercpuRefPut,
    PgmapIndexInsert,
    PgmapIndexRemove,
    Printk,
    ReadAltmap,
    ReadPage,
    RegionIntersects,
    Release,
    Step,
    WorkKind,
)
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import EEXIST, ENOMEM, ENXIO
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
from memmapsim.kernel.page_alloc import list_del_lru, percpu_ref_get_op, set_pgmap
from memmapsim.model.locks import PGMAP_LOCK
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import PGMAP_INDEX, MemoryType, Pgmap, foreach_order_pgoff
from memmapsim.model.resource import SYSTEM_RAM, Region
from memmapsim.model.structpage import REFCOUNT_MASK, Word, Write
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
    """``devm_memremap_pages(dev, pgmap)`` (v4.18-v5.2); returns 0 (the kernel returns
    ``__va(res->start)``) or a negative errno."""
    cfg = pgmap.cfg
    altmap = cfg.altmap
    align_start, align_size = section_align(cfg.res_start, cfg.res_size)
    align_end = align_start + align_size - 1
    private = cfg.type == MemoryType.MEMORY_DEVICE_PRIVATE

    if k.p.conflict_probes:
        for phys in (align_start, align_end):
            conflict = yield GetDevPagemap(PHYS_PFN(phys))
            if conflict is not None:
                yield Printk("warning", dev.fmt("Conflicting mapping in same section"))
                if k.p.memremap_cleanup:  # v5.2: the probes go to err_array
                    yield from dev_pagemap_kill(k, pgmap)
                return -ENOMEM

    is_ram = yield RegionIntersects(align_start, align_size, SYSTEM_RAM)
    res = resource_str(cfg.res_start, cfg.res_end)
    if k.p.memremap_private:
        # v5.0: anything but DISJOINT is refused
        if is_ram != Region.REGION_DISJOINT:
            what = "mixed" if is_ram == Region.REGION_MIXED else "ram"
            yield Printk("warning", f"devm_memremap_pages attempted on {what} region {res}")
            yield from dev_pagemap_kill(k, pgmap)
            return -ENXIO
    elif is_ram == Region.REGION_MIXED:
        yield Printk("warning", f"devm_memremap_pages attempted on mixed region {res}")
        return -ENXIO
    elif is_ram == Region.REGION_INTERSECTS:
        yield Step("devm_memremap_pages", "System RAM: return __va(res->start), no memmap")
        return 0

    err = yield from pgmap_index_insert(k, dev, pgmap)
    if err:
        return err

    nid = dev.nid
    yield Step("track_pfn_remap")
    yield from mem_hotplug_begin()
    altmap_pgmap = pgmap.id if altmap is not None else None
    if k.p.memremap_private and private:
        # v5.0: DEVICE_PRIVATE memory gets a memmap but no direct map (altmap forced NULL)
        error = yield from add_pages(k, nid, PHYS_PFN(align_start), PHYS_PFN(align_size), None)
    else:
        if k.p.kasan_zero_shadow:
            yield Step("kasan_add_zero_shadow")
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
        # err_radix: the index entries go; v5.0 err_array: the ref is killed.
        if k.p.kasan_zero_shadow:
            yield Step("kasan_remove_zero_shadow")
        yield Step("untrack_pfn")
        yield PgmapIndexRemove(PGMAP_INDEX, cfg.res_start >> PAGE_SHIFT, cfg.pfn_end())
        if k.p.memremap_kill:
            yield from dev_pagemap_kill(k, pgmap)
        return int(error)

    if k.p.zone_device_deferred:
        yield from k.paths.memmap_init_zone_device(
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
    action = "devm_add_action_or_reset" if k.p.memremap_kill else "devm_add_action"
    yield Step(action, "devm_memremap_pages_release")
    return 0


def dev_pagemap_kill(k: Kernel, pgmap: Pgmap) -> Gen[None]:
    """``pgmap->kill(pgmap->ref)`` (v5.0), the driver's ref kill: ``percpu_ref_kill``."""
    yield PercpuRefKill(pgmap.id)


def put_page_op() -> PageOp:
    """``put_page`` of a device page whose refcount is 1: it drops to 0 and the page's pgmap
    reference is put (``__put_page`` → ``put_dev_pagemap``)."""
    return PageOp("put_page", "put_page", (Write(Word.COUNTS, REFCOUNT_MASK, 0),))


def devm_memremap_pages_release(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[None]:
    """``devm_memremap_pages_release`` (v4.18-v5.2): the devres action that undoes
    ``devm_memremap_pages`` when the driver detaches.

    v4.18-v4.20: ``put_page`` on every device pfn (each puts a pgmap reference);
    "%s: page mapping is still live!" if the ref was not killed (the drivers kill it in an
    earlier devres action); ``arch_remove_memory`` of the aligned span (x86 reads the zone
    from the first data page) and, v4.19+, ``kasan_remove_zero_shadow``, under the hotplug
    lock; ``untrack_pfn``; the index entries go, last. v5.0: ``pgmap->kill`` first, no
    liveness check, the node read from the struct page at the aligned start — with an
    altmap a reserve pfn that was never initialized (fixed by 77e080e7680e in v5.4) — and
    DEVICE_PRIVATE removed with ``__remove_pages``."""
    cfg = pgmap.cfg
    if k.p.memremap_kill:
        yield from dev_pagemap_kill(k, pgmap)
    if cfg.release_puts_pages:
        first, end = cfg.pfn_first(), cfg.pfn_end()
        if end > first:
            yield InitPages(
                first,
                end,
                PageWork("devm_memremap_pages_release", (put_page_op(),), kind=WorkKind.FIELDS),
            )
            yield PercpuRefPut(pgmap.id, end - first)
    if not k.p.memremap_kill:
        live = yield GetDevPagemap(PHYS_PFN(cfg.res_start))
        if live is not None:
            yield Printk(
                "warning", dev.fmt("devm_memremap_pages_release: page mapping is still live!")
            )
    align_start, align_size = section_align(cfg.res_start, cfg.res_size)
    nid = dev.nid
    if k.p.memremap_kill:
        yield ReadPage(PHYS_PFN(align_start), "devm_memremap_pages_release")
    yield from mem_hotplug_begin()
    owner = pgmap.id if cfg.altmap is not None else None
    if k.p.memremap_private and cfg.type == MemoryType.MEMORY_DEVICE_PRIVATE:
        yield ReadPage(PHYS_PFN(align_start), "devm_memremap_pages_release")
        yield from __remove_pages(
            k, nid, ZoneType.ZONE_DEVICE, PHYS_PFN(align_start), PHYS_PFN(align_size), None
        )
    else:
        yield from arch_remove_memory(k, nid, align_start, align_size, cfg.altmap, owner)
        if k.p.kasan_zero_shadow:
            yield Step("kasan_remove_zero_shadow")
    yield from mem_hotplug_done()
    yield Step("untrack_pfn")
    yield PgmapIndexRemove(PGMAP_INDEX, cfg.res_start >> PAGE_SHIFT, cfg.pfn_end())
    if cfg.altmap is not None:
        _cfg, alloc, _align = yield ReadAltmap(pgmap.id)
        if alloc:
            msg = "devm_memremap_pages_release: failed to free all reserved pages"
            yield Printk("warning", dev.fmt(msg))
