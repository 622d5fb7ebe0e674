"""Run a scenario on a kernel: build the machine's memory state, probe every device in
order with the in-order engine, check invariants, and summarize per device.

A probe that the kernel refuses (its code path returns an error) makes the scenario
invalid for that kernel: :func:`simulate` raises :class:`InputError` quoting the
kernel's own message, so nothing half-initialized is ever reported as a result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from memmapsim.check.classes import ClassCensus, census
from memmapsim.check.invariants import Finding, check_all
from memmapsim.config.scenario import KINDS, Scenario, nd_regions
from memmapsim.engine.apply import LogLine
from memmapsim.engine.costs import CostProfile, load_profile
from memmapsim.engine.inorder import EffectRecord, InOrderEngine
from memmapsim.engine.placement import Topology
from memmapsim.engine.timing import Interval, LockHold, TimingEngine
from memmapsim.engine.trace import TimingSummary, summarize
from memmapsim.errors import InputError
from memmapsim.kernel.errno import errname
from memmapsim.kernel.expect import expectations
from memmapsim.kernel.kernel import BootConfig, Kernel, Params
from memmapsim.kernel.nvdimm import Namespace, NdRegion
from memmapsim.kernel.probe import Step as ProbeStep
from memmapsim.kernel.probe import root_thread, thread_name
from memmapsim.kernel.sparse import boot_section_state
from memmapsim.kernel.versions import KernelSpecError, first_release, parse_kernel
from memmapsim.kernel.vm_debug import boot_messages
from memmapsim.model.expect import DeviceExpectations
from memmapsim.model.memmap import Memmap, RunsMemmap
from memmapsim.model.memory import MemoryState
from memmapsim.model.page import PassKind
from memmapsim.model.pgmap import HMM_DEVMEM_INDEX, PGMAP_INDEX, DevPagemap, PfnIndex
from memmapsim.model.resource import PERSISTENT_MEMORY, SYSTEM_RAM, Resource
from memmapsim.model.section import Medium, MemmapBacking
from memmapsim.model.zone import PgData
from memmapsim.units import (
    PAGE_SHIFT,
    PAGES_PER_SECTION,
    SECTION_ALIGN_DOWN,
    SECTION_ALIGN_UP,
    STRUCT_PAGE_SIZE,
    pfn_to_section_nr,
    section_nr_to_pfn,
)


def namespaces(sc: Scenario) -> list[Namespace]:
    return [
        Namespace(i, d.name, d.kind, d.node, d.start, d.size, d.memmap, d.align, d.region_name)
        for i, d in enumerate(sc.devices)
    ]


def nvdimm_bus(sc: Scenario) -> tuple[NdRegion, ...]:
    """The nvdimm regions of the machine, as the bus enumerates them before any probe."""
    return tuple(NdRegion(n, lo, hi - lo) for n, (lo, hi, _i) in nd_regions(sc).items())


def resolve_kernel(sc: Scenario, spec: str | None) -> Kernel:
    """The kernel to run: ``spec`` (from the command line) or the scenario's own."""
    cfg = BootConfig(sc.knobs.debug_vm, sc.knobs.vm_debug, sc.knobs.hz)
    text = spec if spec is not None else sc.kernel
    try:
        return parse_kernel(text, cfg)
    except KernelSpecError as e:
        where = ("--kernel", None) if spec is not None else (sc.source, "kernel")
        raise InputError(where[0], where[1], str(e)) from None


DENSE_LIMIT_PFNS = 1 << 24
"""The dense backend holds 72 bytes per pfn; above 16 Mi pfns (64 GiB of device memory,
1.1 GiB of arrays) it is the wrong tool."""


def dense_windows(sc: Scenario) -> list[tuple[int, int]]:
    """The pfn windows the dense backend must hold: each device's section-aligned span."""
    return [
        (SECTION_ALIGN_DOWN(d.start >> PAGE_SHIFT), SECTION_ALIGN_UP(d.end >> PAGE_SHIFT))
        for d in sc.devices
    ]


