"""The teardown of a mapping reads struct pages itself (spec §7, §8 bug 6):
``devm_memremap_pages_release`` (v4.18-v5.3) / ``memunmap_pages`` (v5.4+) read the node and
zone from a page, x86 ``arch_remove_memory`` reads the zone of the first data page (up to
v5.6), and HMM's ``hmm_devmem_release`` (v4.18-v4.20) the zone of its first page.

From v5.0 the release reads the page at the section-aligned start — with an altmap a pfn of
the reserve, never initialized — and v5.3 the page at ``res.start``, the same pfn
(77e080e7680e "mm/memunmap: don't access uninitialized memmap in memunmap_pages()", v5.4,
reads ``pfn_first`` instead: KevinRSX/w4118-s21-linux-v5.4@mm/memremap.c:103-136 (5.4.0)).
The code is in kernel/memremap.py and kernel/mm_memremap.py; this reader stands for the
reads those writers make (:data:`TEARDOWN_READS`).
"""

from __future__ import annotations

TEARDOWN_READS = frozenset(
    {"devm_memremap_pages_release", "memunmap_pages", "arch_remove_memory", "hmm_devmem_release"}
)
"""The ReadPage ``by`` of a teardown's own reads."""
