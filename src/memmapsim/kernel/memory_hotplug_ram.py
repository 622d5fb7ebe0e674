"""Hot-plugged System RAM, v4.18 to v7.1: mm/memory_hotplug.c (``add_memory``,
``online_pages``, ``offline_pages``, ``remove_memory``), drivers/base/memory.c (memory
blocks) and the ACPI memory device that adds and removes it (``acpi_memhotplug``).

- **add**: ``add_memory`` → ``register_memory_resource`` ("System RAM") →
  ``add_memory_resource``: the range must be memory-block aligned ("Block size [%#lx]
  unaligned hotplug range: start %#llx, size %#llx"), then under ``mem_hotplug_lock``
  ``arch_add_memory`` (sections and their memmap — poisoned with CONFIG_DEBUG_VM, never
  initialised — in node RAM, or with ``memory_hotplug.memmap_on_memory`` in the first pfns
  of each memory block), the memory block devices (offline), and, if the online policy says
  so, onlining (under that lock up to v4.19; after dropping it from v4.20, with
  ``lock_device_hotplug`` around the whole add).
- **online** (per memory block): ``mhp_init_memmap_on_memory`` for the pages that host the
  block's memmap (v5.14+: initialised PG_reserved — PageOffline then cleared in v6.12 —
  MIGRATE_UNMOVABLE, ``SetPageVmemmapSelfHosted`` from v6.1, never freed), then
  ``online_pages``: ``move_pfn_range_to_zone`` (spans, ``memmap_init_zone(MEMMAP_HOTPLUG)``:
  every pfn initialised and PG_reserved — PageOffline from v6.12 — pageblocks MOVABLE, or
  ISOLATE until onlining ends from v5.10), ``online_pages_range`` (to the buddy allocator:
  page by page up to v5.0, MAX_ORDER blocks from v5.1), ``online_mem_sections``.
- **offline**: isolate, migrate (nothing to migrate here), ``__offline_isolated_pages`` (the
  free blocks leave the free lists; PG_reserved set again up to v6.0), "Offlined Pages %ld"
  (``pr_info`` up to v5.10, ``pr_debug`` from v5.12), from v5.7 ``remove_pfn_range_from_zone``
  (poison with CONFIG_DEBUG_VM).
- **remove**: blocks offline, their devices go, ``arch_remove_memory`` (sections, memmap),
  the resource released.

memmapsim onlines and offlines a run of memory blocks in the same state with one set of
effects (the kernel walks them one by one, each under ``mem_hotplug_lock``), which gives the
same final state; per block, the memmap-hosting pages of memmap_on_memory repeat with the
block, as a periodic program.

Trees and lines: docs/kernel-notes/boot-hotplug.md §2.4-2.5 (4.18.0), §3.5-3.6 (4.20.0),
§5.4-5.6 (5.3.0), §7.4 (5.7.6), §8.3 (5.8.1), §9.5-9.7 (6.1), §10.3 (6.6.0), §11.3 (6.12.0),
§12.3 (7.1.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from msgspec import structs

from memmapsim.effects import (
    Acquire,
    AdjustPageCounts,
    CompoundStep,
    Gen,
    InitPages,
    InitPagesPeriodic,
    InsertResource,
    PageOp,
    PageWork,
    PopulateMemmap,
    Printk,
    ReadMemoryBlocks,
    ReadMemoryBlockSize,
    ReadSections,
    ReadZoneSpan,
    Release,
    RemoveResource,
    SetMemoryBlocks,
    SetPageblocks,
    SetSections,
    Step,
    UpdateEndOfMemoryVars,
    WorkKind,
)
from memmapsim.kernel import buddy
from memmapsim.kernel.errno import EEXIST, EINVAL
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memory_hotplug import (
    mem_hotplug_begin,
    mem_hotplug_done,
    move_pfn_range_to_zone,
)
from memmapsim.kernel.nvdimm import Namespace
from memmapsim.kernel.page_alloc import set_page_reserved
from memmapsim.kernel.page_alloc_boot import init_ops
from memmapsim.kernel.sparse import (
    page_init_poison,
    section_deactivate,
    sparse_remove_one_section,
)
from memmapsim.model.locks import DEVICE_HOTPLUG_LOCK
from memmapsim.model.memory_block import BlockState, MemoryBlockState
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.resource import SYSTEM_RAM
from memmapsim.model.section import (
    ALL_SUBSECTIONS,
    Medium,
    MemmapBacking,
    SectionFlag,
    SectionState,
)
from memmapsim.model.structpage import (
    LIST_POISON1,
    LIST_POISON2,
    MAPCOUNT_MASK,
    Word,
    Write,
    clear_bits,
    set_bits,
    store,
)
from memmapsim.units import (
    PAGE_SHIFT,
    PAGES_PER_SECTION,
    STRUCT_PAGE_SIZE,
    pfn_to_section_nr,
    resource_str_R,
)

MMOP_ZONES = {"online_kernel": ZoneType.ZONE_NORMAL, "online_movable": ZoneType.ZONE_MOVABLE}


# --- per-page work ----------------------------------------------------------------------------
def hotplug_init_work(
    k: Kernel, fn: str, zone: ZoneType, nid: int, migratetype: MigrateType
) -> PageWork:
    """``memmap_init_zone(MEMMAP_HOTPLUG)`` / ``memmap_init_range(MEMINIT_HOTPLUG)`` for System
    RAM: ``__init_single_page``, then PG_reserved (atomic in v4.18, ``__SetPageReserved``
    from v4.20) or, from v6.12, ``__SetPageOffline``; ``migratetype`` at each pageblock."""
    ops = init_ops(k, int(zone), nid)
    if k.p.hotplug_offline_type:
        offline = Write(Word.COUNTS, MAPCOUNT_MASK, buddy.PGTY_OFFLINE << 24)
        ops = (*ops, PageOp("__SetPageOffline", "reserved_nonatomic", (offline,)))
    else:
        ops = (*ops, set_page_reserved(k.layout, k.p.reserved_atomic))
    return PageWork(fn, ops, pageblock=migratetype, resched_every=512)


def online_free_work(k: Kernel) -> PageWork:
    """``online_pages_range``'s freeing, per page of the range: up to v5.0
    ``generic_online_page`` → ``__free_reserved_page`` one page at a time (atomic
    ``ClearPageReserved``, refcount, an order-0 ``__free_pages``: each its own
    ``__free_one_page``); from v5.1 ``__free_pages_core`` on MAX_ORDER blocks."""
    core = buddy.free_pages_core_op(k, cold=True, hotplug=True)
    if k.p.online_free == "per-page":
        atomic = PageOp(
            "ClearPageReserved",
            "reserved_atomic",
            (clear_bits(Word.FLAGS, k.layout.flag("PG_reserved")),),
            atomic=True,
        )
        one = PageOp("__free_one_page", "free_one_page")
        return PageWork("__free_reserved_page", (atomic, core, one), kind=WorkKind.FREE)
    return PageWork("generic_online_page", (core,), kind=WorkKind.FREE)


def self_hosted_work(k: Kernel, zone: ZoneType, nid: int) -> PageWork:
    """``mhp_init_memmap_on_memory`` → ``move_pfn_range_to_zone(..., MIGRATE_UNMOVABLE)`` on the
    pages hosting the block's memmap; then (v6.1+) per page ``SetPageVmemmapSelfHosted``
    (PG_owner_priv_1), after ``__ClearPageOffline`` in v6.12."""
    work = hotplug_init_work(
        k, "mhp_init_memmap_on_memory", zone, nid, MigrateType.MIGRATE_UNMOVABLE
    )
    ops = list(work.ops)
    if k.p.hotplug_offline_type:
        ops.append(
            PageOp(
                "__ClearPageOffline",
                "reserved_nonatomic",
                (Write(Word.COUNTS, MAPCOUNT_MASK, MAPCOUNT_MASK),),
            )
        )
    if k.p.vmemmap_self_hosted:
        bit = set_bits(Word.FLAGS, k.layout.flag("PG_owner_priv_1"))
        ops.append(PageOp("SetPageVmemmapSelfHosted", "reserved_nonatomic", (bit,)))
    return replace(work, ops=tuple(ops))


# --- memory blocks ----------------------------------------------------------------------------
def block_pages(size: int) -> int:
    return size >> PAGE_SHIFT


def memmap_pages(block: int) -> int:
    """``memory_block_memmap_on_memory_pages()``: the pfns of a block's own memmap."""
    return block_pages(block) * STRUCT_PAGE_SIZE >> PAGE_SHIFT


