"""The timing engine: kernel threads on simulated NUMA CPUs, locks, shared bandwidth.

Each device's probe runs as a thread pinned to a CPU (:mod:`.placement`). A thread runs
its code path until an effect costs time; the effect then becomes a *job*: an amount of
work (pages, or nanoseconds for fixed-cost steps) consumed at a rate. A page job's rate
is the smaller of what its CPU can do (the per-page cost from the :class:`CostProfile`,
times the remote-NUMA factor when the CPU is on another node than the memmap's memory,
times the memmap-in-DRAM factor, divided among the jobs sharing the CPU) and its equal
share of the write ceiling of the memory the memmap lives in (node DRAM or the pmem
device), recomputed whenever a job starts or ends. ``mem_hotplug_lock`` and the other
locks are queues: a thread that cannot take a lock waits, using no CPU, and is granted
the lock in FIFO order when it is released.

Events happen per job start or end and per lock hand-over — never per page — so the
cost of a simulation does not depend on the size of the memory.

Why not SimPy: a SimPy timeout cannot be re-rated once scheduled; fluid bandwidth
sharing would need every in-flight job interrupted and re-issued at each rate change.
The loop here is ~100 lines, deterministic (ties broken by thread id), and keeps the
state of every job in the open for the trace.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from memmapsim import effects as fx
from memmapsim.engine.apply import Applier, LogLine, ThreadCtx
from memmapsim.engine.costs import CostProfile
from memmapsim.engine.placement import Topology
from memmapsim.model.locks import MEM_HOTPLUG_LOCK, Mode
from memmapsim.model.memory import MemoryState
from memmapsim.units import PAGES_PER_SECTION, pfn_to_section_nr

STRUCT_PAGE_BYTES = 64
EPS = 1e-9
MIN_UNIT_NS = 1e-6
"""Work a profile prices at 0 ns still takes this long per unit (so rates stay finite)."""


@dataclass(frozen=True)
class Interval:
    """One span of a thread's time: work of some kind, or waiting for a lock."""

    thread: str
    cpu: int
    node: int
    kind: str
    start: float
    end: float
    detail: str = ""
    pfns: tuple[int, int] | None = None
    mem_node: int | None = None
    locked: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class LockHold:
    lock: str
    thread: str
    start: float
    end: float


@dataclass
class _Job:
    thread: _Thread
    effect: fx.Effect
    kind: str
    amount: float
    unit_ns: float
    medium: tuple[int, str] | None
    bytes_per_unit: float
    start: float
    detail: str = ""
    pfns: tuple[int, int] | None = None
    mem_node: int | None = None
    rate: float = 0.0


@dataclass
class _Thread:
    tid: int
    name: str
    node_of_device: int
    gen: fx.Gen[int]
    cpu: int
    node: int
    ctx: ThreadCtx
    reply: Any = None
    ret: int | None = None
    wait: tuple[str, float] | None = None
    holds: dict[str, float] = field(default_factory=dict)


@dataclass
class TimingResult:
    rets: list[int]
    intervals: list[Interval]
    holds: list[LockHold]
    log: list[LogLine]
    end: float
    threads: list[tuple[str, int, int, int]]
    """(name, device node, cpu, cpu node) per thread."""


