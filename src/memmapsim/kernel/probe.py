"""Probing the machine's ZONE_DEVICE memory: the root thread and the driver core's probe.

The root is the boot-time thread that runs the initcalls (``kernel_init``): it registers
each nvdimm namespace's pfn/dax device with the libnvdimm bus, which queues registration
— and with it the synchronous driver probe — on the async domain ``nd_async_domain``
(on which node is a version's choice: :attr:`Paths.nd_device_register`), and it lets each
PCI driver (GPU, NVMe CMB) probe its device memory in PCI probe context (``pci_call_probe`` runs
the probe with ``work_on_cpu`` on a CPU of the device's node, in every version modelled).
Then it waits for all of them (``nd_synchronize``). A scenario with steps runs them in
order from the root thread: later adds the same way, removes as driver unbinds
(:func:`really_remove`), one thread per device.
"""

from __future__ import annotations

from functools import partial

from memmapsim.effects import (
    AsyncSynchronize,
    BeginStep,
    FindPgmap,
    FreePgmap,
    Gen,
    Join,
    PercpuRefKill,
    Printk,
    ReadPgmap,
    ReleaseMemRegion,
    SetDriverBound,
    Spawn,
    ThreadSpec,
)
from memmapsim.kernel.dax import dax_pmem_probe
from memmapsim.kernel.device import KDevice
from memmapsim.kernel.errno import ENODEV, ENXIO
from memmapsim.kernel.gpu import device_memory_probe
from memmapsim.kernel.hmm import hmm_devmem_release
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.memory_hotplug_ram import (
    add_memory,
    offline_memory_blocks,
    online_memory_blocks,
    remove_memory,
)
from memmapsim.kernel.nvdimm import ND_ASYNC_DOMAIN, Namespace, NdRegion, nd_pmem_probe
from memmapsim.kernel.p2pdma import pci_p2pdma_add_resource
from memmapsim.model.pgmap import Pgmap

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
    if ns.kind == "system-ram":
        ret = yield from add_memory(k, ns)
        return ret
    if ns.kind == "fsdax":
        ret = yield from nd_pmem_probe(k, ns, bus)
    elif ns.kind == "devdax":
        ret = yield from dax_pmem_probe(k, ns, bus)
    elif ns.kind == "p2pdma":
        ret = yield from pci_p2pdma_add_resource(k, ns)
    else:
        ret = yield from device_memory_probe(k, ns)
    dev = ns.device
    if not ret:
        # driver_bound(): the device now has its driver, which has exposed the memory
        yield SetDriverBound(dev.name, True)
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


def probe_thread(k: Kernel, ns: Namespace, bus: tuple[NdRegion, ...], name: str) -> ThreadSpec:
    """The thread that probes ``ns``."""
    return ThreadSpec(name, partial(really_probe, k, ns, bus))


def probe_devices(
    k: Kernel, nss: list[Namespace], bus: tuple[NdRegion, ...], names: list[str]
) -> Gen[int]:
    """Start every device's probe in the order listed, then wait for all of them."""
    spawned = []
    for ns, name in zip(nss, names, strict=True):
        spec = probe_thread(k, ns, bus, name)
        if ns.kind not in NVDIMM_KINDS:
            tid = yield Spawn(spec, ns.nid)
            spawned.append(tid)
        else:
            yield from k.paths.nd_device_register(k, spec, ns.nid)
    yield AsyncSynchronize(ND_ASYNC_DOMAIN)
    for tid in spawned:
        yield Join(tid)
    return 0


def driver_device(k: Kernel, ns: Namespace) -> KDevice:
    """The device whose driver mapped the memory (and whose devres undoes it): the dev_dax
    (driver "device_dax") for device-dax since v5.1, else the probed device."""
    if ns.kind == "devdax" and k.p.devdax_bus:
        return KDevice(ns.device.name, "device_dax", ns.nid)
    return ns.device