def supports_memmap_on_memory(k: Kernel, size: int, block: int) -> bool:
    """Whether this add keeps its memmap on the memory (``mhp_supports_memmap_on_memory``,
    and whether ACPI asks for it): v5.14-v6.5 only an add of exactly one memory block (ACPI
    passes ``MHP_MEMMAP_ON_MEMORY`` only then); v6.6 the same, a larger add falling back to
    a memmap in RAM without a word; v6.12 an add of any number of blocks, one altmap per
    block (``create_altmaps_and_memory_blocks``). The block's memmap must be whole PMDs and
    leave whole pageblocks (true for every x86_64 block size)."""
    mode = k.p.memmap_on_memory
    if mode == "none":
        return False
    if mode == "per-block":
        return True
    return size == block


def block_runs(
    runs: list[tuple[int, int, MemoryBlockState | None]], want: BlockState
) -> Iterator[tuple[int, int, MemoryBlockState]]:
    for a, b, st in runs:
        if st is not None and st.state is want:
            yield a, b, st


# --- add --------------------------------------------------------------------------------------
def add_memory(k: Kernel, ns: Namespace) -> Gen[int]:
    """``acpi_memory_enable_device`` → ``add_memory(nid, start, size[, mhp_flags])`` for the
    ACPI memory device ``ns`` (PNP0C80): ``lock_device_hotplug`` (v4.20+),
    ``register_memory_resource``, ``add_memory_resource``."""
    if k.p.add_memory_device_lock:
        yield Acquire(DEVICE_HOTPLUG_LOCK)
    ok = yield InsertResource(SYSTEM_RAM, ns.start, ns.size)
    if not ok:
        end = ns.start + ns.size - 1
        if not k.p.subsections:  # up to v4.20 ("System RAM resource %pR cannot be added")
            text = f"System RAM resource {resource_str_R(ns.start, end)} cannot be added"
        else:  # v5.3 on
            text = f"Unable to reserve System RAM region: {ns.start:016x}->{end:016x}"
        yield Printk("debug", text)
        ret = -EEXIST
    else:
        ret = yield from add_memory_resource(k, ns)
        if ret:
            yield RemoveResource(SYSTEM_RAM, ns.start)
    if k.p.add_memory_device_lock:
        yield Release(DEVICE_HOTPLUG_LOCK)
    return ret