class TimingEngine:
    """Runs threads in simulated time; applies effects to ``mem`` through an Applier."""

    def __init__(self, mem: MemoryState, profile: CostProfile, topo: Topology, hz: int) -> None:
        self.mem = mem
        self.profile = profile
        self.topo = topo
        self.now = 0.0
        self.applier = Applier(mem, clock=lambda: round(self.now), hz=hz)
        self.jobs: list[_Job] = []
        self.waiters: dict[str, deque[tuple[_Thread, Mode]]] = {}
        self.intervals: list[Interval] = []
        self.holds: list[LockHold] = []

    # --- the loop -------------------------------------------------------------------------
    def run(self, threads: Iterable[tuple[str, int, fx.Gen[int], int]]) -> TimingResult:
        """``threads``: (name, device node, code path, cpu)."""
        ths = [
            _Thread(i, name, dnode, gen, cpu, self.topo.node_of(cpu), ThreadCtx(name))
            for i, (name, dnode, gen, cpu) in enumerate(threads)
        ]
        runnable = list(ths)
        while True:
            for t in runnable:
                self._advance(t)
            runnable = []
            if not self.jobs:
                stuck = [t.name for t in ths if t.ret is None]
                if stuck:
                    raise RuntimeError(f"deadlock: {stuck} wait for locks nobody releases")
                break
            self._rerate()
            dt = min(j.amount / j.rate for j in self.jobs)
            self.now += dt
            done = []
            for j in self.jobs:
                j.amount -= j.rate * dt
                if j.amount <= EPS * max(1.0, j.rate * dt):
                    done.append(j)
            for j in done:
                self.jobs.remove(j)
                self._finish(j)
                runnable.append(j.thread)
            runnable.sort(key=lambda t: t.tid)
        return TimingResult(
            [t.ret if t.ret is not None else 0 for t in ths],
            self.intervals,
            self.holds,
            self.applier.log,
            self.now,
            [(t.name, t.node_of_device, t.cpu, t.node) for t in ths],
        )

    def _advance(self, t: _Thread) -> None:
        """Run ``t`` until it starts a job, blocks on a lock, or ends."""
        while True:
            try:
                eff = t.gen.send(t.reply)
            except StopIteration as stop:
                t.ret = int(stop.value)
                if t.holds:
                    raise RuntimeError(f"{t.name} ended holding {sorted(t.holds)}") from None
                return
            t.reply = None
            if isinstance(eff, fx.Acquire):
                if not self._try_acquire(t, eff.lock, eff.mode):
                    return
                continue
            if isinstance(eff, fx.Release):
                self._release(t, eff.lock, eff.mode)
                continue
            t.reply = self.applier.apply(t.ctx, eff)
            self._start_job(t, eff)
            return

    # --- locks ------------------------------------------------------------------------------
    def _try_acquire(self, t: _Thread, lock: str, mode: Mode) -> bool:
        queue = self.waiters.setdefault(lock, deque())
        state = self.mem.locks[lock]
        if not queue and state.can_take(mode):
            self.applier.apply(t.ctx, fx.Acquire(lock, mode))
            t.holds[lock] = self.now
            return True
        queue.append((t, mode))
        t.wait = (lock, self.now)
        return False

    def _release(self, t: _Thread, lock: str, mode: Mode) -> None:
        self.applier.apply(t.ctx, fx.Release(lock, mode))
        self.holds.append(LockHold(lock, t.name, t.holds.pop(lock), self.now))
        queue = self.waiters.get(lock)
        while queue and self.mem.locks[lock].can_take(queue[0][1]):
            w, wmode = queue.popleft()
            self.applier.apply(w.ctx, fx.Acquire(lock, wmode))
            assert w.wait is not None
            self._interval(w, "lock wait", w.wait[1], detail=lock)
            w.wait = None
            w.holds[lock] = self.now
            self._advance(w)

    # --- jobs ---------------------------------------------------------------------------------
    def _start_job(self, t: _Thread, eff: fx.Effect) -> None:
        prof = self.profile
        job = _Job(t, eff, "other", prof.fixed("other"), 1.0, None, 0.0, self.now)
        if isinstance(eff, fx.InitPages):
            mem_node, medium, factor = self._memmap_home(t, eff.lo)
            per_page = sum(prof.page_ns(op.cost) for op in eff.work.ops)
            job.kind = _kind(eff.work.fn)
            job.amount = float(max(eff.nr_pages, 0))
            job.unit_ns = per_page * factor
            job.medium, job.bytes_per_unit = (mem_node, medium), STRUCT_PAGE_BYTES
            job.pfns, job.mem_node, job.detail = (eff.lo, eff.hi), mem_node, eff.work.fn
        elif isinstance(eff, fx.SparseAddSections):
            _err, added = t.reply
            pages = added * PAGES_PER_SECTION
            mem_node, medium, factor = self._memmap_home(t, eff.start_pfn)
            job.kind = "poison" if eff.poison else "section add"
            job.amount = float(added)
            job.unit_ns = prof.fixed("section_add") + (
                prof.page_ns("poison") * factor * PAGES_PER_SECTION if eff.poison else 0.0
            )
            if eff.poison:
                job.medium = (mem_node, medium)
                job.bytes_per_unit = STRUCT_PAGE_BYTES * PAGES_PER_SECTION
            job.pfns, job.mem_node = (eff.start_pfn, eff.start_pfn + pages), mem_node
            job.detail = f"{added} sections"
        elif isinstance(eff, fx.PgmapIndexInsert):
            job.amount = prof.fixed("index_entry") * max(eff.entries, 1)
        elif isinstance(eff, fx.Step):
            job.amount, job.detail = prof.fixed("step"), eff.name
        elif isinstance(eff, fx.Printk):
            job.amount = prof.fixed("printk")
        elif isinstance(eff, fx.GetDevPagemap | fx.RegionIntersects):
            job.amount = prof.fixed("lookup")
        if job.amount <= 0:
            job.amount = EPS
        self.jobs.append(job)

    def _memmap_home(self, t: _Thread, pfn: int) -> tuple[int, str, float]:
        """Where the struct pages of ``pfn`` live, and the cost factor for ``t``'s CPU."""
        sec = self.mem.sections.get(pfn_to_section_nr(pfn))
        prof = self.profile
        if sec.backing.startswith("altmap:"):
            node, medium, factor = self.mem.pgmap(int(sec.backing[7:])).nid, "pmem", 1.0
        elif sec.backing.startswith("ram:"):
            node, medium = int(sec.backing[4:]), "dram"
            factor = prof.factors.memmap_in_ram.value
        else:
            node = sec.nid if sec.nid is not None else t.node
            medium, factor = "dram", prof.factors.memmap_in_ram.value
        if node != t.node:
            factor *= prof.factors.remote.value
        return node, medium, factor

    def _rerate(self) -> None:
        per_cpu: dict[int, int] = {}
        writers: dict[tuple[int, str], int] = {}
        for j in self.jobs:
            per_cpu[j.thread.cpu] = per_cpu.get(j.thread.cpu, 0) + 1
            if j.medium is not None:
                writers[j.medium] = writers.get(j.medium, 0) + 1
        for j in self.jobs:
            rate = 1.0 / (max(j.unit_ns, MIN_UNIT_NS) * per_cpu[j.thread.cpu])
            if j.medium is not None and j.bytes_per_unit:
                share = self.profile.ceiling(j.medium[1]) / writers[j.medium]
                rate = min(rate, share / j.bytes_per_unit)
            j.rate = rate

    def _finish(self, j: _Job) -> None:
        if j.kind != "other":
            self._interval(j.thread, j.kind, j.start, j.detail, j.pfns, j.mem_node)

    def _interval(
        self,
        t: _Thread,
        kind: str,
        start: float,
        detail: str = "",
        pfns: tuple[int, int] | None = None,
        mem_node: int | None = None,
    ) -> None:
        locked = MEM_HOTPLUG_LOCK in t.holds
        self.intervals.append(
            Interval(t.name, t.cpu, t.node, kind, start, self.now, detail, pfns, mem_node, locked)
        )


def _kind(fn: str) -> str:
    if fn in ("devm_memremap_pages", "hmm_devmem_pages_create"):
        return "pgmap pass"
    return "struct page init"
