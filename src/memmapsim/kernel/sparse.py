"""mm/sparse.c, mm/sparse-vmemmap.c and x86's vmemmap population: adding and removing
sections (docs/kernel-notes/zone-device-early.md §1.6-1.7, §7.6-7.7; zone-device-late.md
§1.5, §5A, §9.3).

v4.18-v5.2, whole sections (``sparse_add_one_section``): allocate the section's memmap — one
2 MiB vmemmap block (a PMD), from the pgmap's altmap if there is one
(``altmap_alloc_block_buf``, no fallback: -ENOMEM when it is exhausted) or from the node's
RAM (``vmemmap_alloc_block_buf``) — then a usemap that ``__kmalloc_section_usemap``
kmallocs without zeroing, then (CONFIG_DEBUG_VM) poison the memmap with 0xFF
(``page_init_poison`` since f682a97a0059, v4.20; an unconditional memset before), then
``section_mark_present`` and ``sparse_init_one_section`` (SECTION_HAS_MEM_MAP).

v5.3+, sub-sections (``sparse_add_section`` → ``section_activate``): the section's
``mem_section_usage`` is kzalloc'ed (its pageblock bits read MIGRATE_UNMOVABLE), the
subsection bits are set *before* any memmap exists, a partial add to an early (boot)
section reuses the boot memmap, and x86 populates a request smaller than a whole
section's memmap with 4 KiB pages from RAM, ignoring the altmap. Since v5.19 a compound
devmap without an altmap shares its tail struct pages (``vmemmap_populate_compound_pages``).

The kernel adds one (sub)section per call; memmapsim adds a run of sections in the same
state with one set of range effects, which gives the same final state in the same order
per section, at a cost independent of the number of sections.
"""

from __future__ import annotations

from msgspec.structs import replace

from memmapsim.effects import (
    DepopulateMemmap,
    Gen,
    InitPages,
    PageOp,
    PageWork,
    PopulateMemmap,
    Printk,
    ReadAltmap,
    ReadSections,
    SetAltmap,
    SetPageblocks,
    SetSections,
    WorkKind,
)
from memmapsim.kernel.errno import EEXIST, EINVAL, ENOMEM
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memblock import mem_pfn_ranges, memblock_alloc_try_nid
from memmapsim.kernel.vm_debug import page_init_poisoning
from memmapsim.model.memblock import MemblockSnapshot
from memmapsim.model.pageblock import STALE_USEMAP, MigrateType
from memmapsim.model.periodic import Sharing
from memmapsim.model.pgmap import AltmapConfig
from memmapsim.model.section import (
    ALL_SUBSECTIONS,
    NO_SECTION,
    Medium,
    MemmapBacking,
    SectionFlag,
    SectionState,
)
from memmapsim.model.structpage import PAGE_POISON_PATTERN, fill
from memmapsim.units import (
    ALIGN,
    PAGE_SHIFT,
    PAGES_PER_SECTION,
    PAGES_PER_SUBSECTION,
    PMD_SIZE,
    STRUCT_PAGE_SIZE,
    pfn_to_section_nr,
)

SECTION_MEMMAP_PFNS = PAGES_PER_SECTION * STRUCT_PAGE_SIZE >> PAGE_SHIFT
"""pfns of a section's memmap (512): one 2 MiB vmemmap block, a PMD."""


def page_init_poison_op() -> PageOp:
    """``page_init_poison(memmap, size)``: memset of the struct pages to 0xFF."""
    return PageOp("page_init_poison", "poison", fill(PAGE_POISON_PATTERN))


def page_init_poison(k: Kernel, fn: str, lo: int, hi: int) -> Gen[None]:
    """Poison the struct pages of ``[lo, hi)`` when this kernel and boot poison (CONFIG_DEBUG_VM,
    and since v4.20 ``vm_debug``)."""
    if page_init_poisoning(k) and hi > lo:
        yield InitPages(lo, hi, PageWork(fn, (page_init_poison_op(),), kind=WorkKind.POISON))


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
    """x86 ``vmemmap_populate`` → ``vmemmap_populate_hugepages`` for the memmaps of whole
    sections ``[lo_sec, hi_sec)``: one PMD block per section, from the altmap of pgmap
    ``altmap`` (no fallback) or node RAM. Returns how many sections got their memmap."""
    n = hi_sec - lo_sec
    if altmap is not None:
        cfg, alloc, align = yield ReadAltmap(altmap)
        n, alloc, align = altmap_alloc_blocks(cfg, alloc, align, SECTION_MEMMAP_PFNS, n)
        yield SetAltmap(altmap, alloc, align)
    if n:
        lo, hi = lo_sec * PAGES_PER_SECTION, (lo_sec + n) * PAGES_PER_SECTION
        yield PopulateMemmap(lo, hi, memmap_backing(nid, altmap))
    return n


