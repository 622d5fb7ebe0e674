"""A kernel: a release plus named changes, as switches and as code paths.

Two ways a change enters the model, by size:

- a few-line delta of a function is a :class:`Params` switch the function branches on
  where the patch changed it, like an ``#ifdef`` per commit (each switch's docstring
  cites the change);
- a change that replaces functions carries its own implementations, which replace entries
  of :class:`Paths` when the kernel is built (drgn's pattern: the implementation is picked
  once), and era-crossing calls go through ``k.paths``.

``k.config`` holds the build and boot configuration from the scenario (CONFIG_DEBUG_VM,
``vm_debug=``, HZ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from memmapsim.model.pageflags import PAGEFLAGS_V4_18, PageFlagsLayout

if TYPE_CHECKING:
    from memmapsim.effects import Gen, ThreadSpec
    from memmapsim.kernel.device import KDevice
    from memmapsim.model.pgmap import Pgmap


class Params(msgspec.Struct, frozen=True):
    """Version switches: what a release plus changes does differently, as data. (A frozen
    msgspec struct rather than a dataclass: with its many fields the dataclass cost some
    15 ms of every start-up, issue 7.)"""

    pageflags: tuple[str, ...] = PAGEFLAGS_V4_18
    """``enum pageflags`` (PG_workingset from v4.20 shifts PG_reserved from bit 11 to 12)."""
    pgmap_index: Literal["radix", "xarray"] = "radix"
    """``pgmap_radix`` (v4.18-v4.19) or ``pgmap_array`` (XArray, v4.20+)."""
    conflict_probes: bool = False
    """devm_memremap_pages probes get_dev_pagemap at both ends of the aligned range and
    refuses with "Conflicting mapping in same section" (Dave Jiang, v4.18-rc7)."""
    pfn_trim: Literal["system-ram", "regions", "none"] = "system-ram"
    """How nd_pfn_init trims a namespace whose sections collide: with System RAM only
    (v4.18), or also with other nvdimm regions (trim_pfn_device + nd_region_conflict,
    "libnvdimm, pfn: Pad pfn namespaces relative to other regions", v4.20)."""
    kasan_zero_shadow: bool = False
    """devm_memremap_pages calls kasan_add_zero_shadow (0207df4fa1a8, v4.19)."""
    reserved_atomic: bool = True
    """memmap_init_zone(MEMMAP_HOTPLUG) sets PG_reserved with atomic SetPageReserved;
    "mm: create non-atomic version of SetPageReserved for init use" (v4.20) uses
    __SetPageReserved."""
    vm_debug_param: bool = False
    """``vm_debug=`` exists and hot-add poisoning goes through page_init_poison()
    (f682a97a0059, v4.20); before, DEBUG_VM always memsets the memmap."""
    zone_device_deferred: bool = False
    """966cf44f637e "mm: defer ZONE_DEVICE page initialization to the point where we init
    pgmap" (v4.20): memmap_init_zone initializes only the altmap's memmap-hosting pfns
    under the lock; memmap_init_zone_device initializes the rest outside it."""
    zone_device_ref_get_many: bool = False
    """After memmap_init_zone_device, percpu_ref_get_many(pfn_end - pfn_first): the
    2018-10-08 fix folded into 966cf44f637e (absent from v5 as posted 2018-09-25)."""
    section_tail_init: bool = False
    """memmap_init_zone ends by initializing pfns up to the section end (2830bf6f05fb,
    v4.20; reverted by 4aa9fc2a435a during v5.0-rc)."""
    memremap_kill: bool = False
    """v5.0 "mm, devm_memremap_pages: fix shutdown handling": the error paths and the
    release call ``pgmap->kill`` first; ``devm_add_action_or_reset``."""
    memremap_private: bool = False
    """69324b8f4833 (v5.0): devm_memremap_pages adds DEVICE_PRIVATE with ``add_pages`` (no
    direct map) and refuses any System RAM in the range; the release removes it with
    ``__remove_pages``; HMM's own hotplug code goes."""
    memremap_cleanup: bool = False
    """v5.2: ``pgmap->cleanup``; a conflict-probe hit goes to err_array (kill + cleanup)."""
    init_empty_zone_locked: bool = False
    """v5.0: move_pfn_range_to_zone calls init_currently_empty_zone inside the resize
    locks."""
    resize_locks: bool = True
    """move_pfn_range_to_zone grows the spans under pgdat_resize_lock + the zone span
    seqlock; gone between v5.12 and v5.15 (docs/kernel-notes/zone-device-late.md §3.4)."""
    init_message: Literal["dev", "func"] = "dev"
    """memmap_init_zone_device's line: ``"%s initialised, %lu pages in %ums"`` with
    ``dev_name(pgmap->dev)`` (v4.20-v5.3), ``"%s initialised %lu pages in %ums"`` with
    ``__func__`` (v5.4+)."""
    init_message_debug: bool = False
    """v6.4 "mm: Be less noisy during memory hotplug": that line is ``pr_debug``."""
    subsections: bool = False
    """v5.3 sub-section hotplug: 2 MiB granularity, ``sparse_add_section`` /
    ``section_activate`` (kzalloc'ed usage), exact ``res`` spans, probes on the res ends."""
    misaligned_message_fixed: bool = False
    """v6.6: "Misaligned %s start: %#lx end: %#lx" loses the stray ``#``."""
    conflict_warn_dev: bool = True
    """The conflict probes' message is ``dev_WARN`` (device prefix) until v5.3, ``WARN``
    from v5.4."""
    pagemap_ranges: bool = False
    """v5.10 multi-range pgmaps: ``memremap_pages`` → ``pagemap_range`` per range."""
    taint_zone_device: bool = False
    """v5.12: SECTION_TAINT_ZONE_DEVICE on the sections of an unaligned range end."""
    shrink_zone_device: bool = True
    """Up to v5.3 removing ZONE_DEVICE memory shrinks the zone and node spans, reading
    struct pages; v5.4 leaves ZONE_DEVICE spans alone."""
    arch_remove_reads_zone: bool = True
    """x86 arch_remove_memory reads the zone from the first data page (until v5.7)."""
    unmap_reads_first_data_page: bool = False
    """77e080e7680e (v5.4): the teardown reads nid/zone from ``pfn_first`` (a data page),
    not from ``res.start`` (with an altmap, a reserve pfn never initialized)."""
    remove_repoison: bool = False
    """v5.7: remove_pfn_range_from_zone poisons the memmap before it is freed."""
    compound_devmaps: bool = False
    """c4386bd8ee3a (v5.17): ``pgmap->vmemmap_shift``; one pgmap reference per compound page."""
    bulk_ref_put: bool = False
    """v5.18: the teardown puts the pgmap references with one ``percpu_ref_put_many``."""
    vmemmap_dedup: Literal["none", "compound", "reserve-nr"] = "none"
    """Compound devmaps without an altmap share tail struct pages: v5.19 for any compound
    page (``vmemmap_can_optimize`` in v6.3), v6.6 only above VMEMMAP_RESERVE_NR vmemmap
    pages."""
    ref_skip_types: frozenset[str] = frozenset()
    """v6.1: types whose pages take no pgmap reference at add (DEVICE_PRIVATE, COHERENT)."""
    device_kinds: frozenset[str] = frozenset({"fsdax", "devdax", "device-private"})
    """The ZONE_DEVICE kinds this kernel can create (p2pdma from v4.20, device-coherent
    from v6.1 here)."""
    nd_label_reserve: bool = True
    """device-dax pfn blocks reserve 128 KiB for labels; removed in v5.1."""
    nd_subsection_layout: bool = False
    """v5.3 pfn_devs.c: no trimming, the altmap based at the 2 MiB subsection, npfns not
    rounded to sections, info block v1.3."""
    nd_start_aligned: bool = False
    """v5.10: a pfn namespace whose start is not 2 MiB aligned is refused."""
    nd_trim_end_double_adjust: bool = True
    """v4.20-v5.0 trim_pfn_device passes ``size + adjust`` with ``size`` already including the
    end pad; v5.1 passes ``size``."""
    nd_refuse_counts_end_trunc: bool = False
    """v6.6: nd_pfn_init refuses when ``offset >= size - end_trunc`` (was ``size``)."""
    nd_struct_page_size: int = 64
    """MAX_STRUCT_PAGE_SIZE the pfn block reserves per pfn: 128 in v6.1.0, 64 otherwise."""
    devdax_bus: bool = False
    """v5.1: device-dax maps its pages in ``dev_dax_probe`` on the dax bus."""
    devdax_type: str = "UNSET"
    """The pgmap type device-dax sets: none (0) until v5.2, MEMORY_DEVICE_DEVDAX in v5.3,
    MEMORY_DEVICE_GENERIC from v5.10."""
    devdax_vmemmap_shift: bool = False
    """v5.17: device-dax sets ``vmemmap_shift`` from its alignment."""
    dax_region_rwsem: bool = False
    """v6.12: device-dax instances are created — and map their pages — under the global
    ``dax_region_rwsem``, one at a time system-wide."""
    compound: str | None = None
    """The release whose ``memmap_init_compound`` stores apply (a key of
    :data:`memmapsim.kernel.compound.COMPOUND_BY_RELEASE`); None before v5.17."""
    refcount_zero_types: frozenset[str] = frozenset()
    """Types whose pages ``__init_zone_device_page`` leaves at refcount 0: DEVICE_PRIVATE and
    COHERENT from v6.1, also FS_DAX and PCI_P2PDMA by v7.0."""
    lru_gen: bool = False
    """CONFIG_LRU_GEN (v6.1+, distro configs): LRU_GEN and LRU_REFS fields in page->flags."""
    pageblock_init_range: bool = False
    """7.1.5: the migratetype moves out of the per-page init into
    ``pageblock_migratetype_init_range`` over every pageblock of the range, and an early
    section's compound pages are not deduplicated."""
    add_pages_skips_end_vars: bool = False
    """v7.0: x86 ``add_pages`` no longer calls ``update_end_of_memory_vars`` for a pgmap."""
    nd_claim_ebusy: bool = False
    """fsdax: a namespace already claimed makes nd_pmem_probe return -EBUSY (v5.10; -ENXIO,
    a silent "rejects match", before)."""
    probe_message: Literal["drv", "dev"] = "drv"
    """The driver core's probe-failure lines: ``"%s: probe of %s failed with error %d"`` up
    to v6.11, ``dev_err(dev, "probe with driver %s failed with error %d")`` from v6.12."""
    hmm: Literal["hmm-devmem", "memremap", "driver"] = "hmm-devmem"
    """Device-private memory: HMM's own hotplug (v4.18-v4.20), hmm_devmem_add over
    devm_memremap_pages (v5.0-v5.2), the driver's own pgmap (v5.3+)."""

    # --- boot memory (docs/kernel-notes/boot-hotplug.md; defaults: v4.14) -----------------
    boot_memmap_zeroed: bool = True
    """v4.14: ``sparse_init`` allocates the memmap with ``memblock_virt_alloc_try_nid``, which
    memsets it to 0 on the boot CPU; from v4.15 ("complete deferred page initialization") it is
    raw (``memblock_virt_alloc_try_nid_raw``: stale, or 0xFF with CONFIG_DEBUG_VM)."""
    init_zero: Literal["none", "memset", "stores"] = "none"
    """How ``__init_single_page`` zeroes the struct page: not at all (v4.14, the memmap was
    zeroed when allocated), ``mm_zero_struct_page`` as a memset (v4.15-v5.1), as eight 8-byte
    stores (5470dea49f53, v5.2)."""
    static_init: Literal["2g-or-256th", "section-or-span", "section"] = "2g-or-256th"
    """How many pfns of a node's deferred zone ``memmap_init_zone`` initializes before
    deferring: v4.14 ``reset_deferred_meminit`` (max(2 GiB, spanned/256) plus the bytes of
    reservations it finds, in pages); v4.17-v4.20 ``static_init_pgcnt = min(PAGES_PER_SECTION,
    spanned)``; v5.0 ``PAGES_PER_SECTION``."""
    early_skip: Literal["next-region", "per-pfn"] = "next-region"
    """v4.14 ``memmap_init_zone`` jumps from an invalid pfn to the next memblock region
    (``memblock_next_valid_pfn``); later releases test every pfn."""
    memmap_init_walk: Literal["zone", "range-end", "zone-end"] = "zone"
    """``memmap_init`` EARLY: over the zone span (up to v5.7); per memblock range, passing the
    range's end to ``defer_init`` (v5.8-v5.11: only a node's last range can be deferred);
    per range with the zone's end and a stop once deferred (``memmap_init_range``, v5.12)."""
    unavailable: Literal["none", "zero-reserved", "zero-gaps", "init-node0", "init-zone"] = "none"
    """Struct pages of pfns in no memblock memory: untouched (v4.14), zeroed if reserved
    (v4.18 ``zero_resv_unavail``), zeroed in every gap up to ``max_pfn`` (v4.20), initialised
    PG_reserved with zone 0 / node 0 up to the section end (v5.7 ``init_unavailable_mem``), or
    with the zone and node around them (v5.12 ``init_unavailable_range``)."""
    unavailable_message: Literal["none", "reserved", "zeroed", "zone", "node"] = "none"
    """That step's line: "Reserved but unavailable: %lld pages" (v4.18), "Zeroed struct page
    in unavailable ranges: %lld pages" (v4.20-v5.11), "  %s zone: %llu pages in unavailable
    ranges" (v5.12), "On node %d, zone %s: %lld pages in unavailable ranges" (v5.14+)."""
    meminit_pfn_in_nid: bool = True
    """Deferred init looks up each pfn's node (``meminit_pfn_in_nid``), dropped by 56ec43d8b027
    (v5.2)."""
    deferred_walk: Literal["memory", "free"] = "memory"
    """v4.14 walks ``memblock.memory`` and skips struct pages already written; from v4.15 the
    free ranges (memory minus reserved)."""
    deferred_free: Literal["per-pageblock", "two-pass", "maxorder"] = "per-pageblock"
    """How deferred init frees: each pageblock right after initializing it (v4.14); all pages
    initialized first, then all freed (v4.15 "mm: buddy page accessed before initialized");
    per MAX_ORDER_NR_PAGES chunk, init then free (0e56acae4b4d, v5.2; v7.1 per 1024-pfn piece
    of a free range)."""
    deferred_lock: Literal["none", "whole", "early-unlock"] = "none"
    """``pgdat_resize_lock`` (IRQs off) in deferred_init_memmap: none (v4.14), held for the whole
    run (v4.17 "mm: initialize pages on demand during boot"), dropped once
    ``first_deferred_pfn`` is taken (3d060856adfc, in the 5.7.6 tree)."""
    deferred_threads: Literal["one", "padata-per-range", "padata-per-node"] = "one"
    """One pgdatinit thread per node; from v5.8 padata helpers per free range
    (``padata_do_multithreaded``, x86: up to the node's CPUs); v7.1 one job per node."""
    deferred_message: Literal["pages", "time"] = "pages"
    """``"node %d initialised, %lu pages in %ums"`` up to v5.7, ``"node %d deferred pages
    initialised in %ums"`` from v5.8."""
    reserve_lru_init: bool = True
    """``reserve_bootmem_region`` re-does ``INIT_LIST_HEAD(&page->lru)`` ("Avoid false-positive
    PageTail()"), v4.14-v6.6; gone by v6.11."""
    buddy_type: Literal["mapcount", "page_type", "pgty"] = "mapcount"
    """How PageBuddy is stored in the _mapcount word: ``PAGE_BUDDY_MAPCOUNT_VALUE`` (-128,
    v4.14), ``page_type &= ~PG_buddy`` (0xffffff7f, v4.18), ``PGTY_buddy << 24`` (v6.12)."""
    # --- System RAM hotplug (defaults: v4.18) -------------------------------------------------
    ram_hotplug: bool = True
    """System RAM hotplug (the ``system-ram`` device kind) is modelled: from v4.18."""
    online_type_param: bool = False
    """v5.7 ``memhp_default_online_type``: an add may online as online_kernel or
    online_movable; before, ``memhp_auto_online`` (a bool) onlines with the default zone."""
    add_memory_device_lock: bool = False
    """v4.20: ``add_memory`` takes ``lock_device_hotplug``, drops ``mem_hotplug_lock`` before
    onlining, and ``online_pages`` takes it itself."""
    online_free: Literal["per-page", "blocks", "blocks-ungated"] = "per-page"
    """``online_pages_range``: per page ``__free_reserved_page`` if the first page is
    PG_reserved (v4.18-v5.0), ``generic_online_page(page, order)`` in MAX_ORDER blocks (v5.1),
    without the PG_reserved gate (v5.4)."""
    online_isolate: Literal["none", "isolate", "isolate-bit"] = "none"
    """Onlining sets the pageblocks MIGRATE_ISOLATE and undoes it at the end (v5.10); v7.1 sets
    MOVABLE and the separate isolate bit."""
    hotplug_offline_type: bool = False
    """v6.12 (6.11.11 tree): hot-plugged RAM is initialised PageOffline, not PG_reserved."""
    offline_sets_reserved: bool = True
    """``__offline_isolated_pages`` sets PG_reserved on every offlined page (up to v6.0)."""
    offline_shrinks: bool = False
    """v5.7: ``remove_pfn_range_from_zone`` at offline (poison, spans shrink); before, the spans
    shrink in ``__remove_pages``."""
    offlined_message_debug: bool = False
    """"Offlined Pages %ld" at ``pr_info`` up to v5.10, ``pr_debug`` from v5.12."""
    memmap_on_memory: Literal["none", "one-block", "one-block-fallback", "per-block"] = "none"
    """``memory_hotplug.memmap_on_memory`` (a08a2ae34613, v5.14): only for an add of exactly
    one memory block (ACPI passes the flag only then); v6.6 ACPI always passes it and a larger
    add silently falls back; v6.12 one altmap per block of any add."""
    vmemmap_self_hosted: bool = False
    """``mhp_init_memmap_on_memory`` marks the pages that host the memmap
    ``SetPageVmemmapSelfHosted`` (PG_owner_priv_1): absent in 5.16.10, present in 6.1."""
    memory_block_locking: bool = False
    """v6.12: ``memory_block_online`` takes ``mem_hotplug_lock`` around the memmap init and
    ``online_pages``."""
    block_size_rule: Literal["2g", "align", "bare-metal-2g"] = "2g"
    """x86 ``probe_memory_block_size`` with 64 GiB of boot memory or more: 2 GiB (v4.14); the
    largest power of two up to 2 GiB that aligns the end of boot memory (v4.18); 2 GiB on bare
    metal, the alignment search under a hypervisor (v6.1)."""
    # --- the kernel's readers (pfn walkers), kernel/readers/ and versions_readers.py ------
    memory_failure_dev_pagemap: bool = False
    """v4.19: memory_failure looks the pfn up with get_dev_pagemap and takes the dev_pagemap
    path (``memory_failure_dev_pagemap``, ``dax_lock_mapping_entry`` / ``dax_lock_page``)."""
    soft_offline_zone_device: bool = False
    """v4.20: soft_offline_page refuses a ZONE_DEVICE page (``is_zone_device_page``: it
    reads page->flags to tell)."""
    proc_page_max_dump_pfn: bool = False
    """v5.7: /proc/kpage* reach ``max_pfn`` rounded up to a section (``get_max_dump_pfn``)."""
    memory_block_removable_walk: bool = True
    """Up to v5.6 a memory block's ``removable`` walks its pageblocks; from v5.7 it prints
    CONFIG_MEMORY_HOTREMOVE."""
    memory_block_valid_zones_walk: bool = True
    """Up to v5.17 ``valid_zones`` of an online memory block walks its pfns
    (``test_pages_in_a_zone``); by v5.19 it prints ``mem->zone``."""
    memory_failure_pgmap_pfn_valid: bool = False
    """v5.12: memory_failure_dev_pagemap refuses the altmap's pfns (``pgmap_pfn_valid``:
    "device metadata space is not recoverable")."""
    memory_failure_mutex: bool = False
    """memory_failure runs under ``mf_mutex`` (in the 5.16.10 tree, not in 5.12.9)."""
    memory_failure_pgmap_ops: bool = False
    """v6.1: the dev_pagemap path asks the driver first (``pgmap->ops->memory_failure``;
    fsdax notifies the filesystem holding the namespace), then ``mf_generic_kill_procs``."""
    memory_failure_folio: bool = False
    """v6.12: the dev_pagemap path locks the folio (``pfn_folio``, ``dax_lock_folio``): it
    reads compound_head before mapping."""
    pageblock_start_pfn_valid: bool = True
    """``__pageblock_pfn_to_page`` tests ``pfn_valid`` of the block's first pfn as well as its
    last (6.4.0); the 6.11.11 and 6.12.0 trees test only the last (``pfn_to_online_page``
    of the first follows in both)."""
    hwpoison_inject_get_page: bool = True
    """Up to v6.0 hwpoison_inject takes a page reference first (``get_hwpoison_page``: it
    reads _refcount); 6.1 does not."""


