"""ZONE_DEVICE data-page init with compound pages: ``memmap_init_zone_device`` from v5.17
(mm/page_alloc.c; mm/mm_init.c from v6.4), docs/kernel-notes/zone-device-late.md §4-§11
and the matrices of §12.

c4386bd8ee3a "mm/memremap: add ZONE_DEVICE support for compound pages" (v5.17): the loop
walks the data range in steps of ``pfns_per_compound = 1 << pgmap->vmemmap_shift``; each
head gets ``__init_zone_device_page``, then ``memmap_init_compound`` sets PG_head and
initializes the tails (``__init_zone_device_page``, ``prep_compound_tail``,
``set_page_count(page, 0)``), calling ``prep_compound_head`` after tail 2 (v5.17-v6.1),
after tail 1 (v6.2-v6.12) or once after the loop (v7.0+). Since v5.19 a compound devmap
without an altmap has its tail struct pages deduplicated and only
``compound_nr_pages()`` = 128 struct pages per compound page are visited (6fd3620b3428);
v6.6 applies that only above VMEMMAP_RESERVE_NR vmemmap pages per compound page.

The struct-page stores of each release's compound init are data from
:mod:`memmapsim.kernel.compound`; here they become one per-compound-page program
(:class:`~memmapsim.effects.InitPagesPeriodic`), so a terabyte of compound pages is one
effect and a handful of runs.
"""

from __future__ import annotations

from memmapsim.effects import (
    CompoundStep,
    Gen,
    InitPages,
    InitPagesPeriodic,
    Jiffies,
    PageOp,
    PageWork,
    SetPageblocks,
    WorkKind,
)
from memmapsim.kernel.compound import COMPOUND_BY_RELEASE, CompoundFormat
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.mm_memremap import vmemmap_sharing
from memmapsim.kernel.page_alloc import (
    clear_hmm_data,
    init_message,
    init_single_page,
    set_page_reserved,
    set_pgmap,
)
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import Pgmap, PgmapConfig
from memmapsim.model.structpage import REFCOUNT_SHIFT, Word, set_field
from memmapsim.units import PAGEBLOCK_NR_PAGES

REFCOUNT_FIELD = (Word.COUNTS, REFCOUNT_SHIFT, 32)

VMEMMAP_RESERVE_NR = 2
"""vmemmap pages a deduplicated compound page keeps of its own (head page, first tail page)."""

