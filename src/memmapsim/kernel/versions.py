"""Kernel releases and named changes: ``4.18``, ``4.20``, ``4.18+nonatomic-reserved+...``.

A release is the changes merged by it, applied in order to the v4.18 baseline; a user
may add changes (the 2018 series as posted, or a change no release carries) with
``+name``. Each change states what it needs; each is modelled on what its patch does,
as switches of :class:`~memmapsim.kernel.kernel.Params` and code paths that replace
entries of :class:`~memmapsim.kernel.kernel.Paths`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from memmapsim.kernel.kernel import BootConfig, Kernel, Params, Paths
from memmapsim.kernel.nvdimm import nd_device_register_any_node, nd_device_register_node_local
from memmapsim.model.pageflags import PAGEFLAGS_V4_20

BASELINE_PATHS = Paths(nd_device_register=nd_device_register_any_node)
"""The v4.18 code paths."""


@dataclass(frozen=True)
class Change:
    name: str
    subject: str
    commit: str | None
    """The mainline commit, or None where it is not established."""
    origin: str
    """Where it comes from: the release that merged it, or the posting."""
    params: dict[str, Any]
    paths: dict[str, Callable[..., Any]] = field(default_factory=dict)
    """Code paths the change replaces, by Paths entry."""
    requires: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    notes: str = ""
    selectable: bool = True
    """Whether users may add it by name (background changes of a release are not offered)."""


CHANGES: dict[str, Change] = {
    c.name: c
    for c in (
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
    )
}

RELEASES: dict[str, tuple[str, ...]] = {
    "4.18": ("conflict-probes",),
    "4.19": ("conflict-probes", "kasan-zone-device"),
    "4.20": (
        "conflict-probes",
        "kasan-zone-device",
        "pg-workingset",
        "pgmap-xarray",
        "nd-region-pad",
        "page-init-poison-off",
        "nonatomic-reserved",
        "defer-zone-device",
        "memmap-section-tail",
    ),
}


class KernelSpecError(ValueError):
    """A kernel name that is not a release plus known, compatible changes."""


def parse_kernel(spec: str, config: BootConfig | None = None) -> Kernel:
    """``4.20``, ``4.18+nonatomic-reserved+defer-zone-device`` → :class:`Kernel`."""
    parts = [p.strip() for p in spec.strip().split("+")]
    release, added = parts[0], parts[1:]
    if release not in RELEASES:
        known = ", ".join(RELEASES)
        raise KernelSpecError(f"unknown kernel {release!r} (known releases: {known})")
    base = RELEASES[release]
    for name in added:
        if name not in CHANGES or not CHANGES[name].selectable:
            offered = ", ".join(n for n, c in CHANGES.items() if c.selectable)
            raise KernelSpecError(f"unknown change {name!r} (changes: {offered})")
        if name in base:
            raise KernelSpecError(f"{release} already includes {name}")
        if added.count(name) > 1:
            raise KernelSpecError(f"change {name} is named twice")
    changes = (*base, *added)
    for name in changes:
        c = CHANGES[name]
        for need in c.requires:
            if need not in changes:
                raise KernelSpecError(f"{name} needs {need}: write {spec}+{need}")
        for other in c.conflicts:
            if other in changes:
                raise KernelSpecError(f"{name} and {other} are two versions of one patch")
    params, paths = Params(), BASELINE_PATHS
    for name in changes:
        params = replace(params, **CHANGES[name].params)
        paths = paths.replaced(CHANGES[name].paths)
    name = "+".join([release, *added])
    return Kernel(name, release, changes, tuple(added), params, paths, config or BootConfig())
