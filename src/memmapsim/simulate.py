"""Run a scenario on a kernel: build the machine's memory state, probe every device in
order with the in-order engine, check invariants, and summarize per device.

A probe that the kernel refuses (its code path returns an error) makes the scenario
invalid for that kernel: :func:`simulate` raises :class:`InputError` quoting the
kernel's own message, so nothing half-initialized is ever reported as a result.
"""

from __future__ import annotations

import re
from functools import partial

import msgspec

from memmapsim.check.classes import ClassCensus, census
from memmapsim.check.invariants import Finding, check_all, check_boot_memmap
from memmapsim.config.scenario import KINDS, Scenario, nd_regions
from memmapsim.engine.apply import LogLine
from memmapsim.engine.costs import BOOT_COSTS, CostProfile, load_profile
from memmapsim.engine.inorder import EffectRecord, InOrderEngine
from memmapsim.engine.placement import Topology
from memmapsim.engine.timing import Interval, LockHold, TimingEngine
from memmapsim.engine.trace import TimingSummary, summarize
from memmapsim.errors import InputError
from memmapsim.kernel.errno import errname
from memmapsim.kernel.expect import expectations
from memmapsim.kernel.init_main import boot_thread
from memmapsim.kernel.kernel import BootConfig, Kernel, Params
from memmapsim.kernel.memory_block import probe_memory_block_size
from memmapsim.kernel.nvdimm import Namespace, NdRegion
from memmapsim.kernel.page_alloc_boot import BootCpus
from memmapsim.kernel.page_alloc_boot import pgdatinit_name as _pgdatinit_name
from memmapsim.kernel.probe import Step as ProbeStep
from memmapsim.kernel.probe import root_thread, thread_name
from memmapsim.kernel.sparse import boot_section_state
from memmapsim.kernel.versions import KernelSpecError, first_release, parse_kernel
from memmapsim.kernel.vm_debug import boot_messages
from memmapsim.model.expect import DeviceExpectations, PfnClass
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
        Namespace(
            i, d.name, d.kind, d.node, d.start, d.size, d.memmap, d.align, d.region_name, d.online
        )
        for i, d in enumerate(sc.devices)
    ]


def nvdimm_bus(sc: Scenario) -> tuple[NdRegion, ...]:
    """The nvdimm regions of the machine, as the bus enumerates them before any probe."""
    return tuple(NdRegion(n, lo, hi - lo) for n, (lo, hi, _i) in nd_regions(sc).items())


def resolve_kernel(sc: Scenario, spec: str | None) -> Kernel:
    """The kernel to run: ``spec`` (from the command line) or the scenario's own."""
    cfg = BootConfig(
        sc.knobs.debug_vm,
        sc.knobs.vm_debug,
        sc.knobs.hz,
        hypervisor=sc.machine.hypervisor,
        deferred=sc.boot.deferred if sc.boot is not None else True,
    )
    text = spec if spec is not None else sc.kernel
    try:
        return parse_kernel(text, cfg)
    except KernelSpecError as e:
        where = ("--kernel", None) if spec is not None else (sc.source, "kernel")
        raise InputError(where[0], where[1], str(e)) from None


PGDATINIT = _pgdatinit_name(0).removesuffix("0")
"""The prefix of the per-node deferred init threads (``pgdatinit%d``)."""

DENSE_LIMIT_PFNS = 1 << 24
"""The dense backend holds 72 bytes per pfn; above 16 Mi pfns (64 GiB of device memory,
1.1 GiB of arrays) it is the wrong tool."""


def dense_windows(sc: Scenario) -> list[tuple[int, int]]:
    """The pfn windows the dense backend must hold: each device's section-aligned span."""
    out = [
        (SECTION_ALIGN_DOWN(d.start >> PAGE_SHIFT), SECTION_ALIGN_UP(d.end >> PAGE_SHIFT))
        for d in sc.devices
    ]
    if sc.boot is not None:  # the boot memmap: every section holding DRAM
        out += [
            (SECTION_ALIGN_DOWN(r.start >> PAGE_SHIFT), SECTION_ALIGN_UP(r.end >> PAGE_SHIFT))
            for n in sc.machine.nodes
            for r in n.dram
        ]
    return out


