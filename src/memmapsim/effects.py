"""Effects: what a kernel code path asks of the world, one step at a time (DESIGN.md).

Kernel code paths are generator functions that *yield* effects and receive results;
they never touch memory state or time themselves. Engines interpret effects: the
in-order engine applies them in program order, the timing engine charges them on
simulated CPUs, the explorer (later) splits them into single pages and single writes.

Effects that act on many pages act on a pfn range and carry the ordered field writes of
the per-page work (:class:`PageWork`), so an engine can charge or apply the range whole,
or split it. Effects that act on many sections likewise take a range of sections.

Effects are primitive: they read or write one kind of state (section flags, an altmap's
counters, pageblock bits, struct pages). What the kernel does with them — which sections
to add, how the altmap allocator aligns, whether a usemap is zeroed — is kernel code in
``kernel/``, so an engine applies every effect the same way whatever the version.

Threads are effects too (:class:`Spawn`, :class:`AsyncSchedule`, :class:`Join`,
:class:`AsyncSynchronize`): a kernel code path creates work on a node and waits for it,
and every engine runs threads through the same driver (``engine/threads.py``). A thread
is given as a :class:`ThreadSpec`, a factory, so a run can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, TypeVar

import msgspec

from memmapsim.model.locks import Mode
from memmapsim.model.memory_block import MemoryBlockState
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.periodic import Sharing
from memmapsim.model.pgmap import PgmapConfig
from memmapsim.model.section import MemmapBacking, SectionState
from memmapsim.model.structpage import Write

T = TypeVar("T")
Gen = Generator["Effect", Any, T]
"""A kernel code path: yields effects, receives their results, returns the C return value."""


class Effect(msgspec.Struct, frozen=True):
    """Base of all effects: each is a frozen msgspec struct, which behaves as a frozen,
    slotted dataclass (fields, defaults, ``==``, ``hash``, ``repr``, ``match``) but is
    built in C: the 60-odd effect classes cost some 70 ms of every start-up as
    dataclasses, whose methods are compiled from source one by one (issue 7)."""


# --- locks ------------------------------------------------------------------------------
class Acquire(Effect, frozen=True):
    lock: str
    mode: Mode = Mode.WRITE


class Release(Effect, frozen=True):
    lock: str
    mode: Mode = Mode.WRITE


# --- steps whose state is not modelled ----------------------------------------------------
class Step(Effect, frozen=True):
    """A kernel call memmapsim names but does not model (e.g. ``track_pfn_remap``)."""

    name: str
    detail: str = ""


class BeginStep(Effect, frozen=True):
    """The root thread starts a scenario step (``memmapsim page --after`` names it)."""

    label: str


class Jiffies(Effect, frozen=True):
    """Read ``jiffies``; the result is an int."""


class Printk(Effect, frozen=True):
    """A kernel log line (``level`` as KERN_*: "err", "warning", "info", "debug")."""

    level: str
    text: str


# --- threads ----------------------------------------------------------------------------
class ThreadSpec(msgspec.Struct, frozen=True):
    """A kernel thread to be: its name and a factory for its code path. Calling ``start()``
    twice gives two identical runs, which is what makes a run replayable."""

    name: str
    start: Callable[[], Gen[int]]


class Spawn(Effect, frozen=True):
    """Start ``thread`` on a CPU of ``node`` (``work_on_cpu``, ``kthread_create_on_node``,
    ``pci_call_probe``); the result is its thread id."""

    thread: ThreadSpec
    node: int


class AsyncSchedule(Effect, frozen=True):
    """``async_schedule_domain`` / ``async_schedule_node_domain``: queue ``thread`` on the
    unbound workqueue in ``domain``. ``node`` None is NUMA_NO_NODE: the work runs in the
    worker pool of the queuing CPU's node; otherwise near ``node``. The result is its thread
    id (the async cookie)."""

    thread: ThreadSpec
    node: int | None
    domain: str


class Join(Effect, frozen=True):
    """Wait until thread ``tid`` has finished; the result is its return value."""

    tid: int


class AsyncSynchronize(Effect, frozen=True):
    """``async_synchronize_full_domain``: wait until every thread queued in ``domain`` has
    finished."""

    domain: str


THREAD_EFFECTS = (Spawn, AsyncSchedule, Join, AsyncSynchronize)


# --- reads ------------------------------------------------------------------------------
class GetDevPagemap(Effect, frozen=True):
    """``get_dev_pagemap(pfn, NULL)``: result is a pgmap id (its ref live) or None."""

    pfn: int


class RegionIntersects(Effect, frozen=True):
    """``region_intersects(start, size, flags, IORES_DESC_NONE)``; result is a Region."""

    start: int
    size: int
    name: str


# --- dev_pagemap ----------------------------------------------------------------------------
class RequestMemRegion(Effect, frozen=True):
    """``devm_request_mem_region(dev, start, size, name)``: claim a busy iomem region.
    The result is False if it overlaps System RAM or a region already claimed."""

    start: int
    size: int
    name: str


class ReleaseMemRegion(Effect, frozen=True):
    """The devres release of ``devm_request_mem_region``: the claims inside ``[start,
    start + size)`` go."""

    start: int
    size: int


class FindPgmap(Effect, frozen=True):
    """The driver's own pointer to the pgmap it mapped for device ``dev_name`` (pmem->pgmap,
    dev_dax->pgmap, ...): the id of the newest one not yet freed, or None."""

    dev_name: str


class FreePgmap(Effect, frozen=True):
    """The end of a teardown: ``percpu_ref_exit`` and the pgmap's memory freed."""

    pgmap: int


