"""mm/page_alloc.c (mm/mm_init.c from v6.4): the boot-time memmap, v4.14 to v7.1.

- ``free_area_init_nodes`` (``free_area_init`` from v5.8): node and zone spans, the struct
  pages of unavailable ranges, and ``memmap_init`` EARLY of every zone up to the node's first
  deferred pfn (:func:`free_area_init`);
- ``reserve_bootmem_region`` and ``memblock_free_all`` (``free_all_bootmem`` up to v4.19): the
  reserved pages marked PG_reserved, the other pages below the deferred part given to the
  buddy allocator (:func:`memblock_free_all`);
- ``page_alloc_init_late``: one ``pgdatinit%d`` thread per node runs ``deferred_init_memmap``
  (:func:`page_alloc_init_late`), with padata helpers from v5.8 (:mod:`.padata`).

The per-pfn loops are range effects: a loop over a range of pfns in one state is one
:class:`~memmapsim.effects.InitPages`, a loop that initialises and frees chunk by chunk one
periodic program (:mod:`.buddy`), so the cost of a run does not depend on the memory size.

Trees and lines: docs/kernel-notes/boot-hotplug.md §1-§12 (4.14.0, 4.18.0, 4.20.0, 5.3.0,
5.7.6, 5.8.1, 6.1, 6.6.0, 6.12.0, 7.1.3); each function names the lines it follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import msgspec

from memmapsim.effects import (
    Acquire,
    AdjustPageCounts,
    Gen,
    InitCurrentlyEmptyZone,
    InitPages,
    Jiffies,
    Join,
    PageOp,
    PageWork,
    Printk,
    ReadDeferredPfn,
    ReadMemblock,
    Release,
    ResizePgdatRange,
    ResizeZoneRange,
    SetDeferredPfn,
    Spawn,
    ThreadSpec,
    WorkKind,
)
from memmapsim.kernel import buddy
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memblock import free_ranges, mem_pfn_ranges, reserved_memory_within
from memmapsim.kernel.padata import PadataJob, padata_do_multithreaded
from memmapsim.kernel.page_alloc import init_single_page, set_page_reserved
from memmapsim.model.locks import PGDAT_RESIZE_LOCK, instance
from memmapsim.model.memblock import MemblockSnapshot
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import MAX_NR_ZONES, ZoneType
from memmapsim.model.structpage import SELF_LRU, Word, fill, store
from memmapsim.units import (
    PAGE_SHIFT,
    PAGEBLOCK_NR_PAGES,
    PAGES_PER_SECTION,
    SECTION_ALIGN_UP,
    pfn_to_section_nr,
    section_nr_to_pfn,
)

MAX_DMA_PFN = (16 << 20) >> PAGE_SHIFT
"""x86_64 ZONE_DMA ends at 16 MiB."""
MAX_DMA32_PFN = 1 << (32 - PAGE_SHIFT)
"""ZONE_DMA32 ends at 4 GiB."""
ZONE_NAMES = {
    ZoneType.ZONE_DMA: "DMA",
    ZoneType.ZONE_DMA32: "DMA32",
    ZoneType.ZONE_NORMAL: "Normal",
}


# --- the layout of nodes and zones ------------------------------------------------------------
class NodeLayout(msgspec.Struct, frozen=True):
    """A node as ``free_area_init_node`` sets it up: its span, the spans of its zones (ZONE_DMA,
    ZONE_DMA32, ZONE_NORMAL; empty ones left out) and its memory, as pfn ranges."""

    nid: int
    start_pfn: int
    end_pfn: int
    zones: tuple[tuple[ZoneType, int, int], ...]
    memory: tuple[tuple[int, int], ...]

    @property
    def highest_zone(self) -> tuple[ZoneType, int, int] | None:
        return self.zones[-1] if self.zones else None

    def zone_of(self, pfn: int) -> ZoneType | None:
        for z, lo, hi in self.zones:
            if lo <= pfn < hi:
                return z
        return None

    def present(self, lo: int, hi: int) -> int:
        return sum(max(0, min(hi, b) - max(lo, a)) for a, b in self.memory)


def node_layouts(snap: MemblockSnapshot, max_pfn: int) -> list[NodeLayout]:
    """``free_area_init_nodes(max_zone_pfn)`` with x86_64's zone limits (16 MiB, 4 GiB,
    ``max_pfn``): each node's span is its memory's hull, each zone's span the intersection of
    the zone's limits with it (``zone_spanned_pages_in_node``)."""
    limits = (
        (ZoneType.ZONE_DMA, 0, MAX_DMA_PFN),
        (ZoneType.ZONE_DMA32, MAX_DMA_PFN, MAX_DMA32_PFN),
        (ZoneType.ZONE_NORMAL, MAX_DMA32_PFN, max(max_pfn, MAX_DMA32_PFN)),
    )
    out = []
    for nid in sorted({n for _lo, _hi, n in mem_pfn_ranges(snap)}):
        mem = tuple((lo, hi) for lo, hi, _n in mem_pfn_ranges(snap, nid))
        start, end = mem[0][0], mem[-1][1]
        zones = tuple(
            (z, max(lo, start), min(hi, end))
            for z, lo, hi in limits
            if max(lo, start) < min(hi, end)
        )
        out.append(NodeLayout(nid, start, end, zones, mem))
    return out


