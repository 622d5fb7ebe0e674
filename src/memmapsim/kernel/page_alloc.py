"""mm/page_alloc.c: struct page init and ``memmap_init_zone`` as of v4.18 (spec §2, §4.1).

The per-page work is expressed as :class:`PageOp` values whose writes follow the kernel's
order, so an engine that splits a range down to single writes sees the same intermediate
states a pfn walker could (spec §2.1: zeroed → zone/node → refcount 1 → lru self).
"""

from __future__ import annotations

from memmapsim.effects import (
    Gen,
    InitPages,
    Jiffies,
    PageOp,
    PageWork,
    Printk,
    SetHighestMemmapPfn,
)
from memmapsim.kernel.kernel import Kernel
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import PageFlagsLayout, ZoneType
from memmapsim.model.pgmap import AltmapConfig, Pgmap
from memmapsim.model.structpage import (
    HMM_DATA,
    LIST_POISON1,
    LIST_POISON2,
    MAPCOUNT_MASK,
    PGMAP,
    REFCOUNT_MASK,
    REFCOUNT_SHIFT,
    SELF_LRU,
    Word,
    Write,
    fill,
    pgmap_token,
    set_bits,
    set_field,
    store,
)
from memmapsim.units import PAGEBLOCK_NR_PAGES, SECTION_ALIGN_UP

MEMMAP_EARLY = "MEMMAP_EARLY"
MEMMAP_HOTPLUG = "MEMMAP_HOTPLUG"


def init_single_page(layout: PageFlagsLayout, zone: ZoneType, nid: int) -> PageOp:
    """``__init_single_page(page, pfn, zone, nid)`` (v4.15-v5.1 form).

    1. ``mm_zero_struct_page``: memset of all 64 bytes (the 8-byte-store form is v5.2);
    2. ``set_page_links``: zone field, then node field (no section field with VMEMMAP);
    3. ``init_page_count``: _refcount = 1;
    4. ``page_mapcount_reset``: _mapcount = -1;
    5. ``page_cpupid_reset_last``: LAST_CPUPID field all ones (it lives in page->flags);
    6. ``INIT_LIST_HEAD(&page->lru)``: lru.next, then lru.prev = &page->lru.
    No ``page_kasan_tag_reset`` before v5.0; no ``set_page_address`` on x86_64.
    """
    writes: list[Write] = [*fill(0)]
    writes.append(set_field(Word.FLAGS, layout.zones_pgshift, layout.zones_width, int(zone)))
    writes.append(set_field(Word.FLAGS, layout.nodes_pgshift, layout.nodes_width, nid))
    writes.append(Write(Word.COUNTS, REFCOUNT_MASK, 1 << REFCOUNT_SHIFT))
    writes.append(Write(Word.COUNTS, MAPCOUNT_MASK, MAPCOUNT_MASK))
    if layout.last_cpupid_width:
        mask = ((1 << layout.last_cpupid_width) - 1) << layout.last_cpupid_pgshift
        writes.append(set_bits(Word.FLAGS, mask))
    writes.append(store(Word.LRU_NEXT, SELF_LRU))
    writes.append(store(Word.LRU_PREV, SELF_LRU))
    return PageOp("__init_single_page", "init_single_page", tuple(writes))


def set_page_reserved(layout: PageFlagsLayout, atomic: bool) -> PageOp:
    """``SetPageReserved`` (atomic ``set_bit``) or ``__SetPageReserved`` (plain RMW).

    The non-atomic form for init is "mm: create non-atomic version of SetPageReserved for
    init use" (Duyck, v4.20-rc1): about 10 % faster, 35 s to 32 s per 3 TB.
    """
    bit = set_bits(Word.FLAGS, layout.flag("PG_reserved"))
    if atomic:
        return PageOp("SetPageReserved", "reserved_atomic", (bit,), atomic=True)
    return PageOp("__SetPageReserved", "reserved_nonatomic", (bit,))


def set_pgmap(pgmap_id: int) -> PageOp:
    """``page->pgmap = pgmap`` (word 1, aliasing lru.next)."""
    return PageOp("page->pgmap = pgmap", "set_pgmap", (store(PGMAP, pgmap_token(pgmap_id)),))