class NewPgmap(Effect, frozen=True):
    """A driver's ``struct dev_pagemap`` (its altmap and ref) comes into being; the result
    is its id, allocated by the memory model in creation order: the symbolic address
    page->pgmap tokens carry. Nothing can find it until :class:`PgmapIndexInsert`."""

    cfg: PgmapConfig
    nid: int


class ReadPgmap(Effect, frozen=True):
    """Dereference a ``struct dev_pagemap *``: the result is its :class:`PgmapConfig`."""

    pgmap: int


class PgmapIndexInsert(Effect, frozen=True):
    """Publish pgmap ``pgmap`` for pfns ``[lo, hi)`` in index ``index`` ("pgmap" is what
    get_dev_pagemap reads; "hmm_devmem" is HMM's own). ``entries`` is how many entries
    the kernel stores (radix chunks, one XArray range, one per section for HMM)."""

    index: str
    pgmap: int
    lo: int
    hi: int
    entries: int


class PgmapIndexRemove(Effect, frozen=True):
    """Error-path removal of the entries for ``[lo, hi)`` (then ``synchronize_rcu``)."""

    index: str
    lo: int
    hi: int


class PercpuRefGet(Effect, frozen=True):
    """``percpu_ref_get_many(pgmap->ref, n)`` outside a page loop."""

    pgmap: int
    n: int


class PercpuRefPut(Effect, frozen=True):
    """``percpu_ref_put_many(pgmap->ref, n)``: the pgmap references of ``n`` pages go."""

    pgmap: int
    n: int


class PercpuRefKill(Effect, frozen=True):
    """``percpu_ref_kill(pgmap->ref)``: from now on ``percpu_ref_tryget_live`` fails (so
    does ``get_dev_pagemap``); the initial reference is dropped."""

    pgmap: int


class ReadPage(Effect, frozen=True):
    """A kernel path reads struct page fields of ``pfn`` (``page_to_nid``, ``page_zone``,
    ...): the result is its :class:`~memmapsim.model.page.PageRecord`. ``by`` names the
    reading function; a read of a struct page that was never initialized is a finding.
    ``fields`` names the fields read, as the kernel spells them (keys of
    :data:`memmapsim.model.structpage.FIELDS`: ``flags``, ``compound_head``, ``mapping``,
    ``_refcount``, ...); empty means page->flags (``page_to_nid``, ``page_zone``)."""

    pfn: int
    by: str
    fields: tuple[str, ...] = ()


class ReadMaxPfn(Effect, frozen=True):
    """Read ``max_pfn`` (the highest RAM pfn + 1, raised by x86 ``add_pages``); the result
    is an int."""


class ReadNodeSpans(Effect, frozen=True):
    """Read every node's span (``node_start_pfn``, ``node_end_pfn``): the result is a list
    of ``(nid, start_pfn, end_pfn)`` in node order."""


class SetDriverBound(Effect, frozen=True):
    """The driver core binds (``driver_bound()`` after a successful probe) or unbinds
    (``device_release_driver``) the driver of device ``dev_name``: only a bound driver has
    exposed its memory to user space (a block device or a dax char device to map)."""

    dev_name: str
    bound: bool


class ReadDriverBound(Effect, frozen=True):
    """Whether device ``dev_name``'s driver is bound; the result is a bool."""

    dev_name: str


class CondResched(Effect, frozen=True):
    """``cond_resched()``: a point where the thread may give up the CPU (no state)."""


# --- sections, vmemmap, altmap -------------------------------------------------------------
class ReadSections(Effect, frozen=True):
    """Read the mem_section states of sections ``[lo, hi)``: the result is a list of
    ``(lo, hi, SectionState)`` runs."""

    lo: int
    hi: int


