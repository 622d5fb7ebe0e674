"""Probing the machine's ZONE_DEVICE memory: the root thread and the driver core's probe.

The root is the boot-time thread that runs the initcalls (``kernel_init``): it registers
each nvdimm namespace's pfn/dax device with the libnvdimm bus, which queues registration
— and with it the synchronous driver probe — on the async domain ``nd_async_domain``
(on which node is a version's choice: :attr:`Paths.nd_device_register`), and it lets each
PCI driver (GPU, NVMe CMB) probe its device memory in PCI probe context (``pci_call_probe`` runs
the probe with ``work_on_cpu`` on a CPU of the device's node, in every version modelled).
Then it waits for all of them (``nd_synchronize``).
"""

from __future__ import annotations

from functools import partial

from memmapsim.effects import AsyncSynchronize, Gen, Join, Printk, Spawn, ThreadSpec
from memmapsim.kernel.dax import dax_pmem_probe
from memmapsim.kernel.errno import ENODEV, ENXIO
from memmapsim.kernel.gpu import device_memory_probe
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.nvdimm import ND_ASYNC_DOMAIN, Namespace, NdRegion, nd_pmem_probe
from memmapsim.kernel.p2pdma import pci_p2pdma_add_resource

ROOT = "kernel_init"
"""The name of the root thread."""

NVDIMM_KINDS = ("fsdax", "devdax")
"""Device kinds on the libnvdimm bus; the others (GPU memory, PCI BARs) are probed from
PCI probe context on a CPU of their node."""


def really_probe(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...]) -> Gen[int]:
    """Run the driver probe for one device, as ``really_probe`` would, and report a
    failure the way the driver core does: ``pr_debug`` "rejects match" for -ENODEV and
    -ENXIO, ``KERN_WARNING`` "probe of %s failed with error %d" otherwise; from v6.12
    ``dev_dbg``/``dev_err`` "probe with driver %s ..." (``call_driver_probe``)."""
    if ns.kind == "fsdax":
        ret = yield from nd_pmem_probe(k, ns, bus)
    elif ns.kind == "devdax":
        ret = yield from dax_pmem_probe(k, ns, bus)
    elif ns.kind == "p2pdma":
        ret = yield from pci_p2pdma_add_resource(k, ns)
    else:
        ret = yield from device_memory_probe(k, ns)
    dev = ns.device
    if ret in (-ENODEV, -ENXIO):
        if k.p.probe_message == "dev":  # v6.12: dev_dbg
            yield Printk("debug", dev.fmt(f"probe with driver {dev.driver} rejects match {ret}"))
        else:
            yield Printk("debug", f"{dev.driver}: probe of {dev.name} rejects match {ret}")
    elif ret:
        if k.p.probe_message == "dev":  # v6.12: dev_err
            yield Printk("err", dev.fmt(f"probe with driver {dev.driver} failed with error {ret}"))
        else:
            yield Printk("warning", f"{dev.driver}: probe of {dev.name} failed with error {ret}")
    return ret


def probe_thread(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...]) -> ThreadSpec:
    """The thread that probes ``ns``, named after the device."""
    return ThreadSpec(ns.label, partial(really_probe, k, ns, bus))


def probe_devices(k: Kernel, nss: list[Namespace], bus: tuple[NdRegion, ...]) -> Gen[int]:
    """The root thread: start every device's probe in the order listed, then wait."""
    spawned = []
    for ns in nss:
        spec = probe_thread(k, ns, bus)
        if ns.kind not in NVDIMM_KINDS:
            tid = yield Spawn(spec, ns.nid)
            spawned.append(tid)
        else:
            yield from k.paths.nd_device_register(k, spec, ns.nid)
    yield AsyncSynchronize(ND_ASYNC_DOMAIN)
    for tid in spawned:
        yield Join(tid)
    return 0


def root_thread(k: Kernel, nss: list[Namespace], bus: tuple[NdRegion, ...]) -> ThreadSpec:
    return ThreadSpec(ROOT, partial(probe_devices, k, nss, bus))
