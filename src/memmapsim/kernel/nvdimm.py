"""drivers/nvdimm: the pfn-device layout, the fsdax probe and device registration.

Layout (drivers/nvdimm/pfn_devs.c; read in the v4.18.0 and v4.20.0 trees, see
docs/spec-corrections.md):

- ``nd_pfn_init`` trims the namespace so that its sections do not collide: ``start_pad``
  (up to the next section) and ``end_trunc`` (down to ``min(section, align)``). v4.18
  checks System RAM only; v4.20's ``trim_pfn_device`` also checks the other nvdimm regions
  (``nd_region_conflict``). ``npfns`` is rounded up to whole sections; in PMEM mode
  (memmap on the device) ``dataoff = ALIGN(start + 8K + 64 * npfns + label,
  max(align, PMD_SIZE)) - start`` — the memmap is padded to the 2 MiB vmemmap block
  whatever the namespace's alignment; in RAM mode ``dataoff = ALIGN(start + 8K + label,
  align) - start``. Device-dax adds a 128 KiB label reserve.
- ``__nvdimm_setup_pfn`` shrinks ``res`` by ``start_pad``/``end_trunc`` and, in PMEM mode,
  sets the altmap: ``base_pfn`` = the section-aligned-down start, ``reserve`` = 2 pfns
  (the 8 KiB info block) + the start's offset into its section, ``free`` =
  ``PHYS_PFN(dataoff - 8K)``.

For a 3 TiB namespace this gives reserve 2, free 12,583,422: exactly the 24,576 2 MiB
memmap blocks plus the 510 pfns that align the first block (see tests/kernel).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from memmapsim.effects import (
    AsyncSchedule,
    Gen,
    NewPgmap,
    Printk,
    RegionIntersects,
    RequestMemRegion,
    Step,
    ThreadSpec,
)
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import EBUSY, EINVAL, ENODEV, ENXIO
from memmapsim.kernel.kernel import Kernel
from memmapsim.model.pgmap import AltmapConfig, MemoryType, Pgmap, PgmapConfig, PhysRange
from memmapsim.model.resource import SYSTEM_RAM, Region
from memmapsim.units import (
    ALIGN,
    ALIGN_DOWN,
    IS_ALIGNED,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    PAGES_PER_SUBSECTION,
    PHYS_PFN,
    PMD_SIZE,
    SECTION_ALIGN_UP,
    SECTION_SIZE,
    STRUCT_PAGE_SIZE,
    KiB,
    resource_str_R,
)

SZ_8K = 8 * KiB
SZ_128K = 128 * KiB
ND_MIN_NAMESPACE_SIZE = PAGE_SIZE
"""nvdimm_namespace_common_probe() refuses a smaller namespace (include/uapi/linux/ndctl.h
in v4.18.0, include/linux/ndctl.h in v4.20.0)."""

DeviceKind = Literal["fsdax", "devdax", "device-private", "device-coherent", "p2pdma", "system-ram"]


class NdRegion(msgspec.Struct, frozen=True):
    """An nvdimm region (``ndr_start``, ``ndr_size``) on the bus: the span of its namespaces."""

    name: str
    start: int
    size: int


class Namespace(msgspec.Struct, frozen=True):
    """A ZONE_DEVICE range as the kernel is given it (from the scenario's ``[[devices]]``)."""

    index: int
    label: str
    kind: DeviceKind
    nid: int
    start: int
    size: int
    memmap: Literal["device", "ram"]
    align: int = 2 << 20
    region: str = ""
    """The nvdimm region holding the namespace (its name on the bus)."""
    online: str | None = None
    """System RAM: how an add onlines it (None: "online")."""

    @property
    def ns_name(self) -> str:
        return f"namespace{self.index}.0"

    @property
    def pfns(self) -> tuple[int, int]:
        """The pfns ``[lo, hi)`` of the range."""
        return PHYS_PFN(self.start), PHYS_PFN(self.start + self.size)

    @property
    def device(self) -> KDevice:
        """The device the driver probes: pfnN.0 (fsdax, nd_pmem), daxN.0 (devdax, the nd_dax
        device bound to dax_pmem), the PCI device of a p2pdma BAR (nvme), the GPU of
        device-private or device-coherent memory (named after the scenario's device)."""
        if self.kind == "fsdax":
            return KDevice(f"pfn{self.index}.0", "nd_pmem", self.nid)
        if self.kind == "devdax":
            return KDevice(f"dax{self.index}.0", "dax_pmem", self.nid)
        if self.kind == "p2pdma":
            return KDevice(f"0000:{self.index + 1:02x}:00.0", "nvme", self.nid)
        if self.kind == "system-ram":  # an ACPI memory device
            return KDevice(f"PNP0C80:{self.index:02x}", "acpi_memhotplug", self.nid)
        return KDevice(self.label, "hmm" if self.kind == "device-private" else "amdgpu", self.nid)


class PfnSb(msgspec.Struct, frozen=True):
    """The fields of ``struct nd_pfn_sb`` (the pfn info block) that the layout uses."""

    mode: Literal["pmem", "ram"]
    dataoff: int
    npfns: int
    start_pad: int
    end_trunc: int
    align: int


def phys_pmem_align_down(phys: int, align: int) -> int:
    """min(PHYS_SECTION_ALIGN_DOWN(phys), ALIGN_DOWN(phys, nd_pfn->align))."""
    return min(ALIGN_DOWN(phys, SECTION_SIZE), ALIGN_DOWN(phys, align))


def nd_region_conflict(bus: tuple[NdRegion, ...], own: str, start: int, size: int) -> bool:
    """``nd_region_conflict`` (v4.20 region_devs.c): does ``[start, start + size)`` begin
    inside, or end inside, another memory region of the bus? (``region_conflict`` tests
    ``start`` in ``[region_start, region_end)`` and the end in ``(region_start,
    region_end]``.)"""
    end = start + size
    for r in bus:
        if r.name == own:
            continue
        if r.start <= start < r.start + r.size or r.start < end <= r.start + r.size:
            return True
    return False


def trim_pfn_device(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...]) -> Gen[tuple[int, int]]:
    """The ``(start_pad, end_trunc)`` that keep the namespace's sections clear of collisions.

    v4.18 (inline in nd_pfn_init): System RAM in the section-aligned-down start (probing
    ``[ALIGN_DOWN(start), +size)``) or in the section-aligned-up end, or an end not aligned
    to ``nd_pfn->align``. v4.20 (``trim_pfn_device``, "libnvdimm, pfn: Pad pfn namespaces
    relative to other regions"): the same System RAM probes over ``size + adjust``, each
    also trimming when another region conflicts; the end probe passes ``size + adjust``
    with ``size`` already including ``adjust``, so it looks ``adjust`` further than the
    section end (modelled as written).
    """
    start, size = ns.start, ns.size
    end = start + size
    start_pad = end_trunc = 0
    if k.p.pfn_trim == "system-ram":
        # "Check if pmem collides with 'System RAM' when section aligned and trim it
        # accordingly"
        r = yield RegionIntersects(ALIGN_DOWN(start, SECTION_SIZE), size, SYSTEM_RAM)
        if r == Region.REGION_MIXED:
            start_pad = ALIGN(start, SECTION_SIZE) - start
        r = yield RegionIntersects(start, ALIGN(end, SECTION_SIZE) - start, SYSTEM_RAM)
        if r == Region.REGION_MIXED or not IS_ALIGNED(end, ns.align):
            end_trunc = end - phys_pmem_align_down(end, ns.align)
        return start_pad, end_trunc
    adjust = start - ALIGN_DOWN(start, SECTION_SIZE)
    span = size + adjust
    r = yield RegionIntersects(start - adjust, span, SYSTEM_RAM)
    if r == Region.REGION_MIXED or nd_region_conflict(bus, ns.region, start - adjust, span):
        start_pad = ALIGN(start, SECTION_SIZE) - start
    # "Now check that end of the range does not collide."
    adjust = ALIGN(end, SECTION_SIZE) - end
    span = size + adjust
    r = yield RegionIntersects(start, span, SYSTEM_RAM)
    probe = span + adjust if k.p.nd_trim_end_double_adjust else span
    if (
        r == Region.REGION_MIXED
        or not IS_ALIGNED(end, ns.align)
        or nd_region_conflict(bus, ns.region, start, probe)
    ):
        end_trunc = end - phys_pmem_align_down(end, ns.align)
    return start_pad, end_trunc


