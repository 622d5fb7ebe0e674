"""drivers/dax: device-dax over an nvdimm namespace (docs/kernel-notes/drivers.md §2.3-§2.6).

v4.18-v5.0: ``dax_pmem_probe`` (driver "dax_pmem", on the nd_dax device) lays out the pfn
block, claims the whole namespace ("could not reserve region %pR") and maps its pages
itself; the pgmap type is left 0. v5.1: ``__dax_pmem_probe`` claims only the metadata
("could not reserve metadata") and creates a dev_dax on the dax bus, whose probe
(``dev_dax_probe``, driver "device_dax", run synchronously by ``device_add``) claims the data
range and maps the pages. v5.3 sets MEMORY_DEVICE_DEVDAX, v5.10 MEMORY_DEVICE_GENERIC;
v5.17 sets ``vmemmap_shift`` from the dax alignment (2 MiB → 9, 1 GiB → 18); v6.12 creates
the dev_dax — and so maps its pages — under the global ``dax_region_rwsem``.
"""

from __future__ import annotations

from msgspec.structs import replace

from memmapsim.effects import Acquire, Gen, NewPgmap, Printk, Release, RequestMemRegion
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import EBUSY
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.nvdimm import (
    Namespace,
    NdRegion,
    PfnSb,
    npfns_check,
    nvdimm_setup_pfn,
    pfn_info_block,
)
from memmapsim.model.locks import DAX_REGION_RWSEM
from memmapsim.model.pgmap import MemoryType, Pgmap, PgmapConfig
from memmapsim.units import PAGE_SHIFT, resource_str_R


def dax_pmem_probe(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...]) -> Gen[int]:
    """``dax_pmem_probe`` (v4.18-v5.0), or from v5.1 ``__dax_pmem_probe`` followed by the
    dev_dax's ``dev_dax_probe``."""
    sb = yield from pfn_info_block(k, ns, bus)
    if isinstance(sb, int):
        return sb
    dev = ns.device
    mtype = MemoryType[k.p.devdax_type] if k.p.devdax_type != "UNSET" else MemoryType.UNSET
    cfg = nvdimm_setup_pfn(ns, sb, mtype, "dax_pmem->ref", k.p.nd_subsection_layout)
    yield from npfns_check(ns, sb, cfg)
    if not k.p.devdax_bus:
        ok = yield RequestMemRegion(ns.start, ns.size, ns.ns_name)
        if not ok:
            region = resource_str_R(ns.start, ns.start + ns.size - 1)
            yield Printk("warning", dev.fmt(f"could not reserve region {region}"))
            return -EBUSY
        pgmap_id = yield NewPgmap(cfg, ns.nid)
        ret: int = yield from k.paths.devm_memremap_pages(k, dev, Pgmap(pgmap_id, cfg))
        return ret
    ok = yield RequestMemRegion(ns.start, sb.dataoff, ns.ns_name)
    if not ok:
        yield Printk("warning", dev.fmt("could not reserve metadata"))
        return -EBUSY
    return (yield from dev_dax_probe(k, ns, sb, cfg))


def dev_dax_probe(k: Kernel, ns: Namespace, sb: PfnSb, cfg: PgmapConfig) -> Gen[int]:
    """``dev_dax_probe`` (v5.1+) on the dev_dax ``daxN.0`` (driver "device_dax"): claim the
    data range, set the pgmap type and (v5.17) ``vmemmap_shift``, map the pages. In v6.12
    ``devm_create_dev_dax`` holds ``dax_region_rwsem`` (write) around the whole probe."""
    dev = KDevice(ns.device.name, "device_dax", ns.nid)
    locked = k.p.dax_region_rwsem
    if locked:
        yield Acquire(DAX_REGION_RWSEM)
    data_start = ns.start + sb.start_pad + sb.dataoff
    data_end = ns.start + ns.size - sb.end_trunc
    ok = yield RequestMemRegion(data_start, data_end - data_start, dev.name)
    ret = 0
    if not ok:
        if k.p.pagemap_ranges:
            msg = f"mapping0: {data_start:#x}-{data_end - 1:#x} could not reserve range"
        else:
            msg = f"could not reserve region {resource_str_R(data_start, data_end - 1)}"
        yield Printk("warning", dev.fmt(msg))
        ret = -EBUSY
    else:
        if k.p.devdax_vmemmap_shift and sb.align > 1 << PAGE_SHIFT:
            cfg = replace(cfg, vmemmap_shift=(sb.align >> PAGE_SHIFT).bit_length() - 1)
        pgmap_id = yield NewPgmap(cfg, ns.nid)
        ret = yield from k.paths.devm_memremap_pages(k, dev, Pgmap(pgmap_id, cfg))
    if locked:
        yield Release(DAX_REGION_RWSEM)
    return int(ret)
