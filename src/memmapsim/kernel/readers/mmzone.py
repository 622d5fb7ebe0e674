"""include/linux/mmzone.h: ``pfn_valid`` as a reader sees it, through the section state
(spec §1.5; docs/kernel-notes/zone-device-early.md §7).

``pfn_valid(pfn)`` is ``valid_section()`` — the section has a memmap — up to v5.2
(zzwd/linux-4.18-rt@include/linux/mmzone.h:1238-1243 (4.18.0)); from v5.3 it also needs the
section to be early (boot memory) or the pfn's sub-section bit to be set
(Awik84/linux-5.3@include/linux/mmzone.h:1338-1352 (5.3.0)). v6.8+ reads ``ms->usage``
under RCU, which does not change the answer. The sub-section bit is set *before* the
memmap is populated (state S1' of spec §7).
"""

from __future__ import annotations

from memmapsim.effects import Gen, ReadSections
from memmapsim.kernel.kernel import Kernel
from memmapsim.model.section import SectionState
from memmapsim.units import PAGES_PER_SECTION, PAGES_PER_SUBSECTION, pfn_to_section_nr


def pfn_section_valid(ms: SectionState, pfn: int) -> bool:
    """``pfn_section_valid`` (v5.3+): the pfn's bit in ``ms->usage->subsection_map``."""
    idx = (pfn % PAGES_PER_SECTION) // PAGES_PER_SUBSECTION
    return bool(ms.subsection_map >> idx & 1)


def pfn_valid(k: Kernel, pfn: int) -> Gen[bool]:
    """``pfn_valid(pfn)``: the section has a memmap (and, from v5.3, is early or has the
    pfn's sub-section)."""
    sec = pfn_to_section_nr(pfn)
    runs: list[tuple[int, int, SectionState]] = yield ReadSections(sec, sec + 1)
    ms = runs[0][2]
    if not ms.valid:
        return False
    if not k.p.subsections:
        return True
    return ms.early or pfn_section_valid(ms, pfn)
