"""mm/memblock.c (and v4.14's mm/nobootmem.c): the boot allocator's iterators, its top-down
allocation, and the hand-over of boot memory to the buddy allocator
(``free_all_bootmem``, renamed ``memblock_free_all`` in v4.20).

Trees: 4.14.0 hxxful/linux-4.14.0-friendlyarm@mm/nobootmem.c:99-191, mm/memblock.c:1104-1130,
1276-1338, 1736-1756; 4.18.0 zzwd/linux-4.18-rt@mm/memblock.c:1342-1360; 4.20.0
a4913994/linux-4.20@mm/memblock.c:1445-1462, 1892-1985; 6.1 krr-io/linux-6.1.0@mm/memblock.c:
2059-2136 (docs/kernel-notes/boot-hotplug.md §1.3, §3.3, §9.3).
"""

from __future__ import annotations

import functools

from memmapsim.effects import Gen, MemblockReserve, ReadMemblock
from memmapsim.kernel.kernel import Kernel
from memmapsim.model.memblock import MemblockSnapshot
from memmapsim.units import ALIGN_DOWN, PAGE_SHIFT, PAGE_SIZE


def pfn_up(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) >> PAGE_SHIFT


def pfn_down(addr: int) -> int:
    return addr >> PAGE_SHIFT


def mem_pfn_ranges(snap: MemblockSnapshot, nid: int | None = None) -> list[tuple[int, int, int]]:
    """``for_each_mem_pfn_range``: ``(start_pfn, end_pfn, nid)`` of every memory region (of
    node ``nid``), the start rounded up and the end down to pages."""
    return list(_mem_pfn_ranges(snap, nid))


@functools.lru_cache(maxsize=256)
def _mem_pfn_ranges(snap: MemblockSnapshot, nid: int | None) -> tuple[tuple[int, int, int], ...]:
    out = []
    for r in snap.memory:
        if nid is not None and r.nid != nid:
            continue
        lo, hi = pfn_up(r.base), pfn_down(r.end)
        if lo < hi:
            out.append((lo, hi, r.nid))
    return tuple(out)


def free_ranges(snap: MemblockSnapshot, nid: int | None = None) -> list[tuple[int, int, int]]:
    """``for_each_free_mem_range``: memory minus reserved, ``(start_pfn, end_pfn, nid)``, in
    ascending order (``PFN_UP`` of the start, ``PFN_DOWN`` of the end, as every caller does)."""
    return list(_free_ranges(snap, nid))


@functools.lru_cache(maxsize=256)
def _free_ranges(snap: MemblockSnapshot, nid: int | None) -> tuple[tuple[int, int, int], ...]:
    out = []
    for r in snap.memory:
        if nid is not None and r.nid != nid:
            continue
        pieces = [(r.base, r.end)]
        for res in snap.reserved:
            nxt = []
            for a, b in pieces:
                if res.end <= a or b <= res.base:
                    nxt.append((a, b))
                    continue
                if a < res.base:
                    nxt.append((a, res.base))
                if res.end < b:
                    nxt.append((res.end, b))
            pieces = nxt
        for a, b in pieces:
            lo, hi = pfn_up(a), pfn_down(b)
            if lo < hi:
                out.append((lo, hi, r.nid))
    return tuple(out)


def reserved_memory_within(snap: MemblockSnapshot, start: int, end: int) -> int:
    """``memblock_reserved_memory_within(start_addr, end_addr)`` (v4.14): the sizes, in bytes,
    of the reserved regions touching ``[start, end]`` (whole regions, not their overlap)."""
    return sum(r.size for r in snap.reserved if not (r.end < start or r.base > end))


def memblock_alloc_try_nid(
    k: Kernel, size: int, align: int, min_addr: int, nid: int, exact: bool = False
) -> Gen[int | None]:
    """``memblock_alloc_try_nid[_raw]`` / ``memblock_alloc_exact_nid_raw``: the highest
    ``align``-aligned free range of ``size`` bytes on node ``nid`` above ``min_addr``
    (memblock allocates top-down), else — unless ``exact`` — on any node; reserved with that
    node. Returns its address, or None. Zeroing or poisoning the memory is the caller's."""
    snap = yield ReadMemblock()
    for want in (nid, None) if not exact else (nid,):
        free = [
            (lo << PAGE_SHIFT, hi << PAGE_SHIFT)
            for lo, hi, n in free_ranges(snap)
            if want is None or n == want
        ]
        for a, b in reversed(free):
            base = ALIGN_DOWN(b - size, align)
            if base >= max(a, min_addr):
                yield MemblockReserve(base, size, nid)
                return base
    return None
