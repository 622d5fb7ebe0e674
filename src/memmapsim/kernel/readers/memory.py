"""drivers/base/memory.c: the memory-block sysfs files that look at struct pages (spec §7).

- ``soft_offline_page`` (``store_soft_offline_page`` up to v5.3, ``soft_offline_page_store``
  from v5.4): up to v5.3 ``pfn_valid`` only, then ``soft_offline_page(pfn_to_page(pfn))``
  reads page->flags (``PageHWPoison``; v4.20 first ``is_zone_device_page``)
  (zzwd/linux-4.18-rt@drivers/base/memory.c:546-560, mm/memory-failure.c soft_offline_page
  (4.18.0); a4913994/linux-4.20@mm/memory-failure.c soft_offline_page (4.20.0)); v5.4 adds
  ``pfn_to_online_page`` ("drivers/base/memory.c: don't access uninitialized memmaps in
  soft_offline_page_store()", KevinRSX/w4118-s21-linux-v5.4@drivers/base/memory.c (5.4.0));
  v5.10 moves both checks into ``soft_offline_page(pfn)``
  (atjhamit/linux-v5.10@mm/memory-failure.c (5.10.0)).
- ``removable`` and ``valid_zones`` walk the pfns of a memory block's present sections
  (``is_mem_section_removable``, ``test_pages_in_a_zone``: ``page_zone`` of pageblock and
  MAX_ORDER starts, zzwd/linux-4.18-rt@mm/memory_hotplug.c:1240-1320 (4.18.0)). ZONE_DEVICE
  memory gets no memory block (``want_memblock`` false; no ``create_memory_block_devices``),
  so they reach a ZONE_DEVICE pfn only in a sub-section of a boot section (v5.3+). v5.7's
  ``removable`` prints CONFIG_MEMORY_HOTREMOVE (a5221985/linux-5.7.14@drivers/base/
  memory.c (5.7.14)); by v5.19 ``valid_zones`` prints ``mem->zone`` without a walk
  (yishangzhang/linux-5.19@drivers/base/memory.c (5.19.0); the 5.17.0 tree still walks).
  They are modelled at the pfn looked at: the walk reads its struct page.
"""

from __future__ import annotations

from memmapsim.effects import Gen, ReadPage, ReadSections
from memmapsim.kernel.errno import EIO, ENXIO
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_hotplug import pfn_to_online_page
from memmapsim.kernel.readers.mmzone import pfn_valid
from memmapsim.model.section import SectionFlag, SectionState
from memmapsim.units import pfn_to_section_nr


def soft_offline_pfn_valid(k: Kernel, pfn: int) -> Gen[bool]:
    """``if (!pfn_valid(pfn)) return -ENXIO;`` (v4.18-v5.3)."""
    ok: bool = yield from pfn_valid(k, pfn)
    return ok


def soft_offline_pfn_to_online_page(k: Kernel, pfn: int) -> Gen[bool]:
    """``pfn_valid(pfn)`` and then ``pfn_to_online_page(pfn)`` (-EIO: "Only online pages can be
    soft-offlined (esp., not ZONE_DEVICE)", v5.4)."""
    if not (yield from pfn_valid(k, pfn)):
        return False
    ok: bool = yield from pfn_to_online_page(k, pfn)
    return ok


def soft_offline_page_store(k: Kernel, pfn: int) -> Gen[int]:
    """A write of the pfn's address to /sys/devices/system/memory/soft_offline_page."""
    if not (yield from k.paths.soft_offline_pfn_to_page(k, pfn)):
        return -EIO
    # v4.20: is_zone_device_page(page) (page_zonenum), then PageHWPoison(page): page->flags
    yield ReadPage(pfn, "soft_offline_page", ("flags",))
    return 0


def memory_block_online(k: Kernel, pfn: int) -> Gen[bool]:
    """Whether the pfn is in an online memory block: its section has one (boot or hot-added
    System RAM, never ZONE_DEVICE) and is online."""
    sec = pfn_to_section_nr(pfn)
    runs: list[tuple[int, int, SectionState]] = yield ReadSections(sec, sec + 1)
    ms = runs[0][2]
    return bool(ms.present and ms.flags & SectionFlag.IS_ONLINE)


def removable_show(k: Kernel, pfn: int) -> Gen[int]:
    """``removable`` of the memory block holding ``pfn`` (``show_mem_removable`` up to v5.2):
    ``is_mem_section_removable`` reads ``page_zone`` of the pageblock's first page."""
    if not k.p.memory_block_removable_walk:
        return 0  # v5.7: sysfs_emit(CONFIG_MEMORY_HOTREMOVE)
    if not (yield from memory_block_online(k, pfn)):
        return -ENXIO
    yield ReadPage(pfn, "is_mem_section_removable", ("flags",))
    return 0


def valid_zones_show(k: Kernel, pfn: int) -> Gen[int]:
    """``valid_zones`` of the online memory block holding ``pfn``: ``test_pages_in_a_zone``
    reads ``page_zone`` of the pfns it walks."""
    if not k.p.memory_block_valid_zones_walk:
        return 0  # v5.19: mem->zone
    if not (yield from memory_block_online(k, pfn)):
        return -ENXIO
    yield ReadPage(pfn, "test_pages_in_a_zone", ("flags",))
    return 0
