"""Giving pages to the buddy allocator: ``__free_pages_core`` (``__free_pages_boot_core`` up
to v5.0) and ``__free_one_page`` (mm/page_alloc.c), as struct-page work.

Per page, ``__free_pages_core`` clears PG_reserved (PageOffline for hot-plugged RAM from
v6.12) and sets the refcount to 0; up to v5.9 it then sets the head's refcount to 1 and
frees it with ``__free_pages`` (the put takes it back to 0). ``__free_one_page`` merges the
block with its free buddy as long as there is one (up to order MAX_ORDER - 1, 10: 1024 pages)
and puts the merged block's head on a free list: ``set_buddy_order`` (``page->private =
order``, PageBuddy in the _mapcount word) and ``list_add(&page->lru, ...)``.

Pages freed in ascending pfn order end as the greedy aligned decomposition of each
contiguous free run (two free buddies of one order would have been merged), whatever the
size of the blocks they were freed in (per page, per pageblock, per 1024 pages): memmapsim
writes that final state. Not modelled: the per-cpu lists that order-0 frees pass through
(their pages reach the buddy lists when the list is drained), and the lru words of heads a
later merge absorbed (``list_del`` leaves LIST_POISON1/2 there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from memmapsim.effects import (
    CompoundStep,
    Gen,
    InitPages,
    InitPagesPeriodic,
    PageOp,
    PageWork,
    WorkKind,
)
from memmapsim.kernel.kernel import Kernel
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.structpage import (
    FREE_LIST,
    MAPCOUNT_MASK,
    REFCOUNT_MASK,
    Word,
    Write,
    clear_bits,
    store,
)
from memmapsim.units import ALIGN, ALIGN_DOWN

MAX_ORDER = 10
"""The largest buddy order on x86_64 (``MAX_ORDER - 1`` up to v6.3, ``MAX_PAGE_ORDER`` after)."""
MAX_ORDER_NR_PAGES = 1 << MAX_ORDER

PAGE_BUDDY_MAPCOUNT_VALUE = 0xFFFF_FF80
"""v4.14: PageBuddy is ``_mapcount == -128``."""
PG_BUDDY = 0x80
"""v4.18-v6.11: PageBuddy is ``page_type`` (= _mapcount) with bit 0x80 clear."""
PGTY_BUDDY = 0xF0
"""v6.12: ``page_type = PGTY_buddy << 24``."""
PGTY_OFFLINE = 0xF1
PG_OFFLINE = 0x100


def buddy_type_value(k: Kernel) -> int:
    """The low 32 bits of word 6 of a free block's head (_mapcount / page_type)."""
    if k.p.buddy_type == "mapcount":
        return PAGE_BUDDY_MAPCOUNT_VALUE
    if k.p.buddy_type == "page_type":
        return MAPCOUNT_MASK & ~PG_BUDDY
    return PGTY_BUDDY << 24


