"""The kernel's readers (pfn walkers) per release: the changes to their gates, v4.18 to v7.1,
each read from its release tree (kernel/readers/, docs/spec-corrections.md).

The v4.18 gates are the baseline code paths (``BASELINE_PATHS`` in
:mod:`memmapsim.kernel.versions`); each gate is a code path of its own
(:class:`~memmapsim.kernel.kernel.Paths`), so a change file can put an old gate into a new
release or the 2019 fixes ("don't access uninitialized memmaps", spec §8 bugs 3-5) into an
old one.
"""

from __future__ import annotations

from memmapsim.kernel.change import Change, Release
from memmapsim.kernel.readers import kmemleak, memory, page_owner, proc_page
from memmapsim.kernel.readers import memory_failure as mf

CHANGES: tuple[Change, ...] = (
    Change(
        "memory-failure-dev-pagemap",
        "mm, memory_failure: Teach memory_failure() about dev_pagemap pages",
        None,
        "v4.19 (mm/memory-failure.c:1266-1268 of the 4.19.0 tree; absent from 4.18.0)",
        {"memory_failure_dev_pagemap": True},
        selectable=False,
    ),
    Change(
        "soft-offline-zone-device",
        "mm: soft_offline_page refuses ZONE_DEVICE pages (is_zone_device_page)",
        None,
        "v4.20 (mm/memory-failure.c soft_offline_page of the 4.20.0 tree; absent from 4.19.0)",
        {"soft_offline_zone_device": True},
        selectable=False,
    ),
    Change(
        "kmemleak-online-page",
        "mm, kmemleak: little optimization while scanning",
        "9f1eb38e0e11",
        "v5.0 (mm/kmemleak.c:1548-1570 of the 5.0.0 tree)",
        {},
        paths={"kmemleak_pfn_to_page": kmemleak.kmemleak_pfn_to_online_page},
        selectable=False,
    ),
    Change(
        "proc-page-online",
        "fs/proc/page.c: don't access uninitialized memmaps in fs/proc/page.c",
        "aad5f69bc161",
        "v5.4 (fs/proc/page.c:49, 225, 271 of the 5.4.0 tree); stable 4.13+",
        {},
        paths={"proc_page_pfn_to_page": proc_page.proc_page_pfn_to_online_page},
        selectable=False,
    ),
    Change(
        "memory-failure-online",
        "mm/memory-failure.c: don't access uninitialized memmaps in memory_failure()",
        "96c804a6ae8c",
        "v5.4 (mm/memory-failure.c:1260-1271 of the 5.4.0 tree)",
        {},
        paths={"memory_failure": mf.memory_failure_online},
        selectable=False,
    ),
    Change(
        "soft-offline-online",
        "drivers/base/memory.c: don't access uninitialized memmaps in soft_offline_page_store()",
        None,
        "v5.4 (drivers/base/memory.c soft_offline_page_store of the 5.4.0 tree; the spec's "
        "641fe2e9387a is unverified)",
        {},
        paths={"soft_offline_pfn_to_page": memory.soft_offline_pfn_to_online_page},
        selectable=False,
    ),
    Change(
        "page-owner-online",
        "mm/page_owner: don't access uninitialized memmaps when reading /proc/pagetypeinfo",
        None,
        "v5.4 (mm/page_owner.c pagetypeinfo_showmixedcount_print of the 5.4.0 tree)",
        {},
        paths={"page_owner_pfn_to_page": page_owner.page_owner_pfn_to_online_page},
        selectable=False,
    ),
    Change(
        "proc-page-max-dump-pfn",
        "fs/proc/page.c: allow inspection of last section and fix end detection (get_max_dump_pfn)",
        None,
        "v5.7 (fs/proc/page.c:24-36 of the 5.7.14 tree; absent from 5.4.0); 5.7 is not a "
        "modelled release, so it enters at 5.10",
        {"proc_page_max_dump_pfn": True},
        selectable=False,
    ),
    Change(
        "memory-block-removable-constant",
        "drivers/base/memory.c: removable_show prints CONFIG_MEMORY_HOTREMOVE, no walk",
        None,
        "v5.7 (drivers/base/memory.c removable_show of the 5.7.14 tree; the 5.4.0 tree "
        "walks); enters at 5.10",
        {"memory_block_removable_walk": False},
        selectable=False,
    ),
    Change(
        "memory-failure-pgmap-pfn-valid",
        "mm/memory-failure: the dev_pagemap path refuses the altmap's pfns (pgmap_pfn_valid)",
        None,
        "v5.12 (mm/memory-failure.c:1315-1319, mm/memremap.c:83-96 of the 5.12.9 tree; "
        "absent from 5.10.0)",
        {"memory_failure_pgmap_pfn_valid": True},
        selectable=False,
    ),
    Change(
        "memory-failure-mutex",
        "mm/hwpoison: memory_failure runs under mf_mutex",
        None,
        "in the 5.16.10 tree (mm/memory-failure.c:1662), not in 5.12.9",
        {"memory_failure_mutex": True},
        selectable=False,
    ),
    Change(
        "memory-block-zone",
        "drivers/base/memory.c: valid_zones prints mem->zone (no test_pages_in_a_zone walk)",
        None,
        "v5.19 (drivers/base/memory.c valid_zones_show of the 5.19.0 tree; the 5.17.0 tree "
        "walks, the 5.18.12 tree has no drivers/base/memory.c)",
        {"memory_block_valid_zones_walk": False},
        selectable=False,
    ),
    Change(
        "memory-failure-pgmap-ops",
        "mm: memory_failure asks the driver first (pgmap->ops->memory_failure, fsdax "
        "dax_holder_notify_failure)",
        None,
        "v6.1 (mm/memory-failure.c:1929-1946, drivers/nvdimm/pmem.c of the 6.1.0 tree)",
        {"memory_failure_pgmap_ops": True},
        selectable=False,
    ),
    Change(
        "hwpoison-inject-no-ref",
        "mm/hwpoison: hwpoison_inject takes no page reference before memory_failure",
        None,
        "v6.1 (mm/hwpoison-inject.c of the 6.1.0 tree; get_hwpoison_page in 5.4.0)",
        {"hwpoison_inject_get_page": False},
        selectable=False,
    ),
    Change(
        "pageblock-end-pfn-valid",
        "mm: __pageblock_pfn_to_page checks pfn_valid of the block's last pfn only",
        None,
        "by 6.11 (mm/page_alloc.c:1331 of the 6.11.11 tree, :1360 of 6.12.0; both pfns at "
        ":1524 of 6.4.0; the 6.6 tree read has no mm/page_alloc.c): enters at 6.12",
        {"pageblock_start_pfn_valid": False},
        selectable=False,
    ),
    Change(
        "memory-failure-folio",
        "mm/memory-failure: mf_generic_kill_procs locks the folio (dax_lock_folio)",
        None,
        "v6.12 (mm/memory-failure.c:1766 of the 6.12.0 tree; dax_lock_page in 6.4.0)",
        {"memory_failure_folio": True},
        selectable=False,
    ),
)
"""The changes of the readers' gates."""