def nd_pfn_init(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...] = ()) -> Gen[PfnSb | int]:
    """``nd_pfn_init``: what ``ndctl create-namespace`` writes into the info block
    (``bus`` is every nvdimm region, for v4.20's region-conflict trimming). v5.3 lays the
    namespace out on 2 MiB subsections instead (:func:`nd_pfn_init_subsection`)."""
    if k.p.nd_subsection_layout:
        sb: PfnSb | int = yield from nd_pfn_init_subsection(k, ns)
        return sb
    dev = ns.device
    start_pad, end_trunc = yield from trim_pfn_device(k, ns, bus)
    if start_pad + end_trunc:
        yield Printk(
            "info",
            dev.fmt(f"{ns.ns_name} alignment collision, truncate {start_pad + end_trunc} bytes"),
        )
    start = ns.start + start_pad
    size = ns.size
    npfns = SECTION_ALIGN_UP(max(size - start_pad - end_trunc - SZ_8K, 0) // PAGE_SIZE)
    label = SZ_128K if ns.kind == "devdax" and k.p.nd_label_reserve else 0
    if ns.memmap == "device":
        # "The altmap should be padded out to the block size used when populating the
        # vmemmap. This *should* be equal to PMD_SIZE for most architectures."
        align = max(ns.align, PMD_SIZE)
        offset = ALIGN(start + SZ_8K + STRUCT_PAGE_SIZE * npfns + label, align) - start
    else:
        offset = ALIGN(start + SZ_8K + label, ns.align) - start
    if offset + start_pad + end_trunc >= size:
        yield Printk("err", dev.fmt(f"{ns.ns_name} unable to satisfy requested alignment"))
        return -ENXIO
    npfns = (size - offset - start_pad - end_trunc) // PAGE_SIZE
    mode: Literal["pmem", "ram"] = "pmem" if ns.memmap == "device" else "ram"
    return PfnSb(mode, offset, npfns, start_pad, end_trunc, ns.align)


def nd_pfn_init_subsection(k: Kernel, ns: Namespace) -> Gen[PfnSb | int]:
    """``nd_pfn_init`` from v5.3 (docs/kernel-notes/drivers.md §1.5-§1.10): no trimming and
    no start padding; ``align = max(nd_pfn->align, 2 MiB)``; the end truncated to it;
    ``npfns = PHYS_PFN(size - 8K)``; the PMEM data offset ``ALIGN(start + 8K +
    MAX_STRUCT_PAGE_SIZE * npfns, align)`` (128 bytes a pfn in v6.1.0, 64 otherwise); v5.10
    refuses a start not aligned to ``memremap_compat_align()`` (2 MiB)."""
    dev = ns.device
    start, size = ns.start, ns.size
    if k.p.nd_start_aligned and not IS_ALIGNED(start, PMD_SIZE):
        msg = f"{ns.ns_name}: start {start:#018x} misaligned to {PMD_SIZE:#x}"
        yield Printk("err", dev.fmt(msg))
        return -EINVAL
    align = max(ns.align, PMD_SIZE)
    end_trunc = start + size - ALIGN_DOWN(start + size, align)
    npfns = max(size - SZ_8K, 0) // PAGE_SIZE
    if ns.memmap == "device":
        offset = ALIGN(start + SZ_8K + k.p.nd_struct_page_size * npfns, align) - start
    else:
        offset = ALIGN(start + SZ_8K, align) - start
    if offset >= size - (end_trunc if k.p.nd_refuse_counts_end_trunc else 0):
        yield Printk("err", dev.fmt(f"{ns.ns_name} unable to satisfy requested alignment"))
        return -ENXIO
    npfns = (size - offset - end_trunc) // PAGE_SIZE
    mode: Literal["pmem", "ram"] = "pmem" if ns.memmap == "device" else "ram"
    return PfnSb(mode, offset, npfns, 0, end_trunc, ns.align)


def nvdimm_setup_pfn(
    ns: Namespace, sb: PfnSb, mtype: MemoryType, ref: str, subsection: bool = False
) -> PgmapConfig:
    """``__nvdimm_setup_pfn(nd_pfn, pgmap)``: the pgmap's ``res`` and altmap; the altmap's
    base is the section (v5.3: the 2 MiB subsection) holding the start."""
    base = ns.start + sb.start_pad
    res_start = base
    res_end = ns.start + ns.size - 1 - sb.end_trunc
    altmap = None
    if sb.mode == "pmem":
        unit = PAGES_PER_SUBSECTION if subsection else PAGES_PER_SECTION
        base_pfn = ALIGN_DOWN(PHYS_PFN(base), unit)
        altmap = AltmapConfig(
            base_pfn=base_pfn,
            reserve=PHYS_PFN(SZ_8K) + (PHYS_PFN(base) - base_pfn),
            free=PHYS_PFN(sb.dataoff - SZ_8K),
        )
    return PgmapConfig(ns.device.name, mtype, (PhysRange(res_start, res_end),), ref, altmap)


def npfns_check(ns: Namespace, sb: PfnSb, cfg: PgmapConfig) -> Gen[None]:
    """``__nvdimm_setup_pfn``'s "number of pfns truncated" check (PMEM mode; with v5.3's
    layout it cannot fire for a block it wrote)."""
    npfns = SECTION_ALIGN_UP((cfg.res_size - sb.dataoff) // PAGE_SIZE)
    if sb.npfns > npfns:
        msg = f"number of pfns truncated from {sb.npfns} to {npfns}"
        yield Printk("info", ns.device.fmt(msg))


def namespace_common_probe(ns: Namespace) -> Gen[int]:
    """``nvdimm_namespace_common_probe``'s size check: a dev_dbg on the namespace, which no
    driver is bound to (the "nd" bus prefix), and -ENODEV."""
    if ns.size < ND_MIN_NAMESPACE_SIZE:
        yield Printk(
            "debug",
            f"nd {ns.ns_name}: {ns.size:#018x}, too small must be at least "
            f"{ND_MIN_NAMESPACE_SIZE:#x}",
        )
        return -ENODEV
    return 0


def pfn_info_block(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...]) -> Gen[PfnSb | int]:
    """What both pmem drivers start from: ``nvdimm_namespace_common_probe``'s size check,
    then the pfn info block (``nd_pfn_init``)."""
    err = yield from namespace_common_probe(ns)
    if err:
        return int(err)
    sb: PfnSb | int = yield from nd_pfn_init(k, ns, bus)
    return sb


def nd_pmem_probe(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...]) -> Gen[int]:
    """fsdax: ``nd_pmem_probe`` → ``pmem_attach_disk`` on the pfn device.

    The namespace is claimed first (``devm_nsio_enable``; ``devm_namespace_enable`` from
    v5.10): "could not reserve region %pR" and -ENXIO, which the driver core reports only
    as a debug "rejects match" (v5.10: -EBUSY, a warning). Then the info block
    (``nd_pfn_init``), ``nvdimm_setup_pfn`` fills the pgmap, the block queue's
    ``q_usage_counter`` becomes ``pgmap.ref``, ``setup_pagemap_fsdax`` sets
    MEMORY_DEVICE_FS_DAX, and ``devm_memremap_pages(dev, &pmem->pgmap)``."""
    err = yield from namespace_common_probe(ns)
    if err:
        return int(err)
    dev = ns.device
    ok = yield RequestMemRegion(ns.start, ns.size, ns.ns_name)
    if not ok:
        region = resource_str_R(ns.start, ns.start + ns.size - 1)
        yield Printk("warning", dev.fmt(f"could not reserve region {region}"))
        return -EBUSY if k.p.nd_claim_ebusy else -ENXIO
    sb = yield from nd_pfn_init(k, ns, bus)
    if isinstance(sb, int):
        return sb
    if sb.mode == "ram" and sb.dataoff < SZ_8K:
        return -EINVAL
    fsdax = MemoryType.MEMORY_DEVICE_FS_DAX
    cfg = nvdimm_setup_pfn(ns, sb, fsdax, "q_usage_counter", k.p.nd_subsection_layout)
    yield from npfns_check(ns, sb, cfg)
    yield Step("blk_alloc_queue_node", f"node {ns.nid}")
    pgmap_id = yield NewPgmap(cfg, ns.nid)
    ret: int = yield from k.paths.devm_memremap_pages(k, dev, Pgmap(pgmap_id, cfg))
    if ret:
        return ret
    yield Step("devm_add_action_or_reset", "pmem_freeze_queue")
    return 0


def nd_device_register_any_node(k: Kernel, probe: ThreadSpec, nid: int) -> Gen[None]:
    """``__nd_device_register`` (v4.18-v5.0): ``async_schedule_domain(nd_async_device_register,
    dev, &nd_async_domain)`` with no node, so the registration — and the driver probe it
    runs synchronously — goes to the unbound worker pool of the queuing CPU's node. Each
    hop (region, namespace, pfn/dax device) is queued from the previous hop's worker, so
    every probe runs on the node where the NFIT region registration ran."""
    yield AsyncSchedule(probe, None, ND_ASYNC_DOMAIN)


def nd_device_register_node_local(k: Kernel, probe: ThreadSpec, nid: int) -> Gen[None]:
    """Registration queued near the device's node: Duyck's "nvdimm: Schedule device
    registration on node local to the device" (v4 5/5, 2018-09-20; merged form v5.1,
    ``async_schedule_dev_domain`` → ``queue_work_node``)."""
    yield AsyncSchedule(probe, nid, ND_ASYNC_DOMAIN)


ND_ASYNC_DOMAIN = "nd_async_domain"