def really_remove(k: Kernel, ns: Namespace) -> Gen[int]:
    """Unbind the driver of ``ns`` (``ndctl disable-namespace``, a GPU driver unload, an
    NVMe controller removal): the device loses its driver, then its devres actions run in
    reverse order of registration.

    Up to v4.20 the driver's own kill action — registered after ``devm_memremap_pages`` —
    runs first (``pmem_freeze_queue``, ``dax_pmem_percpu_kill``,
    ``pci_p2pdma_percpu_kill``; HMM's ``hmm_devmem_ref_kill``); from v5.0 the release
    calls ``pgmap->kill`` itself. Then the teardown of the mapping
    (:attr:`Paths.memunmap_pages`, or HMM's ``hmm_devmem_release``), the pgmap's end, and
    the regions the driver claimed."""
    if ns.kind == "system-ram":
        ret = yield from remove_memory(k, ns)
        return ret
    pgmap_id = yield FindPgmap(ns.device.name)
    if pgmap_id is None:
        return -ENODEV
    # device_release_driver: the device loses its driver before the devres actions run
    yield SetDriverBound(ns.device.name, False)
    cfg = yield ReadPgmap(pgmap_id)
    pgmap = Pgmap(pgmap_id, cfg)
    dev = driver_device(k, ns)
    if ns.kind == "device-private" and k.p.hmm == "hmm-devmem":
        yield from hmm_devmem_release(k, dev, pgmap)
    else:
        if not k.p.memremap_kill:
            yield PercpuRefKill(pgmap_id)
        yield from k.paths.memunmap_pages(k, dev, pgmap)
    yield FreePgmap(pgmap_id)
    yield ReleaseMemRegion(ns.start, ns.size)
    return 0


def memory_block_state(k: Kernel, ns: Namespace, action: str) -> Gen[int]:
    """``echo online|offline > /sys/devices/system/memory/memoryN/state`` for each memory block
    of the System RAM device ``ns`` (``online`` keeps the default zone: ``MMOP_ONLINE_KEEP``,
    or the device's ``online`` type when it names one)."""
    if action == "online":
        kind = ns.online if ns.online in ("online_kernel", "online_movable") else "online"
        ret = yield from online_memory_blocks(k, ns, kind, locked=False)
    else:
        ret = yield from offline_memory_blocks(k, ns)
    return ret


def set_memory_state(k: Kernel, nss: list[Namespace], names: list[str], action: str) -> Gen[int]:
    """A user writes each device's memory blocks' state, one thread per device, and waits."""
    tids = []
    for ns, name in zip(nss, names, strict=True):
        spec = ThreadSpec(name, partial(memory_block_state, k, ns, action))
        tid = yield Spawn(spec, ns.nid)
        tids.append(tid)
    for tid in tids:
        yield Join(tid)
    return 0


def remove_devices(k: Kernel, nss: list[Namespace], names: list[str]) -> Gen[int]:
    """Unbind every device listed, concurrently, and wait for all of them."""
    tids = []
    for ns, name in zip(nss, names, strict=True):
        tid = yield Spawn(ThreadSpec(name, partial(really_remove, k, ns)), ns.nid)
        tids.append(tid)
    for tid in tids:
        yield Join(tid)
    return 0


Step = tuple[str, str, list[Namespace]]
"""A scenario step: its label, ``add``, ``remove``, ``online`` or ``offline``, the devices."""


def thread_name(ns: Namespace, step: int, label: str) -> str:
    """A device's thread in a step: its name in the first step, ``name@label`` after."""
    return ns.label if step == 0 else f"{ns.label}@{label}"


def run_steps(k: Kernel, steps: list[Step], bus: tuple[NdRegion, ...]) -> Gen[int]:
    """The root thread: each step once the previous one has finished."""
    for i, (label, action, nss) in enumerate(steps):
        yield BeginStep(label)
        names = [thread_name(ns, i, label) for ns in nss]
        if action == "add":
            yield from probe_devices(k, nss, bus, names)
        elif action == "remove":
            yield from remove_devices(k, nss, names)
        else:
            yield from set_memory_state(k, nss, names, action)
    return 0


def root_thread(k: Kernel, steps: list[Step], bus: tuple[NdRegion, ...]) -> ThreadSpec:
    return ThreadSpec(ROOT, partial(run_steps, k, steps, bus))