def build_memory(sc: Scenario, k: Kernel, backend: str) -> MemoryState:
    """The machine at the point drivers probe: boot memory present and online, device
    ranges untouched (their struct pages do not exist yet).

    Without a ``[boot]`` table the boot memmap of DRAM is not modelled; its sections are
    present, online and backed by "boot" memory, which is what the ZONE_DEVICE paths
    consult. With one, the machine is as the firmware hands it over (memblock: the DRAM and
    the early reservations), and the kernel's boot (:func:`run_boot`) builds the rest."""
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
    if sc.boot is not None:
        # the firmware's memory map and the early reservations: the kernel boots from here
        for node in sc.machine.nodes:
            for r in node.dram:
                mem.memblock.add(r.start, r.size, node.id)
                mem.max_pfn = max(mem.max_pfn, r.end >> PAGE_SHIFT)
        for r in sc.boot.reserved:
            mem.memblock.reserve(r.start, r.size)
        return mem
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
    # memory_dev_init, at boot: the memory block size hot-plugged RAM is added in
    mem.memory_block_size = probe_memory_block_size(k, mem.max_pfn << PAGE_SHIFT)
    return mem


class DeviceResult(msgspec.Struct):
    ns: Namespace
    pgmap: DevPagemap | None
    expected: DeviceExpectations | None = None
    census: list[ClassCensus] = msgspec.field(default_factory=list)
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
    memmap_bytes: dict[str, int] = msgspec.field(default_factory=dict)
    """Distinct struct-page storage of the device's span, by where it lives (ram: node
    RAM or boot memory; device: the altmap on the device)."""
    log_pages: int | None = None
    """The page count memmap_init_zone_device's line printed (None: no line)."""
    memory_blocks: dict[str, int] | None = None
    """System RAM: its memory blocks by state ("online", "offline"; none once removed)."""

    @property
    def refs_taken(self) -> int:
        return self.pgmap.ref.gets if self.pgmap else 0

    @property
    def refs_put_at_release(self) -> int:
        return self.expected.release_puts if self.expected else 0

    @property
    def removed(self) -> bool:
        """Torn down by a remove step (the state is what the teardown left)."""
        if self.memory_blocks is not None:
            return not self.memory_blocks
        return self.pgmap is not None and self.pgmap.freed

    @property
    def present(self) -> bool:
        if self.memory_blocks is not None:
            return bool(self.memory_blocks)
        return self.pgmap is not None and not self.removed

    @property
    def refs_put(self) -> int:
        return self.pgmap.ref.puts if self.pgmap else 0


class BootNode(msgspec.Struct):
    """One node's deferred struct page init: where it began, what it initialised, and when."""

    nid: int
    first_deferred_pfn: int | None
    """Where ``memmap_init`` stopped and deferred init began (None: nothing deferred)."""
    pages: int
    """Struct pages the node's pgdatinit thread and its helpers initialised."""
    log_pages: int | None
    """The page count of the node's line (None: the line has none, v5.8+, or no line)."""
    threads: list[str]
    """pgdatinit%d and its padata helpers."""
    line: str | None
    init_s: float | None = None
    """Wall time from the first struct page a thread of the node writes to the last."""
    work_s: float | None = None
    """Time the node's threads spent writing struct pages, summed over threads."""
    start_s: float | None = None
    """When the node's deferred init began, from the start of deferred init."""
    finish_s: float | None = None


class BootResult(msgspec.Struct):
    """The boot of a scenario with a ``[boot]`` table: its own run, before the steps."""

    nodes: list[BootNode]
    log: list[LogLine]
    trace: list[EffectRecord] = msgspec.field(default_factory=list)
    intervals: list[Interval] = msgspec.field(default_factory=list)
    holds: list[LockHold] = msgspec.field(default_factory=list)
    cpus: dict[str, tuple[int, int]] = msgspec.field(default_factory=dict)
    """Timing runs: each thread's CPU and that CPU's node."""
    deferred_start_s: float | None = None
    """When deferred init began, from the start of boot (``start_kernel``)."""
    total_s: float | None = None
    """From the start of deferred init to the end of the last node's."""
    findings: list[Finding] = msgspec.field(default_factory=list)
    """Invariants of the memory state at the end of boot (B1)."""