def build_memory(sc: Scenario, k: Kernel, backend: str) -> MemoryState:
    """The machine at the point drivers probe: boot memory present and online, device
    ranges untouched (their struct pages do not exist yet).

    The boot memmap of DRAM is not modelled here; its sections are present, online and
    backed by "boot" memory, which is what the ZONE_DEVICE paths consult."""
    memmap: Memmap
    if backend == "dense":
        windows = dense_windows(sc)
        npfns = sum(hi - lo for lo, hi in windows)
        if npfns > DENSE_LIMIT_PFNS:
            raise InputError(
                "--backend",
                None,
                f"dense needs {npfns:,} rows ({npfns * 72 / 2**30:.1f} GiB) for {sc.name}; it "
                f"is the small-scale oracle (up to {DENSE_LIMIT_PFNS:,} pfns): use --backend runs",
            )
        from memmapsim.model.dense import DenseMemmap  # numpy, only for this backend

        memmap = DenseMemmap(windows)
    elif backend == "runs":
        memmap = RunsMemmap()
    else:
        raise InputError("--backend", None, f"unknown backend {backend!r} (dense, runs)")
    iomem: list[Resource] = []
    for node in sc.machine.nodes:
        for r in node.dram:
            iomem.append(Resource(SYSTEM_RAM, r.start, r.end - 1))
    for d in sc.devices:
        if KINDS[d.kind].nvdimm and d.size:
            iomem.append(Resource(PERSISTENT_MEMORY, d.start, d.end - 1))
    mem = MemoryState(
        memmap=memmap,
        layout=k.layout,
        pgdats={n.id: PgData.empty(n.id) for n in sc.machine.nodes},
        iomem=sorted(iomem, key=lambda r: r.start),
        indexes={
            PGMAP_INDEX: PfnIndex(PGMAP_INDEX, k.p.pgmap_index),
            HMM_DEVMEM_INDEX: PfnIndex(HMM_DEVMEM_INDEX, "radix"),
        },
    )
    for node in sc.machine.nodes:
        for r in node.dram:
            first, end = r.start >> PAGE_SHIFT, r.end >> PAGE_SHIFT
            lo = pfn_to_section_nr(first)
            hi = pfn_to_section_nr(SECTION_ALIGN_UP(end))
            for sec in range(lo, hi) if hi - lo <= 2 else (lo, hi - 1):
                a = max(first, section_nr_to_pfn(sec))
                b = min(end, section_nr_to_pfn(sec + 1))
                mem.sections.assign(sec, sec + 1, boot_section_state(k, node.id, a, b))
            if hi - lo > 2:  # the sections between are wholly present
                whole = boot_section_state(k, node.id, 0, PAGES_PER_SECTION)
                mem.sections.assign(lo + 1, hi - 1, whole)
            backing = MemmapBacking(Medium.BOOT, node.id)
            mem.vmemmap.populate(section_nr_to_pfn(lo), section_nr_to_pfn(hi), backing)
            mem.max_pfn = max(mem.max_pfn, r.end >> PAGE_SHIFT)
    return mem


@dataclass
class DeviceResult:
    ns: Namespace
    pgmap: DevPagemap | None
    expected: DeviceExpectations | None = None
    census: list[ClassCensus] = field(default_factory=list)
    pages_initialised: int = 0
    """Distinct struct pages (storage slots) that received at least one init pass: with
    vmemmap deduplication the aliased tails are not visited and not counted."""
    struct_pages_written: int = 0
    """Init passes summed over distinct struct-page storage."""
    pages_locked: int = 0
    """Of those, with at least one pass under mem_hotplug_lock."""
    pages_unlocked: int = 0
    """... and with at least one pass outside it."""
    poisoned_pages: int = 0
    memmap_bytes: dict[str, int] = field(default_factory=dict)
    """Distinct struct-page storage of the device's span, by where it lives (ram: node
    RAM or boot memory; device: the altmap on the device)."""
    log_pages: int | None = None
    """The page count memmap_init_zone_device's line printed (None: no line)."""

    @property
    def refs_taken(self) -> int:
        return self.pgmap.ref.gets if self.pgmap else 0

    @property
    def refs_put_at_release(self) -> int:
        return self.expected.release_puts if self.expected else 0

    @property
    def removed(self) -> bool:
        """Torn down by a remove step (the state is what the teardown left)."""
        return self.pgmap is not None and self.pgmap.freed

    @property
    def refs_put(self) -> int:
        return self.pgmap.ref.puts if self.pgmap else 0


@dataclass
class RunResult:
    scenario: Scenario
    kernel: Kernel
    backend: str
    mem: MemoryState
    devices: list[DeviceResult]
    findings: list[Finding]
    log: list[LogLine]
    trace: list[EffectRecord] = field(default_factory=list)
    """The in-order engine's effect trace (empty for a timing run)."""
    timing: TimingSummary | None = None
    intervals: list[Interval] = field(default_factory=list)
    holds: list[LockHold] = field(default_factory=list)
    cpus: dict[str, int] = field(default_factory=dict)
    """Timing runs: the CPU each device's probe thread ran on, by device label (a device
    first added in a later step has a probe thread named ``label@step``)."""
    profile: CostProfile | None = None