def add_memory_resource(k: Kernel, ns: Namespace) -> Gen[int]:
    """``add_memory_resource``: the block-size check, then under ``mem_hotplug_lock`` the
    sections and memmap (one ``arch_add_memory`` for the range, or one per block with its
    altmap), the offline memory block devices, and the policy's onlining."""
    nid, start, size = ns.nid, ns.start, ns.size
    block = yield ReadMemoryBlockSize()
    if not size or start % block or size % block:
        text = f"Block size [{block:#x}] unaligned hotplug range: start {start:#x}, size {size:#x}"
        yield Printk("err", text)
        return -EINVAL
    yield from mem_hotplug_begin()
    mom = ns.memmap == "device" and supports_memmap_on_memory(k, size, block)
    if mom:
        nv = memmap_pages(block)
        yield from arch_add_memory_self(k, nid, start, size)
    else:
        nv = 0
        ret = yield from arch_add_memory_ram(k, nid, start, size)
        if ret:
            yield from mem_hotplug_done()
            return int(ret)
    lo_id, hi_id = start // block, (start + size) // block
    yield SetMemoryBlocks(lo_id, hi_id, MemoryBlockState(nid, BlockState.OFFLINE, None, nv))
    online = ns.online if ns.online is not None else "online"
    if online != "offline" and not k.p.add_memory_device_lock:
        # v4.18: onlined under the lock add_memory_resource holds
        yield from online_memory_blocks(k, ns, _auto_type(k, online), locked=True)
    yield from mem_hotplug_done()
    if online != "offline" and k.p.add_memory_device_lock:
        yield from online_memory_blocks(k, ns, _auto_type(k, online), locked=False)
    return 0


def _auto_type(k: Kernel, online: str) -> str:
    """The online type of an add's onlining: ``memhp_auto_online`` (a bool) up to v5.6 makes
    every block ``MMOP_ONLINE_KEEP``; v5.7's ``memhp_default_online_type`` may say
    online_kernel or online_movable."""
    return online if k.p.online_type_param else "online"


