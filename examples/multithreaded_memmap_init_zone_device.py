"""A user change: memmap_init_zone_device on several kernel threads.

Run it with (docs/user-changes.md)::

    memmapsim run duyck-2018 --kernel 5.16+examples/multithreaded_memmap_init_zone_device.py

It replaces ``memmap_init_zone_device`` (v4.20 on; pgmaps without compound pages) with
one that cuts the pfns it initialises into ``NR_THREADS`` parts at pageblock boundaries,
gives each part to a kernel thread created on the device's node, waits for all of them
and prints the same line as the built-in function: the pattern of
``padata_do_multithreaded``, which v5.7 uses for the deferred init of boot memory. Every
pfn gets the same per-page work as with the built-in function of the kernel it runs on
(:func:`page_work`); only who does it, and when, changes.
"""

from __future__ import annotations

from functools import partial
from itertools import pairwise

from memmapsim.effects import Gen, InitPages, Jiffies, Join, PageWork, Spawn, ThreadSpec
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.mm_init import (
    page_migratetype,
    pageblock_migratetype_init_range,
    zone_device_page_ops,
)
from memmapsim.kernel.page_alloc import init_message, zone_device_work
from memmapsim.model.pgmap import Pgmap
from memmapsim.units import ALIGN, PAGEBLOCK_NR_PAGES

SUBJECT = "mm: initialise ZONE_DEVICE struct pages on NR_THREADS kernel threads per device"

NR_THREADS = 4
"""Threads per call. One init thread writes about 2 GB/s of struct pages and a node's pmem
takes about 10 GB/s (xeon-2018-pmem), so up to 5 threads scale there; a real patch would
also cap this by the node's CPUs and give each thread at least a section of pfns."""


def parts(lo: int, hi: int, n: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut into at most ``n`` parts of about equal size, at pageblock
    boundaries (so each pageblock's migratetype is set by the thread that starts it)."""
    cuts = [min(ALIGN(lo + (hi - lo) * i // n, PAGEBLOCK_NR_PAGES), hi) for i in range(1, n)]
    return [(a, b) for a, b in pairwise([lo, *cuts, hi]) if b > a]


def page_work(k: Kernel, nid: int, pgmap: Pgmap) -> PageWork:
    """The built-in per-pfn work: the v4.20-v5.16 loop body, or from v5.17 (compound
    devmaps, mm_init.py) ``__init_zone_device_page`` and the migratetype it stores."""
    if not k.p.compound_devmaps:
        return zone_device_work(k, nid, pgmap)
    ops = zone_device_page_ops(k, nid, pgmap)
    return PageWork(
        "memmap_init_zone_device", ops, page_migratetype(k), PAGEBLOCK_NR_PAGES, pgmap.id
    )


def init_part(lo: int, hi: int, work: PageWork) -> Gen[int]:
    """One helper thread: the per-pfn loop over its part."""
    yield InitPages(lo, hi, work)
    return 0


def memmap_init_zone_device(
    k: Kernel, nid: int, start_pfn: int, size: int, pgmap: Pgmap
) -> Gen[None]:
    if pgmap.cfg.vmemmap_shift:
        raise NotImplementedError("compound devmaps (v5.17+) are not handled by this example")
    end_pfn = start_pfn + size
    start = yield Jiffies()
    altmap = pgmap.cfg.altmap
    if altmap is not None:  # the reserve and the memmap's own pfns were done under the lock
        start_pfn = altmap.base_pfn + altmap.offset()
        size = end_pfn - start_pfn
    work = page_work(k, nid, pgmap)
    tids = []
    for i, (lo, hi) in enumerate(parts(start_pfn, end_pfn, NR_THREADS)):
        name = f"{pgmap.cfg.dev_name}/memmap_init{i}"
        tid = yield Spawn(ThreadSpec(name, partial(init_part, lo, hi, work)), nid)
        tids.append(tid)
    for tid in tids:
        yield Join(tid)
    if k.p.pageblock_init_range:  # 7.1.5: the migratetypes in one pass after the init
        yield from pageblock_migratetype_init_range(start_pfn, size)
    now = yield Jiffies()
    yield init_message(k, pgmap, size, k.jiffies_to_msecs(now - start))


PATHS = {"memmap_init_zone_device": memmap_init_zone_device}