# --- v4.18-v5.2: whole sections -------------------------------------------------------------
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
        yield from page_init_poison(k, "sparse_add_one_section", lo, hi)
        flags = SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP
        yield SetSections(lo_sec, lo_sec + added, SectionState(flags, nid))
    return -ENOMEM if added < hi_sec - lo_sec else 0


def add_sections_whole(
    k: Kernel, nid: int, start_pfn: int, nr_pages: int, altmap: int | None
) -> Gen[int]:
    """The section loop of ``__add_pages`` (v4.18-v5.2): ``__add_section`` for each
    section, which is -EEXIST when ``pfn_valid`` (the section has a memmap) — ignored
    ("EEXIST is finally dealt with by ioresource collision check") — and otherwise
    ``sparse_add_one_section``; any other error stops the loop."""
    first = pfn_to_section_nr(start_pfn)
    last = pfn_to_section_nr(start_pfn + nr_pages - 1) + 1
    runs = yield ReadSections(first, last)
    for lo, hi, sec in runs:
        if sec.valid:
            continue
        err = yield from sparse_add_one_section(k, lo, hi, nid, altmap)
        if err:
            return int(err)
    return 0


def sparse_remove_one_section(k: Kernel, lo_sec: int, hi_sec: int, altmap: int | None) -> Gen[None]:
    """``sparse_remove_one_section`` for each of sections ``[lo_sec, hi_sec)`` (v4.18-v5.2):
    the section forgets its memmap and usemap, the usemap is freed, the vmemmap is freed
    (``vmemmap_free``: an altmap block goes back with ``vmem_altmap_free``)."""
    lo, hi = lo_sec * PAGES_PER_SECTION, hi_sec * PAGES_PER_SECTION
    yield SetSections(lo_sec, hi_sec, NO_SECTION)
    yield SetPageblocks(lo, hi, None)
    yield from vmemmap_free(k, lo, hi, altmap)


def vmemmap_free(k: Kernel, lo: int, hi: int, altmap: int | None) -> Gen[None]:
    """``vmemmap_free`` → x86 ``remove_pagetable``: the memmap of pfns ``[lo, hi)`` goes; each
    huge block that came from the altmap is given back (``vmem_altmap_free``, which only
    lowers ``alloc``)."""
    if altmap is not None:
        _cfg, alloc, align = yield ReadAltmap(altmap)
        freed = (hi - lo) * STRUCT_PAGE_SIZE >> PAGE_SHIFT
        yield SetAltmap(altmap, max(alloc - freed, 0), align)
    yield DepopulateMemmap(lo, hi)


# --- v5.3+: sub-sections -----------------------------------------------------------------------
def subsection_mask(start_pfn: int, nr_pages: int) -> int:
    """``subsection_mask_set``: the bits of the 2 MiB subsections ``[start_pfn, +nr_pages)``
    covers within its section."""
    first = (start_pfn % PAGES_PER_SECTION) // PAGES_PER_SUBSECTION
    last = ((start_pfn + nr_pages - 1) % PAGES_PER_SECTION) // PAGES_PER_SUBSECTION
    return ((1 << (last - first + 1)) - 1) << first


