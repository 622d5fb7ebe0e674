"""mm/hwpoison-inject.c: ``hwpoison_inject`` (debugfs ``hwpoison/corrupt-pfn``), spec §7.

In every release modelled the only gate is ``pfn_valid``; then ``compound_head(p)``
(``page_folio(p)`` in v7.x), up to v6.0 ``get_hwpoison_page(p)`` (a reference: _refcount),
and, with the filter off (the default), ``memory_failure``
(zzwd/linux-4.18-rt@mm/hwpoison-inject.c:14-57 (4.18.0); fEndman/linux-6.1-t113 (6.1.0);
rikudousennin22/linux-7.1.3 (7.1.3)). A pfn_valid ZONE_DEVICE page that is not initialized
— the altmap reserve after any add, the data pages while ``memmap_init_zone_device`` runs —
is dereferenced in every version.
"""

from __future__ import annotations

from memmapsim.effects import Gen, ReadPage
from memmapsim.kernel.errno import ENXIO
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.mmzone import pfn_valid


def hwpoison_inject(k: Kernel, pfn: int) -> Gen[int]:
    """A write of ``pfn`` to debugfs ``hwpoison/corrupt-pfn``."""
    if not (yield from pfn_valid(k, pfn)):
        return -ENXIO
    fields = ("compound_head", "_refcount") if k.p.hwpoison_inject_get_page else ("compound_head",)
    yield ReadPage(pfn, "hwpoison_inject", fields)
    # hwpoison_filter_enable is 0 by default: "goto inject"
    ret: int = yield from k.paths.memory_failure(k, pfn)
    return ret
