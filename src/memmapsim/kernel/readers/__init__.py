"""The kernel's readers of struct pages (pfn walkers), per kernel file, with the gate each
version uses (spec §7).

A reader is an effect-yielding code path that looks at one pfn, named after its kernel
function; it reads the section state, the pgmap index, ``max_pfn``, spans and the struct
page through effects, so an engine can interleave at every read. Two readers are not
threads of their own but reads the teardown makes in the removing thread (``memunmap_pages``,
``shrink_zone_span``): they are named by the ReadPage ``by`` of those reads.

:data:`READERS` lists them; ``memmapsim readers`` shows, per release, the gate each uses.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from memmapsim.effects import Gen
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers import (
    compaction,
    gup,
    hwpoison_inject,
    kmemleak,
    memory,
    memory_hotplug,
    memremap,
    page_owner,
    proc_page,
)


class Reader(msgspec.Struct, frozen=True):
    """A kernel path that reads struct pages."""

    name: str
    """What ``--reader`` takes."""
    file: str
    """The kernel file it is in."""
    entry: str
    """The kernel function a user or the hardware triggers."""
    what: str
    """What triggers it."""
    code: Callable[[Kernel, int], Gen[int]] | None
    """Its code path for one pfn, run as a thread of its own; None for the reads a writer
    makes itself (:attr:`by`)."""
    by: frozenset[str] = frozenset()
    """For a reader inside a writer: the ReadPage ``by`` of its reads."""
    pages: Callable[[int], tuple[int, ...]] | None = None
    """The pfns it reads when it looks at a pfn (default: that pfn)."""

    def pfns(self, pfn: int) -> tuple[int, ...]:
        return self.pages(pfn) if self.pages is not None else (pfn,)

    @property
    def internal(self) -> bool:
        return self.code is None


def _path(name: str) -> Callable[[Kernel], str]:
    return lambda k: getattr(getattr(k.paths, name), "__name__", name)


def gate_of(reader: Reader, k: Kernel) -> str:
    """The gate ``reader`` uses in kernel ``k``, in words."""
    return GATES[reader.name](k)


def _proc(k: Kernel) -> str:
    limit = "max_pfn rounded up to a section" if k.p.proc_page_max_dump_pfn else "max_pfn"
    gate = {
        "proc_page_pfn_valid": "pfn_valid",
        "proc_page_pfn_to_online_page": "pfn_to_online_page",
    }.get(_path("proc_page_pfn_to_page")(k), _path("proc_page_pfn_to_page")(k))
    return f"pfn < {limit}, {gate}"


def _mf(k: Kernel) -> str:
    first = {
        "memory_failure_pfn_valid": "pfn_valid",
        "memory_failure_online": "pfn_to_online_page, else pfn_valid",
    }.get(_path("memory_failure")(k), _path("memory_failure")(k))
    parts = [first]
    if k.p.memory_failure_dev_pagemap:
        parts.append("get_dev_pagemap → dev_pagemap path")
    if k.p.memory_failure_pgmap_pfn_valid:
        parts.append("pgmap_pfn_valid")
    if k.p.memory_failure_pgmap_ops:
        parts.append("pgmap->ops->memory_failure")
    if k.p.memory_failure_mutex:
        parts.append("under mf_mutex")
    return ", ".join(parts)


def _named(path: str, names: dict[str, str]) -> Callable[[Kernel], str]:
    def text(k: Kernel) -> str:
        fn = _path(path)(k)
        return names.get(fn, fn)

    return text


def _online(k: Kernel) -> str:
    return "pfn_to_online_page (section online" + (
        ", sub-section valid, no pgmap in a tainted section)" if k.p.taint_zone_device else ")"
    )


GATES: dict[str, Callable[[Kernel], str]] = {
    "kpageflags": _proc,
    "kpagecount": _proc,
    "kpagecgroup": _proc,
    "memory_failure": _mf,
    "hwpoison_inject": lambda k: "pfn_valid, then memory_failure",
    "soft_offline_page": _named(
        "soft_offline_pfn_to_page",
        {
            "soft_offline_pfn_valid": "pfn_valid",
            "soft_offline_pfn_to_online_page": "pfn_valid, pfn_to_online_page",
        },
    ),
    "removable": lambda k: (
        "memory blocks only (none for ZONE_DEVICE)"
        if k.p.memory_block_removable_walk
        else "no walk (CONFIG_MEMORY_HOTREMOVE)"
    ),
    "valid_zones": lambda k: (
        "memory blocks only (none for ZONE_DEVICE)"
        if k.p.memory_block_valid_zones_walk
        else "no walk (mem->zone)"
    ),
    "compaction": lambda k: (
        (
            "pfn_valid of the block's ends, "
            if k.p.pageblock_start_pfn_valid
            else "pfn_valid of the block's last pfn, "
        )
        + _online(k)
    ),
    "kmemleak": _named(
        "kmemleak_pfn_to_page",
        {
            "kmemleak_pfn_valid": "node span, pfn_valid",
            "kmemleak_pfn_to_online_page": "node span, pfn_to_online_page",
        },
    ),
    "page_owner": _named(
        "page_owner_pfn_to_page",
        {
            "page_owner_pfn_valid": "zone span, pfn_valid",
            "page_owner_pfn_to_online_page": "zone span, pfn_to_online_page",
        },
    ),
    "get_user_pages": lambda k: "a mapping of the bound driver (get_dev_pagemap, data pfns)",
    "memunmap_pages": lambda k: (
        "none (its own range): reads "
        + (
            "pfn_first"
            if k.p.unmap_reads_first_data_page
            else ("res.start" if k.p.memremap_kill else "the first data page (x86)")
        )
    ),
    "shrink_zone_span": lambda k: (
        "pfn_valid (the removed range)"
        if k.p.shrink_zone_device
        else "pfn_to_online_page; ZONE_DEVICE spans are not shrunk"
    ),
}

READERS: tuple[Reader, ...] = (
    Reader("kpageflags", "fs/proc/page.c", "kpageflags_read", "reading /proc/kpageflags",
           proc_page.kpageflags_read),
    Reader("kpagecount", "fs/proc/page.c", "kpagecount_read", "reading /proc/kpagecount",
           proc_page.kpagecount_read),
    Reader("kpagecgroup", "fs/proc/page.c", "kpagecgroup_read", "reading /proc/kpagecgroup",
           proc_page.kpagecgroup_read),
    Reader("memory_failure", "mm/memory-failure.c", "memory_failure",
           "a machine check or madvise(MADV_HWPOISON) on the pfn",
           lambda k, pfn: k.paths.memory_failure(k, pfn)),
    Reader("hwpoison_inject", "mm/hwpoison-inject.c", "hwpoison_inject",
           "writing the pfn to debugfs hwpoison/corrupt-pfn", hwpoison_inject.hwpoison_inject),
    Reader("soft_offline_page", "drivers/base/memory.c", "soft_offline_page_store",
           "writing the address to /sys/devices/system/memory/soft_offline_page",
           memory.soft_offline_page_store),
    Reader("removable", "drivers/base/memory.c", "removable_show",
           "reading a memory block's removable", memory.removable_show),
    Reader("valid_zones", "drivers/base/memory.c", "valid_zones_show",
           "reading a memory block's valid_zones", memory.valid_zones_show),
    Reader("compaction", "mm/compaction.c", "isolate_migratepages_block",
           "the compaction scanners reaching the pfn's pageblock",
           compaction.isolate_migratepages_block, pages=compaction.pageblock_pfns),
    Reader("kmemleak", "mm/kmemleak.c", "kmemleak_scan", "a kmemleak scan",
           kmemleak.kmemleak_scan),
    Reader("page_owner", "mm/page_owner.c", "pagetypeinfo_showmixedcount_print",
           "reading /proc/pagetypeinfo with page_owner on",
           page_owner.pagetypeinfo_showmixedcount_print),
    Reader("get_user_pages", "mm/gup.c", "follow_devmap_page",
           "a DAX fault or get_user_pages on a mapping of the pfn", gup.follow_devmap_page),
    Reader("memunmap_pages", "mm/memremap.c", "memunmap_pages",
           "the teardown of the mapping itself (a remove step)", None,
           by=memremap.TEARDOWN_READS),
    Reader("shrink_zone_span", "mm/memory_hotplug.c", "shrink_zone_span",
           "the span shrinking of a removal (a remove step)", None,
           by=memory_hotplug.SHRINK_READS),
)  # fmt: skip
"""Every reader, in the order ``memmapsim readers`` lists them."""

BY_NAME = {r.name: r for r in READERS}


def reader(name: str) -> Reader:
    return BY_NAME[name]