def populate_section_memmap(
    k: Kernel,
    start_pfn: int,
    nr_pages: int,
    nid: int,
    altmap: int | None,
    sharing: Sharing | None,
) -> Gen[int]:
    """``populate_section_memmap`` → ``__populate_section_memmap`` (v5.3+) for one partial
    section or a run of whole ones: a request smaller than a whole section's memmap gets
    4 KiB vmemmap pages from RAM, the altmap ignored (x86 ``vmemmap_populate``, v5.3);
    whole sections get a 2 MiB block each from the altmap (-ENOMEM when exhausted) or RAM;
    since v5.19 a compound devmap without an altmap is populated with shared tail pages
    (``sharing``). Returns the pfns populated (all of them unless the altmap ran out)."""
    lo, hi = start_pfn, start_pfn + nr_pages
    if sharing is not None and altmap is None:
        yield PopulateMemmap(lo, hi, memmap_backing(nid, None), sharing)
        return nr_pages
    if nr_pages < PAGES_PER_SECTION:
        yield PopulateMemmap(lo, hi, memmap_backing(nid, None))
        return nr_pages
    sec = pfn_to_section_nr(start_pfn)
    n = yield from vmemmap_populate(k, sec, sec + nr_pages // PAGES_PER_SECTION, nid, altmap)
    return int(n) * PAGES_PER_SECTION


def sparse_add_section(
    k: Kernel,
    nid: int,
    start_pfn: int,
    nr_pages: int,
    altmap: int | None,
    sharing: Sharing | None,
) -> Gen[int]:
    """``sparse_add_section`` → ``section_activate`` (v5.3+) for ``[start_pfn, +nr_pages)``:
    part of one section, or whole sections that are all in the same state (the kernel calls
    it once per section; the effects per section are the same). A new usage (kzalloc:
    pageblocks read MIGRATE_UNMOVABLE); the subsection bits — -EEXIST if any is set
    already — set *before* the memmap exists; the boot memmap reused for a partial add to
    an early section, else the memmap populated; then the added struct pages poisoned and
    the section marked present with a memmap."""
    lo_sec = pfn_to_section_nr(start_pfn)
    hi_sec = pfn_to_section_nr(start_pfn + nr_pages - 1) + 1
    runs = yield ReadSections(lo_sec, hi_sec)
    if len(runs) != 1:
        raise ValueError("sparse_add_section over sections in different states")
    state = runs[0][2]
    mask = ALL_SUBSECTIONS if hi_sec - lo_sec > 1 else subsection_mask(start_pfn, nr_pages)
    if not mask:
        return -EINVAL
    if state.subsection_map & mask:
        return -EEXIST
    if not state.usage:
        lo, hi = lo_sec * PAGES_PER_SECTION, hi_sec * PAGES_PER_SECTION
        yield SetPageblocks(lo, hi, int(MigrateType.MIGRATE_UNMOVABLE))
    active = SectionState(state.flags, state.nid, state.subsection_map | mask, True)
    yield SetSections(lo_sec, hi_sec, active)
    done = nr_pages
    if not (nr_pages < PAGES_PER_SECTION and state.early):
        done = yield from populate_section_memmap(k, start_pfn, nr_pages, nid, altmap, sharing)
    end = start_pfn + done
    yield from page_init_poison(k, "sparse_add_section", start_pfn, end)
    flags = active.flags | SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP
    if done:
        added_hi = pfn_to_section_nr(end - 1) + 1
        yield SetSections(lo_sec, added_hi, SectionState(flags, nid, active.subsection_map, True))
    if done < nr_pages:
        # section_deactivate of the section that could not be populated
        failed = pfn_to_section_nr(end)
        yield SetSections(failed, hi_sec, state)
        return -ENOMEM
    return 0


def section_deactivate(k: Kernel, start_pfn: int, nr_pages: int, altmap: int | None) -> Gen[None]:
    """``section_deactivate`` (v5.3+): clear the subsection bits; when none are left the
    usage is freed (kfree before SECTION_HAS_MEM_MAP is cleared up to v6.11, kfree_rcu after
    it from v6.12) and the memmap of the range goes."""
    sec = pfn_to_section_nr(start_pfn)
    ((_lo, _hi, state),) = yield ReadSections(sec, sec + 1)
    left = state.subsection_map & ~subsection_mask(start_pfn, nr_pages)
    if left:
        yield SetSections(sec, sec + 1, SectionState(state.flags, state.nid, left, True))
    else:
        yield SetSections(sec, sec + 1, NO_SECTION)
        base = sec * PAGES_PER_SECTION
        yield SetPageblocks(base, base + PAGES_PER_SECTION, None)
    if not state.early:
        whole = nr_pages >= PAGES_PER_SECTION
        yield from vmemmap_free(k, start_pfn, start_pfn + nr_pages, altmap if whole else None)


# --- boot sections --------------------------------------------------------------------------------
def boot_section_state(k: Kernel, nid: int, first_pfn: int, end_pfn: int) -> SectionState:
    """The state ``sparse_init`` leaves a boot section in, for present pfns ``[first_pfn,
    end_pfn)`` of it: present, with a memmap, online; since v5.3 also SECTION_IS_EARLY with
    the subsection bits of the present memory."""
    flags = SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP | SectionFlag.IS_ONLINE
    if not k.p.subsections:
        return SectionState(flags, nid)
    mask = subsection_mask(first_pfn, end_pfn - first_pfn)
    return SectionState(flags | SectionFlag.IS_EARLY, nid, mask & ALL_SUBSECTIONS, True)


# --- boot: sparse_init ----------------------------------------------------------------------------
SECTION_MEMMAP_BYTES = PAGES_PER_SECTION * STRUCT_PAGE_SIZE
"""One section's memmap: 2 MiB, a PMD of vmemmap."""
MAX_DMA_ADDRESS = 16 << 20
"""``__pa(MAX_DMA_ADDRESS)``: the lowest address a boot memmap is allocated at."""


def memmap_zero_op() -> PageOp:
    """v4.14 ``memblock_virt_alloc_try_nid`` zeroes what it allocates: a memset of the whole
    buffer by the boot CPU (H14@mm/memblock.c:1276-1338, the memset at :1330)."""
    return PageOp("memset(memmap, 0)", "memmap_zero", fill(0))


def sparse_init(k: Kernel, snap: MemblockSnapshot) -> Gen[None]:
    """``sparse_init`` at boot: per node, one buffer for the memmaps of its present sections
    (2 MiB each) from memblock, top-down on the node (``sparse_mem_maps_populate_node`` in
    v4.14-v4.19, ``sparse_buffer_init`` from v4.20, ``memblock_alloc_exact_nid_raw`` from
    v5.7, ``memmap_alloc`` from v6.1), which ``vmemmap_populate`` maps; zeroed in v4.14
    (``memblock_virt_alloc_try_nid``), raw from v4.15 and poisoned with CONFIG_DEBUG_VM
    (``page_init_poison``); then each section marked present with its memmap (and, from
    v5.3, SECTION_IS_EARLY with the sub-sections of its memory) and its usemap zeroed
    (pageblocks read MIGRATE_UNMOVABLE). A section holding memory of two nodes belongs to the
    first (``memory_present``). Failure: "%s: sparsemem memory map backing failed some memory
    will not be available" (up to v4.19), "%s: node[%d] memory map backing failed. Some
    memory will not be available." (v4.20+); the node's sections keep no memmap.
    (H14@mm/sparse.c:552-621, mm/sparse-vmemmap.c:263-315; A20@mm/sparse.c:421-536;
    W53@mm/sparse.c:473-561; K61@mm/sparse.c:458-555.)"""
    owned: list[tuple[int, int, int]] = []  # runs of sections (lo, hi, nid), address order
    pieces: dict[int, list[tuple[int, int]]] = {}  # memory in each section a range ends in
    claimed = 0
    for lo, hi, nid in mem_pfn_ranges(snap):
        s0, s1 = pfn_to_section_nr(lo), pfn_to_section_nr(hi - 1) + 1
        if max(s0, claimed) < s1:
            owned.append((max(s0, claimed), s1, nid))
            claimed = s1
        for sec in {s0, s1 - 1}:
            first = sec * PAGES_PER_SECTION
            piece = (max(lo, first), min(hi, first + PAGES_PER_SECTION))
            pieces.setdefault(sec, []).append(piece)
    for nid in sorted({n for _a, _b, n in owned}):
        runs = _merge_runs([(a, b) for a, b, n in owned if n == nid])
        size = sum(b - a for a, b in runs) * SECTION_MEMMAP_BYTES
        base = yield from memblock_alloc_try_nid(k, size, PMD_SIZE, MAX_DMA_ADDRESS, nid)
        if base is None:
            if k.p.unavailable in ("none", "zero-reserved"):  # v4.14-v4.19
                msg = (
                    "sparse_mem_maps_populate_node: sparsemem memory map backing failed some "
                    "memory will not be available"
                )
            else:
                msg = (
                    f"sparse_init_nid: node[{nid}] memory map backing failed. Some memory will "
                    "not be available."
                )
            yield Printk("err", msg)
            continue
        for lo_sec, hi_sec in runs:
            lo, hi = lo_sec * PAGES_PER_SECTION, hi_sec * PAGES_PER_SECTION
            yield PopulateMemmap(lo, hi, MemmapBacking(Medium.BOOT, nid))
            if k.p.boot_memmap_zeroed:
                zero = PageWork("memblock_virt_alloc_try_nid", (memmap_zero_op(),))
                yield InitPages(lo, hi, PageWork(zero.fn, zero.ops, kind=WorkKind.ZERO))
            else:
                yield from page_init_poison(k, "memblock_alloc_try_nid_raw", lo, hi)
            yield SetPageblocks(lo, hi, int(MigrateType.MIGRATE_UNMOVABLE))
            yield SetSections(lo_sec, hi_sec, boot_section_state(k, nid, 0, PAGES_PER_SECTION))
            for sec in sorted(x for x in pieces if lo_sec <= x < hi_sec):
                state = boot_section_state(k, nid, *pieces[sec][0])
                for a, b in pieces[sec][1:]:
                    more = boot_section_state(k, nid, a, b).subsection_map
                    state = replace(state, subsection_map=state.subsection_map | more)
                yield SetSections(sec, sec + 1, state)


def _merge_runs(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(runs):
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out