class SetSections(Effect, frozen=True):
    """Store ``state`` (flags, nid, memmap backing) in sections ``[lo, hi)``."""

    lo: int
    hi: int
    state: SectionState


class PopulateMemmap(Effect, frozen=True):
    """The vmemmap of pfns ``[lo, hi)`` is mapped to memory at ``backing``: their struct
    pages now exist, holding whatever that memory held (the memmap is not zeroed since
    v4.15's "mm: stop zeroing memory during allocation in vmemmap")."""

    lo: int
    hi: int
    backing: MemmapBacking
    sharing: Sharing | None = None
    """Struct pages shared within compound pages (v5.19+ vmemmap deduplication)."""


class DepopulateMemmap(Effect, frozen=True):
    """The vmemmap of pfns ``[lo, hi)`` is unmapped and its memory freed: no struct page
    exists there any more."""

    lo: int
    hi: int


class ReadAltmap(Effect, frozen=True):
    """Read a pgmap's ``struct vmem_altmap``: the result is ``(AltmapConfig, alloc, align)``."""

    pgmap: int


class SetAltmap(Effect, frozen=True):
    """Store a pgmap's altmap counters ``alloc`` and ``align``."""

    pgmap: int
    alloc: int
    align: int


class SetPageblocks(Effect, frozen=True):
    """Store ``migratetype`` (a MigrateType value, STALE_USEMAP for bits never written, or
    None: the usemap is freed) for every pageblock of pfns ``[lo, hi)``."""

    lo: int
    hi: int
    migratetype: int | None


# --- zones -----------------------------------------------------------------------------------
class ResizeZoneRange(Effect, frozen=True):
    """``resize_zone_range``: grow the zone's span to cover the range."""

    nid: int
    zone: ZoneType
    start_pfn: int
    nr_pages: int


class ResizePgdatRange(Effect, frozen=True):
    """``resize_pgdat_range``: grow the node's span to cover the range."""

    nid: int
    start_pfn: int
    nr_pages: int


class UpdateEndOfMemoryVars(Effect, frozen=True):
    """x86 ``update_end_of_memory_vars``: raise ``max_pfn`` (and high_memory) to cover the
    added range."""

    start_pfn: int
    nr_pages: int


class InitCurrentlyEmptyZone(Effect, frozen=True):
    """``if (zone_is_empty(zone)) init_currently_empty_zone(zone, start_pfn, size)``."""

    nid: int
    zone: ZoneType
    start_pfn: int
    nr_pages: int


class ReadZoneSpan(Effect, frozen=True):
    """Read a zone's span: the result is ``(zone_start_pfn, zone_end_pfn)``."""

    nid: int
    zone: ZoneType


class ShrinkZoneSpan(Effect, frozen=True):
    """``shrink_zone_span`` + ``shrink_pgdat_span`` after ``[start_pfn, +nr_pages)`` of node
    ``nid``'s ``zone`` is removed: the spans become the hull of the sections of the node
    that still have a memmap and are not boot memory."""

    nid: int
    zone: ZoneType
    start_pfn: int
    nr_pages: int


class SetZoneContiguous(Effect, frozen=True):
    """``clear_zone_contiguous`` (clear=True) or ``set_zone_contiguous``: the latter marks the
    zone contiguous only if every pageblock of its span has an online struct page
    (``__pageblock_pfn_to_page`` → ``pfn_to_online_page``), never for ZONE_DEVICE."""

    nid: int
    zone: ZoneType
    clear: bool = False


class SetHighestMemmapPfn(Effect, frozen=True):
    """``if (highest_memmap_pfn < pfn) highest_memmap_pfn = pfn``."""

    pfn: int


# --- boot memory: memblock, the node's deferred pfn, page counts ------------------------------
class ReadMemblock(Effect, frozen=True):
    """Read ``memblock.memory`` and ``memblock.reserved``: the result is a
    :class:`~memmapsim.model.memblock.MemblockSnapshot`."""


class MemblockReserve(Effect, frozen=True):
    """``memblock_reserve(base, size)`` (the reservation an allocation makes, with its node)."""

    base: int
    size: int
    nid: int


class MemblockAdd(Effect, frozen=True):
    """``memblock_add_node(base, size, nid)``."""

    base: int
    size: int
    nid: int


class ReadDeferredPfn(Effect, frozen=True):
    """Read ``pgdat->first_deferred_pfn`` of node ``nid``: an int, or None for ULONG_MAX."""

    nid: int


class SetDeferredPfn(Effect, frozen=True):
    """Store ``pgdat->first_deferred_pfn`` of node ``nid`` (None: ULONG_MAX)."""

    nid: int
    pfn: int | None


