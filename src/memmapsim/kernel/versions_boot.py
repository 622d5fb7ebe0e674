"""Boot memory and System RAM hotplug per release: the changes of v4.14 to v7.1 and the
releases that merged them, each read from its release tree (docs/kernel-notes/boot-hotplug.md,
whose §15 is the summary this table follows; docs/spec-corrections.md).

The switches' defaults (:class:`~memmapsim.kernel.kernel.Params`) are v4.14 for boot and
v4.18 for System RAM hotplug: v4.14 is a boot-only release (its ZONE_DEVICE paths and its
hotplug are not modelled), which the pair ``zone-device-not-modelled`` /
``zone-device-modelled`` states as data, so that a device scenario on 4.14 is refused.

Duyck's 2018-2019 "Deferred page init improvements" landed in v5.2 in four steps; each is a
change that can be added to an earlier release (``4.20+mm-zero-struct-page``), the way his
series was measured patch by patch.
"""

from __future__ import annotations

from memmapsim.kernel.change import Change, Release

CHANGES: tuple[Change, ...] = (
    # --- the model's scope --------------------------------------------------------------------
    Change(
        "zone-device-not-modelled",
        "(memmapsim) v4.14 is modelled for boot memory only: no ZONE_DEVICE kind, no System "
        "RAM hotplug",
        None,
        "memmapsim: the ZONE_DEVICE and System RAM hotplug paths are modelled from v4.18",
        {"device_kinds": frozenset(), "ram_hotplug": False},
        selectable=False,
    ),
    Change(
        "zone-device-modelled",
        "(memmapsim) the ZONE_DEVICE paths are modelled from here",
        None,
        "memmapsim: v4.18 is the first release whose device paths are modelled",
        {},
        reverts="zone-device-not-modelled",
        selectable=False,
    ),
    # --- v4.15-v4.18 ---------------------------------------------------------------------
    Change(
        "complete-deferred-page-init",
        "mm: stop zeroing memory during allocation in vmemmap; zero struct pages in "
        "__init_single_page (Tatashin, 'complete deferred page initialization' v11)",
        "f7f99100d8d9",
        "v4.15 (spec §5.1; the 4.18.0 tree: mm/sparse-vmemmap.c:40-47, mm/memblock.c:1342-1360, "
        "mm/page_alloc.c:1206-1220, 6479-6508)",
        {
            "boot_memmap_zeroed": False,
            "init_zero": "memset",
            "unavailable": "zero-reserved",
            "unavailable_message": "reserved",
        },
        notes="posted against 4.14-rc (v11, 2017-10-09), where Tatashin timed it: "
        "4.14+complete-deferred-page-init",
    ),
    Change(
        "deferred-two-pass",
        "mm: buddy page accessed before initialized (deferred init: initialise every free "
        "range, then free it)",
        None,
        "v4.15 (Tatashin, posted v2 2017-11-03: 901 -> 1128 ms on 32.5 M pages); the 4.18.0 "
        "tree, mm/page_alloc.c:1565-1628",
        {"deferred_walk": "free", "deferred_free": "two-pass"},
        notes="posted against 4.14-rc with the series above: "
        "4.14+complete-deferred-page-init+deferred-two-pass",
    ),
    Change(
        "deferred-grow-zone",
        "mm: initialize pages on demand during boot (one section initialised early, "
        "deferred_grow_zone, pgdat_resize_lock held by deferred init)",
        "c9e97a1997fb",
        "v4.17; the 4.18.0 tree, mm/page_alloc.c:325-340, 1565-1727, 6459-6467 (on-demand "
        "growth runs only when an early allocation fails: not modelled)",
        {"static_init": "section-or-span", "deferred_lock": "whole"},
        selectable=False,
    ),
    Change(
        "memmap-init-per-pfn",
        "mm/page_alloc: memmap_init_zone tests every pfn (memblock_next_valid_pfn reverted)",
        None,
        "between 4.14.0 and 4.18.0 (mm/page_alloc.c:5545-5640 of the 4.18.0 tree; the 4.14.y "
        "stable series reverted it too)",
        {"early_skip": "per-pfn"},
        selectable=False,
    ),
    Change(
        "memory-block-size-align",
        "x86/mm: memory block size: the largest power of two up to 2 GiB that aligns the end "
        "of boot memory",
        None,
        "between 4.14.0 and 4.18.0 (R18@arch/x86/mm/init_64.c:1366-1391; 4.14.0: 2 GiB, "
        "H14@…:1316-1336)",
        {"block_size_rule": "align"},
        selectable=False,
    ),
    Change(
        "page-type-buddy",
        "mm: split page_type out from _mapcount (PageBuddy as a page type)",
        None,
        "v4.18 (include/linux/page-flags.h:653-671 of the 4.18.0 tree)",
        {"buddy_type": "page_type"},
        selectable=False,
    ),
    # --- v4.20 --------------------------------------------------------------------------------
    Change(
        "zero-unavailable-gaps",
        "mm: zero_resv_unavail zeroes every gap between memblock memory ranges",
        None,
        "v4.20 (mm/page_alloc.c:6527-6581 of the 4.20.0 tree)",
        {"unavailable": "zero-gaps", "unavailable_message": "zeroed"},
        selectable=False,
    ),
    Change(
        "add-memory-device-lock",
        "mm/memory_hotplug: add_memory takes the device hotplug lock; online_pages takes "
        "mem_hotplug_lock itself",
        None,
        "v4.20 (mm/memory_hotplug.c:842-930, 1081-1175 of the 4.20.0 tree)",
        {"add_memory_device_lock": True},
        selectable=False,
    ),
    # --- v5.0, v5.1 ---------------------------------------------------------------------------
    Change(
        "static-init-section",
        "mm/page_alloc: static_init_pgcnt goes; defer_init compares with PAGES_PER_SECTION",
        None,
        "v5.0 (no static_init_pgcnt in mm/page_alloc.c of the 5.0.0 tree)",
        {"static_init": "section"},
        selectable=False,
    ),
    Change(
        "online-pages-order",
        "mm/page_alloc: __free_pages_core; online_pages frees MAX_ORDER blocks "
        "(generic_online_page(page, order))",
        None,
        "v5.1 (the 5.1.0 tree; online_pages_blocks in 5.3.0 mm/memory_hotplug.c:635-663)",
        {"online_free": "blocks"},
        selectable=False,
    ),
    # --- v5.2: Duyck's "Deferred page init improvements" (v7, the merged subset) --------------
    Change(
        "mm-zero-struct-page",
        "mm: Use mm_zero_struct_page from SPARC on all 64b architectures",
        "5470dea49f53",
        "v5.2 (hcly/linux5.2.0-f1c100s-base@include/linux/mm.h:140-177); posted as v5 1/7 "
        "(2018-11-05)",
        {"init_zero": "stores"},
    ),
    Change(
        "drop-meminit-pfn-in-nid",
        "mm: Drop meminit_pfn_in_nid as it is redundant",
        "56ec43d8b027",
        "v5.2 (no meminit_pfn_in_nid in the 5.2.0 tree); posted as v5 2/7",
        {"meminit_pfn_in_nid": False},
    ),
    Change(
        "zone-memblock-iterator",
        "mm: Implement new zone specific memblock iterator",
        "837566e7e08e",
        "v5.2 (for_each_free_mem_pfn_range_in_zone; 5.3.0 mm/memblock.c:1256-1300); posted as "
        "v5 3/7. The ranges it visits are those of for_each_free_mem_range clipped to the zone",
        {},
    ),
    Change(
        "deferred-init-maxorder",
        "mm: Initialize MAX_ORDER_NR_PAGES at a time instead of doing larger sections",
        "0e56acae4b4d",
        "v5.2 (deferred_init_maxorder, 5.3.0 mm/page_alloc.c:1722-1764); posted as v5 4/7",
        {"deferred_free": "maxorder"},
        requires=("zone-memblock-iterator",),
    ),
    # --- v5.4 ---------------------------------------------------------------------------------
    Change(
        "online-no-reserved-gate",
        "mm/memory_hotplug: online_pages_range frees every page, not only if the first is "
        "PG_reserved",
        None,
        "v5.4 (KevinRSX/w4118-s21-linux-v5.4@mm/memory_hotplug.c:611-636)",
        {"online_free": "blocks-ungated"},
        selectable=False,
    ),
    # --- v5.7 ---------------------------------------------------------------------------------
    Change(
        "init-unavailable-mem",
        "mm: initialize struct pages in unavailable ranges (PG_reserved, zone 0, node 0, up to "
        "the section end)",
        None,
        "v5.7 (init_unavailable_mem, mm/page_alloc.c:6993-7064 of the 5.7.6 tree); the message "
        "still says 'Zeroed'",
        {"unavailable": "init-node0"},
        selectable=False,
    ),
    Change(
        "deferred-init-irqs-enabled",
        "mm: initialize deferred pages with interrupts enabled (pgdat_resize_lock dropped once "
        "first_deferred_pfn is taken)",
        "3d060856adfc",
        "in the 5.7.6 and 5.7.14 trees (mm/page_alloc.c:1818-1885); a 5.7.y stable backport, "
        "5.7.0 probably held the lock (docs/kernel-notes/boot-hotplug.md §7.3)",
        {"deferred_lock": "early-unlock"},
        selectable=False,
    ),
    Change(
        "memhp-default-online-type",
        "mm/memory_hotplug: memhp_default_online_type (online_kernel, online_movable for an "
        "add's onlining)",
        None,
        "between 5.4.0 and 5.7.6 (mm/memory_hotplug.c:1006-1080 of the 5.7.6 tree)",
        {"online_type_param": True},
        selectable=False,
    ),
    Change(
        "offline-shrinks-zones",
        "mm/memory_hotplug: shrink zones when offlining memory (remove_pfn_range_from_zone)",
        None,
        "between 5.4.0 and 5.7.6 (mm/memory_hotplug.c:467-496 of the 5.7.6 tree)",
        {"offline_shrinks": True},
        selectable=False,
    ),
    # --- v5.8 ---------------------------------------------------------------------------------
    Change(
        "padata-deferred-init",
        "mm: parallelize deferred_init_memmap() (padata_do_multithreaded, x86: the node's CPUs; "
        "'mm: don't track number of pages during deferred initialization')",
        None,
        "v5.8 (Daniel Jordan's series; 5.8.1 tree mm/page_alloc.c:1819-1921, kernel/padata.c:"
        "466-556, arch/x86/mm/init_64.c:1268-1276)",
        {"deferred_threads": "padata-per-range", "deferred_message": "time"},
        selectable=False,
    ),
    Change(
        "memmap-init-per-range",
        "mm: memmap_init iterates memblock regions rather than all pfns",
        None,
        "v5.8 (mm/page_alloc.c:6097-6115 of the 5.8.1 tree): defer_init is given the range's "
        "end, so only a node's last memblock range can be deferred (until v5.12)",
        {"memmap_init_walk": "range-end"},
        selectable=False,
    ),
    # --- v5.10, v5.12 -------------------------------------------------------------------------
    Change(
        "online-isolate",
        "mm/memory_hotplug: initialize memmap of ZONE_MOVABLE/NORMAL as MIGRATE_ISOLATE when "
        "onlining, then undo the isolation",
        None,
        "v5.10 (the 5.10.0 tree, move_pfn_range_to_zone(..., MIGRATE_ISOLATE))",
        {"online_isolate": "isolate"},
        selectable=False,
    ),
    Change(
        "memmap-init-range",
        "mm: memmap_init_range per zone and memblock range, holes initialised per zone, "
        "defer_init with the zone's end (and stop once deferred)",
        None,
        "v5.12 (the 5.12.9 tree; docs/kernel-notes/boot-hotplug.md §9.0)",
        {"memmap_init_walk": "zone-end", "unavailable": "init-zone", "unavailable_message": "zone"},
        selectable=False,
    ),
    Change(
        "offlined-pages-debug",
        'mm/memory_hotplug: "Offlined Pages %ld" at pr_debug',
        None,
        "v5.12 (the 5.12.9 tree)",
        {"offlined_message_debug": True},
        selectable=False,
    ),
    # --- v5.14 (first modelled release: 5.16) -------------------------------------------------
    Change(
        "memmap-on-memory",
        "mm,memory_hotplug: allocate memmap from the added memory range "
        "(memory_hotplug.memmap_on_memory, one memory block per add)",
        "a08a2ae34613",
        "v5.14 (absent from 5.12.9, present in 5.14.0-rc5; 6.1.0 mm/memory_hotplug.c:1026-1050, "
        "1275-1311)",
        {"memmap_on_memory": "one-block"},
        selectable=False,
    ),
    Change(
        "unavailable-message-node",
        'mm: "On node %d, zone %s: %lld pages in unavailable ranges"',
        None,
        "between 5.12.9 and 5.14.0-rc5",
        {"unavailable_message": "node"},
        selectable=False,
    ),
    # --- v6.1 ---------------------------------------------------------------------------------
    Change(
        "offline-no-reserved",
        "mm/page_alloc: __offline_isolated_pages no longer sets PG_reserved",
        None,
        "v6.1 (krr-io/linux-6.1.0@mm/page_alloc.c:9547-9586)",
        {"offline_sets_reserved": False},
        selectable=False,
    ),
    Change(
        "vmemmap-self-hosted",
        "mm/memory_hotplug: SetPageVmemmapSelfHosted on the pages that host a block's memmap",
        None,
        "between 5.16.10 and 6.1.0 (krr-io/linux-6.1.0@mm/memory_hotplug.c:1026-1050, "
        "include/linux/page-flags.h:197-200)",
        {"vmemmap_self_hosted": True},
        selectable=False,
    ),
    Change(
        "block-size-bare-metal",
        "x86/mm: memory block size 2 GiB on bare metal with 64 GiB of boot memory or more",
        None,
        "v6.1 (krr-io/linux-6.1.0@arch/x86/mm/init_64.c:1483-1517)",
        {"block_size_rule": "bare-metal-2g"},
        selectable=False,
    ),
    # --- v6.6 ---------------------------------------------------------------------------------
    Change(
        "memmap-on-memory-altmap-in-block",
        "mm/memory_hotplug: the altmap kept in struct memory_block; ACPI always asks for "
        "memmap_on_memory, an add of more than one block silently falls back",
        None,
        "v6.6 (UEFI-code/linux-6.6-lumia920@mm/memory_hotplug.c:1389-1523, "
        "drivers/acpi/acpi_memhotplug.c:214)",
        {"memmap_on_memory": "one-block-fallback"},
        selectable=False,
    ),
    # --- v6.12 --------------------------------------------------------------------------------
    Change(
        "hotplug-page-offline",
        "mm/memory_hotplug: initialize memmap of !ZONE_DEVICE with PageOffline() instead of "
        "PageReserved()",
        None,
        "present in 6.11.11 and 6.12.0 (mm/mm_init.c:849-914), absent in 6.6.0",
        {"hotplug_offline_type": True},
        selectable=False,
    ),
    Change(
        "memory-block-online-lock",
        "mm/memory_hotplug: memory_block_online takes mem_hotplug_lock (MEM_PREPARE_ONLINE); "
        "memmap_on_memory per memory block of any add",
        None,
        "v6.12 (drivers/base/memory.c:186-252, mm/memory_hotplug.c:1420-1469 of the 6.12.0 tree)",
        {"memory_block_locking": True, "memmap_on_memory": "per-block"},
        selectable=False,
    ),
    Change(
        "pgty-page-type",
        "mm: page_type as PGTY_* << 24 (PageBuddy = 0xf0000000)",
        None,
        "v6.12 (include/linux/page-flags.h:943-1010 of the 6.12.0 tree)",
        {"buddy_type": "pgty"},
        selectable=False,
    ),
    Change(
        "reserve-no-lru-init",
        "mm: reserve_bootmem_region without INIT_LIST_HEAD(&page->lru)",
        None,
        "absent in 6.11.11 and 6.12.0 (mm/mm_init.c:751-771), present in 6.6.0",
        {"reserve_lru_init": False},
        selectable=False,
    ),
    # --- v7.1 ---------------------------------------------------------------------------------
    Change(
        "padata-per-node",
        "mm/mm_init: one padata job per node; drop deferred_init_maxorder() (init and free each "
        "1024-pfn piece)",
        None,
        "7.1.3 tree (mm/mm_init.c:2044-2156); posted 2025-08-18",
        {"deferred_threads": "padata-per-node"},
        selectable=False,
    ),
    Change(
        "online-isolate-bit",
        "mm/page_isolation: online sets MIGRATE_MOVABLE with the separate isolate bit",
        None,
        "7.1.3 tree (mm/memory_hotplug.c:1136-1249, mm/page_alloc.c:533-557)",
        {"online_isolate": "isolate-bit"},
        selectable=False,
    ),
)
"""The changes of the boot and System RAM hotplug paths, v4.14-v7.1 (and Duyck's 2018-2019
steps, which can be added to earlier releases)."""

