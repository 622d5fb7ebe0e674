"""The timing engine: kernel threads on simulated NUMA CPUs, locks, shared bandwidth.

Threads are created by the kernel code paths (spawn, async schedule; the thread table of
:mod:`.threads`) on a node; the engine puts each on a CPU of that node
(:func:`~.placement.pick_cpu`). A thread runs its code path until an effect costs time;
the effect then becomes a *job*: an amount of work (pages, or nanoseconds for fixed-cost
steps) consumed at a rate. A page job's rate is the smaller of what its CPU can do (the
per-page cost from the :class:`CostProfile`, times the remote-NUMA factor when the CPU is
on another node than the memmap's memory, times the memmap-in-DRAM factor, divided among
the jobs sharing the CPU) and its equal share of the write ceiling of the memory the
memmap lives in (node DRAM or the pmem device), recomputed whenever a job starts or ends.
``mem_hotplug_lock`` and the other locks are queues: a thread that cannot take a lock
waits, using no CPU, and is granted the lock in FIFO order when it is released. A thread
waiting for other threads (join, async synchronize) uses no CPU either.

Events happen per job start or end and per lock hand-over — never per page — so the
cost of a simulation does not depend on the size of the memory.

Why not SimPy: a SimPy timeout cannot be re-rated once scheduled; fluid bandwidth
sharing would need every in-flight job interrupted and re-issued at each rate change.
The loop here is ~100 lines, deterministic (ties broken by thread id), and keeps the
state of every job in the open for the trace.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import Any

import msgspec

from memmapsim import effects as fx
from memmapsim.engine.apply import Applier, LogLine
from memmapsim.engine.costs import CostProfile
from memmapsim.engine.placement import Topology, pick_cpu
from memmapsim.engine.threads import Thread, ThreadTable
from memmapsim.model.locks import MEM_HOTPLUG_LOCK, Mode
from memmapsim.model.memory import MemoryState
from memmapsim.units import PAGES_PER_SECTION

STRUCT_PAGE_BYTES = 64
EPS = 1e-9
MIN_UNIT_NS = 1e-6
"""Work a profile prices at 0 ns still takes this long per unit (so rates stay finite)."""


class Interval(msgspec.Struct, frozen=True):
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


class LockHold(msgspec.Struct, frozen=True):
    lock: str
    thread: str
    start: float
    end: float


class _Job(msgspec.Struct, eq=False):
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


class _Thread(msgspec.Struct):
    """A thread of the table on its CPU, with its lock waits and holds in time."""

    t: Thread
    cpu: int
    node: int
    wait: tuple[str, float] | None = None
    holds: dict[str, float] = msgspec.field(default_factory=dict)

    @property
    def tid(self) -> int:
        return self.t.tid

    @property
    def name(self) -> str:
        return self.t.name

    @property
    def ctx(self) -> Any:
        return self.t.ctx


class TimingResult(msgspec.Struct):
    rets: dict[str, int]
    """Each thread's return value, by name."""
    intervals: list[Interval]
    holds: list[LockHold]
    log: list[LogLine]
    end: float
    threads: list[tuple[str, int, int]]
    """(name, cpu, cpu node) per thread, in creation order."""
    parents: dict[str, str | None] = msgspec.field(default_factory=dict)
    """Each thread's creator (None for a root)."""


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
    def run(self, roots: Iterable[tuple[fx.ThreadSpec, int]]) -> TimingResult:
        """Run ``roots`` (each a thread and the CPU it starts on) and every thread they
        create, to the end."""
        self.table = ThreadTable()
        self.threads: list[_Thread] = []
        self.taken: dict[int, int] = {}
        runnable = [self._add(self.table.create(spec), cpu) for spec, cpu in roots]
        while True:
            while runnable:
                batch, runnable = runnable, []
                for t in sorted(batch, key=lambda th: th.tid):
                    runnable += self._advance(t)
            if not self.jobs:
                stuck = [t.name for t in self.threads if not t.t.done]
                if stuck:
                    raise RuntimeError(
                        f"deadlock: {stuck} wait for locks or threads that never end"
                    )
                break
            dt = self._rerate()
            self.now += dt
            done = []
            for j in self.jobs:
                j.amount -= j.rate * dt
                if j.amount <= EPS * max(1.0, j.rate * dt):
                    done.append(j)
            if done:  # one pass, not a list.remove per job: hundreds of helpers end together
                ended = set(map(id, done))
                self.jobs = [j for j in self.jobs if id(j) not in ended]
            for j in done:
                self._finish(j)
                runnable.append(j.thread)
        return TimingResult(
            {t.name: t.t.ret if t.t.ret is not None else 0 for t in self.threads},
            self.intervals,
            self.holds,
            self.applier.log,
            self.now,
            [(t.name, t.cpu, t.node) for t in self.threads],
            self._parents(),
        )

    def _parents(self) -> dict[str, str | None]:
        name = {th.t.tid: th.name for th in self.threads}
        return {
            th.name: name[th.t.parent] if th.t.parent is not None else None for th in self.threads
        }

    def _add(self, t: Thread, cpu: int) -> _Thread:
        th = _Thread(t, cpu, self.topo.node_of(cpu))
        th.t.ctx.cpu = cpu
        self.threads.append(th)
        return th

    def _place(self, t: Thread, creator: _Thread) -> _Thread:
        """A new thread on a CPU of the node it was asked for, or of its creator's node
        (NUMA_NO_NODE work runs in the queuing CPU's node's worker pool)."""
        node = t.node if t.node is not None else creator.node
        cpu = pick_cpu(self.topo, node, creator.node, self.taken)
        return self._add(t, cpu)

    def _advance(self, t: _Thread) -> list[_Thread]:
        """Run ``t`` until it starts a job, blocks on a lock or a thread, or ends. Returns
        the threads that became runnable meanwhile (created or woken)."""
        out: list[_Thread] = []
        while True:
            try:
                eff = t.t.gen.send(t.t.reply)
            except StopIteration as stop:
                if t.holds:
                    raise RuntimeError(f"{t.name} ended holding {sorted(t.holds)}") from None
                woken = self.table.finish(t.t, int(stop.value))
                out += [self.threads[w.tid] for w in woken]
                return out
            t.t.reply = None
            if isinstance(eff, fx.Acquire):
                if not self._try_acquire(t, eff.lock, eff.mode):
                    return out
                continue
            if isinstance(eff, fx.Release):
                out += self._release(t, eff.lock, eff.mode)
                continue
            if isinstance(eff, fx.THREAD_EFFECTS):
                new, go_on = self.table.handle(t.t, eff)
                if new is not None:
                    out.append(self._place(new, t))
                if not go_on:
                    return out
                continue
            t.t.reply = self.applier.apply(t.ctx, eff)
            self._start_job(t, eff)
            return out

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

    def _release(self, t: _Thread, lock: str, mode: Mode) -> list[_Thread]:
        """Release ``lock`` and hand it to waiters in FIFO order; they run on at once.
        Returns the threads that became runnable meanwhile."""
        self.applier.apply(t.ctx, fx.Release(lock, mode))
        self.holds.append(LockHold(lock, t.name, t.holds.pop(lock), self.now))
        queue = self.waiters.get(lock)
        out: list[_Thread] = []
        while queue and self.mem.locks[lock].can_take(queue[0][1]):
            w, wmode = queue.popleft()
            self.applier.apply(w.ctx, fx.Acquire(lock, wmode))
            assert w.wait is not None
            self._interval(w, "lock wait", w.wait[1], detail=lock)
            w.wait = None
            w.holds[lock] = self.now
            out += self._advance(w)
        return out

    # --- jobs ---------------------------------------------------------------------------------
    def _start_job(self, t: _Thread, eff: fx.Effect) -> None:
        prof = self.profile
        job = _Job(t, eff, "other", prof.fixed("other"), 1.0, None, 0.0, self.now)
        if isinstance(eff, fx.InitPages):
            mem_node, medium, factor = self._memmap_home(t, eff.lo)
            job.kind = str(eff.work.kind)
            job.amount = float(max(eff.nr_pages, 0))
            job.unit_ns = self._page_ns(eff.work.ops, factor, t, mem_node)
            job.medium, job.bytes_per_unit = (mem_node, medium), STRUCT_PAGE_BYTES
            job.pfns, job.mem_node, job.detail = (eff.lo, eff.hi), mem_node, eff.work.fn
        elif isinstance(eff, fx.InitPagesPeriodic):
            # one job for the whole compound loop: the steps' pages at their own costs
            mem_node, medium, factor = self._memmap_home(t, eff.lo)
            device = sum((s.hi - s.lo) * self._ns(s.work.ops, "device") for s in eff.steps)
            ram = sum((s.hi - s.lo) * self._ns(s.work.ops, "ram") for s in eff.steps)
            remote = prof.factors.remote.value if mem_node != t.node else 1.0
            job.kind = str(eff.steps[0].work.kind) if eff.steps else "other"
            job.amount = float(max(eff.nr_pages, 0))
            pages = max(sum(s.hi - s.lo for s in eff.steps), 1)
            job.unit_ns = (device * factor + ram * remote) / pages
            job.medium, job.bytes_per_unit = (mem_node, medium), STRUCT_PAGE_BYTES
            job.pfns, job.mem_node = (eff.lo, eff.hi), mem_node
            job.detail = eff.steps[0].work.fn if eff.steps else ""
        elif isinstance(eff, fx.PopulateMemmap):
            # per section's worth of memmap: a sub-section add is charged its share
            sections = (eff.hi - eff.lo) / PAGES_PER_SECTION
            job.kind = "section add"
            job.amount = sections
            job.unit_ns = prof.fixed("section_add")
            job.pfns, job.mem_node = (eff.lo, eff.hi), eff.backing.nid
            job.detail = f"{sections:g} sections"
        elif isinstance(eff, fx.PgmapIndexInsert):
            job.amount = prof.fixed("index_entry") * max(eff.entries, 1)
        elif isinstance(eff, fx.Step):
            job.amount, job.detail = prof.fixed("step"), eff.name
        elif isinstance(eff, fx.Printk):
            job.amount = prof.fixed("printk")
        elif isinstance(eff, fx.GetDevPagemap | fx.RegionIntersects):
            job.amount = prof.fixed("lookup")
        elif isinstance(eff, fx.SetDriverBound):
            job.amount = EPS  # driver core bookkeeping, not part of the memmap work
        if job.amount <= 0:
            job.amount = EPS
        self.jobs.append(job)

    def _memmap_home(self, t: _Thread, pfn: int) -> tuple[int, str, float]:
        """Where the struct pages of ``pfn`` live, and the cost factor for ``t``'s CPU of
        an entry priced with the memmap on the device."""
        backing = self.mem.vmemmap.backing(pfn)
        prof = self.profile
        node = backing.nid if backing is not None else t.node
        if backing is not None and not backing.on_dram:
            medium, factor = "pmem", 1.0
        else:
            medium, factor = "dram", prof.factors.memmap_in_ram.value
        if node != t.node:
            factor *= prof.factors.remote.value
        return node, medium, factor

    def _ns(self, ops: tuple[fx.PageOp, ...], memmap: str) -> float:
        """The summed per-page cost of the ``ops`` whose entries are priced with the memmap
        ``memmap`` ("device" or "ram")."""
        prof = self.profile
        return sum(prof.page_ns(op.cost) for op in ops if prof.costs[op.cost].memmap == memmap)

    def _page_ns(self, ops: tuple[fx.PageOp, ...], factor: float, t: _Thread, node: int) -> float:
        """Per page: the entries priced on the device times ``factor``; those priced with the
        memmap in DRAM (boot, System RAM) times the remote factor only."""
        out = self._ns(ops, "device") * factor
        ram = self._ns(ops, "ram")
        if ram:
            out += ram * (self.profile.factors.remote.value if node != t.node else 1.0)
        return out

    def _rerate(self) -> float:
        """Give every job its rate (its CPU shared with the jobs on it, its memory's write
        ceiling with the jobs writing there); return the time to the next completion."""
        per_cpu: dict[int, int] = {}
        writers: dict[tuple[int, str], int] = {}
        for j in self.jobs:
            per_cpu[j.thread.cpu] = per_cpu.get(j.thread.cpu, 0) + 1
            if j.medium is not None:
                writers[j.medium] = writers.get(j.medium, 0) + 1
        share = {m: self.profile.ceiling(m[1]) / n for m, n in writers.items()}
        dt = math.inf
        for j in self.jobs:
            rate = 1.0 / (max(j.unit_ns, MIN_UNIT_NS) * per_cpu[j.thread.cpu])
            if j.medium is not None and j.bytes_per_unit:
                rate = min(rate, share[j.medium] / j.bytes_per_unit)
            j.rate = rate
            dt = min(dt, j.amount / rate)
        return dt

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
