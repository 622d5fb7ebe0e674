"""init/main.c at boot, for the memmap: ``start_kernel`` (``setup_arch`` → ``paging_init`` →
``sparse_init`` and ``free_area_init``; ``mm_init`` → ``mem_init`` → ``memblock_free_all``),
then the ``kernel_init`` thread (``kernel_init_freeable``: ``smp_init``, ``padata_init``
(v5.8+), ``page_alloc_init_late``, then ``do_basic_setup``, whose ``driver_init`` →
``memory_dev_init`` probes the memory block size).

The memblock the kernel starts from — the firmware's memory map (``e820__memblock_setup``)
and the early reservations (kernel image, firmware, crash kernel) — is the scenario's
(``[boot]``); everything after is the kernel's code.

Call sites: 4.14.0 H14@init/main.c:1061-1066; 5.8.1 S58@init/main.c:1500-1501; 7.1.3
R71@init/main.c:1700-1701 (docs/kernel-notes/boot-hotplug.md §1.4, §8.2, §12.2).
"""

from __future__ import annotations

from functools import partial

from memmapsim.effects import (
    BeginStep,
    Gen,
    Join,
    Printk,
    ReadMemblock,
    SetMemoryBlockSize,
    Spawn,
    ThreadSpec,
)
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memblock import mem_pfn_ranges
from memmapsim.kernel.memory_block import probe_memory_block_size
from memmapsim.kernel.page_alloc_boot import (
    BootCpus,
    NodeLayout,
    free_area_init,
    memblock_free_all,
    page_alloc_init_late,
)
from memmapsim.kernel.sparse import sparse_init
from memmapsim.units import PAGE_SHIFT

BOOT_ROOT = "swapper/0"
KERNEL_INIT = "kernel_init"
BOOT_STEP = "boot"
"""The label ``memmapsim page --after`` knows the end of boot by."""


def kernel_init(k: Kernel, nodes: list[NodeLayout], cpus: BootCpus, max_pfn: int) -> Gen[int]:
    """``kernel_init`` → ``kernel_init_freeable``: ``page_alloc_init_late`` (with the padata
    pool made just before from v5.8), then ``memory_dev_init``'s block size probe."""
    if k.config.deferred:
        yield from page_alloc_init_late(k, nodes, cpus)
    size = probe_memory_block_size(k, max_pfn << PAGE_SHIFT)
    yield SetMemoryBlockSize(size)
    yield Printk("info", f"x86/mm: Memory block size: {size >> 20}MB")
    return 0


def start_kernel(k: Kernel, cpus: BootCpus, node0: int) -> Gen[int]:
    """The boot CPU until ``rest_init`` starts ``kernel_init`` (on node ``node0``, the boot
    CPU's), which it waits for here (memmapsim's root ends with boot)."""
    yield BeginStep(BOOT_STEP)
    snap = yield ReadMemblock()
    max_pfn = max(hi for _lo, hi, _nid in mem_pfn_ranges(snap))
    yield from sparse_init(k, snap)
    nodes = yield from free_area_init(k, max_pfn, k.config.deferred)
    yield from memblock_free_all(k, nodes)
    spec = ThreadSpec(KERNEL_INIT, partial(kernel_init, k, nodes, cpus, max_pfn))
    tid = yield Spawn(spec, node0)
    yield Join(tid)
    return 0


def boot_thread(k: Kernel, cpus: BootCpus, node0: int) -> ThreadSpec:
    return ThreadSpec(BOOT_ROOT, partial(start_kernel, k, cpus, node0))
