"""mm/page_owner.c: ``pagetypeinfo_showmixedcount_print`` (/proc/pagetypeinfo with
page_owner) walks a populated zone pageblock by pageblock (spec §7, §8 bug 5).

Up to v5.3 a block is looked at if ``pfn_valid``, and each pfn's ``page_zone`` is compared with
the zone (zzwd/linux-4.18-rt@mm/page_owner.c pagetypeinfo_showmixedcount_print (4.18.0)); v5.4
asks ``pfn_to_online_page`` ("mm/page_owner: don't access uninitialized memmaps when reading
/proc/pagetypeinfo", KevinRSX/w4118-s21-linux-v5.4@mm/page_owner.c (5.4.0)). A boot zone's
span can cover a DRAM hole that ZONE_DEVICE fills; the model takes the node's span for the
spans of its zones.
"""

from __future__ import annotations

from memmapsim.effects import CondResched, Gen, ReadNodeSpans, ReadPage
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_hotplug import pfn_to_online_page
from memmapsim.kernel.readers.mmzone import pfn_valid


def page_owner_pfn_valid(k: Kernel, pfn: int) -> Gen[bool]:
    """``if (!pfn_valid(pfn)) { pfn = ALIGN(pfn + 1, MAX_ORDER_NR_PAGES); continue; }``."""
    ok: bool = yield from pfn_valid(k, pfn)
    return ok


def page_owner_pfn_to_online_page(k: Kernel, pfn: int) -> Gen[bool]:
    """``page = pfn_to_online_page(pfn); if (!page) { ...; continue; }`` (v5.4)."""
    ok: bool = yield from pfn_to_online_page(k, pfn)
    return ok


def pagetypeinfo_showmixedcount_print(k: Kernel, pfn: int) -> Gen[int]:
    """Reading /proc/pagetypeinfo reaches the pageblock of ``pfn``."""
    spans = yield ReadNodeSpans()
    if any(lo <= pfn < hi for _nid, lo, hi in spans) and (
        yield from k.paths.page_owner_pfn_to_page(k, pfn)
    ):
        yield ReadPage(pfn, "pagetypeinfo_showmixedcount_print", ("flags",))  # page_zone
    yield CondResched()
    return 0
