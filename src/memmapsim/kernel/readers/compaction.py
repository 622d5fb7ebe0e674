"""mm/compaction.c: the migrate and free scanners look at a pageblock through
``pageblock_pfn_to_page`` → ``__pageblock_pfn_to_page`` (mm/page_alloc.c in every release
modelled) (spec §7).

``pfn_valid`` of the block's first and last pfn (by v6.11: of the last only), then
``pfn_to_online_page`` of the first, then ``page_zone`` of the first page and
``page_zone_id`` of the last (zzwd/linux-4.18-rt@mm/page_alloc.c:1389-1415 (4.18.0);
rikudousennin22/linux-7.1.3@mm/page_alloc.c:1654-1680 (7.1.3)). A ZONE_DEVICE section is
never online; a ZONE_DEVICE sub-section of an online boot section is (v5.3-v5.11, until
v5.12's tainted sections). The scanners walk a zone the compaction runs on; the model looks
at the pageblock of the pfn given.
"""

from __future__ import annotations

from memmapsim.effects import CondResched, Gen, ReadPage
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_hotplug import pfn_to_online_page
from memmapsim.kernel.readers.mmzone import pfn_valid
from memmapsim.units import PAGEBLOCK_NR_PAGES


def pageblock_pfns(pfn: int) -> tuple[int, int]:
    """The first and last pfn of the pageblock holding ``pfn``."""
    start = pfn - pfn % PAGEBLOCK_NR_PAGES
    return start, start + PAGEBLOCK_NR_PAGES - 1


def __pageblock_pfn_to_page(k: Kernel, pfn: int) -> Gen[bool]:
    """Whether the pageblock holding ``pfn`` is handed to the scanner."""
    start, last = pageblock_pfns(pfn)
    if k.p.pageblock_start_pfn_valid and not (yield from pfn_valid(k, start)):
        return False
    if not (yield from pfn_valid(k, last)):
        return False
    if not (yield from pfn_to_online_page(k, start)):
        return False
    yield ReadPage(start, "__pageblock_pfn_to_page", ("flags",))  # page_zone(start_page)
    yield ReadPage(last, "__pageblock_pfn_to_page", ("flags",))  # page_zone_id(end_page)
    return True


def isolate_migratepages_block(k: Kernel, pfn: int) -> Gen[int]:
    """The compaction scanners reaching the pageblock of ``pfn``."""
    yield from __pageblock_pfn_to_page(k, pfn)
    yield CondResched()
    return 0
