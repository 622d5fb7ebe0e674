"""mm/gup.c and fs/dax.c: a fault on, or ``get_user_pages`` of, a ZONE_DEVICE pfn mapped in a
process (``pte_devmap``: ``get_dev_pagemap`` with a reference, then ``pfn_to_page``), spec §7.

Such a pte exists only once user space has mapped the memory: a DAX file on the namespace's
block device or a device-dax character device, which the driver exposes after
``devm_memremap_pages`` returned (the probe succeeded: ``driver_bound``), and only for the
pfns the driver hands out (past ``pfn_first``). Safe by construction; the reader confirms it.
"""

from __future__ import annotations

from memmapsim.effects import Gen, GetDevPagemap, ReadDriverBound, ReadPage, ReadPgmap
from memmapsim.kernel.errno import EFAULT
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.readers.memory_failure import pgmap_pfn_valid
from memmapsim.model.pgmap import PgmapConfig


def follow_devmap_page(k: Kernel, pfn: int) -> Gen[int]:
    """``get_user_pages`` (or a DAX fault) reaching ``pfn`` through a process mapping."""
    pgmap = yield GetDevPagemap(pfn)
    if pgmap is None:
        return -EFAULT
    cfg: PgmapConfig = yield ReadPgmap(pgmap)
    exposed = yield ReadDriverBound(cfg.dev_name)
    if not exposed or not pgmap_pfn_valid(cfg, pfn):
        return -EFAULT  # no process can have this pfn mapped
    yield ReadPage(pfn, "try_grab_page", ("compound_head", "_refcount", "flags"))
    return 0
