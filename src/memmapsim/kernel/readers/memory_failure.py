"""mm/memory-failure.c: ``memory_failure(pfn, flags)`` — a machine check, ``madvise
(MADV_HWPOISON)`` or hwpoison_inject on a pfn (spec §7, §8 bugs 4 and 10).

v4.18: ``pfn_valid``, then the struct page (``PageHuge``, ``TestSetPageHWPoison``,
``compound_head``) (zzwd/linux-4.18-rt@mm/memory-failure.c:1132-1158 (4.18.0)). v4.19 looks
the pfn up with ``get_dev_pagemap`` after ``pfn_valid`` and takes the dev_pagemap path,
which locks the DAX entry through ``page->mapping`` (ZDawnG/linux-4.19@mm/memory-failure.c:
1248-1268 (4.19.0); a4913994/linux-4.20@mm/memory-failure.c:1154-1229, fs/dax.c:385-415
(4.20.0)). v5.4 asks ``pfn_to_online_page`` first and falls back to ``get_dev_pagemap`` only
for a valid pfn that is not online (96c804a6ae8c, KevinRSX/w4118-s21-linux-v5.4@
mm/memory-failure.c:1248-1271 (5.4.0)). v5.12 refuses the altmap's pfns
(``pgmap_pfn_valid``, zhangyinjun/linux-5.12.9@mm/memory-failure.c:1315-1319,
mm/memremap.c:83-96 (5.12.9)). The 5.16.10 tree takes ``mf_mutex``. v6.1 asks the driver
first (``pgmap->ops->memory_failure``: fsdax notifies the filesystem holding the namespace,
-EOPNOTSUPP when none does) and falls back to ``mf_generic_kill_procs``
(fEndman/linux-6.1-t113@mm/memory-failure.c:1929-1946 (6.1.0)); v6.12 locks the folio
(``pfn_folio``, ``dax_lock_folio``: shilei-massclouds/linux-6.12@mm/memory-failure.c:1766
(6.12.0); rikudousennin22/linux-7.1.3@mm/memory-failure.c:1718-1758, 2131-2161, 2343-2387
(7.1.3)).

**Never fixed** (spec §8 bug 10): ``get_dev_pagemap`` succeeds from the moment the pgmap is
published, long before ``memmap_init_zone_device`` has initialized the page it then reads.
"""

from __future__ import annotations

from memmapsim.effects import (
    Acquire,
    Gen,
    GetDevPagemap,
    Printk,
    ReadPage,
    ReadPgmap,
    Release,
    Step,
)
from memmapsim.kernel.errno import ENXIO, EOPNOTSUPP
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_hotplug import pfn_to_online_page
from memmapsim.kernel.readers.mmzone import pfn_valid
from memmapsim.model.locks import MF_MUTEX
from memmapsim.model.pgmap import MemoryType, PgmapConfig

OUTSIDE = "Memory failure: {pfn:#x}: memory outside kernel control"


def pgmap_pfn_valid(cfg: PgmapConfig, pfn: int) -> bool:
    """``pgmap_pfn_valid(pgmap, pfn)`` (v5.12): the pfn is in a range and past ``pfn_first``
    (not the altmap's reserve or memmap)."""
    for i, rng in enumerate(cfg.ranges):
        if rng.start >> 12 <= pfn <= rng.end >> 12:
            return pfn >= cfg.pfn_first(i)
    return False


def memory_failure_dev_pagemap(k: Kernel, pfn: int, pgmap: int) -> Gen[int]:
    """``memory_failure_dev_pagemap(pfn, flags, pgmap)`` (v4.19+)."""
    cfg: PgmapConfig = yield ReadPgmap(pgmap)
    if k.p.memory_failure_pgmap_pfn_valid and not pgmap_pfn_valid(cfg, pfn):
        return -ENXIO  # "device metadata space is not recoverable"
    if k.p.memory_failure_pgmap_ops and cfg.type == MemoryType.MEMORY_DEVICE_FS_DAX:
        # pmem_pagemap_memory_failure -> dax_holder_notify_failure: no filesystem is mounted
        # on the namespace (no holder_ops), so -EOPNOTSUPP and the generic handler runs
        yield Step("pmem_pagemap_memory_failure", f"dax_holder_notify_failure: {-EOPNOTSUPP}")
    if k.p.memory_failure_folio:
        yield from dax_lock_folio(pfn)
    else:
        yield from dax_lock_page(pfn)
    return 0


def dax_lock_page(pfn: int) -> Gen[None]:
    """``dax_lock_page(page)`` / ``dax_lock_mapping_entry`` (v4.19-v6.11): ``mapping =
    READ_ONCE(page->mapping)``, then ``dax_mapping(mapping)`` dereferences it."""
    yield ReadPage(pfn, "dax_lock_page", ("mapping",))


def dax_lock_folio(pfn: int) -> Gen[None]:
    """``pfn_folio(pfn)`` then ``dax_lock_folio(folio)`` (v6.12): compound_head, then
    ``folio->mapping``."""
    yield ReadPage(pfn, "dax_lock_folio", ("compound_head", "mapping"))


def read_poisoned_page(pfn: int) -> Gen[None]:
    """The System-RAM path: ``PageHuge(p)``, ``TestSetPageHWPoison(p)``, ``compound_head(p)``."""
    yield ReadPage(pfn, "memory_failure", ("flags", "compound_head"))


def memory_failure_pfn_valid(k: Kernel, pfn: int) -> Gen[int]:
    """``memory_failure`` with ``pfn_valid`` first (v4.18-v5.3)."""
    if not (yield from pfn_valid(k, pfn)):
        yield Printk("err", OUTSIDE.format(pfn=pfn))
        return -ENXIO
    if k.p.memory_failure_dev_pagemap:
        pgmap = yield GetDevPagemap(pfn)
        if pgmap is not None:
            ret: int = yield from memory_failure_dev_pagemap(k, pfn, pgmap)
            return ret
    yield from read_poisoned_page(pfn)
    return 0


def memory_failure_online(k: Kernel, pfn: int) -> Gen[int]:
    """``memory_failure`` with ``pfn_to_online_page`` first (v5.4+, 96c804a6ae8c), under
    ``mf_mutex`` where the release has it."""
    if k.p.memory_failure_mutex:
        yield Acquire(MF_MUTEX)
    ret = -ENXIO
    if (yield from pfn_to_online_page(k, pfn)):
        yield from read_poisoned_page(pfn)
        ret = 0
    elif (yield from pfn_valid(k, pfn)) and (pgmap := (yield GetDevPagemap(pfn))) is not None:
        ret = yield from memory_failure_dev_pagemap(k, pfn, pgmap)
    else:
        yield Printk("err", OUTSIDE.format(pfn=pfn))
    if k.p.memory_failure_mutex:
        yield Release(MF_MUTEX)
    return ret