DEDUP_NR_PAGES = VMEMMAP_RESERVE_NR * (4096 // 64)
"""``compound_nr_pages()`` with dedup: the 128 struct pages of those two vmemmap pages."""


def compound_format(k: Kernel) -> CompoundFormat:
    if k.p.compound is None:
        raise ValueError(f"kernel {k.name} has no compound devmaps")
    return COMPOUND_BY_RELEASE[k.p.compound]


def set_page_count_zero() -> PageOp:
    """``set_page_count(page, 0)``: ``atomic_set(&page->_refcount, 0)``."""
    return PageOp("set_page_count(page, 0)", "set_refcount", (set_field(*REFCOUNT_FIELD, 0),))


def zone_device_page_ops(k: Kernel, nid: int, pgmap: Pgmap) -> tuple[PageOp, ...]:
    """``__init_zone_device_page(page, pfn, zone_idx, nid, pgmap)`` (v5.17+): init,
    ``__SetPageReserved``, ``page->pgmap`` (``page_folio(page)->pgmap`` in v7.0, the same
    word for a page that is not yet a tail), ``zone_device_data = NULL``, and — v6.1 for
    DEVICE_PRIVATE/COHERENT, v7.0 also FS_DAX and P2PDMA — ``set_page_count(page, 0)``
    (the driver's allocator sets it to 1). The migratetype at pageblock-aligned pfns is
    the work's ``pageblock``."""
    layout = k.layout
    ops = [
        init_single_page(layout, ZoneType.ZONE_DEVICE, nid),
        set_page_reserved(layout, atomic=False),
        set_pgmap(pgmap.id),
        clear_hmm_data(),
    ]
    if pgmap.cfg.type.name in k.p.refcount_zero_types:
        ops.append(set_page_count_zero())
    return tuple(ops)


def page_migratetype(k: Kernel) -> MigrateType | None:
    """The migratetype the per-page init stores at pageblock-aligned pfns: MOVABLE, or
    none since 7.1.5's separate pass."""
    return None if k.p.pageblock_init_range else MigrateType.MIGRATE_MOVABLE


def pageblock_migratetype_init_range(pfn: int, nr_pages: int) -> Gen[None]:
    """``pageblock_migratetype_init_range(pfn, nr_pages, MIGRATE_MOVABLE)`` (7.1.5): every
    pageblock whose first pfn lies in the range (``pageblock_align`` rounds up), after all
    struct pages of the range are initialized."""
    first = -(-pfn // PAGEBLOCK_NR_PAGES) * PAGEBLOCK_NR_PAGES
    end = pfn + nr_pages
    if first < end:
        yield SetPageblocks(first, end, int(MigrateType.MIGRATE_MOVABLE))


def compound_nr_pages(k: Kernel, cfg: PgmapConfig) -> int:
    """``compound_nr_pages(altmap, pgmap)``: the struct pages of a compound page that
    ``memmap_init_compound`` visits — all of them, or 128 when its vmemmap is deduplicated
    (v5.19+). v5.19-v6.5 return 128 even for compounds of fewer pfns (``vmemmap_shift``
    1-6, which no in-tree user sets): the kernel then runs past the compound page; the
    model stops at its end."""
    per = 1 << cfg.vmemmap_shift
    if vmemmap_sharing(k, cfg) is None:
        return per
    return min(DEDUP_NR_PAGES, per)


def memmap_init_compound_steps(
    k: Kernel, nid: int, pgmap: Pgmap, nr_pages: int
) -> tuple[CompoundStep, ...]:
    """The head's init and ``memmap_init_compound(head, head_pfn, zone_idx, nid, pgmap,
    nr_pages)`` as steps over the offsets of every compound page, in the kernel's order."""
    fmt = compound_format(k)
    order = pgmap.cfg.vmemmap_shift
    device = zone_device_page_ops(k, nid, pgmap)
    head_ops = (*device, PageOp("__SetPageHead", "set_page_head", fmt.set_page_head(k.layout)))
    tail_ops = (
        *device,
        PageOp("prep_compound_tail", "compound_tail", fmt.prep_compound_tail(order)),
        set_page_count_zero(),
    )
    movable = page_migratetype(k)
    head = PageWork("memmap_init_zone_device", head_ops, movable, PAGEBLOCK_NR_PAGES, pgmap.id)
    tail = PageWork("memmap_init_compound", tail_ops, movable, PAGEBLOCK_NR_PAGES, pgmap.id)
    steps = [CompoundStep(0, 1, head)]
    after = fmt.head_prep_tail(nr_pages)
    if after is None:
        return (*steps, CompoundStep(1, nr_pages, tail))
    steps.append(CompoundStep(1, after + 1, tail))
    for t, writes in fmt.prep_compound_head(order):
        prep = PageOp("prep_compound_head", "compound_head", writes)
        work = PageWork("prep_compound_head", (prep,), pgmap=pgmap.id, kind=WorkKind.FIELDS)
        steps.append(CompoundStep(t, t + 1, work))
    if after + 1 < nr_pages:
        steps.append(CompoundStep(after + 1, nr_pages, tail))
    return tuple(steps)


def memmap_init_zone_device(
    k: Kernel, nid: int, start_pfn: int, nr_pages: int, pgmap: Pgmap
) -> Gen[None]:
    """``memmap_init_zone_device(zone, start_pfn, nr_pages, pgmap)`` (v5.17+): with an
    altmap the loop starts at its end; one ``__init_zone_device_page`` per pfn for
    ``vmemmap_shift`` 0, else per compound page the head and ``memmap_init_compound``; then
    the ``"%s initialised %lu pages in %ums"`` line (``pr_debug`` from v6.4), whose count
    is every pfn of the range, deduplicated or not."""
    cfg = pgmap.cfg
    end_pfn = start_pfn + nr_pages
    start = yield Jiffies()
    if cfg.altmap is not None:
        start_pfn = cfg.altmap.base_pfn + cfg.altmap.offset()
        nr_pages = end_pfn - start_pfn
    per = 1 << cfg.vmemmap_shift
    if per == 1:
        work = PageWork(
            "memmap_init_zone_device",
            zone_device_page_ops(k, nid, pgmap),
            page_migratetype(k),
            PAGEBLOCK_NR_PAGES,
            pgmap.id,
        )
        yield InitPages(start_pfn, end_pfn, work)
    elif nr_pages > 0:
        if start_pfn % per or end_pfn % per:
            raise ValueError(
                f"{cfg.dev_name}: pfns [{start_pfn:#x}, {end_pfn:#x}) are not whole compound "
                f"pages of {per} pfns"
            )
        steps = memmap_init_compound_steps(k, nid, pgmap, compound_nr_pages(k, cfg))
        yield InitPagesPeriodic(start_pfn, end_pfn, per, steps)
    if k.p.pageblock_init_range:
        yield from pageblock_migratetype_init_range(start_pfn, nr_pages)
    now = yield Jiffies()
    yield init_message(k, pgmap, nr_pages, k.jiffies_to_msecs(now - start))
