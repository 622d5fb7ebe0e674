"""Applying effects to the memory state: the semantics every engine shares.

An engine decides *when* an effect happens (program order, simulated time, an explored
interleaving); :class:`Applier` decides *what* it does to :class:`MemoryState`, so the
final state of any engine is checked by the same invariant code. The applier is
mechanical: each effect reads or writes one kind of state, and no kernel logic (which
sections to add, how an allocator aligns, which version does what) lives here. Effects
on ranges are applied whole, in time independent of the range's size (the memmap
backend's cost is per run, not per page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from memmapsim import effects as fx
from memmapsim.model.locks import MEM_HOTPLUG_LOCK, Mode
from memmapsim.model.memmap import Step
from memmapsim.model.memory import MemoryState, UninitRead
from memmapsim.model.page import PageRecord, PageView, PassKind, PassRecord
from memmapsim.model.pgmap import DevPagemap, PercpuRef, VmemAltmap
from memmapsim.model.resource import SYSTEM_RAM, Resource, region_intersects
from memmapsim.model.section import Medium, SectionFlag
from memmapsim.units import (
    ALIGN,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    PFN_SECTION_SHIFT,
    pfn_to_section_nr,
)

PASS_KIND = {
    fx.WorkKind.INIT: PassKind.INIT,
    fx.WorkKind.PGMAP: PassKind.INIT,
    fx.WorkKind.POISON: PassKind.POISON,
    fx.WorkKind.FIELDS: None,
    fx.WorkKind.ZERO: None,
    fx.WorkKind.FREE: PassKind.FREE,
}


def pass_record(t: ThreadCtx, work: fx.PageWork) -> PassRecord | None:
    kind = PASS_KIND[work.kind]
    return None if kind is None else PassRecord(kind, work.fn, t.hotplug_locked, t.name)


class ThreadCtx(msgspec.Struct):
    """What the applier needs to know about the thread an effect comes from."""

    name: str
    held: dict[str, Mode] = msgspec.field(default_factory=dict)
    tid: int = 0
    cpu: int | None = None

    @property
    def hotplug_locked(self) -> bool:
        return self.held.get(MEM_HOTPLUG_LOCK) is Mode.WRITE


class LogLine(msgspec.Struct):
    time_ns: int
    level: str
    text: str
    thread: str


class Applier:
    """Applies effects to one :class:`MemoryState`; ``clock()`` gives the current time (ns)
    and ``hz`` the jiffies rate."""

    def __init__(self, mem: MemoryState, clock: Callable[[], int], hz: int) -> None:
        self.mem = mem
        self.clock = clock
        self.hz = hz
        self.log: list[LogLine] = []
        self._dispatch: dict[type, Callable[[ThreadCtx, Any], Any]] = {
            fx.Acquire: self._acquire,
            fx.Release: self._release,
            fx.Step: _nothing,
            fx.Jiffies: self._jiffies,
            fx.Printk: self._printk,
            fx.GetDevPagemap: self._get_dev_pagemap,
            fx.RegionIntersects: self._region_intersects,
            fx.RequestMemRegion: self._request_mem_region,
            fx.NewPgmap: self._new_pgmap,
            fx.ReadPgmap: lambda t, e: self.mem.pgmap(e.pgmap).cfg,
            fx.PgmapIndexInsert: self._index_insert,
            fx.PgmapIndexRemove: self._index_remove,
            fx.PercpuRefGet: lambda t, e: self.mem.pgmap(e.pgmap).ref.get_many(e.n),
            fx.PercpuRefPut: lambda t, e: self.mem.pgmap(e.pgmap).ref.put_many(e.n),
            fx.PercpuRefKill: lambda t, e: self.mem.pgmap(e.pgmap).ref.kill(),
            fx.ReadPage: self._read_page,
            fx.ReleaseMemRegion: self._release_mem_region,
            fx.BeginStep: _nothing,
            fx.FindPgmap: self._find_pgmap,
            fx.FreePgmap: self._free_pgmap,
            fx.ReadSections: lambda t, e: list(self.mem.sections.runs(e.lo, e.hi)),
            fx.SetSections: lambda t, e: self.mem.sections.assign(e.lo, e.hi, e.state),
            fx.PopulateMemmap: self._populate_memmap,
            fx.DepopulateMemmap: self._depopulate_memmap,
            fx.ReadAltmap: self._read_altmap,
            fx.SetAltmap: self._set_altmap,
            fx.SetPageblocks: self._set_pageblocks,
            fx.ResizeZoneRange: self._resize_zone_range,
            fx.ResizePgdatRange: self._resize_pgdat_range,
            fx.UpdateEndOfMemoryVars: self._update_end_of_memory_vars,
            fx.InitCurrentlyEmptyZone: self._init_currently_empty_zone,
            fx.SetZoneContiguous: self._set_zone_contiguous,
            fx.ShrinkZoneSpan: self._shrink_zone_span,
            fx.SetHighestMemmapPfn: self._set_highest_memmap_pfn,
            fx.InitPages: self._init_pages,
            fx.InitPagesPeriodic: self._init_pages_periodic,
            fx.ReadMemblock: lambda t, e: self.mem.memblock.snapshot(),
            fx.MemblockReserve: lambda t, e: self.mem.memblock.reserve(e.base, e.size, e.nid),
            fx.MemblockAdd: lambda t, e: self.mem.memblock.add(e.base, e.size, e.nid),
            fx.ReadDeferredPfn: lambda t, e: self.mem.pgdats[e.nid].first_deferred_pfn,
            fx.ReadMaxPfn: lambda t, e: self.mem.max_pfn,
            fx.ReadZoneSpan: self._read_zone_span,
            fx.SetDeferredPfn: self._set_deferred_pfn,
            fx.AdjustPageCounts: self._adjust_page_counts,
            fx.InsertResource: self._insert_resource,
            fx.RemoveResource: self._remove_resource,
            fx.SetMemoryBlockSize: self._set_memory_block_size,
            fx.ReadMemoryBlockSize: lambda t, e: self.mem.memory_block_size,
            fx.ReadMemoryBlocks: lambda t, e: list(self.mem.memory_blocks.runs(e.lo, e.hi)),
            fx.SetMemoryBlocks: lambda t, e: self.mem.memory_blocks.assign(e.lo, e.hi, e.state),
            fx.ReadNodeSpans: self._read_node_spans,
            fx.SetDriverBound: self._set_driver_bound,
            fx.ReadDriverBound: lambda t, e: e.dev_name in self.mem.bound,
            fx.CondResched: _nothing,
        }

    def apply(self, thread: ThreadCtx, effect: fx.Effect) -> Any:
        try:
            handler = self._dispatch[type(effect)]
        except KeyError:
            raise TypeError(f"no semantics for effect {effect!r}") from None
        return handler(thread, effect)

    # --- locks -----------------------------------------------------------------------------
    def _acquire(self, t: ThreadCtx, e: fx.Acquire) -> None:
        self.mem.locks[e.lock].take(t.name, e.mode)
        t.held[e.lock] = e.mode

    def _release(self, t: ThreadCtx, e: fx.Release) -> None:
        self.mem.locks[e.lock].drop(t.name, e.mode)
        del t.held[e.lock]

    # --- time and log ------------------------------------------------------------------------
    def _jiffies(self, t: ThreadCtx, e: fx.Jiffies) -> int:
        return self.clock() * self.hz // 1_000_000_000

    def _printk(self, t: ThreadCtx, e: fx.Printk) -> None:
        self.log.append(LogLine(self.clock(), e.level, e.text, t.name))

    # --- lookups ------------------------------------------------------------------------------
    def _get_dev_pagemap(self, t: ThreadCtx, e: fx.GetDevPagemap) -> int | None:
        """get_dev_pagemap(): index lookup + percpu_ref_tryget_live; never looks at the
        memmap (the net ref change of the probes' get/put is zero)."""
        pid = self.mem.indexes["pgmap"].lookup(e.pfn)
        if pid is None or not self.mem.pgmap(pid).ref.live:
            return None
        return pid

    def _region_intersects(self, t: ThreadCtx, e: fx.RegionIntersects) -> object:
        return region_intersects(self.mem.iomem, e.start, e.size, e.name)

    def _request_mem_region(self, t: ThreadCtx, e: fx.RequestMemRegion) -> bool:
        end = e.start + e.size - 1
        busy = [r for r in self.mem.iomem if r.name == SYSTEM_RAM] + self.mem.claims
        if e.size == 0 or any(r.overlaps(e.start, end) for r in busy):
            return False
        self.mem.claims.append(Resource(e.name, e.start, end))
        return True

    def _release_mem_region(self, t: ThreadCtx, e: fx.ReleaseMemRegion) -> None:
        end = e.start + e.size - 1
        self.mem.claims = [c for c in self.mem.claims if not (e.start <= c.start and c.end <= end)]

    # --- pgmaps -------------------------------------------------------------------------------
    def _find_pgmap(self, t: ThreadCtx, e: fx.FindPgmap) -> int | None:
        found = [pg.id for pg in self.mem.all_pgmaps() if pg.cfg.dev_name == e.dev_name]
        live = [i for i in found if not self.mem.pgmap(i).freed]
        return live[-1] if live else None

    def _free_pgmap(self, t: ThreadCtx, e: fx.FreePgmap) -> None:
        self.mem.pgmap(e.pgmap).freed = True

    def _new_pgmap(self, t: ThreadCtx, e: fx.NewPgmap) -> int:
        pid = len(self.mem.pgmaps)
        altmap = VmemAltmap(e.cfg.altmap) if e.cfg.altmap is not None else None
        self.mem.pgmaps[pid] = DevPagemap(pid, e.cfg, e.nid, PercpuRef(e.cfg.ref_name), altmap)
        return pid

    def _index_insert(self, t: ThreadCtx, e: fx.PgmapIndexInsert) -> int | None:
        """XArray stores overwrite; radix inserts fail on the first occupied slot,
        returning the id found there (the error path removes what was inserted)."""
        index = self.mem.indexes[e.index]
        if index.kind != "xarray":
            clash = index.first_entry(e.lo, e.hi)
            if clash is not None:
                return clash
        index.assign(e.lo, e.hi, e.pgmap, e.entries)
        return None

    def _index_remove(self, t: ThreadCtx, e: fx.PgmapIndexRemove) -> None:
        self.mem.indexes[e.index].assign(e.lo, e.hi, None, 0)

    def _read_page(self, t: ThreadCtx, e: fx.ReadPage) -> PageRecord:
        rec = self.mem.memmap.record(e.pfn)
        view = PageView(e.pfn, rec, self.mem.layout)
        if view.absent or view.stale or view.poisoned:
            state = "absent" if view.absent else "stale" if view.stale else "poisoned"
            self.mem.uninitialized_reads.append(UninitRead(t.name, e.pfn, e.by, state))
        return rec

    def _read_node_spans(self, t: ThreadCtx, e: fx.ReadNodeSpans) -> list[tuple[int, int, int]]:
        return [
            (nid, pg.span.start_pfn, pg.span.end_pfn) for nid, pg in sorted(self.mem.pgdats.items())
        ]

    def _set_driver_bound(self, t: ThreadCtx, e: fx.SetDriverBound) -> None:
        if e.bound:
            self.mem.bound.add(e.dev_name)
        else:
            self.mem.bound.discard(e.dev_name)

    def _populate_memmap(self, t: ThreadCtx, e: fx.PopulateMemmap) -> None:
        self.mem.vmemmap.populate(e.lo, e.hi, e.backing)
        self.mem.memmap.populate(e.lo, e.hi, e.sharing)

    def _depopulate_memmap(self, t: ThreadCtx, e: fx.DepopulateMemmap) -> None:
        self.mem.vmemmap.populate(e.lo, e.hi, None)
        self.mem.memmap.depopulate(e.lo, e.hi)

    def _read_altmap(self, t: ThreadCtx, e: fx.ReadAltmap) -> tuple[object, int, int]:
        altmap = self._altmap(e.pgmap)
        return altmap.cfg, altmap.alloc, altmap.align

    def _set_altmap(self, t: ThreadCtx, e: fx.SetAltmap) -> None:
        altmap = self._altmap(e.pgmap)
        altmap.alloc, altmap.align = e.alloc, e.align

    def _altmap(self, pgmap: int) -> VmemAltmap:
        altmap = self.mem.pgmap(pgmap).altmap
        if altmap is None:
            raise RuntimeError(f"pgmap {pgmap} has no altmap")
        return altmap

    def _set_pageblocks(self, t: ThreadCtx, e: fx.SetPageblocks) -> None:
        lo, hi = e.lo >> PAGEBLOCK_ORDER, ALIGN(e.hi, PAGEBLOCK_NR_PAGES) >> PAGEBLOCK_ORDER
        self.mem.pageblocks.assign(lo, hi, e.migratetype)

    # --- zones --------------------------------------------------------------------------------
    def _init_currently_empty_zone(self, t: ThreadCtx, e: fx.InitCurrentlyEmptyZone) -> None:
        zone = self.mem.zone(e.nid, e.zone)
        if zone.span.empty:
            zone.span.start_pfn = e.start_pfn
            zone.initialized = True

    def _resize_zone_range(self, t: ThreadCtx, e: fx.ResizeZoneRange) -> None:
        self.mem.zone(e.nid, e.zone).span.grow(e.start_pfn, e.nr_pages)

    def _resize_pgdat_range(self, t: ThreadCtx, e: fx.ResizePgdatRange) -> None:
        self.mem.pgdats[e.nid].span.grow(e.start_pfn, e.nr_pages)

    def _set_zone_contiguous(self, t: ThreadCtx, e: fx.SetZoneContiguous) -> None:
        zone = self.mem.zone(e.nid, e.zone)
        if e.clear:
            zone.contiguous = False
            return
        span = zone.span
        first = pfn_to_section_nr(span.start_pfn)
        last = pfn_to_section_nr(max(span.end_pfn - 1, span.start_pfn)) + 1
        zone.contiguous = not span.empty and all(
            s.flags & SectionFlag.IS_ONLINE for _lo, _hi, s in self.mem.sections.runs(first, last)
        )

    def _shrink_zone_span(self, t: ThreadCtx, e: fx.ShrinkZoneSpan) -> None:
        """The zone spans the device sections of the node that are left; the node spans
        its boot memory and those."""
        mem = self.mem
        zone, pgdat = mem.zone(e.nid, e.zone), mem.pgdats[e.nid]
        lo, hi = e.start_pfn, e.start_pfn + e.nr_pages
        span = pgdat.span
        first = pfn_to_section_nr(span.start_pfn)
        last = pfn_to_section_nr(max(span.end_pfn - 1, span.start_pfn)) + 1
        device: list[tuple[int, int]] = []
        node: list[tuple[int, int]] = []
        for slo, shi, sec in mem.sections.runs(first, last):
            if not sec.valid or sec.nid != e.nid:
                continue
            a, b = slo << PFN_SECTION_SHIFT, shi << PFN_SECTION_SHIFT
            for x, y in ((a, min(b, lo)), (max(a, hi), b)):
                if x >= y:
                    continue
                node.append((x, y))
                backing = mem.vmemmap.backing(x)
                if backing is not None and backing.medium is not Medium.BOOT:
                    device.append((x, y))
        for target, ranges in ((zone.span, device), (span, node)):
            if ranges:
                target.start_pfn = ranges[0][0]
                target.spanned_pages = ranges[-1][1] - ranges[0][0]
            else:
                target.start_pfn = target.spanned_pages = 0

    def _set_highest_memmap_pfn(self, t: ThreadCtx, e: fx.SetHighestMemmapPfn) -> None:
        self.mem.highest_memmap_pfn = max(self.mem.highest_memmap_pfn, e.pfn)

    def _update_end_of_memory_vars(self, t: ThreadCtx, e: fx.UpdateEndOfMemoryVars) -> None:
        self.mem.max_pfn = max(self.mem.max_pfn, e.start_pfn + e.nr_pages)

    # --- boot memory, page counts, System RAM resources ----------------------------------------
    def _read_zone_span(self, t: ThreadCtx, e: fx.ReadZoneSpan) -> tuple[int, int]:
        span = self.mem.zone(e.nid, e.zone).span
        return span.start_pfn, span.end_pfn

    def _set_deferred_pfn(self, t: ThreadCtx, e: fx.SetDeferredPfn) -> None:
        pgdat = self.mem.pgdats[e.nid]
        pgdat.first_deferred_pfn = e.pfn
        if e.pfn is not None:
            pgdat.deferred_start = e.pfn

    def _adjust_page_counts(self, t: ThreadCtx, e: fx.AdjustPageCounts) -> None:
        zone = self.mem.zone(e.nid, e.zone)
        zone.managed_pages += e.managed
        zone.present_pages += e.present

    def _insert_resource(self, t: ThreadCtx, e: fx.InsertResource) -> bool:
        end = e.start + e.size - 1
        if e.size == 0 or any(
            r.overlaps(e.start, end) for r in [*self.mem.iomem, *self.mem.claims]
        ):
            return False
        self.mem.iomem = sorted([*self.mem.iomem, Resource(e.name, e.start, end)], key=_start)
        return True

    def _remove_resource(self, t: ThreadCtx, e: fx.RemoveResource) -> None:
        self.mem.iomem = [r for r in self.mem.iomem if (r.name, r.start) != (e.name, e.start)]

    def _set_memory_block_size(self, t: ThreadCtx, e: fx.SetMemoryBlockSize) -> None:
        self.mem.memory_block_size = e.size

    # --- struct pages -----------------------------------------------------------------------
    def _init_pages_periodic(self, t: ThreadCtx, e: fx.InitPagesPeriodic) -> None:
        steps = []
        for s in e.steps:
            work = s.work
            steps.append(Step(s.lo, s.hi, work.writes, pass_record(t, work)))
        self.mem.memmap.apply_periodic(e.lo, e.hi, e.period, steps)
        blocks_per_period = max(e.period >> PAGEBLOCK_ORDER, 1)
        final = _final_pageblocks(e.steps, e.period, blocks_per_period)
        if final is not None:
            # every pageblock of a period ends with one migratetype: the range is one run
            self.mem.pageblocks.assign(e.lo >> PAGEBLOCK_ORDER, e.hi >> PAGEBLOCK_ORDER, final)
        for s in e.steps:
            work = s.work
            if work.pageblock is not None and final is None:
                for a, b in _aligned_blocks(s.lo, s.hi, e.period):
                    first, last = e.lo >> PAGEBLOCK_ORDER, e.hi >> PAGEBLOCK_ORDER
                    if b - a == blocks_per_period:
                        self.mem.pageblocks.assign(first, last, int(work.pageblock))
                        continue
                    self.mem.pageblocks.assign_periodic(
                        first, last, blocks_per_period, a, b, int(work.pageblock)
                    )
            if work.ref_gets:
                assert work.pgmap is not None
                pages = e.periods * (s.hi - s.lo)
                self.mem.pgmap(work.pgmap).ref.get_many(work.ref_gets * pages)

    def _init_pages(self, t: ThreadCtx, e: fx.InitPages) -> None:
        if e.hi <= e.lo:
            return
        work = e.work
        self.mem.memmap.apply(e.lo, e.hi, work.writes, pass_record(t, work))
        if work.pageblock is not None:
            first = ALIGN(e.lo, PAGEBLOCK_NR_PAGES) >> PAGEBLOCK_ORDER
            last = ALIGN(e.hi, PAGEBLOCK_NR_PAGES) >> PAGEBLOCK_ORDER
            if last > first:
                self.mem.pageblocks.assign(first, last, int(work.pageblock))
        if work.ref_gets:
            assert work.pgmap is not None
            self.mem.pgmap(work.pgmap).ref.get_many(work.ref_gets * e.nr_pages)


def _nothing(t: ThreadCtx, e: Any) -> None:
    return None


def _start(r: Resource) -> int:
    return r.start


def _final_pageblocks(steps: tuple[fx.CompoundStep, ...], period: int, blocks: int) -> int | None:
    """The migratetype every pageblock of a period has after ``steps`` (each step sets its
    own at the pageblocks it starts), if it is one for all of them; else None."""
    if period % PAGEBLOCK_NR_PAGES:
        return None
    last: dict[int, int] = {}
    for s in steps:
        if s.work.pageblock is None:
            continue
        for a, b in _aligned_blocks(s.lo, s.hi, period):
            for blk in range(a, b):
                last[blk] = int(s.work.pageblock)
    if len(last) == blocks and len(set(last.values())) == 1:
        return next(iter(last.values()))
    return None


def _aligned_blocks(lo: int, hi: int, period: int) -> list[tuple[int, int]]:
    """Pageblock numbers ``[a, b)`` within one period whose first pfn offset is in
    ``[lo, hi)``."""
    a = ALIGN(lo, PAGEBLOCK_NR_PAGES) >> PAGEBLOCK_ORDER
    b = ALIGN(min(hi, period), PAGEBLOCK_NR_PAGES) >> PAGEBLOCK_ORDER
    return [(a, b)] if b > a else []
