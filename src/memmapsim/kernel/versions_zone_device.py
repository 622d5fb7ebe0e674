"""The ZONE_DEVICE paths per release: the changes of v4.18 to v7.1 and the releases that
merged them, each read from its release tree (docs/kernel-notes/, docs/spec-corrections.md).
"""

from __future__ import annotations

from memmapsim.kernel import mm_init, mm_memremap
from memmapsim.kernel.change import Change, Release
from memmapsim.kernel.memory_hotplug import add_pages_by_subsection
from memmapsim.kernel.nvdimm import nd_device_register_node_local
from memmapsim.model.pageflags import (
    PAGEFLAGS_V4_20,
    PAGEFLAGS_V5_10,
    PAGEFLAGS_V6_4,
    PAGEFLAGS_V6_6,
    PAGEFLAGS_V6_12,
    PAGEFLAGS_V7_0,
)

KINDS_4_18 = frozenset({"fsdax", "devdax", "device-private"})

CHANGES: tuple[Change, ...] = (
    Change(
        "conflict-probes",
        "mm: disallow mappings that conflict for devm_memremap_pages()",
        None,
        "v4.18-rc7 (Dave Jiang); in the v4.18.0 tree, kernel/memremap.c:186-197",
        {"conflict_probes": True},
        selectable=False,
    ),
    Change(
        "kasan-zone-device",
        "kernel/memremap, kasan: make ZONE_DEVICE with work with KASAN",
        "0207df4fa1a8",
        "v4.19",
        {"kasan_zero_shadow": True},
        selectable=False,
    ),
    Change(
        "pg-workingset",
        "mm: workingset: tell cache transitions from workingset thrashing",
        "1899ad18c607",
        "v4.20",
        {"pageflags": PAGEFLAGS_V4_20},
        selectable=False,
    ),
    Change(
        "pgmap-xarray",
        "memremap: Convert to XArray (Matthew Wilcox)",
        None,
        "v4.20; in the v4.20.0 tree, kernel/memremap.c:15, 184-185 (xa_store_range into "
        "pgmap_array)",
        {"pgmap_index": "xarray"},
        selectable=False,
    ),
    Change(
        "nd-region-pad",
        "libnvdimm, pfn: Pad pfn namespaces relative to other regions",
        None,
        "v4.20; in the v4.20.0 tree, drivers/nvdimm/pfn_devs.c:652-683 (trim_pfn_device) "
        "and region_devs.c:1187-1226 (nd_region_conflict)",
        {"pfn_trim": "regions"},
        selectable=False,
    ),
    Change(
        "page-init-poison-off",
        "mm: provide kernel parameter to allow disabling page init poisoning",
        "f682a97a0059",
        "v4.20-rc1; posted as 1/4 (v3, page_init_poison=) and vm_debug= (v4 1/5, v5 2/4)",
        {"vm_debug_param": True},
    ),
    Change(
        "nonatomic-reserved",
        "mm: create non-atomic version of SetPageReserved for init use",
        None,
        "v4.20-rc1; posted as v3 2/4, v4 2/5, v5 3/4",
        {"reserved_atomic": False},
    ),
    Change(
        "defer-zone-device-v5",
        "mm: defer ZONE_DEVICE page initialization to the point where we init pgmap "
        "(v5 4/4 as posted 2018-09-25)",
        None,
        "posted 2018-09-25, without the reference-count fix",
        {"zone_device_deferred": True},
        requires=("nonatomic-reserved",),
        conflicts=("defer-zone-device",),
        notes="drops the per-page percpu_ref_get; release still puts one ref per page "
        "(the underflow Dan Williams reported on 2018-10-08)",
    ),
    Change(
        "defer-zone-device",
        "mm: defer ZONE_DEVICE page initialization to the point where we init pgmap",
        "966cf44f637e",
        "v4.20-rc1, with 'memremap: Fix reference count for pgmap in "
        "devm_memremap_pages' (2018-10-08) folded in",
        {"zone_device_deferred": True, "zone_device_ref_get_many": True},
        requires=("nonatomic-reserved",),
        conflicts=("defer-zone-device-v5",),
    ),
    Change(
        "node-local-probe",
        "nvdimm: Schedule device registration on node local to the device "
        "(v4 5/5, with 4/5 'async: Add support for queueing on specific node')",
        None,
        "posted 2018-09-20; merged form in v5.1",
        {},
        paths={"nd_device_register": nd_device_register_node_local},
    ),
    Change(
        "memmap-section-tail",
        "mm, memory_hotplug: initialize struct pages for the full memory section",
        "2830bf6f05fb",
        "v4.20 (mm/page_alloc.c:5545-5555 of the v4.20.0 tree); reverted by 4aa9fc2a435a "
        "during v5.0-rc",
        {"section_tail_init": True},
        notes="selectable on 4.18 and 4.19, which do not carry it",
    ),
    Change(
        "pci-p2pdma",
        "PCI/P2PDMA: Support peer-to-peer memory",
        None,
        "v4.20 (drivers/pci/p2pdma.c; docs/kernel-notes/drivers.md §3.1)",
        {"device_kinds": KINDS_4_18 | {"p2pdma"}},
        selectable=False,
    ),
    # --- v5.0 ------------------------------------------------------------------------
    Change(
        "revert-memmap-section-tail",
        'Revert "mm, memory_hotplug: initialize struct pages for the full memory section"',
        "4aa9fc2a435a",
        "v5.0-rc (mm/page_alloc.c of v5.0.0 ends memmap_init_zone after its loop)",
        {},
        reverts="memmap-section-tail",
        selectable=False,
    ),
    Change(
        "memremap-kill",
        "mm, devm_memremap_pages: fix shutdown handling",
        None,
        "v5.0 (kernel/memremap.c:154-155, 87-123 of the v5.0.0 tree)",
        {"memremap_kill": True},
        selectable=False,
    ),
    Change(
        "memremap-private",
        "mm, devm_memremap_pages: add MEMORY_DEVICE_PRIVATE support",
        "69324b8f4833",
        "v5.0 (kernel/memremap.c:176-227 of the v5.0.0 tree; mm/hmm.c:1030-1104)",
        {"memremap_private": True, "hmm": "memremap"},
        selectable=False,
    ),
    Change(
        "init-empty-zone-locked",
        "mm/memory_hotplug: move init_currently_empty_zone() under zone_span_lock protection",
        None,
        "v5.0 (mm/memory_hotplug.c:740-769 of the v5.0.0 tree)",
        {"init_empty_zone_locked": True},
        selectable=False,
    ),
    # --- v5.1 ------------------------------------------------------------------------
    Change(
        "nd-node-local-async",
        "libnvdimm: Schedule device registration on node local to the device (merged form, "
        "over async_schedule_dev_domain and queue_work_node)",
        None,
        "v5.1 (drivers/nvdimm/bus.c; docs/kernel-notes/drivers.md §4.1)",
        {},
        paths={"nd_device_register": nd_device_register_node_local},
        conflicts=("node-local-probe",),
        selectable=False,
    ),
    Change(
        "devdax-bus",
        "device-dax: Move resource pinning+mapping into the common driver (dax bus)",
        None,
        "v5.1 (drivers/dax/pmem/core.c, drivers/dax/device.c:448-503 of the v5.1.0 tree)",
        {"devdax_bus": True},
        selectable=False,
    ),
    Change(
        "nd-no-label-reserve",
        "libnvdimm/pfn: info_block_reserve(), no 128 KiB dax label reserve; the end "
        "collision check counts the pad once",
        None,
        "v5.1 (drivers/nvdimm/pfn_devs.c:583-586, 687, 750-753 of the v5.1.0 tree)",
        {"nd_label_reserve": False, "nd_trim_end_double_adjust": False},
        selectable=False,
    ),
    # --- v5.3 ------------------------------------------------------------------------
    Change(
        "subsection-hotplug",
        "mm: Sub-section memory hotplug support (and memremap moving to mm/)",
        None,
        "v5.3 (mm/memremap.c:164-335, mm/sparse.c:848-880, mm/memory_hotplug.c:254-326 of "
        "the v5.3.0 tree)",
        {"subsections": True},
        paths={
            "add_pages_impl": add_pages_by_subsection,
            "devm_memremap_pages": mm_memremap.devm_memremap_pages,
            "memunmap_pages": mm_memremap.memunmap_pages,
        },
        selectable=False,
    ),
    Change(
        "hmm-devmem-removed",
        "mm: remove hmm_devmem_add (drivers map DEVICE_PRIVATE with devm_memremap_pages)",
        None,
        "v5.3 (no hmm_devmem_* in mm/hmm.c of the v5.3.0 tree; kernel/resource.c:1658-1681)",
        {"hmm": "driver"},
        selectable=False,
    ),
    Change(
        "nd-subsection-layout",
        "libnvdimm/pfn: Stop padding pmem namespaces to section alignment",
        None,
        "v5.3 (drivers/nvdimm/pfn_devs.c:593-607, 651-734 of the v5.3.0 tree)",
        {"nd_subsection_layout": True, "pfn_trim": "none"},
        selectable=False,
    ),
    Change(
        "devdax-type",
        "device-dax: pgmap->type = MEMORY_DEVICE_DEVDAX",
        None,
        "v5.3 (drivers/dax/device.c:431 of the v5.3.0 tree)",
        {"devdax_type": "MEMORY_DEVICE_DEVDAX"},
        selectable=False,
    ),
    # --- v5.4 ------------------------------------------------------------------------
    Change(
        "memremap-split",
        "mm/memremap: memremap_pages() / memunmap_pages() without devres; pgmap->dev goes",
        None,
        "v5.4 (mm/memremap.c:103-320 of the v5.4.0 tree; mm/page_alloc.c:6016)",
        {"init_message": "func", "conflict_warn_dev": False},
        selectable=False,
    ),
    Change(
        "memunmap-first-data-page",
        "mm/memunmap: don't access uninitialized memmap in memunmap_pages()",
        "77e080e7680e",
        "v5.4 (mm/memremap.c:103-136 of the v5.4.0 tree)",
        {"unmap_reads_first_data_page": True},
    ),
    Change(
        "no-zone-device-shrink",
        "mm/memory_hotplug: don't shrink the spans of ZONE_DEVICE",
        None,
        "v5.4 (mm/memory_hotplug.c:468-488 of the v5.4.0 tree)",
        {"shrink_zone_device": False},
        selectable=False,
    ),
    # --- v5.5-v5.10 ------------------------------------------------------------------
    Change(
        "remove-repoison",
        "mm/memory_hotplug: poison memmap in remove_pfn_range_from_zone()",
        None,
        "v5.7 (mm/memory_hotplug.c of the 5.7.6 tree; x86 arch_remove_memory reads no page)",
        {"remove_repoison": True, "arch_remove_reads_zone": False},
        selectable=False,
    ),
    Change(
        "pagemap-ranges",
        "mm/memremap_pages: support multiple ranges per invocation",
        None,
        "v5.10 (mm/memremap.c:185-387 of the v5.10.0 tree)",
        {"pagemap_ranges": True},
        selectable=False,
    ),
    Change(
        "devdax-generic",
        "device-dax: MEMORY_DEVICE_DEVDAX renamed MEMORY_DEVICE_GENERIC",
        None,
        "v5.10 (drivers/dax/device.c:428 of the v5.10.0 tree)",
        {"devdax_type": "MEMORY_DEVICE_GENERIC"},
        selectable=False,
    ),
    Change(
        "pg-arch-2",
        "enum pageflags gains PG_arch_2 (arm64 MTE; configured on distro x86_64 builds)",
        None,
        "v5.10 (include/linux/page-flags.h of the v5.10.0 tree; docs/kernel-notes/"
        "page-format.md §1)",
        {"pageflags": PAGEFLAGS_V5_10},
        selectable=False,
    ),
    Change(
        "nd-claim-ebusy",
        "libnvdimm: nd_pmem_probe returns -EBUSY when the namespace is already claimed",
        None,
        "v5.10 (drivers/nvdimm/pmem.c of the v5.10.0 tree; -ENXIO up to v5.4, 5.5-5.9 not "
        "read; docs/kernel-notes/drivers.md §7)",
        {"nd_claim_ebusy": True},
        selectable=False,
    ),
    Change(
        "nd-start-aligned",
        "libnvdimm/pfn: refuse a namespace start not aligned to memremap_compat_align()",
        None,
        "v5.10 (drivers/nvdimm/pfn_devs.c:775-780 of the v5.10.0 tree)",
        {"nd_start_aligned": True},
        selectable=False,
    ),
    # --- v5.12, v5.15 ----------------------------------------------------------------
    Change(
        "taint-zone-device",
        "mm: teach pfn_to_online_page() about ZONE_DEVICE section collisions",
        None,
        "v5.12 (mm/memory_hotplug.c:730-773 of the 5.12.9 tree)",
        {"taint_zone_device": True},
        selectable=False,
    ),
    Change(
        "no-resize-locks",
        "mm/memory_hotplug: move_pfn_range_to_zone() without pgdat_resize_lock and the zone "
        "span seqlock",
        None,
        "between v5.12.9 and v5.15.16 (docs/kernel-notes/zone-device-late.md §3.4)",
        {"resize_locks": False},
        selectable=False,
    ),
    # --- v5.17-v5.19: compound devmaps, vmemmap deduplication ---------------------------
    Change(
        "compound-devmaps",
        "mm/memremap: add ZONE_DEVICE support for compound pages",
        "c4386bd8ee3a",
        "v5.17 (mm/page_alloc.c:6585-6694, mm/memremap.c:105-376 of the 5.17.0 tree)",
        {"compound_devmaps": True, "compound": "5.17"},
        paths={"memmap_init_zone_device": mm_init.memmap_init_zone_device},
        selectable=False,
    ),
    Change(
        "devdax-compound",
        "device-dax: compound devmap support (vmemmap_shift from the dax alignment)",
        None,
        "v5.17 (drivers/dax/device.c:451-455 of the 5.17.0 tree)",
        {"devdax_vmemmap_shift": True},
        selectable=False,
    ),
    Change(
        "bulk-ref-put",
        "mm/memremap: memunmap_pages puts the pgmap references with percpu_ref_put_many",
        None,
        "v5.18 (mm/memremap.c:136-151 of the 5.18.12 tree; no 5.18.0 tree)",
        {"bulk_ref_put": True, "compound": "5.18"},
        selectable=False,
    ),
    Change(
        "vmemmap-dedup",
        "mm/page_alloc: reuse tail struct pages for compound devmaps (with mm/sparse-vmemmap: "
        "populate compound devmaps)",
        "6fd3620b3428",
        "v5.19 (mm/sparse-vmemmap.c:697-797, mm/page_alloc.c:6675-6751 of the 5.19.0 tree; "
        "absent from 5.18.12: docs/spec-corrections.md)",
        {"vmemmap_dedup": "compound", "compound": "5.19"},
        selectable=False,
    ),
    # --- v6.1 --------------------------------------------------------------------------
    Change(
        "device-coherent",
        "mm: add device coherent memory type (MEMORY_DEVICE_COHERENT)",
        None,
        "v6.1 (include/linux/memremap.h:68-75, mm/memremap.c:323-332 of the 6.1.0 tree; "
        "absent from 5.18.12, 6.0 not read)",
        {"device_kinds": KINDS_4_18 | {"p2pdma", "device-coherent"}},
        selectable=False,
    ),
    Change(
        "device-refcount-zero",
        "mm/memremap: DEVICE_PRIVATE/COHERENT pages start free (refcount 0, no pgmap "
        "reference until zone_device_page_init)",
        None,
        "v6.1 (mm/page_alloc.c:6796-6842, mm/memremap.c:136-154, 270-272 of the 6.1.0 tree)",
        {
            "refcount_zero_types": frozenset({"MEMORY_DEVICE_PRIVATE", "MEMORY_DEVICE_COHERENT"}),
            "ref_skip_types": frozenset({"MEMORY_DEVICE_PRIVATE", "MEMORY_DEVICE_COHERENT"}),
            "compound": "6.1",
        },
        selectable=False,
    ),
    Change(
        "nd-struct-page-128",
        "libnvdimm/pfn: MAX_STRUCT_PAGE_SIZE 128 (room for KMSAN metadata)",
        None,
        "v6.1.0 (drivers/nvdimm/nd.h:655 of the 6.1.0 tree; 64 again in 6.1.15 and 6.6)",
        {"nd_struct_page_size": 128},
        selectable=False,
    ),
    Change(
        "lru-gen",
        "mm: multi-gen LRU (LRU_GEN and LRU_REFS fields in page->flags, distro configs)",
        None,
        "v6.1 (kernel/bounds.c:26-27 of the 6.1.0 tree; docs/kernel-notes/page-format.md §2)",
        {"lru_gen": True},
        selectable=False,
    ),
    # --- v6.4, v6.6 --------------------------------------------------------------------
    Change(
        "head-prep-tail-1",
        "mm: prep_compound_head after the first tail; init code moves to mm/mm_init.c",
        None,
        "v6.2-v6.4 (mm/mm_init.c:1026-1051 of the 6.4.0 tree; +1 already in 6.2.12)",
        {"compound": "6.4", "pageflags": PAGEFLAGS_V6_4},
        selectable=False,
    ),
    Change(
        "less-noisy-hotplug",
        "mm: Be less noisy during memory hotplug (memmap_init_zone_device line at pr_debug)",
        None,
        "v6.4 (mm/mm_init.c:1091 of the 6.4.0 tree; Tomas Krcka, 2023-03-23)",
        {"init_message_debug": True},
        selectable=False,
    ),
    Change(
        "vmemmap-reserve-nr",
        "mm/vmemmap/devdax: deduplicate only above VMEMMAP_RESERVE_NR vmemmap pages",
        None,
        "v6.6 (include/linux/mm.h:3789-3813, mm/mm_init.c:1021-1028 of the 6.6.0 tree)",
        {"vmemmap_dedup": "reserve-nr", "compound": "6.6", "pageflags": PAGEFLAGS_V6_6},
        selectable=False,
    ),
    Change(
        "misaligned-fixed",
        'mm/memory_hotplug: "Misaligned %s start: %#lx end: %#lx" (the stray # fixed)',
        None,
        "v6.6 (mm/memory_hotplug.c:393, 578 of the 6.6.0 tree)",
        {"misaligned_message_fixed": True},
        selectable=False,
    ),
    Change(
        "nd-page-map-size",
        "libnvdimm/pfn: MAX_STRUCT_PAGE_SIZE back to 64; refuse offset >= size - end_trunc",
        None,
        "v6.6 (drivers/nvdimm/pfn_devs.c:784-824, nd.h:655 of the 6.6.0 tree)",
        {"nd_struct_page_size": 64, "nd_refuse_counts_end_trunc": True},
        selectable=False,
    ),
    # --- v6.12 -------------------------------------------------------------------------
    Change(
        "dax-region-rwsem",
        "device-dax: create dev_dax instances under the global dax_region_rwsem",
        None,
        "v6.12 (drivers/dax/bus.c:1536-1546 of the 6.12.0 tree)",
        {"dax_region_rwsem": True},
        selectable=False,
    ),
    Change(
        "deferred-list-in-head-prep",
        "mm: prep_compound_head sets _large_mapcount and the _deferred_list; page flags",
        None,
        "v6.12 (mm/internal.h:713-724, include/linux/page-flags.h of the 6.12.0 tree)",
        {"compound": "6.12", "pageflags": PAGEFLAGS_V6_12},
        selectable=False,
    ),
    Change(
        "driver-core-dev-messages",
        'driver core: probe failures as dev_err "probe with driver %s failed with error %d"',
        None,
        "v6.12 (drivers/base/dd.c:572-601 of the 6.12.0 tree)",
        {"probe_message": "dev"},
        selectable=False,
    ),
    # --- v7.0, v7.1 --------------------------------------------------------------------
    Change(
        "dax-refcount-zero",
        "fs/dax: FS_DAX and P2PDMA pages also start at refcount 0 (folio refcount rework)",
        None,
        "v7.0 (mm/mm_init.c:1004-1063 of the 7.0.0 tree; after 6.12, release not pinned)",
        {
            "refcount_zero_types": frozenset(
                {
                    "MEMORY_DEVICE_PRIVATE",
                    "MEMORY_DEVICE_COHERENT",
                    "MEMORY_DEVICE_FS_DAX",
                    "MEMORY_DEVICE_PCI_P2PDMA",
                }
            ),
        },
        selectable=False,
    ),
    Change(
        "head-prep-after-loop",
        "mm: prep_compound_head once after the tail loop",
        None,
        "v7.0 (mm/mm_init.c:1082-1106 of the 7.0.0 tree)",
        {"compound": "7.0", "pageflags": PAGEFLAGS_V7_0},
        selectable=False,
    ),
    Change(
        "add-pages-pgmap",
        "x86/mm: add_pages leaves max_pfn alone for ZONE_DEVICE (params->pgmap)",
        None,
        "v7.0 (arch/x86/mm/init_64.c:964-990 of the 7.0.0 tree)",
        {"add_pages_skips_end_vars": True},
        selectable=False,
    ),
    Change(
        "compound-info-mask",
        "mm: compound_info: tails store a mask, not the head (HUGETLB_PAGE_OPTIMIZE_VMEMMAP)",
        None,
        "v7.1 (include/linux/page-flags.h:208-280, mm/internal.h:902-908 of the 7.1.3 tree)",
        {"compound": "7.1"},
        selectable=False,
    ),
    Change(
        "pageblock-migratetype-init-range",
        "mm/mm_init: set the migratetype of every pageblock of a ZONE_DEVICE range in a pass "
        "of its own; no dedup in early sections",
        None,
        "7.1.5 stable (mm/mm_init.c:678-688, 1004-1145 of danayer/linux-7.1.5; Muchun Song's "
        "series, its mainline release not established)",
        {"pageblock_init_range": True},
        requires=("compound-devmaps",),
    ),
)
"""The changes of the ZONE_DEVICE paths, v4.18-v7.1 (and the 2018 series as posted)."""