class RunResult(msgspec.Struct):
    scenario: Scenario
    kernel: Kernel
    backend: str
    mem: MemoryState
    devices: list[DeviceResult]
    findings: list[Finding]
    log: list[LogLine]
    trace: list[EffectRecord] = msgspec.field(default_factory=list)
    """The in-order engine's effect trace (empty for a timing run)."""
    timing: TimingSummary | None = None
    intervals: list[Interval] = msgspec.field(default_factory=list)
    holds: list[LockHold] = msgspec.field(default_factory=list)
    cpus: dict[str, int] = msgspec.field(default_factory=dict)
    """Timing runs: the CPU each device's probe thread ran on, by device label (a device
    first added in a later step has a probe thread named ``label@step``)."""
    profile: CostProfile | None = None
    boot: BootResult | None = None
    """The boot, for a scenario with a ``[boot]`` table."""


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
    if engine not in ENGINES:
        raise InputError("--engine", None, f"unknown engine {engine!r} (timing, inorder)")
    prof: CostProfile | None = None
    if engine == "timing":
        prof = (
            profile
            if isinstance(profile, CostProfile)
            else load_profile(profile or sc.knobs.cost_profile)
        )
    if prof is not None and (
        sc.boot is not None or any(d.kind == "system-ram" for d in sc.devices)
    ):
        named = profile if isinstance(profile, str) else prof.name if profile else None
        check_boot_costs(prof, named or sc.knobs.cost_profile)
    if engine == "timing":
        preflight(sc, k)
    mem = build_memory(sc, k, backend)
    boot = run_boot(sc, k, mem, prof) if sc.boot is not None else None
    nss = namespaces(sc)
    root = root_thread(k, steps_of(sc), nvdimm_bus(sc))
    out = RunResult(sc, k, backend, mem, [], [], [])
    out.boot = boot
    device_of = device_threads(sc)
    if engine == "inorder":
        ino = InOrderEngine(mem, hz=k.config.hz).run([root])
        rets, out.log, out.trace = {t.name: t.ret for t in ino.threads}, ino.log, ino.trace
    elif prof is not None:
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
    cmdline = [LogLine(0, level, text, "cmdline") for level, text in boot_messages(k)]
    out.log = cmdline + (boot.log if boot is not None else []) + out.log
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
    if boot is not None:
        out.findings = boot.findings + out.findings
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
    if kind == "system-ram":
        return p.ram_hotplug
    return kind in p.device_kinds


def _any_kind(p: Params) -> bool:
    return bool(p.device_kinds)


def check_kinds(sc: Scenario, k: Kernel, from_cli: bool) -> None:
    """Every device is of a kind of ZONE_DEVICE memory the kernel can create."""
    for i, d in enumerate(sc.devices):
        if _has_kind(d.kind, k.p):
            continue
        if not k.p.device_kinds and not k.p.ram_hotplug:
            raise InputError(
                sc.source,
                f"devices[{i}].kind",
                f"kernel {k.name}{' (--kernel)' if from_cli else ''} is modelled for boot memory "
                f"only: its {d.kind} paths are not (they are from {first_release(_any_kind)})",
            )
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
    if not sc.devices:
        return
    mem = build_memory(sc, k, "runs")
    if sc.boot is not None:
        run_boot(sc, k, mem, None)
    root = root_thread(k, steps_of(sc), nvdimm_bus(sc))
    res = InOrderEngine(mem, hz=k.config.hz).run([root])
    _check_refusals(sc, k, {t.name: t.ret for t in res.threads}, res.log)


def check_boot_costs(prof: CostProfile, source: str) -> None:
    """A boot, and hot-plugged System RAM, run work only the boot costs price: the profile
    must have them."""
    for key in BOOT_COSTS:
        if key not in prof.costs:
            raise InputError(
                source,
                f"costs.{key}",
                f"a boot scenario needs the boot costs ({', '.join(BOOT_COSTS)}); "
                f"{prof.name} has none: use modern-x86 (--profile modern-x86)",
            )


def boot_cpu(sc: Scenario, topo: Topology) -> int:
    """The boot CPU: CPU 0, the first CPU of the first node with CPUs."""
    return topo.cpus(topo.nodes_with_cpus()[0])[0]