ENGINES = ("timing", "inorder")


def topology(sc: Scenario) -> Topology:
    return Topology(tuple((n.id, n.cpus) for n in sc.machine.nodes))


def root_cpu(sc: Scenario, topo: Topology) -> int:
    """The CPU the root thread starts on: the first of the node where the NFIT region
    registration ran (``knobs.registration_node``), else the first CPU of the machine."""
    node = sc.knobs.registration_node
    if node not in topo.nodes_with_cpus():
        node = topo.nodes_with_cpus()[0]
    return topo.cpus(node)[0]


def simulate(
    sc: Scenario,
    kernel: str | None = None,
    backend: str = "runs",
    engine: str = "timing",
    profile: str | CostProfile | None = None,
) -> RunResult:
    """Probe every device of ``sc`` on ``kernel`` with the timing engine (time, trace,
    final state) or the in-order engine (final state and the ordered effects only)."""
    k = resolve_kernel(sc, kernel)
    check_kinds(sc, k, kernel is not None)
    if engine == "timing":
        preflight(sc, k)
    mem = build_memory(sc, k, backend)
    nss = namespaces(sc)
    root = root_thread(k, steps_of(sc), nvdimm_bus(sc))
    out = RunResult(sc, k, backend, mem, [], [], [])
    device_of = device_threads(sc)
    if engine == "inorder":
        ino = InOrderEngine(mem, hz=k.config.hz).run([root])
        rets, out.log, out.trace = {t.name: t.ret for t in ino.threads}, ino.log, ino.trace
    elif engine == "timing":
        prof = (
            profile
            if isinstance(profile, CostProfile)
            else load_profile(profile or sc.knobs.cost_profile)
        )
        topo = topology(sc)
        tim = TimingEngine(mem, prof, topo, k.config.hz).run([(root, root_cpu(sc, topo))])
        rets, out.log, out.intervals, out.holds = tim.rets, tim.log, tim.intervals, tim.holds
        # helper threads a device's code spawned (a user change's workers) are the device's
        for name, parent in tim.parents.items():
            chain = parent
            while chain is not None and chain not in device_of:
                chain = tim.parents.get(chain)
            if chain is not None and name not in device_of:
                device_of[name] = device_of[chain]
        node_of = {t: nss[i].nid for t, i in device_of.items()}
        thread_dev = {t: nss[i].label for t, i in device_of.items()}
        out.timing, out.profile = summarize(tim, node_of, thread_dev), prof
        for name, cpu, _node in tim.threads:  # in creation order: a device's probe first
            if name in thread_dev:
                out.cpus.setdefault(thread_dev[name], cpu)
    else:
        raise InputError("--engine", None, f"unknown engine {engine!r} (timing, inorder)")
    note = " (only when the probes run concurrently, as the timing engine ran them)"
    _check_refusals(sc, k, rets, out.log, note if engine == "timing" else "")
    # setup_vm_debug() runs while parsing the command line, long before the probes.
    boot = [LogLine(0, level, text, "cmdline") for level, text in boot_messages(k)]
    out.log = boot + out.log
    # each device's newest pgmap (a device removed and added again has two)
    by_label = {pg.cfg.dev_name: pg for pg in mem.all_pgmaps()}
    pgmaps = mem.all_pgmaps()
    expected = {pg.id: expectations(k, pg, pgmaps) for pg in pgmaps}
    devices = []
    for ns in nss:
        pg = by_label.get(ns.device.name)
        exp = expected[pg.id] if pg else None
        mine = {t for t, i in device_of.items() if i == ns.index}
        devices.append(_device_result(mem, ns, pg, exp, out.log, mine))
    labels = {pg.id: nss[i].label for pg in pgmaps for i in range(len(nss))
              if pg.cfg.dev_name == nss[i].device.name}  # fmt: skip
    out.devices = devices
    thread_device = {t: nss[i].label for t, i in device_of.items()}
    out.findings = check_all(
        mem, list(expected.values()), labels, lambda t: thread_device.get(t, t)
    )
    return out


def steps_of(sc: Scenario) -> list[ProbeStep]:
    """The scenario's steps as the root thread runs them."""
    nss = namespaces(sc)
    return [(p.label, p.action, [nss[i] for i in p.devices]) for p in sc.plan()]