def valid_sections(snap: MemblockSnapshot) -> list[tuple[int, int]]:
    """Runs of section numbers that have a memmap at boot (``memory_present`` marks every
    section holding memory; ``sparse_init`` gives each a memmap), as pfn ranges."""
    secs: list[tuple[int, int]] = []
    for lo, hi, _n in mem_pfn_ranges(snap):
        a, b = pfn_to_section_nr(lo), pfn_to_section_nr(hi - 1) + 1
        if secs and a <= secs[-1][1]:
            secs[-1] = (secs[-1][0], max(b, secs[-1][1]))
        else:
            secs.append((a, b))
    return [(section_nr_to_pfn(a), section_nr_to_pfn(b)) for a, b in secs]


def clip(ranges: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo), min(b, hi)) for a, b in ranges if max(a, lo) < min(b, hi)]


def subtract(ranges: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = list(ranges)
    for c0, c1 in cut:
        nxt = []
        for a, b in out:
            if c1 <= a or b <= c0:
                nxt.append((a, b))
                continue
            if a < c0:
                nxt.append((a, c0))
            if c1 < b:
                nxt.append((c1, b))
        out = nxt
    return out


# --- per-page work ----------------------------------------------------------------------------
def init_ops(k: Kernel, zone: int, nid: int) -> tuple[PageOp, ...]:
    """``__init_single_page`` for boot and hot-plugged RAM, priced in two parts because the
    published boot figures separate them: ``mm_zero_struct_page`` (none in v4.14, whose
    memmap was zeroed when allocated; a memset in v4.15-v5.1; 8-byte stores from v5.2,
    5470dea49f53) and the field stores (``set_page_links``, refcount 1, mapcount -1, cpupid,
    ``INIT_LIST_HEAD(&page->lru)``). The writes are those of ZONE_DEVICE's
    :func:`~memmapsim.kernel.page_alloc.init_single_page`."""
    full = init_single_page(k.layout, zone, nid)  # type: ignore[arg-type]
    zero, fields = full.writes[:8], full.writes[8:]
    ops: list[PageOp] = []
    if k.p.init_zero == "memset":
        ops.append(PageOp("mm_zero_struct_page", "zero_struct_page_memset", zero))
    elif k.p.init_zero == "stores":
        ops.append(PageOp("mm_zero_struct_page", "zero_struct_page_stores", zero))
    ops.append(PageOp("__init_single_page", "init_page_fields", fields))
    return tuple(ops)


def meminit_pfn_in_nid_op() -> PageOp:
    """``meminit_pfn_in_nid``: which node a pfn is on, looked up in memblock for every pfn of
    deferred init (v4.14-v5.1)."""
    return PageOp("meminit_pfn_in_nid", "meminit_pfn_in_nid")


def init_work(
    k: Kernel,
    fn: str,
    zone: int,
    nid: int,
    *,
    pageblock: MigrateType | None = MigrateType.MIGRATE_MOVABLE,
    nid_lookup: bool = False,
    reserved: bool = False,
) -> PageWork:
    ops = init_ops(k, zone, nid)
    if nid_lookup and k.p.meminit_pfn_in_nid:
        ops = (meminit_pfn_in_nid_op(), *ops)
    if reserved:
        ops = (*ops, set_page_reserved(k.layout, atomic=False))
    return PageWork(fn, ops, pageblock=pageblock, resched_every=PAGEBLOCK_NR_PAGES)


def zero_work(fn: str) -> PageWork:
    """``mm_zero_struct_page`` of a struct page nobody initialises (v4.18-v5.6 unavailable
    ranges): zeroes, no init pass."""
    return PageWork(fn, (PageOp("mm_zero_struct_page", "zero_struct_page_memset", fill(0)),),
                    kind=WorkKind.ZERO)  # fmt: skip


# --- memmap_init (EARLY) ----------------------------------------------------------------------
def early_walk(
    k: Kernel, snap: MemblockSnapshot, valid: list[tuple[int, int]], lo: int, hi: int
) -> list[tuple[int, int]]:
    """The pfns of ``[lo, hi)`` that ``memmap_init_zone`` (up to v5.7) visits: every pfn of a
    section with a memmap (``early_pfn_valid``; up to v5.7 holes inside such a section
    included). v4.14 jumps from an invalid pfn to the next memblock region
    (``memblock_next_valid_pfn``), skipping the start of a valid section before it."""
    pieces = clip(valid, lo, hi)
    if k.p.early_skip == "per-pfn" or not pieces:
        return pieces
    starts = [a for a, _b, _n in mem_pfn_ranges(snap)]
    out: list[tuple[int, int]] = []
    pfn = lo
    for a, b in pieces:
        if a > pfn:  # pfn .. a is invalid: jump to the next region at or after the first one
            nxt = next((s for s in starts if s > pfn), hi)
            a = max(a, nxt)
        if a < b:
            out.append((a, b))
        pfn = b
    return out


def deferred_point(visited: list[tuple[int, int]], threshold: int) -> int | None:
    """``update_defer_init`` / ``defer_init`` over the pfns visited in order: the first
    section-aligned pfn at which the count of pfns visited (that one included) exceeds
    ``threshold``."""
    count = 0
    for a, b in visited:
        p = SECTION_ALIGN_UP(a + max(0, threshold - count))
        if p < b:
            return p
        count += b - a
    return None


def static_init(k: Kernel, snap: MemblockSnapshot, node: NodeLayout) -> int:
    """How many pfns of the deferred zone are initialised early (see ``Params.static_init``).
    v4.14's ``reset_deferred_meminit`` passes pfns where ``memblock_reserved_memory_within``
    expects addresses and adds the bytes it returns to a page count (H14@mm/page_alloc.c:
    293-316; fixed in 4.14.y by the ``static_init_pgcnt`` rename)."""
    spanned = node.end_pfn - node.start_pfn
    if k.p.static_init == "2g-or-256th":
        max_initialise = max(2 << (30 - PAGE_SHIFT), spanned >> 8)
        start = node.start_pfn
        max_initialise += reserved_memory_within(snap, start, start + max_initialise)
        return min(max_initialise, spanned)
    if k.p.static_init == "section-or-span":
        return min(PAGES_PER_SECTION, spanned)
    return PAGES_PER_SECTION


class EarlyPlan(msgspec.Struct):
    """What ``memmap_init`` EARLY does on one node: the ranges it initialises per zone, and
    where the deferred part begins."""

    inits: list[tuple[ZoneType, int, int]]
    first_deferred_pfn: int | None


def plan_early(k: Kernel, snap: MemblockSnapshot, node: NodeLayout, deferred: bool) -> EarlyPlan:
    """Which pfns ``memmap_init`` initialises on ``node`` before deferring, per version's walk
    (``Params.memmap_init_walk``) and deferral rule (``Params.static_init``)."""
    valid = valid_sections(snap)
    inits: list[tuple[ZoneType, int, int]] = []
    first: int | None = None
    mem = list(node.memory)
    for z, zlo, zhi in node.zones:
        if k.p.memmap_init_walk == "zone":
            walks = [(early_walk(k, snap, valid, zlo, zhi), zhi)]
            threshold = static_init(k, snap, node)
        elif k.p.memmap_init_walk == "range-end":
            # v5.8: memmap_init_zone per memblock range; defer_init gets the range's end
            walks = [([(a, b)], b) for a, b in clip(mem, zlo, zhi)]
            threshold = PAGES_PER_SECTION
        else:
            # v5.12: memmap_init_range per range with the zone's end; the count goes on
            walks = [(clip(mem, zlo, zhi), zhi)]
            threshold = PAGES_PER_SECTION
        for visited, end in walks:
            stop = None
            if deferred and end >= node.end_pfn and first is None:
                stop = deferred_point(visited, threshold)
            if stop is not None:
                first = stop
                visited = clip(visited, 0, stop)
            inits += [(z, a, b) for a, b in visited]
    return EarlyPlan(inits, first)


def memmap_init_zone_tail(k: Kernel, zone: ZoneType, nid: int, zone_end: int) -> Gen[None]:
    """v4.20's loop at the end of ``memmap_init_zone`` (2830bf6f05fb): the pfns from the
    zone's end to its section's end get a plain ``__init_single_page`` with this zone and
    node (no PG_reserved, no migratetype), whether the loop above ran to the end or stopped
    for deferral (A20@mm/page_alloc.c:5545-5556)."""
    tail = SECTION_ALIGN_UP(zone_end)
    if tail > zone_end:
        work = init_work(k, "memmap_init_zone (section tail)", zone, nid, pageblock=None)
        yield InitPages(zone_end, tail, work)


# --- unavailable ranges -----------------------------------------------------------------------
def _valid_pageblocks(valid: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """The pfns of ``[lo, hi)`` whose pageblock starts in a section with a memmap
    (``pfn_valid(ALIGN_DOWN(pfn, pageblock_nr_pages))``: a pageblock lies in one section)."""
    return clip(valid, lo, hi)


def intersect(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted((max(a, c), min(b, d)) for a, b in xs for c, d in ys if max(a, c) < min(b, d))


def gaps(snap: MemblockSnapshot, end: int) -> list[tuple[int, int]]:
    """The pfns between memblock memory regions, and from the last one to ``end``
    (``PFN_DOWN(next)`` to ``PFN_UP(start)``)."""
    out, nxt = [], 0
    for r in snap.memory:
        if nxt < r.base:
            out.append((nxt >> PAGE_SHIFT, -(-r.base >> PAGE_SHIFT)))
        nxt = r.end
    out.append((nxt >> PAGE_SHIFT, end))
    return [(a, b) for a, b in out if a < b]


def unavailable_early(k: Kernel, snap: MemblockSnapshot, max_pfn: int) -> Gen[None]:
    """The struct pages of pfns in no memblock memory, before the nodes are set up (up to
    v5.11): v4.18 ``zero_resv_unavail`` zeroes reserved-but-not-memory pfns ("Reserved but
    unavailable: %lld pages", R18@mm/page_alloc.c:6479-6508); v4.20 zeroes every gap up to
    ``max_pfn`` ("Zeroed struct page in unavailable ranges: %lld pages",
    A20@mm/page_alloc.c:6527-6581); v5.7 ``init_unavailable_mem`` initialises them PG_reserved
    with zone 0 and node 0 up to the last section's end (H57@mm/page_alloc.c:6993-7064)."""
    valid = valid_sections(snap)
    how = k.p.unavailable
    if how in ("none", "init-zone"):
        return
    if how == "zero-reserved":
        # for_each_resv_unavail_range: reserved but not memory, PFN_DOWN(start)..PFN_UP(end)
        resv = [(r.base >> PAGE_SHIFT, -(-r.end >> PAGE_SHIFT)) for r in snap.reserved]
        mem = [(a, b) for a, b, _n in mem_pfn_ranges(snap)]
        pieces = intersect(subtract(resv, mem), valid)
        work = zero_work("zero_resv_unavail")
    elif how == "zero-gaps":
        pieces = [p for a, b in gaps(snap, max_pfn) for p in _valid_pageblocks(valid, a, b)]
        work = zero_work("zero_resv_unavail")
    else:  # init-node0
        end = SECTION_ALIGN_UP(max_pfn)
        pieces = [p for a, b in gaps(snap, end) for p in _valid_pageblocks(valid, a, b)]
        work = init_work(k, "init_unavailable_mem", 0, 0, pageblock=None, reserved=True)
    total = 0
    for a, b in pieces:
        yield InitPages(a, b, work)
        total += b - a
    if total:
        yield Printk("info", unavailable_line(k, total))


def unavailable_line(k: Kernel, pages: int, node: int = 0, zone: int = 0) -> str:
    msg = k.p.unavailable_message
    if msg == "reserved":
        return f"Reserved but unavailable: {pages} pages"
    if msg == "zeroed":
        return f"Zeroed struct page in unavailable ranges: {pages} pages"
    name = ZONE_NAMES.get(ZoneType(zone), ZoneType(zone).name) if zone < MAX_NR_ZONES else str(zone)
    if msg == "zone":
        return f"  {name} zone: {pages} pages in unavailable ranges"
    return f"On node {node}, zone {name}: {pages} pages in unavailable ranges"


def unavailable_per_zone(k: Kernel, snap: MemblockSnapshot, nodes: list[NodeLayout]) -> Gen[None]:
    """v5.12+ ``memmap_init``: the hole before each (memblock range, zone) piece is
    initialised PG_reserved with that piece's zone and node (``init_unavailable_range``), and
    the end of the last section with the last zone and node (K61@mm/page_alloc.c:6962-7043).
    One line per hole."""
    valid = valid_sections(snap)
    by_nid = {n.nid: n for n in nodes}
    hole = 0
    zone, nid = 0, 0
    end = 0
    for lo, hi, n in mem_pfn_ranges(snap):
        for z, zlo, zhi in by_nid[n].zones:
            a, b = max(lo, zlo), min(hi, zhi)
            if a >= b:
                continue
            if hole < a:
                yield from _init_unavailable(k, valid, hole, a, int(z), n)
            hole, zone, nid = b, int(z), n
        end = hi
    yield from _init_unavailable(k, valid, hole, SECTION_ALIGN_UP(end), zone, nid)


def _init_unavailable(
    k: Kernel, valid: list[tuple[int, int]], lo: int, hi: int, zone: int, nid: int
) -> Gen[None]:
    work = init_work(k, "init_unavailable_range", zone, nid, pageblock=None, reserved=True)
    total = 0
    for a, b in _valid_pageblocks(valid, lo, hi):
        yield InitPages(a, b, work)
        total += b - a
    if total:
        yield Printk("info", unavailable_line(k, total, nid, zone))


# --- free_area_init ---------------------------------------------------------------------------
def free_area_init(k: Kernel, max_pfn: int, deferred: bool = True) -> Gen[list[NodeLayout]]:
    """``free_area_init_nodes`` / ``free_area_init``: the unavailable ranges (up to v5.11,
    before the nodes), then per node its spans, "Initmem setup node %d [mem %#018Lx-%#018Lx]"
    and ``memmap_init`` EARLY of each zone (with v4.20's section tail), then (v5.12+) the
    unavailable ranges per zone. Returns the node layouts."""
    snap = yield ReadMemblock()
    nodes = node_layouts(snap, max_pfn)
    yield from unavailable_early(k, snap, max_pfn)
    for node in nodes:
        nid = node.nid
        start, end = node.start_pfn << PAGE_SHIFT, (node.end_pfn << PAGE_SHIFT) - 1
        yield Printk("info", f"Initmem setup node {nid} [mem {start:#018x}-{end:#018x}]")
        yield ResizePgdatRange(nid, node.start_pfn, node.end_pfn - node.start_pfn)
        yield SetDeferredPfn(nid, None)
        for z, lo, hi in node.zones:
            yield InitCurrentlyEmptyZone(nid, z, lo, hi - lo)
            yield ResizeZoneRange(nid, z, lo, hi - lo)
            yield AdjustPageCounts(nid, z, present=node.present(lo, hi))
        plan = plan_early(k, snap, node, deferred)
        by_zone: dict[ZoneType, list[tuple[int, int]]] = {}
        for z, a, b in plan.inits:
            by_zone.setdefault(z, []).append((a, b))
        for z, _lo, hi in node.zones:
            work = init_work(k, "memmap_init_zone", int(z), nid)
            for a, b in by_zone.get(z, []):
                yield InitPages(a, b, work)
            if k.p.section_tail_init:
                yield from memmap_init_zone_tail(k, z, nid, hi)
        if plan.first_deferred_pfn is not None:
            yield SetDeferredPfn(nid, plan.first_deferred_pfn)
    if k.p.unavailable == "init-zone":
        yield from unavailable_per_zone(k, snap, nodes)
    return nodes


# --- reserve_bootmem_region, memblock_free_all ------------------------------------------------
def _deferred_of(firsts: dict[int, int | None], node: NodeLayout | None, pfn: int) -> bool:
    """``early_page_uninitialised(pfn)``: the pfn is at or above its node's first deferred
    pfn (a pfn in no node counts as node 0's, ``early_pfn_to_nid``'s fallback)."""
    nid = node.nid if node is not None else min(firsts)
    first = firsts.get(nid)
    return first is not None and pfn >= first


def reserve_bootmem_region(
    k: Kernel,
    lo: int,
    hi: int,
    nodes: list[NodeLayout],
    firsts: dict[int, int | None],
    valid: list[tuple[int, int]],
) -> Gen[None]:
    """``reserve_bootmem_region(start, end)`` over pfns ``[lo, hi)``: for each pfn with a
    memmap, ``init_reserved_page`` (a deferred pfn is initialised now, with the zone that
    spans it, or zone MAX_NR_ZONES if none does), ``INIT_LIST_HEAD(&page->lru)`` (up to
    v6.6), then ``SetPageReserved`` (atomic up to v4.19, ``__SetPageReserved`` from v4.20)
    (R18@mm/page_alloc.c:1224-1272, A20@…:1227-1249, S612@mm/mm_init.c:751-771)."""
    tail = []
    if k.p.reserve_lru_init:
        lru = (store(Word.LRU_NEXT, SELF_LRU), store(Word.LRU_PREV, SELF_LRU))
        tail.append(PageOp("INIT_LIST_HEAD(&page->lru)", "init_list_head", lru))
    tail.append(set_page_reserved(k.layout, k.p.reserved_atomic))
    mark = PageWork("reserve_bootmem_region", tuple(tail), kind=WorkKind.FIELDS)
    for a, b in clip(valid, lo, hi):
        spanning: list[NodeLayout | None] = [n for n in nodes if n.start_pfn < b and a < n.end_pfn]
        for node in spanning or [None]:
            x, y = (max(a, node.start_pfn), min(b, node.end_pfn)) if node else (a, b)
            first = firsts.get(node.nid if node else min(firsts))
            split = max(x, min(y, first)) if first is not None else y
            if x < split:
                yield InitPages(x, split, mark)
            for zx, zy, z in _zone_pieces(node, split, y):
                fields = init_ops(k, z, node.nid if node else min(firsts))
                work = PageWork("reserve_bootmem_region", (*fields, *tail))
                yield InitPages(zx, zy, work)


def _zone_pieces(node: NodeLayout | None, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
    """``[lo, hi)`` cut by the zones of ``node`` that span it; pfns no zone spans get zone id
    MAX_NR_ZONES (``init_reserved_page``'s loop runs off its end)."""
    pfn = lo
    zones = list(node.zones) if node else []
    while pfn < hi:
        inside = [(z, zlo, zhi) for z, zlo, zhi in zones if zlo <= pfn < zhi]
        if inside:
            z, _zlo, zhi = inside[0]
            end = min(hi, zhi)
            yield pfn, end, int(z)
        else:
            nxt = [zlo for _z, zlo, _zhi in zones if zlo > pfn]
            end = min([hi, *nxt])
            yield pfn, end, MAX_NR_ZONES
        pfn = end


def memblock_free_all(k: Kernel, nodes: list[NodeLayout]) -> Gen[None]:
    """``free_all_bootmem`` (v4.14-v4.19) / ``memblock_free_all``: ``reserve_bootmem_region``
    for every reserved region, then every free range to the buddy allocator in the largest
    aligned blocks (``__free_pages_memory``), skipping the deferred pfns
    (``memblock_free_pages``: ``early_page_uninitialised``) (H14@mm/nobootmem.c:99-191,
    A20@mm/memblock.c:1892-1985, K61@mm/memblock.c:2059-2136)."""
    snap = yield ReadMemblock()
    valid = valid_sections(snap)
    firsts: dict[int, int | None] = {}
    for node in nodes:
        firsts[node.nid] = yield ReadDeferredPfn(node.nid)
    for r in snap.reserved:
        lo, hi = r.base >> PAGE_SHIFT, -(-r.end >> PAGE_SHIFT)
        yield from reserve_bootmem_region(k, lo, hi, nodes, firsts, valid)
    by_nid = {n.nid: n for n in nodes}
    work = buddy.free_work(k, "__free_pages_memory", cold=True)
    for lo, hi, nid in free_ranges(snap):
        first = firsts.get(nid)
        end = hi if first is None else min(hi, max(lo, first))
        node = by_nid[nid]
        for z, zlo, zhi in node.zones:
            a, b = max(lo, zlo), min(end, zhi)
            if a < b:
                yield from buddy.free_range(k, a, b, work)
                yield AdjustPageCounts(nid, z, managed=b - a)


# --- deferred init ----------------------------------------------------------------------------
class BootCpus(msgspec.Struct, frozen=True):
    """The CPUs of each node (``cpumask_of_node``) and of the machine (``num_possible_cpus``)."""

    per_node: tuple[tuple[int, int], ...]

    def of(self, nid: int) -> int:
        return dict(self.per_node).get(nid, 0)

    @property
    def possible(self) -> int:
        return sum(n for _nid, n in self.per_node)


def deferred_pieces(
    snap: MemblockSnapshot, nid: int, lo: int, hi: int, walk: str
) -> list[tuple[int, int]]:
    """The pfns deferred init initialises on node ``nid`` in ``[lo, hi)``: its free ranges
    (memory minus reserved, v4.15+), or in v4.14 its memory minus the struct pages already
    written (the reserved ones ``reserve_bootmem_region`` initialised: the same pfns)."""
    if walk == "free":
        return clip([(a, b) for a, b, _n in free_ranges(snap, nid)], lo, hi)
    mem = clip([(a, b) for a, b, _n in mem_pfn_ranges(snap, nid)], lo, hi)
    resv = [(r.base >> PAGE_SHIFT, -(-r.end >> PAGE_SHIFT)) for r in snap.reserved]
    return subtract(mem, resv)


def deferred_zone(node: NodeLayout, first: int) -> tuple[ZoneType, int, int] | None:
    """ "Only the highest zone is deferred so find it": the first zone ending above ``first``."""
    for z, lo, hi in node.zones:
        if first < hi:
            return z, lo, hi
    return None


def deferred_message(k: Kernel, nid: int, pages: int, ms: int) -> Printk:
    """The line each pgdatinit thread ends with: ``"node %d initialised, %lu pages in %ums\\n"``
    (v4.14-v5.7; the pages freed in v4.14, initialised later) or ``"node %d deferred pages
    initialised in %ums\\n"`` (v5.8+)."""
    if k.p.deferred_message == "pages":
        return Printk("info", f"node {nid} initialised, {pages} pages in {ms}ms")
    return Printk("info", f"node {nid} deferred pages initialised in {ms}ms")


class DeferredWork(msgspec.Struct, frozen=True):
    """What a node's deferred init does, built once per node: the pfns it initialises (its
    free pieces from the first deferred pfn to the zone's end) and the per-page work."""

    node: NodeLayout
    zone: ZoneType
    pieces: tuple[tuple[int, int], ...]
    init: PageWork
    free: PageWork


def deferred_work(
    k: Kernel, snap: MemblockSnapshot, node: NodeLayout, zone: ZoneType, lo: int, hi: int
) -> DeferredWork:
    nid = node.nid
    pieces = tuple(deferred_pieces(snap, nid, lo, hi, k.p.deferred_walk))
    move = MigrateType.MIGRATE_MOVABLE
    how = k.p.deferred_free
    fn = "deferred_init_memmap" if how == "per-pageblock" else "deferred_init_pages"
    init = init_work(k, fn, int(zone), nid, pageblock=None, nid_lookup=True)
    free_fn = "deferred_free_range" if how == "per-pageblock" else "deferred_free_pages"
    free = buddy.free_work(k, free_fn, cold=how == "two-pass", pageblock=move)
    return DeferredWork(node, zone, pieces, init, free)


def _init_and_free(k: Kernel, w: DeferredWork, lo: int, hi: int) -> Gen[int]:
    pieces = clip(list(w.pieces), lo, hi)
    total = 0
    if k.p.deferred_free == "two-pass":
        # deferred_init_pages over every free range, then deferred_free_pages over them
        for a, b in pieces:
            yield InitPages(a, b, w.init)
            total += b - a
        for a, b in pieces:
            yield from buddy.free_range(k, a, b, w.free)
        return total
    chunk = PAGEBLOCK_NR_PAGES if k.p.deferred_free == "per-pageblock" else 1024
    for a, b in pieces:
        total += yield from buddy.init_free_range(k, a, b, w.init, w.free, chunk)
    return total


def deferred_init_chunk(k: Kernel, w: DeferredWork, lo: int, hi: int) -> Gen[int]:
    """Initialise and free the deferred pfns of ``[lo, hi)`` (the loop body of every form of
    deferred init; ``deferred_init_memmap_chunk`` from v5.8), and account them to the zone.
    Returns the pages initialised."""
    pages = yield from _init_and_free(k, w, lo, hi)
    if pages:
        yield AdjustPageCounts(w.node.nid, w.zone, managed=pages)
    return pages


def deferred_init_memmap(k: Kernel, node: NodeLayout, cpus: BootCpus, pool: list[int]) -> Gen[int]:
    """``deferred_init_memmap(pgdat)``, the body of thread ``pgdatinit%d`` (bound to the
    node's CPUs). Take and clear ``first_deferred_pfn`` (under ``pgdat_resize_lock`` from
    v4.17, released at once from 3d060856adfc, held to the end before); find the zone; then

    - v4.14: one pass over the node's memory, initialising each pageblock and freeing it
      (H14@mm/page_alloc.c:1447-1568);
    - v4.15-v5.1: initialise every free range, then free them (R18@…:1565-1628);
    - v5.2-v5.7: MAX_ORDER_NR_PAGES at a time (W53@…:1767-1819);
    - v5.8-v7.0: a padata job per free range, its end rounded up to a section
      (S58@…:1847-1921); v7.1 one job from the first deferred pfn to the zone's end
      (R71@mm/mm_init.c:2098-2156);

    and print the line (:func:`deferred_message`)."""
    nid = node.nid
    start = yield Jiffies()
    lock = instance(PGDAT_RESIZE_LOCK, nid)
    if k.p.deferred_lock != "none":
        yield Acquire(lock)
    first = yield ReadDeferredPfn(nid)
    if first is None:
        if k.p.deferred_lock != "none":
            yield Release(lock)
        return 0
    yield SetDeferredPfn(nid, None)
    if k.p.deferred_lock == "early-unlock":
        yield Release(lock)
    snap = yield ReadMemblock()
    found = deferred_zone(node, first)
    pages = 0
    if found is not None:
        zone, zlo, zhi = found
        first = max(first, zlo)
        work = deferred_work(k, snap, node, zone, first, zhi)
        if k.p.deferred_threads == "one":
            pages = yield from deferred_init_chunk(k, work, first, zhi)
        else:
            jobs = deferred_jobs(k, snap, nid, first, zhi)
            chunk = partial(deferred_init_chunk, k, work)
            for i, (lo, hi) in enumerate(jobs):
                job = PadataJob(f"{nid}.{i}", chunk, lo, hi - lo, PAGES_PER_SECTION,
                                PAGES_PER_SECTION, max(cpus.of(nid), 1))  # fmt: skip
                yield from padata_do_multithreaded(job, pool)
    if k.p.deferred_lock == "whole":
        yield Release(lock)
    now = yield Jiffies()
    yield deferred_message(k, nid, pages, k.jiffies_to_msecs(now - start))
    return 0


def deferred_jobs(
    k: Kernel, snap: MemblockSnapshot, nid: int, first: int, zone_end: int
) -> list[tuple[int, int]]:
    """The padata jobs of a node: from v5.8 one per free range, ``[spfn, ALIGN(epfn,
    PAGES_PER_SECTION))``, the next starting at the first free pfn after that; v7.1 one,
    ``[first_deferred_pfn, SECTION_ALIGN_UP(zone_end))``."""
    if k.p.deferred_threads == "padata-per-node":
        return [(first, SECTION_ALIGN_UP(zone_end))]
    jobs = []
    pos = first
    for a, b in clip([(a, b) for a, b, _n in free_ranges(snap, nid)], first, zone_end):
        if b <= pos:
            continue
        spfn = max(a, pos)
        end = SECTION_ALIGN_UP(b)
        jobs.append((spfn, end))
        pos = end
    return jobs


def pgdatinit_name(nid: int) -> str:
    return f"pgdatinit{nid}"


def page_alloc_init_late(k: Kernel, nodes: list[NodeLayout], cpus: BootCpus) -> Gen[int]:
    """``page_alloc_init_late``: start ``pgdatinit%d`` on each node with memory
    (``kthread_run``; the thread binds itself to the node's CPUs), wait for all of them
    (``pgdat_init_all_done_comp``). From v5.8 ``padata_init`` ran just before and made the
    pool of work items the helpers of every node share (``num_possible_cpus()``)."""
    pool = [cpus.possible]
    tids = []
    for node in nodes:
        spec = ThreadSpec(
            pgdatinit_name(node.nid), partial(deferred_init_memmap, k, node, cpus, pool)
        )
        tid = yield Spawn(spec, node.nid)
        tids.append(tid)
    for tid in tids:
        yield Join(tid)
    return 0