DUYCK_2019 = (
    "mm-zero-struct-page",
    "drop-meminit-pfn-in-nid",
    "zone-memblock-iterator",
    "deferred-init-maxorder",
)
"""The four merged steps of "Deferred page init improvements" (v7 0/4, 2019), in order."""

RELEASES: tuple[Release, ...] = (
    Release(
        "4.14",
        ("zone-device-not-modelled",),
        "hxxful/linux-4.14.0-friendlyarm (4.14.0)",
    ),
    Release(
        "4.18",
        (
            "zone-device-modelled",
            "complete-deferred-page-init",
            "deferred-two-pass",
            "deferred-grow-zone",
            "memmap-init-per-pfn",
            "memory-block-size-align",
            "page-type-buddy",
        ),
        "zzwd/linux-4.18-rt (4.18.0)",
    ),
    Release(
        "4.20",
        ("zero-unavailable-gaps", "add-memory-device-lock"),
        "a4913994/linux-4.20 (4.20.0)",
    ),
    Release("5.0", ("static-init-section",), "akshaybaviskar/Linux-5.0 (5.0.0)"),
    Release("5.1", ("online-pages-order",), "KJT9109/linux_kernel_5.1.0 (5.1.0)"),
    Release("5.2", DUYCK_2019, "hcly/linux5.2.0-f1c100s-base (5.2.0)"),
    Release("5.4", ("online-no-reserved-gate",), "KevinRSX/w4118-s21-linux-v5.4 (5.4.0)"),
    Release("5.5", (), "no 5.5 tree: modelled as 5.4.0 (docs/kernel-notes/boot-hotplug.md §6)"),
    Release(
        "5.7",
        (
            "init-unavailable-mem",
            "deferred-init-irqs-enabled",
            "memhp-default-online-type",
            "offline-shrinks-zones",
        ),
        "HanRunyu/linux-5.7.6-jz2440 (5.7.6; no 5.7.0 tree)",
    ),
    Release(
        "5.8",
        ("padata-deferred-init", "memmap-init-per-range"),
        "semwett0301/linux-5.8.1 (5.8.1; no 5.8.0 tree)",
    ),
    Release("5.10", ("online-isolate",), "atjhamit/linux-v5.10 (5.10.0)"),
    Release(
        "5.12",
        ("memmap-init-range", "offlined-pages-debug"),
        "zhangyinjun/linux-5.12.9 (5.12.9)",
    ),
    Release(
        "5.16",
        ("memmap-on-memory", "unavailable-message-node"),
        "lsk-legends/linux-5.14 (5.14.0-rc5)",
    ),
    Release(
        "6.1",
        ("offline-no-reserved", "vmemmap-self-hosted", "block-size-bare-metal"),
        "krr-io/linux-6.1.0 (6.1.0-rc7; = 6.1.15 for these paths)",
    ),
    Release(
        "6.6",
        ("memmap-on-memory-altmap-in-block",),
        "UEFI-code/linux-6.6-lumia920 (6.6.0)",
    ),
    Release(
        "6.12",
        (
            "hotplug-page-offline",
            "memory-block-online-lock",
            "pgty-page-type",
            "reserve-no-lru-init",
        ),
        "shilei-massclouds/linux-6.12 (6.12.0)",
    ),
    Release(
        "7.1",
        ("padata-per-node", "online-isolate-bit"),
        "rikudousennin22/linux-7.1.3 (7.1.3)",
    ),
)
"""Each release with the boot and hotplug changes merged for it and the tree read."""