RELEASES: tuple[Release, ...] = (
    Release("4.18", ("conflict-probes",), "zzwd/linux-4.18-rt (4.18.0)"),
    Release("4.19", ("kasan-zone-device",), "ZDawnG/linux-4.19 (4.19.0)"),
    Release(
        "4.20",
        (
            "pg-workingset",
            "pgmap-xarray",
            "nd-region-pad",
            "page-init-poison-off",
            "nonatomic-reserved",
            "defer-zone-device",
            "memmap-section-tail",
            "pci-p2pdma",
        ),
        "a4913994/linux-4.20 (4.20.0)",
    ),
    Release(
        "5.0",
        (
            "revert-memmap-section-tail",
            "memremap-kill",
            "memremap-private",
            "init-empty-zone-locked",
        ),
        "akshaybaviskar/Linux-5.0 (5.0.0)",
    ),
    Release(
        "5.1",
        ("nd-node-local-async", "devdax-bus", "nd-no-label-reserve"),
        "KJT9109/linux_kernel_5.1.0 (5.1.0)",
    ),
    Release(
        "5.3",
        ("subsection-hotplug", "hmm-devmem-removed", "nd-subsection-layout", "devdax-type"),
        "Awik84/linux-5.3 (5.3.0)",
    ),
    Release(
        "5.4",
        ("memremap-split", "memunmap-first-data-page", "no-zone-device-shrink"),
        "KevinRSX/w4118-s21-linux-v5.4 (5.4.0)",
    ),
    Release("5.7", ("remove-repoison",), "HanRunyu/linux-5.7.6-jz2440 (5.7.6)"),
    Release(
        "5.10",
        (
            "pagemap-ranges",
            "devdax-generic",
            "pg-arch-2",
            "nd-claim-ebusy",
            "nd-start-aligned",
        ),
        "atjhamit/linux-v5.10 (5.10.0)",
    ),
    Release("5.12", ("taint-zone-device",), "zhangyinjun/linux-5.12.9 (5.12.9)"),
    Release("5.16", ("no-resize-locks",), "DFAUS-git/ps4-linux-kernel-5.16.10-belize (5.16.10)"),
    Release(
        "5.17",
        ("compound-devmaps", "devdax-compound"),
        "kuangfei2019/linux-5.17-mini2440-dt (5.17.0)",
    ),
    Release("5.18", ("bulk-ref-put",), "esuoyanyu/kernel-5.18 (5.18.12; no 5.18.0 tree)"),
    Release("5.19", ("vmemmap-dedup",), "yishangzhang/linux-5.19 (5.19.0)"),
    Release(
        "6.1",
        ("device-coherent", "device-refcount-zero", "nd-struct-page-128", "lru-gen"),
        "fEndman/linux-6.1-t113 (6.1.0)",
    ),
    Release(
        "6.4", ("head-prep-tail-1", "less-noisy-hotplug"), "julianw1010/WASP-linux-6.4.0 (6.4.0)"
    ),
    Release(
        "6.6",
        ("vmemmap-reserve-nr", "misaligned-fixed", "nd-page-map-size"),
        "xie1111111/linux-6.6-opensbi-mllb (6.6.0)",
    ),
    Release(
        "6.12",
        ("dax-region-rwsem", "deferred-list-in-head-prep", "driver-core-dev-messages"),
        "shilei-massclouds/linux-6.12 (6.12.0)",
    ),
    Release(
        "7.0",
        ("dax-refcount-zero", "head-prep-after-loop", "add-pages-pgmap"),
        "julianw1010/WASP-linux-7.0.0 (7.0.0)",
    ),
    Release("7.1", ("compound-info-mask",), "rikudousennin22/linux-7.1.3 (7.1.3; no 7.1.0 tree)"),
)
"""Each release with the ZONE_DEVICE changes merged for it and the tree read."""
