"""mm/memremap.c (v5.3+, where kernel/memremap.c moved): ``devm_memremap_pages``,
``memremap_pages``, ``pagemap_range`` and their teardown (docs/kernel-notes/
zone-device-early.md §7-§9, zone-device-late.md §1-§11).

v5.3 (sub-section hotplug): no section rounding any more — the conflict probes look at
``res.start`` and ``res.end``, the RAM check, ``arch_add_memory`` / ``add_pages`` and
``memmap_init_zone_device`` all take ``res`` exactly; an internal percpu_ref when the
driver gives none. v5.4 splits out ``memremap_pages(pgmap, nid)`` / ``memunmap_pages`` (no
``pgmap->dev``: the conflict message loses its device prefix) and reads the node at
teardown from the first *data* page (77e080e7680e). v5.10 (multi-range pgmaps):
``memremap_pages`` calls ``pagemap_range`` per range; an altmap only for range 0. v5.17:
the ref is embedded and taken once per compound page. v5.18: teardown puts the refs in
bulk instead of one ``put_page`` per pfn. v6.1: DEVICE_PRIVATE and DEVICE_COHERENT pages
take no pgmap reference at add (``zone_device_page_init`` takes it when a driver
allocates the page).
"""

from __future__ import annotations

from memmapsim.effects import (
    CompoundStep,
    Gen,
    GetDevPagemap,
    InitPages,
    InitPagesPeriodic,
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
    Step,
    WorkKind,
)
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import ENOMEM, ENXIO
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memory_hotplug import (
    __remove_pages,
    add_pages,
    arch_add_memory,
    arch_remove_memory,
    mem_hotplug_begin,
    mem_hotplug_done,
    move_pfn_range_to_zone,
    remove_pfn_range_from_zone,
)
from memmapsim.kernel.memremap import put_page_op
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.periodic import Sharing
from memmapsim.model.pgmap import PGMAP_INDEX, MemoryType, Pgmap, PgmapConfig
from memmapsim.model.resource import SYSTEM_RAM, Region
from memmapsim.units import PHYS_PFN, resource_str


