"""mm/memory_hotplug.c and x86's arch_add_memory / arch_remove_memory, v4.18 onwards
(docs/kernel-notes/zone-device-early.md §1.5, §4.4, §7.5, §8.3; zone-device-late.md §1.4,
§2.3, §3.4).

``mem_hotplug_begin()`` = ``cpus_read_lock()`` + ``percpu_down_write(&mem_hotplug_lock)``.
``__add_pages`` validates the altmap, resets ``altmap->alloc`` and adds the memory: whole
sections up to v5.2 (-EEXIST for a section that already has a memmap is ignored), 2 MiB
sub-sections since v5.3 (``check_pfn_span``; any error stops). ``move_pfn_range_to_zone``
grows the zone and node spans — under ``pgdat_resize_lock`` and the zone span seqlock
until v5.15 — and then runs ``memmap_init_zone(MEMMAP_HOTPLUG)`` with only
``mem_hotplug_lock`` held; since v5.12 it taints the sections of an unaligned start or end
of a ZONE_DEVICE range (SECTION_TAINT_ZONE_DEVICE).
"""

from __future__ import annotations

from collections.abc import Callable

from memmapsim.effects import (
    Acquire,
    Gen,
    InitCurrentlyEmptyZone,
    Printk,
    ReadAltmap,
    ReadPage,
    ReadSections,
    Release,
    ResizePgdatRange,
    ResizeZoneRange,
    SetAltmap,
    SetSections,
    SetZoneContiguous,
    ShrinkZoneSpan,
    Step,
    UpdateEndOfMemoryVars,
)
from memmapsim.kernel.errno import EINVAL
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.page_alloc import MEMMAP_HOTPLUG, memmap_init_zone
from memmapsim.kernel.sparse import (
    add_sections_whole,
    page_init_poison,
    section_deactivate,
    sparse_add_section,
    sparse_remove_one_section,
)
from memmapsim.model.locks import (
    CPU_HOTPLUG_LOCK,
    MEM_HOTPLUG_LOCK,
    PGDAT_RESIZE_LOCK,
    ZONE_SPAN_SEQLOCK,
    Mode,
    instance,
)
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.periodic import Sharing
from memmapsim.model.pgmap import AltmapConfig
from memmapsim.model.section import SectionFlag, SectionState
from memmapsim.units import (
    PAGE_SHIFT,
    PAGES_PER_SECTION,
    PAGES_PER_SUBSECTION,
    SECTION_ALIGN_UP,
    pfn_to_section_nr,
)


def mem_hotplug_begin() -> Gen[None]:
    yield Acquire(CPU_HOTPLUG_LOCK, Mode.READ)
    yield Acquire(MEM_HOTPLUG_LOCK, Mode.WRITE)


def mem_hotplug_done() -> Gen[None]:
    yield Release(MEM_HOTPLUG_LOCK, Mode.WRITE)
    yield Release(CPU_HOTPLUG_LOCK, Mode.READ)


def altmap_check(k: Kernel, start_pfn: int, nr_pages: int, altmap: int | None) -> Gen[int]:
    """``__add_pages``' altmap check ("memory add fail, invalid altmap", ``pr_warn_once``,
    -EINVAL) and ``altmap->alloc = 0`` (``align`` is not reset)."""
    if altmap is None:
        return 0
    cfg, _alloc, align = yield ReadAltmap(altmap)
    if cfg.base_pfn != start_pfn or cfg.offset() > nr_pages:
        yield Printk("warning", "memory add fail, invalid altmap")
        return -EINVAL
    yield SetAltmap(altmap, 0, align)
    return 0


def add_pages_by_section(
    k: Kernel,
    nid: int,
    start_pfn: int,
    nr_pages: int,
    altmap: int | None,
    sharing: Sharing | None = None,
) -> Gen[int]:
    """``__add_pages`` (v4.18-v5.2), ``altmap`` being the pgmap whose vmem_altmap holds the
    memmap: the altmap check, then whole sections (``__add_section``, -EEXIST ignored)."""
    err = yield from altmap_check(k, start_pfn, nr_pages, altmap)
    if err:
        return int(err)
    ret: int = yield from add_sections_whole(k, nid, start_pfn, nr_pages, altmap)
    return ret


def check_pfn_span(k: Kernel, pfn: int, nr_pages: int, reason: str) -> Gen[int]:
    """``check_pfn_span`` (v5.3+): both ends aligned to a 2 MiB subsection, else a WARN —
    "Misaligned __%s_pages start: %#lx end: #%lx" (the stray ``#`` is fixed in v6.6; since
    v6.0 the callers print it) — and -EINVAL."""
    if pfn % PAGES_PER_SUBSECTION or nr_pages % PAGES_PER_SUBSECTION:
        hash_ = "" if k.p.misaligned_message_fixed else "#"
        end = pfn + nr_pages - 1
        yield Printk("warning", f"Misaligned __{reason}_pages start: {pfn:#x} end: {hash_}{end:#x}")
        return -EINVAL
    return 0