def arch_add_memory_ram(k: Kernel, nid: int, start: int, size: int) -> Gen[int]:
    """x86 ``arch_add_memory`` with the memmap in node RAM: ``init_memory_mapping``, then
    ``add_pages`` (``__add_pages``: whole sections up to v5.2, sub-sections from v5.3; the
    memmap poisoned with CONFIG_DEBUG_VM) and ``update_end_of_memory_vars``."""
    yield Step("init_memory_mapping", f"{start:#x}-{start + size:#x}")
    start_pfn, nr = start >> PAGE_SHIFT, size >> PAGE_SHIFT
    ret = yield from k.paths.add_pages_impl(k, nid, start_pfn, nr, None, None)
    if ret:
        yield Printk("warning", "WARNING: at arch/x86/mm/init_64.c add_pages()")
    yield UpdateEndOfMemoryVars(start_pfn, nr)
    return int(ret)


def arch_add_memory_self(k: Kernel, nid: int, start: int, size: int) -> Gen[None]:
    """x86 ``arch_add_memory`` with ``memory_hotplug.memmap_on_memory``: each block's sections
    get their memmap from the block's altmap (``altmap_alloc_block_buf``: the block's first
    pfns), ``sparse_add_section`` poisons it (CONFIG_DEBUG_VM) — in the memory being added.
    The blocks are alike: one set of effects for all of them."""
    yield Step("init_memory_mapping", f"{start:#x}-{start + size:#x}")
    lo, hi = start >> PAGE_SHIFT, (start + size) >> PAGE_SHIFT
    lo_sec, hi_sec = pfn_to_section_nr(lo), pfn_to_section_nr(hi - 1) + 1
    yield SetPageblocks(lo, hi, int(MigrateType.MIGRATE_UNMOVABLE))  # kzalloc'ed usage
    active = SectionState(SectionFlag.NONE, nid, ALL_SUBSECTIONS, True)
    yield SetSections(lo_sec, hi_sec, active)
    yield PopulateMemmap(lo, hi, MemmapBacking(Medium.SELF, nid))
    yield from page_init_poison(k, "sparse_add_section", lo, hi)
    flags = SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP
    yield SetSections(lo_sec, hi_sec, SectionState(flags, nid, ALL_SUBSECTIONS, True))
    yield UpdateEndOfMemoryVars(lo, hi - lo)


# --- online -----------------------------------------------------------------------------------
def zone_for_pfn_range(k: Kernel, nid: int, online_type: str, lo: int, hi: int) -> Gen[ZoneType]:
    """``zone_for_pfn_range``: online_kernel → ZONE_NORMAL, online_movable → ZONE_MOVABLE;
    "online" (``MMOP_ONLINE_KEEP``) → the one of the two whose span the range intersects if
    exactly one does, else ZONE_NORMAL (``default_zone_for_pfn``, no movable_node)."""
    if online_type in MMOP_ZONES:
        return MMOP_ZONES[online_type]
    kl, kh = yield ReadZoneSpan(nid, ZoneType.ZONE_NORMAL)
    ml, mh = yield ReadZoneSpan(nid, ZoneType.ZONE_MOVABLE)
    in_kernel = kl < hi and lo < kh and kh > kl
    in_movable = ml < hi and lo < mh and mh > ml
    if in_movable and not in_kernel:
        return ZoneType.ZONE_MOVABLE
    return ZoneType.ZONE_NORMAL