RELEASES: tuple[Release, ...] = (
    Release("4.18", (), "zzwd/linux-4.18-rt (4.18.0)"),
    Release("4.19", ("memory-failure-dev-pagemap",), "ZDawnG/linux-4.19 (4.19.0)"),
    Release("4.20", ("soft-offline-zone-device",), "a4913994/linux-4.20 (4.20.0)"),
    Release("5.0", ("kmemleak-online-page",), "akshaybaviskar/Linux-5.0 (5.0.0)"),
    Release(
        "5.4",
        ("proc-page-online", "memory-failure-online", "soft-offline-online", "page-owner-online"),
        "KevinRSX/w4118-s21-linux-v5.4 (5.4.0)",
    ),
    Release(
        "5.10",
        ("proc-page-max-dump-pfn", "memory-block-removable-constant"),
        "a5221985/linux-5.7.14 (5.7.14)",
    ),
    Release("5.12", ("memory-failure-pgmap-pfn-valid",), "zhangyinjun/linux-5.12.9 (5.12.9)"),
    Release(
        "5.16", ("memory-failure-mutex",), "DFAUS-git/ps4-linux-kernel-5.16.10-belize (5.16.10)"
    ),
    Release("5.19", ("memory-block-zone",), "yishangzhang/linux-5.19 (5.19.0)"),
    Release(
        "6.1",
        ("memory-failure-pgmap-ops", "hwpoison-inject-no-ref"),
        "fEndman/linux-6.1-t113 (6.1.0)",
    ),
    Release(
        "6.12",
        ("pageblock-end-pfn-valid", "memory-failure-folio"),
        "shilei-massclouds/linux-6.12 (6.12.0)",
    ),
)
"""Each release with the reader changes merged for it and the tree read (only releases the
ZONE_DEVICE table models: a change of 5.7 enters at 5.10)."""