def add_pages_by_subsection(
    k: Kernel,
    nid: int,
    start_pfn: int,
    nr_pages: int,
    altmap: int | None,
    sharing: Sharing | None = None,
) -> Gen[int]:
    """``__add_pages`` (v5.3+): the altmap check, ``check_pfn_span``, then per section the
    part of the range in it (``sparse_add_section``); any error stops the loop. Sections
    the range covers whole, in the same state, are added with one set of effects."""
    err = yield from altmap_check(k, start_pfn, nr_pages, altmap)
    if err:
        return int(err)
    err = yield from check_pfn_span(k, start_pfn, nr_pages, "add")
    if err:
        return int(err)
    pfn, end = start_pfn, start_pfn + nr_pages
    while pfn < end:
        chunk_end = min(end, SECTION_ALIGN_UP(pfn + 1))
        if chunk_end - pfn == PAGES_PER_SECTION and end - pfn > PAGES_PER_SECTION:
            # a run of whole sections in one state: the same effects, section by section
            runs = yield ReadSections(pfn_to_section_nr(pfn), pfn_to_section_nr(end))
            chunk_end = runs[0][1] * PAGES_PER_SECTION
        err = yield from sparse_add_section(k, nid, pfn, chunk_end - pfn, altmap, sharing)
        if err:
            return int(err)
        pfn = chunk_end
    return 0


def add_pages(
    k: Kernel,
    nid: int,
    start_pfn: int,
    nr_pages: int,
    altmap: int | None,
    sharing: Sharing | None = None,
) -> Gen[int]:
    """x86_64 ``add_pages``: ``__add_pages``, ``WARN_ON_ONCE(ret)``, then
    ``update_end_of_memory_vars`` (max_pfn, high_memory), whatever the result."""
    ret = yield from k.paths.add_pages_impl(k, nid, start_pfn, nr_pages, altmap, sharing)
    if ret:
        # WARN_ON_ONCE(ret): a backtrace headed by the source location, no message.
        yield Printk("warning", "WARNING: at arch/x86/mm/init_64.c add_pages()")
    if not k.p.add_pages_skips_end_vars:  # v7.0: not for a pgmap (every caller here is one)
        yield UpdateEndOfMemoryVars(start_pfn, nr_pages)
    return int(ret)


def arch_add_memory(
    k: Kernel, nid: int, start: int, size: int, altmap: int | None, sharing: Sharing | None = None
) -> Gen[int]:
    """x86_64 ``arch_add_memory``: ``init_memory_mapping`` (direct map), then ``add_pages``
    (``altmap``: the pgmap whose vmem_altmap holds the memmap, if any)."""
    yield Step("init_memory_mapping", f"{start:#x}-{start + size:#x}")
    ret: int = yield from add_pages(
        k, nid, start >> PAGE_SHIFT, size >> PAGE_SHIFT, altmap, sharing
    )
    return ret


def move_pfn_range_to_zone(
    k: Kernel,
    nid: int,
    zone: ZoneType,
    start_pfn: int,
    nr_pages: int,
    altmap: AltmapConfig | None,
    init: Callable[[], Gen[None]] | None = None,
) -> Gen[None]:
    """``move_pfn_range_to_zone(zone, start_pfn, nr_pages, altmap[, migratetype])``.

    v4.13-v4.20: ``init_currently_empty_zone`` if the zone is empty, then the spans grow
    under ``pgdat_resize_lock`` + the zone span seqlock; since v5.0 the empty-zone init is
    inside those locks; the locks are gone by v5.15 (only ``mem_hotplug_lock``). Since
    v5.12 a ZONE_DEVICE range taints the sections of an unaligned start and end. Then
    ``memmap_init_zone(MEMMAP_HOTPLUG)`` (``memmap_init_range`` in v5.11+) and
    ``set_zone_contiguous``. ``init`` replaces the ZONE_DEVICE form of the memmap init
    (System RAM's, with its migratetype and PageOffline: kernel/memory_hotplug_ram.py)."""
    yield SetZoneContiguous(nid, zone, clear=True)
    locked = k.p.resize_locks
    resize_lock = instance(PGDAT_RESIZE_LOCK, nid)
    span_lock = instance(ZONE_SPAN_SEQLOCK, f"{nid}:{zone.name}")
    if not k.p.init_empty_zone_locked:
        yield InitCurrentlyEmptyZone(nid, zone, start_pfn, nr_pages)
    if locked:
        yield Acquire(resize_lock)
        yield Acquire(span_lock)
    if k.p.init_empty_zone_locked:
        yield InitCurrentlyEmptyZone(nid, zone, start_pfn, nr_pages)
    yield ResizeZoneRange(nid, zone, start_pfn, nr_pages)
    if locked:
        yield Release(span_lock)
    yield ResizePgdatRange(nid, start_pfn, nr_pages)
    if locked:
        yield Release(resize_lock)
    if k.p.taint_zone_device and zone == ZoneType.ZONE_DEVICE:
        # v5.12: "section_taint_zone_device" for an unaligned start, and for an unaligned end
        for pfn in (start_pfn, start_pfn + nr_pages):
            if pfn % PAGES_PER_SECTION:
                sec = pfn_to_section_nr(pfn)
                ((_lo, _hi, state),) = yield ReadSections(sec, sec + 1)
                flags = state.flags | SectionFlag.TAINT_ZONE_DEVICE
                tainted = SectionState(flags, state.nid, state.subsection_map, state.usage)
                yield SetSections(sec, sec + 1, tainted)
    # "TODO now we have a visible range of pages which are not associated with their
    # zone properly. [...] All the pages in the range are reserved so nobody should be
    # touching them so we should be safe"
    if init is not None:
        yield from init()
    else:
        yield from memmap_init_zone(k, nr_pages, nid, zone, start_pfn, MEMMAP_HOTPLUG, altmap)
    yield SetZoneContiguous(nid, zone)


