"""drivers/base/memory.c and x86's ``probe_memory_block_size``: memory block devices, the
unit hot-plugged System RAM is onlined and offlined in.

x86_64 (arch/x86/mm/init_64.c): 128 MiB (``MIN_MEMORY_BLOCK_SIZE``, one section) when boot
memory ends below 64 GiB; otherwise 2 GiB in v4.14 (H14@…:1316-1336), then up to v6.0 the
largest power of two up to 2 GiB that aligns the end of boot memory
(R18@arch/x86/mm/init_64.c:1366-1391); from v6.1 2 GiB on bare metal and the alignment search
only under a hypervisor (K61@…:1483-1517, R71@…:1461-1500).
Message: ``"x86/mm: Memory block size: %ldMB\\n"``.
"""

from __future__ import annotations

from memmapsim.kernel.kernel import Kernel
from memmapsim.units import SECTION_SIZE, GiB, MiB

MIN_MEMORY_BLOCK_SIZE = SECTION_SIZE
MAX_BLOCK_SIZE = 2 * GiB
MEM_SIZE_FOR_LARGE_BLOCK = 64 * GiB


def probe_memory_block_size(k: Kernel, boot_mem_end: int) -> int:
    """The memory block size for boot memory ending at ``boot_mem_end`` (bytes)."""
    if boot_mem_end < MEM_SIZE_FOR_LARGE_BLOCK:
        return MIN_MEMORY_BLOCK_SIZE
    if k.p.block_size_rule == "2g" or (
        k.p.block_size_rule == "bare-metal-2g" and not k.config.hypervisor
    ):
        return MAX_BLOCK_SIZE
    bz = MAX_BLOCK_SIZE
    while bz > MIN_MEMORY_BLOCK_SIZE:
        if boot_mem_end % bz == 0:
            break
        bz >>= 1
    return max(bz, MIN_MEMORY_BLOCK_SIZE)


def block_size_mb(size: int) -> int:
    return size // MiB
