"""mm/sparse.c, mm/sparse-vmemmap.c and x86's vmemmap population: adding sections.

v4.18-v5.2 (``sparse_add_one_section``, one whole section at a time): allocate the
section's memmap — one 2 MiB vmemmap block (a PMD), from the pgmap's altmap if there is one
(``altmap_alloc_block_buf``, no fallback: -ENOMEM when it is exhausted) or from the node's
RAM (``vmemmap_alloc_block_buf``) — then a usemap that ``__kmalloc_section_usemap``
kmallocs without zeroing, then (CONFIG_DEBUG_VM) poison the memmap with 0xFF
(``page_init_poison`` since f682a97a0059, v4.20; an unconditional memset before), then
``section_mark_present`` and ``sparse_init_one_section`` (SECTION_HAS_MEM_MAP).

The kernel adds one section per call; memmapsim adds a run of sections that are in the same
state with one set of range effects, which is the same final state and the same order per
section, at a cost independent of the number of sections.
"""

from __future__ import annotations

from memmapsim.effects import (
    Gen,
    InitPages,
    PageOp,
    PageWork,
    PopulateMemmap,
    ReadAltmap,
    ReadSections,
    SetAltmap,
    SetPageblocks,
    SetSections,
    WorkKind,
)
from memmapsim.kernel.debug import page_init_poisoning
from memmapsim.kernel.errno import ENOMEM
from memmapsim.kernel.kernel import Kernel
from memmapsim.model.pageblock import STALE_USEMAP
from memmapsim.model.pgmap import AltmapConfig
from memmapsim.model.section import Medium, MemmapBacking, SectionFlag, SectionState
from memmapsim.model.structpage import PAGE_POISON_PATTERN, fill
from memmapsim.units import ALIGN, PAGE_SHIFT, PAGES_PER_SECTION, STRUCT_PAGE_SIZE

SECTION_MEMMAP_PFNS = PAGES_PER_SECTION * STRUCT_PAGE_SIZE >> PAGE_SHIFT
"""pfns of a section's memmap (512): one 2 MiB vmemmap block, a PMD."""


def page_init_poison_op() -> PageOp:
    """``page_init_poison(memmap, size)``: memset of the struct pages to 0xFF."""
    return PageOp("page_init_poison", "poison", fill(PAGE_POISON_PATTERN))


def altmap_alloc_blocks(
    cfg: AltmapConfig, alloc: int, align: int, nr_pfns: int, count: int
) -> tuple[int, int, int]:
    """``altmap_alloc_block_buf(nr_pfns << PAGE_SHIFT, altmap)`` called ``count`` times:
    each allocation starts at ``base + reserve + alloc + align``, aligned up to the largest
    power of two dividing ``nr_pfns``, and fails once ``nr_pfns + nr_align`` exceeds what is
    free. Returns ``(blocks allocated, alloc, align)``: after the first block the next one
    is already aligned, so the count is computed in closed form."""
    got = 0
    while got < count:
        nxt = cfg.base_pfn + cfg.reserve + alloc + align
        unit = nr_pfns & -nr_pfns
        nr_align = ALIGN(nxt, unit) - nxt
        nr_free = max(cfg.free - (alloc + align), 0)
        if nr_pfns + nr_align > nr_free:
            break
        if nr_align == 0:
            n = min(count - got, nr_free // nr_pfns)
            alloc += n * nr_pfns
            got += n
            break
        alloc, align, got = alloc + nr_pfns, align + nr_align, got + 1
    return got, alloc, align


def memmap_backing(nid: int, altmap: int | None) -> MemmapBacking:
    """Where a hot-added memmap lives: on the device through pgmap ``altmap``'s altmap, or
    in the RAM of node ``nid``."""
    if altmap is not None:
        return MemmapBacking(Medium.DEVICE, nid, altmap)
    return MemmapBacking(Medium.RAM, nid)


def vmemmap_populate(k: Kernel, lo_sec: int, hi_sec: int, nid: int, altmap: int | None) -> Gen[int]:
    """x86 ``vmemmap_populate`` → ``vmemmap_populate_hugepages`` for the memmaps of sections
    ``[lo_sec, hi_sec)``: one PMD block per section, from the altmap of pgmap ``altmap`` (no
    fallback) or node RAM. Returns how many sections got their memmap."""
    n = hi_sec - lo_sec
    if altmap is not None:
        cfg, alloc, align = yield ReadAltmap(altmap)
        n, alloc, align = altmap_alloc_blocks(cfg, alloc, align, SECTION_MEMMAP_PFNS, n)
        yield SetAltmap(altmap, alloc, align)
    if n:
        lo, hi = lo_sec * PAGES_PER_SECTION, (lo_sec + n) * PAGES_PER_SECTION
        yield PopulateMemmap(lo, hi, memmap_backing(nid, altmap))
    return n


def sparse_add_one_section(
    k: Kernel, lo_sec: int, hi_sec: int, nid: int, altmap: int | None
) -> Gen[int]:
    """``sparse_add_one_section`` for each of sections ``[lo_sec, hi_sec)``, none of which
    is present (v4.18-v5.2). Returns 0 or -ENOMEM (the first section whose memmap could not
    be allocated; the ones before it are added)."""
    added = yield from vmemmap_populate(k, lo_sec, hi_sec, nid, altmap)
    if added:
        lo, hi = lo_sec * PAGES_PER_SECTION, (lo_sec + added) * PAGES_PER_SECTION
        # __kmalloc_section_usemap: kmalloc, not zeroed (the v5.3 usage is kzalloc'ed)
        yield SetPageblocks(lo, hi, STALE_USEMAP)
        if page_init_poisoning(k):
            work = PageWork(
                "sparse_add_one_section", (page_init_poison_op(),), kind=WorkKind.POISON
            )
            yield InitPages(lo, hi, work)
        flags = SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP
        yield SetSections(lo_sec, lo_sec + added, SectionState(flags, nid))
    return -ENOMEM if added < hi_sec - lo_sec else 0


def __add_sections(
    k: Kernel, nid: int, start_pfn: int, nr_pages: int, altmap: int | None
) -> Gen[int]:
    """The section loop of ``__add_pages``: ``__add_section`` for each section, which is
    -EEXIST when ``pfn_valid`` (the section has a memmap) — ignored ("EEXIST is finally
    dealt with by ioresource collision check") — and otherwise
    ``sparse_add_one_section``; any other error stops the loop."""
    first = start_pfn // PAGES_PER_SECTION
    last = (start_pfn + nr_pages - 1) // PAGES_PER_SECTION + 1
    runs = yield ReadSections(first, last)
    for lo, hi, sec in runs:
        if sec.flags & SectionFlag.HAS_MEM_MAP:
            continue
        err = yield from sparse_add_one_section(k, lo, hi, nid, altmap)
        if err:
            return int(err)
    return 0