# --- removal -----------------------------------------------------------------------------------
def remove_pfn_range_from_zone(
    k: Kernel, nid: int, zone: ZoneType, start_pfn: int, nr_pages: int
) -> Gen[None]:
    """``remove_pfn_range_from_zone`` (v5.7+): poison the memmap of the whole range ("now
    uninitialized again"), then — not for ZONE_DEVICE — shrink the spans."""
    yield from page_init_poison(k, "remove_pfn_range_from_zone", start_pfn, start_pfn + nr_pages)


def __remove_zone(k: Kernel, nid: int, zone: ZoneType, start_pfn: int, nr_pages: int) -> Gen[None]:
    """``__remove_zone`` → ``shrink_zone_span`` / ``shrink_pgdat_span`` (up to v5.3; v5.4
    returns at once for ZONE_DEVICE): the "only holes?" walk starts from the zone's old
    start and reads ``page_zone`` of the first pfn of the first valid section — the
    section being removed, when it starts the zone (with an altmap, a reserve pfn that was
    never initialized). The spans are then recomputed from the valid sections left."""
    if not k.p.shrink_zone_device:
        return
    yield ReadPage(start_pfn, "shrink_zone_span")
    yield ShrinkZoneSpan(nid, zone, start_pfn, nr_pages)


def __remove_pages(
    k: Kernel,
    nid: int,
    zone: ZoneType,
    start_pfn: int,
    nr_pages: int,
    altmap: int | None,
) -> Gen[None]:
    """``__remove_pages`` for the ZONE_DEVICE range ``[start_pfn, +nr_pages)``: per section
    ``__remove_section`` → ``__remove_zone`` (spans, up to v5.3) → ``sparse_remove_one_section``
    (whole sections up to v5.2) or ``sparse_remove_section`` → ``section_deactivate``
    (v5.3+, after ``check_pfn_span``)."""
    yield SetZoneContiguous(nid, zone, clear=True)
    if not k.p.subsections:
        lo_sec = pfn_to_section_nr(start_pfn)
        hi_sec = pfn_to_section_nr(start_pfn + nr_pages - 1) + 1
        yield from __remove_zone(k, nid, zone, start_pfn, nr_pages)
        yield from sparse_remove_one_section(k, lo_sec, hi_sec, altmap)
    else:
        err = yield from check_pfn_span(k, start_pfn, nr_pages, "remove")
        if err:
            return
        yield from __remove_zone(k, nid, zone, start_pfn, nr_pages)
        pfn, end = start_pfn, start_pfn + nr_pages
        while pfn < end:
            chunk_end = min(end, SECTION_ALIGN_UP(pfn + 1))
            yield from section_deactivate(k, pfn, chunk_end - pfn, altmap)
            pfn = chunk_end
    yield SetZoneContiguous(nid, zone)


def arch_remove_memory(
    k: Kernel, nid: int, start: int, size: int, altmap: AltmapConfig | None, owner: int | None
) -> Gen[None]:
    """x86 ``arch_remove_memory``: up to v5.3 the zone is read from the struct page at the
    start plus ``vmem_altmap_offset`` (the first data pfn); then ``__remove_pages`` and
    ``kernel_physical_mapping_remove``."""
    start_pfn, nr_pages = start >> PAGE_SHIFT, size >> PAGE_SHIFT
    if k.p.arch_remove_reads_zone:
        offset = altmap.offset() if altmap is not None else 0
        yield ReadPage(start_pfn + offset, "arch_remove_memory")
    yield from __remove_pages(k, nid, ZoneType.ZONE_DEVICE, start_pfn, nr_pages, owner)
    yield Step("kernel_physical_mapping_remove")