def run_boot(sc: Scenario, k: Kernel, mem: MemoryState, prof: CostProfile | None) -> BootResult:
    """Boot the machine on ``mem``: ``start_kernel`` on the boot CPU to the end of
    ``page_alloc_init_late`` (:mod:`memmapsim.kernel.init_main`), in the in-order engine, or
    in the timing engine with ``prof``; then each node's deferred init, from its threads."""
    topo = topology(sc)
    cpus = BootCpus(tuple((n.id, n.cpus) for n in sc.machine.nodes))
    cpu0 = boot_cpu(sc, topo)
    spec = boot_thread(k, cpus, topo.node_of(cpu0))
    if prof is None:
        ino = InOrderEngine(mem, hz=k.config.hz).run([spec])
        parents = {t.name: t.parent for t in ino.threads}
        res = BootResult([], ino.log, trace=ino.trace)
    else:
        tim = TimingEngine(mem, prof, topo, k.config.hz).run([(spec, cpu0)])
        parents = tim.parents
        res = BootResult([], tim.log, intervals=tim.intervals, holds=tim.holds)
        res.cpus = {name: (cpu, node) for name, cpu, node in tim.threads}
    owner: dict[str, int] = {}
    for name in parents:
        chain: str | None = name
        while chain is not None and not chain.startswith(PGDATINIT):
            chain = parents.get(chain)
        if chain is not None:
            owner[name] = int(chain.removeprefix(PGDATINIT))
    starts: list[float] = []
    for pgdat in sorted(mem.pgdats.values(), key=lambda p: p.nid):
        nid = pgdat.nid
        threads = [t for t, n in owner.items() if n == nid]
        node = BootNode(nid, pgdat.deferred_start, 0, None, threads, None)
        span = pgdat.span
        mine = set(threads)
        for rec, n in mem.memmap.histogram(span.start_pfn, span.end_pfn).items():
            if any(p.kind is PassKind.INIT and p.who in mine for p in rec.history):
                node.pages += n
        for ln in res.log:
            if ln.thread in mine and DEFERRED_LINE.match(ln.text):
                node.line = ln.text
                m = DEFERRED_LINE.match(ln.text)
                node.log_pages = int(m.group(1)) if m and m.group(1) else None
        ivs = [iv for iv in res.intervals if iv.thread in mine]
        if ivs:
            node.start_s = min(iv.start for iv in ivs) * 1e-9
            node.finish_s = max(iv.end for iv in ivs) * 1e-9
            node.init_s = node.finish_s - node.start_s
            node.work_s = sum(iv.duration for iv in ivs) * 1e-9
            starts.append(node.start_s)
        elif prof is not None and threads:
            node.init_s = node.work_s = 0.0
        res.nodes.append(node)
    if prof is not None and starts:
        origin = min(starts)
        res.deferred_start_s = origin
        for node in res.nodes:
            if node.start_s is not None and node.finish_s is not None:
                node.start_s -= origin
                node.finish_s -= origin
        res.total_s = max(n.finish_s for n in res.nodes if n.finish_s is not None)
    elif prof is not None:
        res.total_s = 0.0
    res.findings = check_boot_memmap(mem)
    return res


DEFERRED_LINE = re.compile(r"node \d+ (?:initialised, (\d+) pages|deferred pages initialised) in")
"""The pgdatinit line in every version's format."""


def _check_refusals(
    sc: Scenario, k: Kernel, rets: dict[str, int], log: list[LogLine], note: str = ""
) -> None:
    """Raise InputError for the first device whose probe failed, in the kernel's words."""
    nss = namespaces(sc)
    for p in sc.plan():
        if p.action == "remove":
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
    if ns.kind == "system-ram":
        lo, hi = ns.pfns
        res.census = [census(mem.memmap, c) for c in ram_classes(mem, lo, hi)]
        _count_storage(mem, res, lo, hi)
        res.memory_blocks = {}
        size = mem.memory_block_size >> PAGE_SHIFT
        for a, b, st in mem.memory_blocks.runs(lo // size, hi // size) if size else ():
            if st is not None:
                res.memory_blocks[st.state.value] = res.memory_blocks.get(st.state.value, 0) + b - a
        return res
    if pgmap is None or exp is None:
        return res
    res.census = [census(mem.memmap, c) for c in exp.classes]
    _count_storage(mem, res, *exp.span)
    return res


def ram_classes(mem: MemoryState, lo: int, hi: int) -> list[PfnClass]:
    """The pfn classes of hot-plugged System RAM ``[lo, hi)``: with memmap_on_memory, the
    first pfns of every memory block host the block's memmap (they are never freed)."""
    size = mem.memory_block_size >> PAGE_SHIFT
    states = (
        [st for _a, _b, st in mem.memory_blocks.runs(lo // size, hi // size) if st] if size else []
    )
    nv = states[0].vmemmap_pages if states else 0
    if not nv or (hi - lo) % size or lo % size:
        return [PfnClass("ram", "System RAM", ((lo, hi),), 1)]
    return [
        PfnClass("vmemmap", "hosts its memory block's memmap", ((lo, hi),), 1, size, (0, nv)),
        PfnClass("ram", "System RAM", ((lo, hi),), 1, size, (nv, size)),
    ]


def _count_storage(mem: MemoryState, res: DeviceResult, lo: int, hi: int) -> None:
    for rec, n in mem.memmap.storage_histogram(lo, hi).items():
        inits = [p for p in rec.history if p.kind is PassKind.INIT]
        res.struct_pages_written += n * len(inits)
        res.pages_initialised += n if inits else 0
        res.pages_locked += n if any(p.locked for p in inits) else 0
        res.pages_unlocked += n if any(not p.locked for p in inits) else 0
        res.poisoned_pages += n if any(p.kind is PassKind.POISON for p in rec.history) else 0
    res.memmap_bytes = {"ram": 0, "device": 0}
    for a, b, backing in mem.vmemmap.runs(lo, hi):
        if backing is not None:
            where = "ram" if backing.medium in (Medium.BOOT, Medium.RAM) else "device"
            slots = sum(mem.memmap.storage_histogram(a, b).values())
            res.memmap_bytes[where] += slots * STRUCT_PAGE_SIZE
