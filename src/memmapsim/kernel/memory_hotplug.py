"""mm/memory_hotplug.c and x86's arch_add_memory (arch/x86/mm/init_64.c), v4.18-v4.20.

``mem_hotplug_begin()`` = ``cpus_read_lock()`` + ``percpu_down_write(&mem_hotplug_lock)``.
``__add_pages`` validates the altmap, resets ``altmap->alloc`` and adds each section
with ``__add_section`` → ``sparse_add_one_section``, silently skipping sections that
already exist (-EEXIST is "finally dealt with by ioresource collision check").
``move_pfn_range_to_zone`` grows the zone and node spans under ``pgdat_resize_lock`` (and
the zone span seqlock for the zone), drops both, and then runs
``memmap_init_zone(MEMMAP_HOTPLUG)`` with only ``mem_hotplug_lock`` held.
"""

from __future__ import annotations

from memmapsim.effects import (
    Acquire,
    Gen,
    InitCurrentlyEmptyZone,
    Printk,
    ReadAltmap,
    Release,
    ResizePgdatRange,
    ResizeZoneRange,
    SetAltmap,
    SetZoneContiguous,
    Step,
    UpdateEndOfMemoryVars,
)
from memmapsim.kernel.errno import EINVAL
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.page_alloc import MEMMAP_HOTPLUG, memmap_init_zone
from memmapsim.kernel.sparse import __add_sections
from memmapsim.model.locks import (
    CPU_HOTPLUG_LOCK,
    MEM_HOTPLUG_LOCK,
    PGDAT_RESIZE_LOCK,
    ZONE_SPAN_SEQLOCK,
    Mode,
    instance,
)
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import AltmapConfig
from memmapsim.units import PAGE_SHIFT


def mem_hotplug_begin() -> Gen[None]:
    yield Acquire(CPU_HOTPLUG_LOCK, Mode.READ)
    yield Acquire(MEM_HOTPLUG_LOCK, Mode.WRITE)


def mem_hotplug_done() -> Gen[None]:
    yield Release(MEM_HOTPLUG_LOCK, Mode.WRITE)
    yield Release(CPU_HOTPLUG_LOCK, Mode.READ)


def __add_pages(
    k: Kernel, nid: int, phys_start_pfn: int, nr_pages: int, altmap: int | None
) -> Gen[int]:
    """``__add_pages(nid, start_pfn, nr_pages, altmap, want_memblock=false)``, ``altmap``
    being the pgmap whose vmem_altmap is passed: validate it ("memory add fail, invalid
    altmap", ``pr_warn_once``), reset ``altmap->alloc`` (``align`` is not reset), then add
    the sections."""
    if altmap is not None:
        cfg, _alloc, align = yield ReadAltmap(altmap)
        if cfg.base_pfn != phys_start_pfn or cfg.offset() > nr_pages:
            yield Printk("warning", "memory add fail, invalid altmap")
            return -EINVAL
        yield SetAltmap(altmap, 0, align)
    err: int = yield from __add_sections(k, nid, phys_start_pfn, nr_pages, altmap)
    return err


def add_pages(k: Kernel, nid: int, start_pfn: int, nr_pages: int, altmap: int | None) -> Gen[int]:
    """x86_64 ``add_pages``: ``__add_pages``, ``WARN_ON_ONCE(ret)``, then
    ``update_end_of_memory_vars`` (max_pfn, high_memory), whatever the result."""
    ret = yield from __add_pages(k, nid, start_pfn, nr_pages, altmap)
    if ret:
        # WARN_ON_ONCE(ret): a backtrace headed by the source location, no message.
        yield Printk("warning", "WARNING: at arch/x86/mm/init_64.c add_pages()")
    yield UpdateEndOfMemoryVars(start_pfn, nr_pages)
    return ret


def arch_add_memory(k: Kernel, nid: int, start: int, size: int, altmap: int | None) -> Gen[int]:
    """x86_64 ``arch_add_memory``: ``init_memory_mapping`` (direct map), then ``add_pages``
    (``altmap``: the pgmap whose vmem_altmap holds the memmap, if any)."""
    yield Step("init_memory_mapping", f"{start:#x}-{start + size:#x}")
    ret: int = yield from add_pages(k, nid, start >> PAGE_SHIFT, size >> PAGE_SHIFT, altmap)
    return ret


def move_pfn_range_to_zone(
    k: Kernel,
    nid: int,
    zone: ZoneType,
    start_pfn: int,
    nr_pages: int,
    altmap: AltmapConfig | None,
) -> Gen[None]:
    """``move_pfn_range_to_zone(zone, start_pfn, nr_pages, altmap)`` (v4.13-v4.20)."""
    yield InitCurrentlyEmptyZone(nid, zone, start_pfn, nr_pages)
    yield SetZoneContiguous(nid, zone, clear=True)
    resize_lock = instance(PGDAT_RESIZE_LOCK, nid)
    span_lock = instance(ZONE_SPAN_SEQLOCK, f"{nid}:{zone.name}")
    yield Acquire(resize_lock)
    yield Acquire(span_lock)
    yield ResizeZoneRange(nid, zone, start_pfn, nr_pages)
    yield Release(span_lock)
    yield ResizePgdatRange(nid, start_pfn, nr_pages)
    yield Release(resize_lock)
    # "TODO now we have a visible range of pages which are not associated with their
    # zone properly. [...] All the pages in the range are reserved so nobody should be
    # touching them so we should be safe"
    yield from memmap_init_zone(k, nr_pages, nid, zone, start_pfn, MEMMAP_HOTPLUG, altmap)
    yield SetZoneContiguous(nid, zone)
