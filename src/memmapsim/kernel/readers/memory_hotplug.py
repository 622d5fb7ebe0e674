"""``pfn_to_online_page`` (include/linux/memory_hotplug.h up to v5.11, mm/memory_hotplug.c
from v5.12) and the span shrinking of a removal, as readers (spec §1.5, §7).

Up to v5.11 ``pfn_to_online_page`` is a macro: the section is online
(zzwd/linux-4.18-rt@include/linux/memory_hotplug.h:24-32 (4.18.0); from v5.0 also
``pfn_valid_within``, always true on x86_64: Awik84/linux-5.3@include/linux/memory_hotplug.h:24-34
(5.3.0)). A ZONE_DEVICE section is never online, but a ZONE_DEVICE sub-section of an
online early section (v5.3+) is then returned. v5.12 ("mm: teach pfn_to_online_page()
about ZONE_DEVICE section collisions") makes it a function that also checks the sub-section
and, for a section tainted SECTION_TAINT_ZONE_DEVICE, asks ``get_dev_pagemap``: a pgmap
means an offline ZONE_DEVICE pfn (zhangyinjun/linux-5.12.9@mm/memory_hotplug.c:295-335
(5.12.9); rikudousennin22/linux-7.1.3@mm/memory_hotplug.c:338-378 (7.1.3)).

The span shrinking of a removal (``shrink_zone_span`` up to v5.3) reads struct pages in the
removing thread itself: it is a reader of the writer's own (:data:`SHRINK_READS`).
"""

from __future__ import annotations

from memmapsim.effects import Gen, GetDevPagemap, ReadSections
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.mmzone import pfn_section_valid
from memmapsim.model.section import SectionFlag, SectionState
from memmapsim.units import pfn_to_section_nr

SHRINK_READS = frozenset({"shrink_zone_span"})
"""The ReadPage ``by`` of the zone and node span shrinking (kernel/memory_hotplug.py
``__remove_zone``)."""


def pfn_to_online_page(k: Kernel, pfn: int) -> Gen[bool]:
    """Whether ``pfn_to_online_page(pfn)`` returns the struct page (not NULL)."""
    sec = pfn_to_section_nr(pfn)
    runs: list[tuple[int, int, SectionState]] = yield ReadSections(sec, sec + 1)
    ms = runs[0][2]
    if not ms.flags & SectionFlag.IS_ONLINE:
        return False
    if not k.p.taint_zone_device:
        return True  # the macro: online_section_nr (&& pfn_valid_within, true on x86_64)
    if not pfn_section_valid(ms, pfn):
        return False
    if not ms.flags & SectionFlag.TAINT_ZONE_DEVICE:
        return True
    # "Slowpath: when ZONE_DEVICE collides with ZONE_{NORMAL,MOVABLE} within the same
    # section some pfns in the section may be 'offline' but 'valid'."
    pgmap = yield GetDevPagemap(pfn)
    return pgmap is None