def online_memory_blocks(k: Kernel, ns: Namespace, online_type: str, locked: bool) -> Gen[int]:
    """``walk_memory_blocks(..., online_memory_block)`` or a sysfs ``state`` write of each of
    ``ns``'s blocks: the offline ones go online (``device_online`` → ``memory_block_online``
    / ``memory_block_action`` → ``online_pages``). ``locked``: the caller holds
    ``mem_hotplug_lock`` (v4.18's add); otherwise ``online_pages`` takes it (v4.20+), or from
    v6.12 ``memory_block_online``."""
    block = yield ReadMemoryBlockSize()
    runs = yield ReadMemoryBlocks(ns.start // block, (ns.start + ns.size) // block)
    for a, b, st in list(block_runs(runs, BlockState.OFFLINE)):
        lo, hi = a * block_pages(block), b * block_pages(block)
        zone = yield from zone_for_pfn_range(k, st.nid, online_type, lo, hi)
        take = not locked
        if take:
            yield from mem_hotplug_begin()
        yield from online_pages(k, st.nid, zone, lo, hi, block_pages(block), st.vmemmap_pages)
        if take:
            yield from mem_hotplug_done()
        yield SetMemoryBlocks(a, b, structs.replace(st, state=BlockState.ONLINE, zone=zone))
    return 0


def online_pages(
    k: Kernel, nid: int, zone: ZoneType, lo: int, hi: int, period: int, nv: int
) -> Gen[None]:
    """``mhp_init_memmap_on_memory`` (if the blocks host their memmap: ``nv`` pfns at the start
    of each block of ``period`` pfns) and ``online_pages`` for the rest of ``[lo, hi)``."""
    isolate = k.p.online_isolate == "isolate"
    mt = MigrateType.MIGRATE_ISOLATE if isolate else MigrateType.MIGRATE_MOVABLE
    init = hotplug_init_work(k, "memmap_init_zone", zone, nid, mt)

    def memmap_init() -> Gen[None]:
        if nv:
            steps = (
                CompoundStep(0, nv, self_hosted_work(k, zone, nid)),
                CompoundStep(nv, period, init),
            )
            yield InitPagesPeriodic(lo, hi, period, steps)
        else:
            yield InitPages(lo, hi, init)

    yield from move_pfn_range_to_zone(k, nid, zone, lo, hi - lo, None, init=memmap_init)
    yield Step("memory_notify", "MEM_GOING_ONLINE")
    free = online_free_work(k)
    if nv:
        steps = [CompoundStep(nv, period, free)]
        for off, order in buddy.blocks(nv, period):
            steps.append(CompoundStep(off, off + 1, buddy.head_work(k, order)))
        yield InitPagesPeriodic(lo, hi, period, tuple(steps))
    else:
        yield from buddy.free_range(k, lo, hi, free)
    sections = pfn_to_section_nr(lo), pfn_to_section_nr(hi - 1) + 1
    runs = yield ReadSections(*sections)
    for a, b, st in runs:
        online = SectionState(st.flags | SectionFlag.IS_ONLINE, st.nid, st.subsection_map, st.usage)
        yield SetSections(a, b, online)
    usable = (hi - lo) - (hi - lo) // period * nv
    yield AdjustPageCounts(nid, zone, managed=usable, present=hi - lo)
    if isolate:  # undo_isolate_page_range
        yield from _set_pageblocks(lo, hi, period, nv, MigrateType.MIGRATE_MOVABLE)
    yield Step("memory_notify", "MEM_ONLINE")


def _set_pageblocks(lo: int, hi: int, period: int, nv: int, mt: MigrateType) -> Gen[None]:
    """``mt`` on the pageblocks of ``[lo, hi)``, past the ``nv`` memmap-hosting pfns at the
    start of each block of ``period`` pfns (their pageblocks stay MIGRATE_UNMOVABLE)."""
    if not nv:
        yield SetPageblocks(lo, hi, int(mt))
        return
    for blk in range(lo, hi, period):
        yield SetPageblocks(blk + nv, blk + period, int(mt))


# --- offline ----------------------------------------------------------------------------------
def offline_memory_blocks(k: Kernel, ns: Namespace) -> Gen[int]:
    """Every online block of ``ns`` offline (sysfs, or ACPI's ``acpi_scan_try_to_offline``
    before an eject): ``offline_pages`` for the pages past the block's own memmap, then
    ``mhp_deinit_memmap_on_memory``."""
    block = yield ReadMemoryBlockSize()
    runs = yield ReadMemoryBlocks(ns.start // block, (ns.start + ns.size) // block)
    period = block_pages(block)
    for a, b, st in list(block_runs(runs, BlockState.ONLINE)):
        lo, hi = a * period, b * period
        assert st.zone is not None
        yield from mem_hotplug_begin()
        yield from offline_pages(k, st.nid, st.zone, lo, hi, period, st.vmemmap_pages)
        yield from mem_hotplug_done()
        yield SetMemoryBlocks(a, b, structs.replace(st, state=BlockState.OFFLINE, zone=None))
    return 0


def offline_pages(
    k: Kernel, nid: int, zone: ZoneType, lo: int, hi: int, period: int, nv: int
) -> Gen[None]:
    """``offline_pages``: isolate the pageblocks, ``MEM_GOING_OFFLINE``, migrate (no page is in
    use here), ``__offline_isolated_pages`` — each free block's head leaves its free list
    (``list_del``: LIST_POISON1/2; PageBuddy cleared, ``private`` 0) and up to v6.0 every
    page is PG_reserved again — ``offline_mem_sections``, the isolation undone, the counts,
    "Offlined Pages %ld"; from v5.7 ``remove_pfn_range_from_zone`` (poison with
    CONFIG_DEBUG_VM). With memmap_on_memory, then ``mhp_deinit_memmap_on_memory`` on the
    memmap-hosting pages."""
    yield from _set_pageblocks(lo, hi, period, nv, MigrateType.MIGRATE_ISOLATE)
    yield Step("memory_notify", "MEM_GOING_OFFLINE")
    yield Step("scan_movable_pages")
    unlink = (
        store(Word.LRU_NEXT, LIST_POISON1),
        store(Word.LRU_PREV, LIST_POISON2),
        Write(Word.COUNTS, MAPCOUNT_MASK, MAPCOUNT_MASK),
        store(Word.PRIVATE, 0),
    )
    head = PageWork(
        "__offline_isolated_pages", (PageOp("del_page_from_free_list", "free_one_page", unlink),),
        kind=WorkKind.FIELDS,
    )  # fmt: skip
    per_page: tuple[PageOp, ...] = ()
    if k.p.offline_sets_reserved:
        per_page = (set_page_reserved(k.layout, atomic=True),)
    pages = PageWork("__offline_isolated_pages", per_page, kind=WorkKind.FIELDS)
    if nv:
        steps = [CompoundStep(nv, period, pages)] if per_page else []
        for off, _order in buddy.blocks(nv, period):
            steps.append(CompoundStep(off, off + 1, head))
        yield InitPagesPeriodic(lo, hi, period, tuple(steps))
    else:
        yield from buddy.for_each_head(lo, hi, lambda order: head)
        if per_page:
            yield InitPages(lo, hi, pages)
    runs = yield ReadSections(pfn_to_section_nr(lo), pfn_to_section_nr(hi - 1) + 1)
    for a, b, st in runs:
        flags = st.flags & ~SectionFlag.IS_ONLINE
        yield SetSections(a, b, SectionState(flags, st.nid, st.subsection_map, st.usage))
    yield from _set_pageblocks(lo, hi, period, nv, MigrateType.MIGRATE_MOVABLE)
    usable = (hi - lo) - (hi - lo) // period * nv
    yield AdjustPageCounts(nid, zone, managed=-usable, present=-(hi - lo))
    level = "debug" if k.p.offlined_message_debug else "info"
    yield Printk(level, f"Offlined Pages {usable}")
    if k.p.offline_shrinks:
        yield from page_init_poison(k, "remove_pfn_range_from_zone", lo, hi)
    yield Step("memory_notify", "MEM_OFFLINE")


# --- remove -----------------------------------------------------------------------------------
def remove_memory(k: Kernel, ns: Namespace) -> Gen[int]:
    """ACPI eject: the blocks offlined (``acpi_scan_try_to_offline``), then ``remove_memory``:
    ``lock_device_hotplug`` (v4.20+), the memory block devices go, under ``mem_hotplug_lock``
    ``arch_remove_memory`` (``__remove_pages``: per section ``sparse_remove_one_section`` up to
    v5.2, ``section_deactivate`` from v5.3), then the resource."""
    yield from offline_memory_blocks(k, ns)
    if k.p.add_memory_device_lock:
        yield Acquire(DEVICE_HOTPLUG_LOCK)
    block = yield ReadMemoryBlockSize()
    lo_id, hi_id = ns.start // block, (ns.start + ns.size) // block
    yield SetMemoryBlocks(lo_id, hi_id, None)
    yield from mem_hotplug_begin()
    lo, hi = ns.pfns
    lo_sec, hi_sec = pfn_to_section_nr(lo), pfn_to_section_nr(hi - 1) + 1
    if not k.p.subsections:
        yield from sparse_remove_one_section(k, lo_sec, hi_sec, None)
    else:
        for sec in range(lo_sec, hi_sec):
            base = sec * PAGES_PER_SECTION
            yield from section_deactivate(k, base, PAGES_PER_SECTION, None)
    yield Step("kernel_physical_mapping_remove")
    yield RemoveResource(SYSTEM_RAM, ns.start)
    yield from mem_hotplug_done()
    if k.p.add_memory_device_lock:
        yield Release(DEVICE_HOTPLUG_LOCK)
    return 0
