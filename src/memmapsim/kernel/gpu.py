"""Device memory of a GPU: DEVICE_PRIVATE (HMM) and DEVICE_COHERENT
(docs/kernel-notes/zone-device-early.md §1.8, §4.5, §6.3, §7.3; drivers.md §3.2-§3.4).

v4.18-v4.20: ``hmm_devmem_add`` finds a free physical range top-down and HMM adds it with its
own hotplug code (``hmm_devmem_pages_create``: its own radix, no pgmap references, no
release put). v5.0-v5.2: ``hmm_devmem_add`` builds a DEVICE_PRIVATE pgmap and calls
``devm_memremap_pages``. v5.3+: the driver (nouveau, amdkfd, test_hmm) takes a range with
``devm_request_free_mem_region`` and maps a DEVICE_PRIVATE pgmap itself; v6.1 adds
DEVICE_COHERENT (amdkfd with a CPU-connected XGMI aperture: the range is the device's own).

The kernel picks a device-private range top-down from the top of the physical address
space; the scenario names the range instead.
"""

from __future__ import annotations

from memmapsim.effects import Gen, NewPgmap, RequestMemRegion
from memmapsim.kernel.errno import EBUSY, EINVAL
from memmapsim.kernel.hmm import hmm_devmem_pages_create
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.nvdimm import Namespace
from memmapsim.model.pgmap import MemoryType, Pgmap, PgmapConfig, PhysRange


def device_memory_probe(k: Kernel, ns: Namespace) -> Gen[int]:
    """A GPU driver making its device memory ZONE_DEVICE, as the version does it."""
    dev = ns.device
    if ns.size == 0:
        return -EINVAL
    ok = yield RequestMemRegion(ns.start, ns.size, dev.name)
    if not ok:
        return -EBUSY
    coherent = ns.kind == "device-coherent"
    mtype = MemoryType.MEMORY_DEVICE_COHERENT if coherent else MemoryType.MEMORY_DEVICE_PRIVATE
    own = k.p.hmm == "hmm-devmem"
    cfg = PgmapConfig(
        dev.name,
        mtype,
        (PhysRange(ns.start, ns.start + ns.size - 1),),
        "devmem->ref" if k.p.hmm != "driver" else "pgmap->ref",
        release_puts_pages=not own,
    )
    pgmap_id = yield NewPgmap(cfg, ns.nid)
    pgmap = Pgmap(pgmap_id, cfg)
    if own:
        ret: int = yield from hmm_devmem_pages_create(k, dev, pgmap)
        return ret
    ret = yield from k.paths.devm_memremap_pages(k, dev, pgmap)
    return ret
