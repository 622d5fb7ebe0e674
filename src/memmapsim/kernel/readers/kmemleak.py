"""mm/kmemleak.c: ``kmemleak_scan`` scans every struct page in use for pointers (spec §7).

Under ``get_online_mems()`` it walks every online node's span (v4.18-v5.15; by v5.16 the
populated zones) and, up to v4.20, takes any ``pfn_valid`` pfn and reads ``page_count``
(zzwd/linux-4.18-rt@mm/kmemleak.c:1520-1539 (4.18.0); a4913994/linux-4.20@mm/kmemleak.c:
1544-1563 (4.20.0)). v5.0 uses ``pfn_to_online_page`` and checks ``page_to_nid``
("mm, kmemleak: little optimization while scanning", akshaybaviskar/Linux-5.0@mm/kmemleak.c:
1548-1570 (5.0.0)). The node span includes ZONE_DEVICE once ``move_pfn_range_to_zone`` has
grown it; ``get_online_mems`` keeps the scan out of the locked part of an add, not out of
``memmap_init_zone_device``.
"""

from __future__ import annotations

from memmapsim.effects import Acquire, CondResched, Gen, ReadNodeSpans, ReadPage, Release
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_hotplug import pfn_to_online_page
from memmapsim.kernel.readers.mmzone import pfn_valid
from memmapsim.model.locks import MEM_HOTPLUG_LOCK, Mode


def kmemleak_pfn_valid(k: Kernel, pfn: int) -> Gen[bool]:
    """``if (!pfn_valid(pfn)) continue;`` (v4.18-v4.20)."""
    ok: bool = yield from pfn_valid(k, pfn)
    return ok


def kmemleak_pfn_to_online_page(k: Kernel, pfn: int) -> Gen[bool]:
    """``page = pfn_to_online_page(pfn); if (!page) continue;`` then ``page_to_nid(page)``
    (v5.0)."""
    ok: bool = yield from pfn_to_online_page(k, pfn)
    if ok:
        yield ReadPage(pfn, "kmemleak_scan", ("flags",))
    return ok


def kmemleak_scan(k: Kernel, pfn: int) -> Gen[int]:
    """The struct-page part of a scan, at ``pfn``: it is reached if a node spans it."""
    yield Acquire(MEM_HOTPLUG_LOCK, Mode.READ)  # get_online_mems()
    spans = yield ReadNodeSpans()
    if any(lo <= pfn < hi for _nid, lo, hi in spans) and (
        yield from k.paths.kmemleak_pfn_to_page(k, pfn)
    ):
        yield ReadPage(pfn, "kmemleak_scan", ("_refcount",))  # page_count(page)
    yield CondResched()
    yield Release(MEM_HOTPLUG_LOCK, Mode.READ)  # put_online_mems()
    return 0