def device_threads(sc: Scenario) -> dict[str, int]:
    """Every device thread of the run (its probe, its removal, in every step) and the
    index of its device."""
    nss = namespaces(sc)
    return {thread_name(nss[i], p.index, p.label): i for p in sc.plan() for i in p.devices}


def _has_kind(kind: str, p: Params) -> bool:
    return kind in p.device_kinds


def check_kinds(sc: Scenario, k: Kernel, from_cli: bool) -> None:
    """Every device is of a kind of ZONE_DEVICE memory the kernel can create."""
    for i, d in enumerate(sc.devices):
        if d.kind in k.p.device_kinds:
            continue
        since = first_release(partial(_has_kind, d.kind))
        when = f"it came in {since}" if since else "no modelled release has it"
        where = " (--kernel)" if from_cli else ""
        raise InputError(
            sc.source,
            f"devices[{i}].kind",
            f"kernel {k.name}{where} has no {d.kind} memory: {when}",
        )


def preflight(sc: Scenario, k: Kernel) -> None:
    """Would the kernel refuse a device? Judged on the in-order schedule (one probe after
    another, the order the devices are listed), where every check the kernel makes —
    including the conflict probes that concurrent probes can race past — is effective."""
    root = root_thread(k, steps_of(sc), nvdimm_bus(sc))
    res = InOrderEngine(build_memory(sc, k, "runs"), hz=k.config.hz).run([root])
    _check_refusals(sc, k, {t.name: t.ret for t in res.threads}, res.log)


def _check_refusals(
    sc: Scenario, k: Kernel, rets: dict[str, int], log: list[LogLine], note: str = ""
) -> None:
    """Raise InputError for the first device whose probe failed, in the kernel's words."""
    nss = namespaces(sc)
    for p in sc.plan():
        if p.action != "add":
            continue
        for i in p.devices:
            name = thread_name(nss[i], p.index, p.label)
            ret = rets[name]
            if ret:
                where = f"devices[{i}]" if p.index == 0 else f"steps[{p.index}]"
                raise InputError(sc.source, where, _refusal(k, nss[i], name, ret, log) + note)


def _refusal(k: Kernel, ns: Namespace, thread: str, ret: int, log: list[LogLine]) -> str:
    """The kernel's own words for a refused probe: what the thread printed at warning
    level or above, else its debug lines (dev_dbg, pr_debug are off by default)."""
    mine = [ln for ln in log if ln.thread == thread]
    said = [ln.text for ln in mine if ln.level != "debug"] or [ln.text for ln in mine]
    quote = "; ".join(f'"{t}"' for t in said) if said else "(the kernel prints nothing)"
    return f"kernel {k.name} refuses {ns.label} ({errname(ret)}): {quote}"


INIT_LINE = re.compile(r"initialised,? (\d+) pages in \d+ms$")
"""memmap_init_zone_device's line in every version's format (v4.20: "%s initialised, %lu
pages in %ums"; v5.4+: "%s initialised %lu pages in %ums")."""


def _device_result(
    mem: MemoryState,
    ns: Namespace,
    pgmap: DevPagemap | None,
    exp: DeviceExpectations | None,
    log: list[LogLine],
    threads: set[str],
) -> DeviceResult:
    res = DeviceResult(ns, pgmap, exp)
    for ln in log:
        m = INIT_LINE.search(ln.text)
        if ln.thread in threads and m:
            res.log_pages = int(m.group(1))
    if pgmap is None or exp is None:
        return res
    res.census = [census(mem.memmap, c) for c in exp.classes]
    lo, hi = exp.span
    for rec, n in mem.memmap.storage_histogram(lo, hi).items():
        inits = [p for p in rec.history if p.kind is PassKind.INIT]
        res.struct_pages_written += n * len(inits)
        res.pages_initialised += n if inits else 0
        res.pages_locked += n if any(p.locked for p in inits) else 0
        res.pages_unlocked += n if any(not p.locked for p in inits) else 0
        res.poisoned_pages += n if len(inits) < len(rec.history) else 0
    res.memmap_bytes = {"ram": 0, "device": 0}
    for a, b, backing in mem.vmemmap.runs(lo, hi):
        if backing is not None:
            where = "ram" if backing.on_dram else "device"
            slots = sum(mem.memmap.storage_histogram(a, b).values())
            res.memmap_bytes[where] += slots * STRUCT_PAGE_SIZE
    return res