class AdjustPageCounts(Effect, frozen=True):
    """``zone->managed_pages += managed`` and ``zone->present_pages += present``."""

    nid: int
    zone: ZoneType
    managed: int = 0
    present: int = 0


class InsertResource(Effect, frozen=True):
    """``register_memory_resource``: insert a busy iomem resource ``name`` for ``[start,
    start + size)``. The result is False if it conflicts with one already there."""

    name: str
    start: int
    size: int


class RemoveResource(Effect, frozen=True):
    """``release_mem_region_adjustable`` / ``release_memory_resource``: the resource
    ``name`` at ``start`` goes."""

    name: str
    start: int


# --- memory block devices (drivers/base/memory.c) -------------------------------------------
class SetMemoryBlockSize(Effect, frozen=True):
    """``memory_block_size_bytes()`` as boot probed it."""

    size: int


class ReadMemoryBlockSize(Effect, frozen=True):
    """``memory_block_size_bytes()``: an int (0 before boot probed it)."""


class ReadMemoryBlocks(Effect, frozen=True):
    """The memory block devices of ids ``[lo, hi)``: a list of ``(lo, hi, MemoryBlockState
    or None)`` runs."""

    lo: int
    hi: int


class SetMemoryBlocks(Effect, frozen=True):
    """Store ``state`` for the memory blocks ``[lo, hi)`` (None: the devices are gone)."""

    lo: int
    hi: int
    state: MemoryBlockState | None


# --- struct pages ------------------------------------------------------------------------------
class WorkKind(StrEnum):
    """What a pass over struct pages is, for the shadow history and the trace."""

    INIT = "struct page init"  # writes the fields of struct page (__init_single_page, ...)
    PGMAP = "pgmap pass"  # a later pass that only completes them (v4.18's pgmap loop)
    POISON = "poison"  # page_init_poison / DEBUG_VM memset(0xFF)
    FIELDS = "field stores"  # stores into pages another pass set up (prep_compound_head,
    # put_page at teardown): no pass of their own in the shadow history
    ZERO = "memmap zeroing"  # a zeroing allocation of the memmap (v4.14 boot): no pass
    FREE = "buddy free"  # pages given to the buddy allocator: a FREE pass in the history


class PageOp(msgspec.Struct, frozen=True):
    """One piece of per-page work: a named kernel operation and its ordered writes.

    ``cost`` names the cost-profile entry a timing engine charges per page;
    ``ref_get`` is the number of ``percpu_ref_get`` on the pgmap's ref per page;
    ``atomic`` marks locked read-modify-writes (``set_bit``)."""

    name: str
    cost: str
    writes: tuple[Write, ...] = ()
    ref_get: int = 0
    atomic: bool = False


@dataclass(frozen=True)
class PageWork:
    """The body of a per-pfn loop of function ``fn``: ops in order, then at
    pageblock-aligned pfns the migratetype (if any); ``cond_resched()`` every
    ``resched_every`` pfns. ``kind`` says what the pass is (init, pgmap, poison)."""

    fn: str
    ops: tuple[PageOp, ...]
    pageblock: MigrateType | None = None
    resched_every: int = 0
    pgmap: int | None = None
    kind: WorkKind = WorkKind.INIT

    @cached_property
    def writes(self) -> tuple[Write, ...]:
        return tuple(w for op in self.ops for w in op.writes)

    @cached_property
    def ref_gets(self) -> int:
        return sum(op.ref_get for op in self.ops)


class CompoundStep(msgspec.Struct, frozen=True):
    """One step of a per-compound-page loop: ``work`` on offsets ``[lo, hi)`` of every
    compound page, in pfn order."""

    lo: int
    hi: int
    work: PageWork


class InitPagesPeriodic(Effect, frozen=True):
    """For every (naturally aligned) compound page of ``period`` pfns in ``[lo, hi)``, run
    ``steps`` in order (``memmap_init_compound``: head, tails, head fields). One pass per
    step over the pfns it covers."""

    lo: int
    hi: int
    period: int
    steps: tuple[CompoundStep, ...]

    @property
    def periods(self) -> int:
        return (self.hi - self.lo) // self.period

    @property
    def nr_pages(self) -> int:
        """struct pages written (a pfn written by two steps counts twice)."""
        return self.periods * sum(s.hi - s.lo for s in self.steps)


class InitPages(Effect, frozen=True):
    """Run ``work`` on every pfn in ``[lo, hi)`` in ascending order: one init pass."""

    lo: int
    hi: int
    work: PageWork

    @property
    def nr_pages(self) -> int:
        return self.hi - self.lo
