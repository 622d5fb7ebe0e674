"""drivers/pci/p2pdma.c: ``pci_p2pdma_add_resource`` (v4.20+; docs/kernel-notes/drivers.md
§3.1): a BAR of a PCI device (an NVMe controller memory buffer) becomes ZONE_DEVICE memory
of type MEMORY_DEVICE_PCI_P2PDMA, its memmap in RAM of the device's node, then
``pci_info(pdev, "added peer-to-peer DMA memory %pR\\n")`` (v5.10: ``"%#llx-%#llx"``)."""

from __future__ import annotations

from memmapsim.effects import Gen, NewPgmap, Printk
from memmapsim.kernel.errno import EINVAL
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.nvdimm import Namespace
from memmapsim.model.pgmap import MemoryType, Pgmap, PgmapConfig, PhysRange
from memmapsim.units import resource_str_R


def pci_p2pdma_add_resource(k: Kernel, ns: Namespace) -> Gen[int]:
    dev = ns.device
    if ns.size == 0:
        return -EINVAL
    end = ns.start + ns.size - 1
    cfg = PgmapConfig(
        dev.name,
        MemoryType.MEMORY_DEVICE_PCI_P2PDMA,
        (PhysRange(ns.start, end),),
        "pdev->p2pdma->devmap_ref",
    )
    pgmap_id = yield NewPgmap(cfg, ns.nid)
    ret: int = yield from k.paths.devm_memremap_pages(k, dev, Pgmap(pgmap_id, cfg))
    if ret:
        return ret
    # v5.10 prints the range as "%#llx-%#llx"
    what = f"{ns.start:#x}-{end:#x}" if k.p.pagemap_ranges else resource_str_R(ns.start, end)
    yield Printk("info", dev.fmt(f"added peer-to-peer DMA memory {what}"))
    return 0
