"""fs/proc/page.c: /proc/kpageflags, /proc/kpagecount and /proc/kpagecgroup, one pfn at a
time (spec §7, §8 bugs 2 and 3).

Each file is an array of u64 indexed by pfn. A read of the entry of ``pfn`` is clipped at
``max_pfn`` (v4.18: ``min_t(count, max_pfn * KPMSIZE - src)``,
zzwd/linux-4.18-rt@fs/proc/page.c:40, 214, 259 (4.18.0)); from v5.7 at ``max_pfn`` rounded
up to a section (``get_max_dump_pfn``, a5221985/linux-5.7.14@fs/proc/page.c:24-36 (5.7.14)).
x86 ``add_pages`` raises ``max_pfn`` for a hot-added range (until v7.0's pgmap exception),
so a device above the top of RAM becomes reachable once it is added.

The struct page is looked at if ``pfn_valid(pfn)`` (v4.18-v5.3,
zzwd/linux-4.18-rt@fs/proc/page.c:45-48, 219-222, 264-267 (4.18.0), the same in
Awik84/linux-5.3 (5.3.0)), or, from v5.4, if ``pfn_to_online_page(pfn)`` returns it
(aad5f69bc161 "fs/proc/page.c: don't access uninitialized memmaps in fs/proc/page.c",
KevinRSX/w4118-s21-linux-v5.4@fs/proc/page.c:49, 225, 271 (5.4.0), which "drops ZONE_DEVICE
support": the TODO is still in rikudousennin22/linux-7.1.3@fs/proc/page.c:78-85 (7.1.3)).
The gate is the code path :attr:`~memmapsim.kernel.kernel.Paths.proc_page_pfn_to_page`, so a
change file can put the old one back.
"""

from __future__ import annotations

from memmapsim.effects import CondResched, Gen, ReadMaxPfn, ReadPage
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_hotplug import pfn_to_online_page
from memmapsim.kernel.readers.mmzone import pfn_valid
from memmapsim.units import ALIGN, PAGES_PER_SECTION


def proc_page_pfn_valid(k: Kernel, pfn: int) -> Gen[bool]:
    """``if (pfn_valid(pfn)) ppage = pfn_to_page(pfn); else ppage = NULL;`` (v4.18-v5.3)."""
    ok: bool = yield from pfn_valid(k, pfn)
    return ok


def proc_page_pfn_to_online_page(k: Kernel, pfn: int) -> Gen[bool]:
    """``ppage = pfn_to_online_page(pfn);`` (v5.4, aad5f69bc161)."""
    ok: bool = yield from pfn_to_online_page(k, pfn)
    return ok


def get_max_dump_pfn(k: Kernel) -> Gen[int]:
    """The pfns the files expose: ``max_pfn``; from v5.7 rounded up to a section."""
    max_pfn: int = yield ReadMaxPfn()
    return ALIGN(max_pfn, PAGES_PER_SECTION) if k.p.proc_page_max_dump_pfn else max_pfn


def kpage_page(k: Kernel, pfn: int) -> Gen[bool]:
    """The part every kpage* read shares: the pfn is below the dump limit and the gate lets
    the struct page be looked at."""
    limit = yield from get_max_dump_pfn(k)
    if pfn >= limit:
        return False  # the read is clipped before this entry
    ok: bool = yield from k.paths.proc_page_pfn_to_page(k, pfn)
    return ok


def stable_page_flags(k: Kernel, pfn: int) -> Gen[None]:
    """``stable_page_flags(page)``: ``k = page->flags``, then PageSlab/page_mapped (compound_head,
    _mapcount), PageAnon/PageKsm (mapping), page_count (_refcount)
    (zzwd/linux-4.18-rt@fs/proc/page.c:88-196 (4.18.0))."""
    fields = ("flags", "compound_head", "_mapcount", "mapping", "_refcount")
    yield ReadPage(pfn, "stable_page_flags", fields)


def kpageflags_read(k: Kernel, pfn: int) -> Gen[int]:
    """A read of /proc/kpageflags at the entry of ``pfn``."""
    if (yield from kpage_page(k, pfn)):
        yield from stable_page_flags(k, pfn)
    yield CondResched()
    return 0


def kpagecount_read(k: Kernel, pfn: int) -> Gen[int]:
    """A read of /proc/kpagecount at the entry of ``pfn``: ``PageSlab(ppage)`` (compound_head,
    flags), then ``page_mapcount`` (v4.18, fs/proc/page.c:49-52; the folio snapshot of
    v6.x reads the same words)."""
    if (yield from kpage_page(k, pfn)):
        yield ReadPage(pfn, "kpagecount_read", ("flags", "compound_head", "_mapcount"))
    yield CondResched()
    return 0


def kpagecgroup_read(k: Kernel, pfn: int) -> Gen[int]:
    """A read of /proc/kpagecgroup at the entry of ``pfn``: ``page_cgroup_ino(ppage)``
    (page->flags for PageSlab, the memcg pointer)."""
    if (yield from kpage_page(k, pfn)):
        yield ReadPage(pfn, "page_cgroup_ino", ("flags", "compound_head", "memcg_data"))
    yield CondResched()
    return 0