def clear_hmm_data() -> PageOp:
    """``page->hmm_data = 0`` (word 2; v4.20 memmap_init_zone_device, Duyck's choice)."""
    return PageOp("page->hmm_data = 0", "set_pgmap", (store(HMM_DATA, 0),))


def list_del_lru() -> PageOp:
    """``list_del(&page->lru)`` on a page whose lru points at itself.

    ``__list_del(prev, next)`` stores ``next->prev = prev`` and ``prev->next = next``,
    which for a self-linked entry rewrite its own two words with &page->lru; then the
    entry is poisoned: lru.next = LIST_POISON1, lru.prev = LIST_POISON2.
    """
    return PageOp(
        "list_del(&page->lru)",
        "list_del",
        (
            store(Word.LRU_PREV, SELF_LRU),
            store(Word.LRU_NEXT, SELF_LRU),
            store(Word.LRU_NEXT, LIST_POISON1),
            store(Word.LRU_PREV, LIST_POISON2),
        ),
    )


def percpu_ref_get_op() -> PageOp:
    """``percpu_ref_get(pgmap->ref)`` once per page (v4.18 devm_memremap_pages loop)."""
    return PageOp("percpu_ref_get", "percpu_ref_get", (), ref_get=1)


def memmap_init_zone_section_tail(k: Kernel, end_pfn: int, zone: ZoneType, nid: int) -> Gen[None]:
    """The loop at the end of ``memmap_init_zone`` (under CONFIG_SPARSEMEM) that gives every
    pfn from ``end_pfn`` up to the next section boundary a plain ``__init_single_page``:
    no PG_reserved, no migratetype, no cond_resched.

    2830bf6f05fb "mm, memory_hotplug: initialize struct pages for the full memory section"
    (Mikhail Zaslonko, posted 2018-12-12) entered mainline in v5.0-rc1 and was reverted
    before v5.0 by 4aa9fc2a435a (Michal Hocko): two NUMA nodes can share a section. No
    release carries it; the spec's claim that v4.20 does is corrected in
    docs/spec-corrections.md.
    """
    tail_end = SECTION_ALIGN_UP(end_pfn)
    if tail_end > end_pfn:
        work = PageWork("memmap_init_zone (section tail)", (init_single_page(k.layout, zone, nid),))
        yield InitPages(end_pfn, tail_end, work)


def memmap_init_zone(
    k: Kernel,
    size: int,
    nid: int,
    zone: ZoneType,
    start_pfn: int,
    context: str,
    altmap: AltmapConfig | None,
) -> Gen[None]:
    """``memmap_init_zone(size, nid, zone, start_pfn, context, altmap)``.

    v4.18: raises ``highest_memmap_pfn``; if ``altmap`` and ``start_pfn == altmap->base_pfn``,
    skips the altmap reserve ("Honor reservation requested by the driver"); then for every
    pfn of the range — for ZONE_DEVICE this is the whole section-aligned span, memmap
    storage, data and section padding alike — ``__init_single_page``, for
    MEMMAP_HOTPLUG the atomic ``SetPageReserved``, and at pageblock boundaries
    MIGRATE_MOVABLE + ``cond_resched()``. Only the hotplug context is modelled here; the
    boot checks (early_pfn_valid, defer_init) are not.

    v4.20 (966cf44f637e): for ZONE_DEVICE, return at once without an altmap; with one,
    initialize only ``[base + reserve, base + reserve + free)``, the pfns whose memory
    hosts the memmap; memmap_init_zone_device does the rest outside the lock.
    """
    end_pfn = start_pfn + size
    yield SetHighestMemmapPfn(end_pfn - 1)
    if k.p.zone_device_deferred and zone == ZoneType.ZONE_DEVICE:
        # 966cf44f637e: "We limit the total number of pages to initialize to just those
        # that might contain the memory mapping. We will defer the ZONE_DEVICE page
        # initialization until after we have released the hotplug lock."
        if altmap is None:
            return
        if start_pfn == altmap.base_pfn:
            start_pfn += altmap.reserve
        end_pfn = altmap.base_pfn + altmap.offset()
    elif altmap is not None and start_pfn == altmap.base_pfn:
        start_pfn += altmap.reserve
    yield InitPages(start_pfn, end_pfn, hotplug_init_work(k, zone, nid, context))
    if k.p.section_tail_init:
        yield from memmap_init_zone_section_tail(k, end_pfn, zone, nid)