def blocks(lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """``__free_pages_memory``: ``[lo, hi)`` as aligned blocks ``(pfn, order)``, each as large
    as its alignment and the end allow (at most MAX_ORDER)."""
    pfn = lo
    while pfn < hi:
        order = min(MAX_ORDER, (pfn & -pfn).bit_length() - 1) if pfn else MAX_ORDER
        while pfn + (1 << order) > hi:
            order -= 1
        yield pfn, order
        pfn += 1 << order


def free_pages_core_op(k: Kernel, cold: bool, hotplug: bool = False) -> PageOp:
    """Per page of a block: ``__ClearPageReserved`` (``__ClearPageOffline`` for hot-plugged
    RAM from v6.12) and ``set_page_count(p, 0)``. ``cold``: the pass over the struct pages
    comes after they left the cache (a free pass of its own over a whole node, v4.15-v5.1's
    deferred init and ``memblock_free_all``), else it follows their init within the same
    pageblock or MAX_ORDER chunk."""
    offline = hotplug and k.p.hotplug_offline_type
    return _free_pages_core_op(k.layout.flag("PG_reserved"), cold, offline)


@functools.lru_cache(maxsize=256)
def _free_pages_core_op(reserved: int, cold: bool, offline: bool) -> PageOp:
    writes: list[Write] = []
    if offline:
        # __ClearPageOffline: page_type back to UINT_MAX (the "no type" value, v6.12)
        writes.append(Write(Word.COUNTS, MAPCOUNT_MASK, MAPCOUNT_MASK))
    else:
        writes.append(clear_bits(Word.FLAGS, reserved))
    writes.append(Write(Word.COUNTS, REFCOUNT_MASK, 0))
    cost = "buddy_free_cold" if cold else "buddy_free"
    return PageOp("__free_pages_core", cost, tuple(writes))


def free_work(
    k: Kernel, fn: str, cold: bool, pageblock: MigrateType | None = None, hotplug: bool = False
) -> PageWork:
    """The per-page part of freeing (see :func:`free_pages_core_op`); ``pageblock``: the
    migratetype the caller sets at each pageblock it frees (``deferred_free_range``)."""
    return PageWork(
        fn,
        (free_pages_core_op(k, cold, hotplug),),
        pageblock=pageblock,
        kind=WorkKind.FREE,
    )


def head_work(k: Kernel, order: int) -> PageWork:
    """What a free block's head gets: ``set_buddy_order`` (``page->private = order``,
    PageBuddy) and ``list_add`` onto the free list. (Up to v5.9 the head's refcount is 1
    between ``set_page_refcounted`` and the put of ``__free_pages``; that moment is not
    modelled.)"""
    return _head_work(buddy_type_value(k), order)


@functools.lru_cache(maxsize=256)
def _head_work(buddy_value: int, order: int) -> PageWork:
    writes: list[Write] = []
    writes.append(store(Word.PRIVATE, order))
    writes.append(Write(Word.COUNTS, MAPCOUNT_MASK, buddy_value))
    writes.append(store(Word.LRU_NEXT, FREE_LIST))
    writes.append(store(Word.LRU_PREV, FREE_LIST))
    op = PageOp("__free_one_page", "free_one_page", tuple(writes))
    return PageWork("__free_one_page", (op,), kind=WorkKind.FIELDS)


def free_range(k: Kernel, lo: int, hi: int, work: PageWork) -> Gen[int]:
    """Free ``[lo, hi)`` in ascending order (every page initialised before): ``work`` on each
    page, then the heads of the blocks the run ends as. The whole 1024-page blocks are one
    periodic program. Returns the pages freed."""
    if hi <= lo:
        return 0
    a, b = ALIGN(lo, MAX_ORDER_NR_PAGES), ALIGN_DOWN(hi, MAX_ORDER_NR_PAGES)
    if a >= b:
        yield from _free_edge(k, lo, hi, work)
        return hi - lo
    yield from _free_edge(k, lo, a, work)
    steps = (
        CompoundStep(0, MAX_ORDER_NR_PAGES, work),
        CompoundStep(0, 1, head_work(k, MAX_ORDER)),
    )
    yield InitPagesPeriodic(a, b, MAX_ORDER_NR_PAGES, steps)
    yield from _free_edge(k, b, hi, work)
    return hi - lo


def for_each_head(lo: int, hi: int, work: Callable[[int], PageWork]) -> Gen[None]:
    """``work(order)`` on the head of each block ``[lo, hi)`` is made of (:func:`blocks`): the
    heads of whole 1024-page blocks as one periodic program."""
    a, b = ALIGN(lo, MAX_ORDER_NR_PAGES), ALIGN_DOWN(hi, MAX_ORDER_NR_PAGES)
    if a >= b:
        a = b = hi
    for pfn, order in blocks(lo, a):
        yield InitPages(pfn, pfn + 1, work(order))
    if a < b:
        yield InitPagesPeriodic(a, b, MAX_ORDER_NR_PAGES, (CompoundStep(0, 1, work(MAX_ORDER)),))
    for pfn, order in blocks(b, hi):
        yield InitPages(pfn, pfn + 1, work(order))


def _free_edge(k: Kernel, lo: int, hi: int, work: PageWork) -> Gen[None]:
    for pfn, order in blocks(lo, hi):
        yield InitPages(pfn, pfn + (1 << order), work)
        yield InitPages(pfn, pfn + 1, head_work(k, order))


def init_free_range(
    k: Kernel, lo: int, hi: int, init: PageWork, free: PageWork, chunk: int = MAX_ORDER_NR_PAGES
) -> Gen[int]:
    """Initialise and free ``[lo, hi)`` a chunk at a time, each chunk initialised and then
    freed before the next: ``chunk`` 1024 for ``deferred_init_maxorder`` (v5.2+), 512 for
    v4.14's pageblock batches (its pairs of pageblocks merge into 1024-page blocks). The
    chunks inside whole 1024-page blocks are one periodic program. Returns the pages."""
    if hi <= lo:
        return 0
    a, b = ALIGN(lo, MAX_ORDER_NR_PAGES), ALIGN_DOWN(hi, MAX_ORDER_NR_PAGES)
    if a >= b:
        a = b = hi
    for x, y in _chunks(lo, a, chunk):
        yield InitPages(x, y, init)
        yield from _free_edge(k, x, y, free)
    if a < b:
        steps: list[CompoundStep] = []
        for off in range(0, MAX_ORDER_NR_PAGES, chunk):
            steps.append(CompoundStep(off, off + chunk, init))
            steps.append(CompoundStep(off, off + chunk, free))
        steps.append(CompoundStep(0, 1, head_work(k, MAX_ORDER)))
        yield InitPagesPeriodic(a, b, MAX_ORDER_NR_PAGES, tuple(steps))
    for x, y in _chunks(b, hi, chunk):
        yield InitPages(x, y, init)
        yield from _free_edge(k, x, y, free)
    return hi - lo


def _chunks(lo: int, hi: int, chunk: int) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` cut at multiples of ``chunk``."""
    x = lo
    while x < hi:
        y = min(hi, ALIGN_DOWN(x, chunk) + chunk)
        yield x, y
        x = y