def devm_memremap_pages(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[int]:
    """``devm_memremap_pages(dev, pgmap)`` (v5.3+): ``memremap_pages(pgmap,
    dev_to_node(dev))`` (inline in v5.3), then ``devm_add_action_or_reset`` of the
    release."""
    ret: int = yield from k.paths.memremap_pages(k, dev, pgmap)
    if not ret:
        yield Step("devm_add_action_or_reset", "devm_memremap_pages_release")
    return ret


def pfn_len(k: Kernel, cfg: PgmapConfig, range_id: int) -> int:
    """The pgmap references a range's pages hold: one per data pfn (``pfn_end -
    pfn_first``), since v5.17 one per compound page (``pfn_len``)."""
    n = cfg.pfn_end(range_id) - cfg.pfn_first(range_id)
    return n >> cfg.vmemmap_shift if k.p.compound_devmaps else n


def takes_page_refs(k: Kernel, cfg: PgmapConfig) -> bool:
    """v6.1: DEVICE_PRIVATE and DEVICE_COHERENT pages take no pgmap reference at add."""
    return cfg.type.name not in k.p.ref_skip_types


def conflict(k: Kernel, dev: KDevice) -> Printk:
    """ "Conflicting mapping in same section": ``dev_WARN`` until v5.3, ``WARN`` from v5.4
    (``pgmap->dev`` is gone)."""
    text = "Conflicting mapping in same section"
    return Printk("warning", dev.fmt(text) if k.p.conflict_warn_dev else text)


def pagemap_range(
    k: Kernel, dev: KDevice, pgmap: Pgmap, range_id: int, nid: int, sharing: Sharing | None
) -> Gen[int]:
    """One range of ``memremap_pages`` — ``pagemap_range`` from v5.10, the body of
    ``devm_memremap_pages``/``memremap_pages`` for the single ``res`` in v5.3-v5.9: probes
    on the range's first and last pfn, the RAM check on the exact range, the index, the
    PAT tracking, then under the hotplug lock the memory (``add_pages`` without a direct
    map for DEVICE_PRIVATE, else kasan + ``arch_add_memory``) and the zone; outside it,
    ``memmap_init_zone_device`` and the pgmap references."""
    cfg = pgmap.cfg
    rng = cfg.ranges[range_id]
    first_pfn, nr_pages = PHYS_PFN(rng.start), PHYS_PFN(rng.size)
    private = cfg.type == MemoryType.MEMORY_DEVICE_PRIVATE
    for pfn in (PHYS_PFN(rng.start), PHYS_PFN(rng.end)):
        found = yield GetDevPagemap(pfn)
        if found is not None:
            yield conflict(k, dev)
            return -ENOMEM
    is_ram = yield RegionIntersects(rng.start, rng.size, SYSTEM_RAM)
    if is_ram != Region.REGION_DISJOINT:
        what = "mixed" if is_ram == Region.REGION_MIXED else "ram"
        if k.p.pagemap_ranges:
            yield Printk("warning", f"attempted on {what} region {rng.start:#x}-{rng.end:#x}")
        else:
            res = resource_str(rng.start, rng.end)
            yield Printk("warning", f"devm_memremap_pages attempted on {what} region {res}")
        return -ENXIO
    yield PgmapIndexInsert(PGMAP_INDEX, pgmap.id, first_pfn, first_pfn + nr_pages, entries=1)
    yield Step("track_pfn_remap")
    yield from mem_hotplug_begin()
    altmap = pgmap.id if cfg.altmap is not None and range_id == 0 else None
    if private:
        error = yield from add_pages(k, nid, first_pfn, nr_pages, None, sharing)
    else:
        if k.p.kasan_zero_shadow:
            yield Step("kasan_add_zero_shadow")
        error = yield from arch_add_memory(k, nid, rng.start, rng.size, altmap, sharing)
    if not error:
        zone_altmap = cfg.altmap if altmap is not None else None
        yield from move_pfn_range_to_zone(
            k, nid, ZoneType.ZONE_DEVICE, first_pfn, nr_pages, zone_altmap
        )
    yield from mem_hotplug_done()
    if error:
        if k.p.kasan_zero_shadow:
            yield Step("kasan_remove_zero_shadow")
        yield Step("untrack_pfn")
        yield PgmapIndexRemove(PGMAP_INDEX, first_pfn, first_pfn + nr_pages)
        return int(error)
    yield from k.paths.memmap_init_zone_device(k, nid, first_pfn, nr_pages, pgmap)
    if takes_page_refs(k, cfg):
        yield PercpuRefGet(pgmap.id, pfn_len(k, cfg, range_id))
    return 0


def vmemmap_sharing(k: Kernel, cfg: PgmapConfig) -> Sharing | None:
    """Whether the memmap of a compound devmap is deduplicated: since v5.19 when there is
    no altmap and the compound page is more than one page (``vmemmap_can_optimize``); since
    v6.6 only when it needs more than ``VMEMMAP_RESERVE_NR`` (2) vmemmap pages, i.e. at
    least 256 pfns."""
    if k.p.vmemmap_dedup == "none" or cfg.altmap is not None or cfg.vmemmap_shift == 0:
        return None
    nr = 1 << cfg.vmemmap_shift
    if k.p.vmemmap_dedup == "reserve-nr" and nr * 64 // 4096 <= 2:
        return None
    return Sharing(nr)


def memremap_pages(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[int]:
    """``memremap_pages(pgmap, nid)`` (v5.3-v5.9: the single ``res``; v5.10+: every range in
    order, undoing the ranges already mapped if one fails)."""
    cfg = pgmap.cfg
    nid = dev.nid
    sharing = vmemmap_sharing(k, cfg)
    ranges = len(cfg.ranges) if k.p.pagemap_ranges else 1
    for i in range(ranges):
        err = yield from pagemap_range(k, dev, pgmap, i, nid, sharing)
        if err:
            if i:
                yield from unmap_ranges(k, dev, pgmap, i)
            yield PercpuRefKill(pgmap.id)
            return int(err)
    return 0


def memunmap_pages(k: Kernel, dev: KDevice, pgmap: Pgmap) -> Gen[None]:
    """``devm_memremap_pages_release`` (v5.3) / ``memunmap_pages`` (v5.4+): kill the ref; put
    the pages' references — one ``put_page`` per data pfn (per compound head from v5.17),
    in bulk from v5.18, none for DEVICE_PRIVATE/COHERENT from v6.1; wait for the ref;
    unmap each range; warn if the altmap still has blocks allocated."""
    yield PercpuRefKill(pgmap.id)
    yield from unmap_ranges(k, dev, pgmap, len(pgmap.cfg.ranges) if k.p.pagemap_ranges else 1)


def unmap_ranges(k: Kernel, dev: KDevice, pgmap: Pgmap, count: int) -> Gen[None]:
    cfg = pgmap.cfg
    if takes_page_refs(k, cfg):
        for i in range(count):
            first, end = cfg.pfn_first(i), cfg.pfn_end(i)
            if end <= first:
                continue
            n = pfn_len(k, cfg, i)
            if not k.p.bulk_ref_put:
                step = 1 << cfg.vmemmap_shift if k.p.compound_devmaps else 1
                work = PageWork("memunmap_pages", (put_page_op(),), kind=WorkKind.FIELDS)
                if step == 1:
                    yield InitPages(first, end, work)
                else:  # for_each_device_pfn steps over compound heads (v5.17)
                    yield InitPagesPeriodic(first, end, step, (CompoundStep(0, 1, work),))
            yield PercpuRefPut(pgmap.id, n)
    yield Step("dev_pagemap_cleanup", "wait_for_completion(&pgmap->done)")
    for i in range(count):
        yield from pageunmap_range(k, dev, pgmap, i)
    if cfg.altmap is not None:
        _cfg, alloc, _align = yield ReadAltmap(pgmap.id)
        if alloc:
            yield Printk("warning", "failed to free all reserved pages")


def pageunmap_range(k: Kernel, dev: KDevice, pgmap: Pgmap, range_id: int) -> Gen[None]:
    """One range of the teardown (``pageunmap_range`` from v5.10): the node and zone read
    from a struct page — at ``res.start`` in v5.3 (a reserve pfn with an altmap), at the
    first data pfn from v5.4; from v5.7 ``remove_pfn_range_from_zone`` re-poisons the
    memmap; then ``__remove_pages`` (DEVICE_PRIVATE) or ``arch_remove_memory`` + kasan under
    the hotplug lock; ``untrack_pfn``; the index entries go, last."""
    cfg = pgmap.cfg
    rng = cfg.ranges[range_id]
    first_pfn, nr_pages = PHYS_PFN(rng.start), PHYS_PFN(rng.size)
    nid = dev.nid
    read_at = cfg.pfn_first(range_id) if k.p.unmap_reads_first_data_page else first_pfn
    yield ReadPage(read_at, "memunmap_pages")
    yield from mem_hotplug_begin()
    if k.p.remove_repoison:
        yield from remove_pfn_range_from_zone(k, nid, ZoneType.ZONE_DEVICE, first_pfn, nr_pages)
    if cfg.type == MemoryType.MEMORY_DEVICE_PRIVATE:
        yield from __remove_pages(k, nid, ZoneType.ZONE_DEVICE, first_pfn, nr_pages, None)
    else:
        owner = pgmap.id if cfg.altmap is not None and range_id == 0 else None
        altmap = cfg.altmap if owner is not None else None
        yield from arch_remove_memory(k, nid, rng.start, rng.size, altmap, owner)
        if k.p.kasan_zero_shadow:
            yield Step("kasan_remove_zero_shadow")
    yield from mem_hotplug_done()
    yield Step("untrack_pfn")
    yield PgmapIndexRemove(PGMAP_INDEX, first_pfn, first_pfn + nr_pages)