def hotplug_init_work(k: Kernel, zone: ZoneType, nid: int, context: str) -> PageWork:
    """The loop body of ``memmap_init_zone`` for one pfn."""
    ops: tuple[PageOp, ...] = (init_single_page(k.layout, zone, nid),)
    if context == MEMMAP_HOTPLUG:
        ops = (*ops, set_page_reserved(k.layout, k.p.reserved_atomic))
    return PageWork(
        "memmap_init_zone",
        ops,
        pageblock=MigrateType.MIGRATE_MOVABLE,
        resched_every=PAGEBLOCK_NR_PAGES,
    )


def memmap_init_zone_device(
    k: Kernel, nid: int, start_pfn: int, size: int, pgmap: Pgmap
) -> Gen[None]:
    """``memmap_init_zone_device(zone, start_pfn, size, pgmap)``, new in v4.20 (966cf44f637e).

    Called with no lock held, on the section-aligned span. If ``pgmap->altmap_valid``
    the loop starts at ``altmap->base_pfn + vmem_altmap_offset(altmap)`` (the pfns before
    it are the reserve and the memmap host, done under the lock). Per pfn:
    ``__init_single_page``, ``__SetPageReserved``, ``page->pgmap = pgmap``,
    ``page->hmm_data = 0``, and at pageblock boundaries MIGRATE_MOVABLE +
    ``cond_resched()``. Section padding beyond ``res`` is included (it gets ``pgmap`` but
    is not in the pgmap index). Ends with ``pr_info("%s initialised, %lu pages in
    %ums\n")`` where the count is the post-altmap span, padding included.
    """
    end_pfn = start_pfn + size
    start = yield Jiffies()
    altmap = pgmap.cfg.altmap
    if altmap is not None:
        start_pfn = altmap.base_pfn + altmap.offset()
        size = end_pfn - start_pfn
    yield InitPages(start_pfn, end_pfn, zone_device_work(k, nid, pgmap))
    now = yield Jiffies()
    yield init_message(k, pgmap, size, k.jiffies_to_msecs(now - start))


def zone_device_work(k: Kernel, nid: int, pgmap: Pgmap) -> PageWork:
    """The loop body of ``memmap_init_zone_device`` for one pfn (also what a user change
    that splits the loop runs on each part, examples/)."""
    layout = k.layout
    return PageWork(
        "memmap_init_zone_device",
        (
            init_single_page(layout, ZoneType.ZONE_DEVICE, nid),
            set_page_reserved(layout, atomic=False),
            set_pgmap(pgmap.id),
            clear_hmm_data(),
        ),
        pageblock=MigrateType.MIGRATE_MOVABLE,
        resched_every=PAGEBLOCK_NR_PAGES,
        pgmap=pgmap.id,
    )


def init_message(k: Kernel, pgmap: Pgmap, nr_pages: int, ms: int) -> Printk:
    """The line memmap_init_zone_device prints: v4.20-v5.3 ``pr_info("%s initialised, %lu
    pages in %ums\n", dev_name(pgmap->dev), ...)``; v5.4 (``pgmap->dev`` gone)
    ``pr_info("%s initialised %lu pages in %ums\n", __func__, ...)``; v6.4 the same at
    ``pr_debug`` ("mm: Be less noisy during memory hotplug")."""
    if k.p.init_message == "dev":
        return Printk("info", f"{pgmap.cfg.dev_name} initialised, {nr_pages} pages in {ms}ms")
    text = f"memmap_init_zone_device initialised {nr_pages} pages in {ms}ms"
    return Printk("debug" if k.p.init_message_debug else "info", text)