class Paths(msgspec.Struct, frozen=True):
    """The code paths a change may replace whole, by kernel function name."""

    nd_device_register: Callable[[Kernel, ThreadSpec, int], Gen[None]]
    """How libnvdimm queues a device's registration and probe (drivers/nvdimm/bus.c)."""
    devm_memremap_pages: Callable[[Kernel, KDevice, Pgmap], Gen[int]]
    """kernel/memremap.c (v4.18-v5.2) or mm/memremap.c (v5.3+)."""
    memremap_pages: Callable[[Kernel, KDevice, Pgmap], Gen[int]]
    """The body of mm/memremap.c's devm_memremap_pages (v5.3+)."""
    memunmap_pages: Callable[[Kernel, KDevice, Pgmap], Gen[None]]
    """The teardown: devm_memremap_pages_release (v4.18-v5.3), memunmap_pages (v5.4+)."""
    memmap_init_zone_device: Callable[[Kernel, int, int, int, Pgmap], Gen[None]]
    """mm/page_alloc.c (v4.20-v5.16) or the compound form (v5.17+)."""
    add_pages_impl: Callable[..., Gen[int]]
    """``__add_pages``: whole sections (v4.18-v5.2) or sub-sections (v5.3+)."""
    proc_page_pfn_to_page: Callable[[Kernel, int], Gen[bool]]
    """fs/proc/page.c: whether kpagecount/kpageflags/kpagecgroup may look at a pfn's struct
    page: ``pfn_valid()`` (v4.18-v5.3), ``pfn_to_online_page()`` (v5.4, aad5f69bc161)."""
    memory_failure: Callable[[Kernel, int], Gen[int]]
    """mm/memory-failure.c ``memory_failure(pfn, flags)``: ``pfn_valid()`` first (v4.18-v5.3),
    ``pfn_to_online_page()`` first (v5.4, 96c804a6ae8c)."""
    soft_offline_pfn_to_page: Callable[[Kernel, int], Gen[bool]]
    """drivers/base/memory.c: whether ``soft_offline_page`` may look at the struct page:
    ``pfn_valid()`` (v4.18-v5.3), also ``pfn_to_online_page()`` (v5.4)."""
    kmemleak_pfn_to_page: Callable[[Kernel, int], Gen[bool]]
    """mm/kmemleak.c ``kmemleak_scan``: ``pfn_valid()`` (v4.18-v4.20), ``pfn_to_online_page()``
    (v5.0)."""
    page_owner_pfn_to_page: Callable[[Kernel, int], Gen[bool]]
    """mm/page_owner.c ``pagetypeinfo_showmixedcount_print``: ``pfn_valid()`` (v4.18-v5.3),
    ``pfn_to_online_page()`` (v5.4)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return cls.__struct_fields__

    def replaced(self, new: dict[str, Callable[..., Any]]) -> Paths:
        unknown = sorted(set(new) - set(self.names()))
        if unknown:
            raise KeyError(f"no code path named {', '.join(unknown)}")
        return Paths(**{n: new.get(n, getattr(self, n)) for n in self.names()})


class BootConfig(msgspec.Struct, frozen=True):
    """Kconfig and command line relevant to memmap init, from the scenario's knobs."""

    debug_vm: bool = False
    vm_debug: str | None = None
    hz: int = 1000
    hypervisor: bool = False
    """X86_FEATURE_HYPERVISOR: the machine is a virtual machine (memory block size, v6.1+)."""
    deferred: bool = True
    """CONFIG_DEFERRED_STRUCT_PAGE_INIT."""


@dataclass(frozen=True)
class Kernel:
    name: str
    """Normalized, as the user writes it: ``4.18+nonatomic-reserved``."""
    release: str
    changes: tuple[str, ...]
    """Every change in effect: the release's own, then the added ones."""
    added: tuple[str, ...]
    p: Params
    paths: Paths
    config: BootConfig = field(default_factory=BootConfig)

    @cached_property
    def layout(self) -> PageFlagsLayout:
        if self.p.lru_gen:
            return PageFlagsLayout(self.p.pageflags, lru_gen_width=3, lru_refs_max_width=2)
        return PageFlagsLayout(self.p.pageflags)

    def jiffies_to_msecs(self, j: int) -> int:
        return j * 1000 // self.config.hz
