"""TimingEngine on hand-made threads: page-job rates, lock queues, bandwidth and CPU sharing,
simulated time in printk and jiffies, deadlock detection.

The profile is round: ``init_single_page`` costs 10 ns, the other per-page costs 0, the
remote factor is 2, fixed costs are 0 unless a test sets them, and the bandwidth ceilings
are out of reach unless a test lowers them. Memory: pfns of sections [0, 64) have their
memmap in node-0 DRAM, [64, 128) in node-1 DRAM, [128, 192) on a pmem device of node 0
(pgmap 0), [192, 256) on a pmem device of node 1 (pgmap 1). CPUs 0-1 are node 0, 2-3 node 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import pytest

from memmapsim import effects as fx
from memmapsim.config.schema import convert
from memmapsim.engine.costs import FIXED_COSTS, PAGE_COSTS, CostProfile
from memmapsim.engine.placement import Topology
from memmapsim.engine.timing import Interval, LockHold, TimingEngine, TimingResult
from memmapsim.engine.trace import dmesg_line, summarize
from memmapsim.model.locks import MEM_HOTPLUG_LOCK, PGMAP_LOCK, Mode
from memmapsim.model.memmap import RunsMemmap
from memmapsim.model.memory import MemoryState
from memmapsim.model.pageflags import PAGEFLAGS_V4_18, PageFlagsLayout
from memmapsim.model.pgmap import (
    DevPagemap,
    MemoryType,
    PercpuRef,
    PfnIndex,
    PgmapConfig,
    PhysRange,
)
from memmapsim.model.section import Medium, MemmapBacking, SectionFlag, SectionState
from memmapsim.model.zone import PgData
from memmapsim.units import PAGE_SHIFT, PAGES_PER_SECTION

HOT = MEM_HOTPLUG_LOCK
TOPO = Topology(((0, 2), (1, 2)))
RAM0 = 0
RAM1 = 64 * PAGES_PER_SECTION
PMEM0 = 128 * PAGES_PER_SECTION
PMEM1 = 192 * PAGES_PER_SECTION
INIT = fx.PageOp("__init_single_page", "init_single_page")
WORK = fx.PageWork("memmap_init_zone_device", (INIT,))
UNLIMITED = 1e6  # GB/s: never binds


def profile(
    init_ns: float = 10.0,
    remote: float = 2.0,
    in_ram: float = 1.0,
    dram_gbps: float = UNLIMITED,
    pmem_gbps: float = UNLIMITED,
    costs: dict[str, float] | None = None,
    **fixed: float,
) -> CostProfile:
    page = dict.fromkeys(PAGE_COSTS, 0.0) | {"init_single_page": init_ns} | (costs or {})
    return convert(
        {
            "name": "round",
            "costs": {k: {"ns": v, "kind": "assumed"} for k, v in page.items()},
            "factors": {
                "remote": {"value": remote, "kind": "assumed"},
                "memmap_in_ram": {"value": in_ram, "kind": "assumed"},
            },
            "bandwidth": {"dram_gbps": dram_gbps, "pmem_gbps": pmem_gbps, "kind": "assumed"},
            "fixed_ns": dict.fromkeys(FIXED_COSTS, 0.0) | fixed,
        },
        CostProfile,
        "round",
    )


def memory() -> MemoryState:
    mem = MemoryState(
        memmap=RunsMemmap(),
        layout=PageFlagsLayout(PAGEFLAGS_V4_18),
        pgdats={0: PgData.empty(0), 1: PgData.empty(1)},
        iomem=[],
        indexes={
            "pgmap": PfnIndex("pgmap", "xarray"),
            "hmm_devmem": PfnIndex("hmm_devmem", "radix"),
        },
    )
    present = SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP
    for lo, nid, backing in (
        (0, 0, MemmapBacking(Medium.RAM, 0)),
        (64, 1, MemmapBacking(Medium.RAM, 1)),
        (128, 0, MemmapBacking(Medium.DEVICE, 0, 0)),
        (192, 1, MemmapBacking(Medium.DEVICE, 1, 1)),
    ):
        mem.sections.assign(lo, lo + 64, SectionState(present, nid))
        mem.vmemmap.populate(lo * PAGES_PER_SECTION, (lo + 64) * PAGES_PER_SECTION, backing)
    for pid, (nid, base) in enumerate(((0, PMEM0), (1, PMEM1))):
        cfg = PgmapConfig(
            f"pfn{pid}.0",
            MemoryType.MEMORY_DEVICE_FS_DAX,
            (PhysRange(base << PAGE_SHIFT, ((base + 64 * PAGES_PER_SECTION) << PAGE_SHIFT) - 1),),
            f"ref{pid}",
        )
        mem.pgmaps[pid] = DevPagemap(pid, cfg, nid, PercpuRef(f"ref{pid}"))
    return mem


def init(lo: int, n: int, work: fx.PageWork = WORK) -> fx.InitPages:
    return fx.InitPages(lo, lo + n, work)


def acq(lock: str = HOT, mode: Mode = Mode.WRITE) -> fx.Acquire:
    return fx.Acquire(lock, mode)


def rel(lock: str = HOT, mode: Mode = Mode.WRITE) -> fx.Release:
    return fx.Release(lock, mode)


def code(*effects: fx.Effect, replies: list[Any] | None = None) -> fx.Gen[int]:
    """A thread yielding ``effects`` in order; what each returns goes to ``replies``."""
    for e in effects:
        got = yield e
        if replies is not None:
            replies.append(got)
    return 0


def run(
    threads: Iterable[tuple[str, int, fx.Gen[int]]],
    prof: CostProfile | None = None,
    hz: int = 1000,
) -> TimingResult:
    """``threads``: (name, cpu, code), each started on its CPU (a one-shot factory: these
    tests never replay)."""
    engine = TimingEngine(memory(), prof or profile(), TOPO, hz)
    return engine.run((fx.ThreadSpec(name, lambda g=gen: g), cpu) for name, cpu, gen in threads)


def work_of(res: TimingResult, thread: str) -> list[Interval]:
    return [i for i in res.intervals if i.thread == thread and i.kind != "lock wait"]


def waits_of(res: TimingResult, thread: str) -> list[Interval]:
    return [i for i in res.intervals if i.thread == thread and i.kind == "lock wait"]


def spans(xs: Iterable[Interval | LockHold]) -> list[float]:
    """start, end, start, end, ... (for pytest.approx, which takes flat lists)."""
    return [t for x in xs for t in (x.start, x.end)]


def hot_holds(res: TimingResult) -> list[LockHold]:
    return sorted((h for h in res.holds if h.lock == HOT), key=lambda h: h.start)


# --- page jobs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cpu", "lo", "in_ram", "ns_per_page"),
    [
        (0, RAM0, 1.0, 10.0),  # node-0 CPU, memmap in node-0 DRAM: local
        (2, RAM1, 1.0, 10.0),  # node-1 CPU, node-1 DRAM: local
        (2, RAM0, 1.0, 20.0),  # node-1 CPU, node-0 DRAM: remote
        (0, RAM1, 1.0, 20.0),
        (0, RAM0, 0.5, 5.0),  # the memmap-in-DRAM factor applies to a "ram:" backing
        (2, RAM0, 0.5, 10.0),  # ... and multiplies with the remote factor
        (0, PMEM0, 0.5, 10.0),  # ... but not to a memmap on the device (altmap)
        (0, PMEM1, 0.5, 20.0),  # pmem of node 1 is remote for a node-0 CPU
        (3, PMEM1, 0.5, 10.0),
    ],
)
def test_page_job_duration(cpu: int, lo: int, in_ram: float, ns_per_page: float) -> None:
    """A page job lasts pages x ns/page x memmap_in_ram (ram backing) x remote (other node)."""
    res = run([("t", cpu, code(init(lo, 1000)))], profile(in_ram=in_ram))
    (iv,) = res.intervals
    assert iv.duration == pytest.approx(1000 * ns_per_page)
    assert res.end == pytest.approx(1000 * ns_per_page)
    assert (iv.thread, iv.cpu, iv.node, iv.pfns) == ("t", cpu, TOPO.node_of(cpu), (lo, lo + 1000))
    assert iv.mem_node == (0 if lo in (RAM0, PMEM0) else 1)
    assert (iv.kind, iv.detail, iv.locked) == ("struct page init", "memmap_init_zone_device", False)


def test_page_job_charges_every_op_of_the_work() -> None:
    """ns/page is the sum of the costs of the work's ops; pgmap loops are their own kind."""
    ops = (INIT, fx.PageOp("SetPageReserved", "reserved_atomic"), fx.PageOp("pc", "poison"))
    work = fx.PageWork("devm_memremap_pages", ops, kind=fx.WorkKind.PGMAP)
    prof = profile(costs={"reserved_atomic": 4.0, "poison": 1.5})
    res = run([("t", 0, code(init(RAM0, 1000, work)))], prof)
    (iv,) = res.intervals
    assert iv.duration == pytest.approx(1000 * 15.5)
    assert iv.kind == "pgmap pass"


def test_fixed_cost_steps_take_their_time_and_leave_no_interval() -> None:
    """A Step costs fixed_ns.step; fixed-cost steps are not work intervals."""
    res = run([("t", 0, code(fx.Step("a"), fx.Step("b"), init(RAM0, 100)))], profile(step=700.0))
    (iv,) = res.intervals
    assert iv.start == pytest.approx(1400.0)
    assert res.end == pytest.approx(2400.0)


def test_jobs_of_one_thread_run_back_to_back() -> None:
    """A thread's second job starts when its first ends."""
    res = run([("t", 0, code(init(RAM0, 100), init(RAM1, 100), init(RAM0, 300)))])
    assert spans(res.intervals) == pytest.approx([0.0, 1000.0, 1000.0, 3000.0, 3000.0, 6000.0])


# --- mem_hotplug_lock ------------------------------------------------------------------------
def test_lock_waiters_are_granted_in_fifo_order() -> None:
    """The second and third threads wait from their acquire attempt until the release before
    their grant; grants follow the order of the attempts (not thread order); holds do not
    overlap; a waiting thread does no work."""
    threads = [
        ("holder", 0, code(acq(), init(RAM0, 1000), rel())),
        ("late", 1, code(init(RAM0, 200), acq(), init(RAM0, 1000), rel())),
        ("early", 2, code(init(RAM1, 100), acq(), init(RAM1, 1000), rel())),
    ]
    res = run(threads)
    holds = hot_holds(res)
    assert [h.thread for h in holds] == ["holder", "early", "late"]
    assert spans(holds) == pytest.approx([0.0, 10_000.0, 10_000.0, 20_000.0, 20_000.0, 30_000.0])
    for a, b in itertools.pairwise(holds):
        assert a.end <= b.start
    (w_early,) = waits_of(res, "early")
    (w_late,) = waits_of(res, "late")
    assert (w_early.start, w_early.end) == pytest.approx((1000.0, 10_000.0))
    assert (w_late.start, w_late.end) == pytest.approx((2000.0, 20_000.0))
    assert w_early.detail == w_late.detail == HOT
    for name in ("early", "late"):
        for wait in waits_of(res, name):
            for job in work_of(res, name):
                assert job.end <= wait.start or job.start >= wait.end
    assert res.end == pytest.approx(30_000.0)


def test_work_under_the_lock_is_marked_locked() -> None:
    """Intervals of work done holding mem_hotplug_lock say so; others do not."""
    res = run([("t", 0, code(init(RAM0, 10), acq(), init(RAM0, 10), rel(), init(RAM0, 10)))])
    assert [i.locked for i in res.intervals] == [False, True, False]


def test_a_blocked_thread_uses_no_cpu() -> None:
    """A thread waiting for the lock on the holder's CPU does not slow the holder."""
    threads = [
        ("holder", 0, code(acq(), init(RAM0, 1000), rel())),
        ("waiter", 0, code(acq(), init(RAM0, 500), rel())),
    ]
    res = run(threads)
    (held,) = work_of(res, "holder")
    (wait,) = waits_of(res, "waiter")
    (done,) = work_of(res, "waiter")
    assert held.duration == pytest.approx(10_000.0)
    assert (wait.start, wait.end) == pytest.approx((0.0, 10_000.0))
    assert (done.start, done.end) == pytest.approx((10_000.0, 15_000.0))


def test_readers_share_and_a_queued_writer_blocks_later_readers() -> None:
    """Read holds overlap; a writer waits for all readers; a reader arriving after a queued
    writer waits behind it (FIFO), then runs."""
    R = Mode.READ
    threads = [
        ("r1", 0, code(acq(mode=R), init(RAM0, 1000), rel(mode=R))),
        ("r2", 1, code(acq(mode=R), init(RAM0, 3000), rel(mode=R))),
        ("w", 2, code(init(RAM1, 100), acq(), init(RAM1, 500), rel())),
        ("r3", 3, code(init(RAM1, 200), acq(mode=R), init(RAM1, 100), rel(mode=R))),
    ]
    res = run(threads)
    spans = {h.thread: (h.start, h.end) for h in res.holds}
    assert spans["r1"] == pytest.approx((0.0, 10_000.0))
    assert spans["r2"] == pytest.approx((0.0, 30_000.0))
    assert spans["w"] == pytest.approx((30_000.0, 35_000.0))
    assert spans["r3"] == pytest.approx((35_000.0, 36_000.0))
    (w3,) = waits_of(res, "r3")
    assert (w3.start, w3.end) == pytest.approx((2000.0, 35_000.0))


@pytest.mark.parametrize("variant", ["never-released", "ab-ba"])
def test_deadlock_raises(variant: str) -> None:
    """Threads waiting for locks nobody will release raise RuntimeError naming them; a
    thread that ends holding a lock is named as the cause before its victims deadlock."""
    if variant == "never-released":
        threads = [
            ("greedy", 0, code(acq(), init(RAM0, 10))),
            ("victim", 1, code(init(RAM0, 10), acq(), rel())),
        ]
        with pytest.raises(RuntimeError, match=r"greedy ended holding \['mem_hotplug_lock'\]"):
            run(threads)
        return
    else:
        threads = [
            ("a", 0, code(acq(HOT), init(RAM0, 10), acq(PGMAP_LOCK), rel(PGMAP_LOCK), rel(HOT))),
            ("b", 1, code(acq(PGMAP_LOCK), init(RAM0, 10), acq(HOT), rel(HOT), rel(PGMAP_LOCK))),
        ]
        stuck = ["a", "b"]
    with pytest.raises(RuntimeError, match="deadlock") as exc:
        run(threads)
    assert str(stuck) in str(exc.value)


# --- bandwidth -------------------------------------------------------------------------------
# A 3.2 GB/s ceiling is 0.05 pages/ns of 64-byte struct pages; a CPU alone does 0.1 pages/ns.
TIGHT = 3.2


@pytest.mark.parametrize(
    ("lo", "prof"),
    [(RAM0, profile(dram_gbps=TIGHT)), (PMEM0, profile(pmem_gbps=TIGHT))],
    ids=["dram", "pmem"],
)
def test_writers_to_one_memory_share_its_ceiling(lo: int, prof: CostProfile) -> None:
    """Two writers of the same memory each get half its ceiling (0.025 pages/ns); when the
    first ends the other's rate is recomputed (the whole ceiling, 0.05 pages/ns)."""
    res = run([("a", 0, code(init(lo, 1000))), ("b", 1, code(init(lo + 4096, 3000)))], prof)
    (a,) = work_of(res, "a")
    (b,) = work_of(res, "b")
    assert a.end == pytest.approx(1000 / 0.025)  # 40 us
    assert b.end == pytest.approx(40_000 + 2000 / 0.05)  # 1000 pages done by then: 80 us


def test_a_writer_alone_is_held_to_the_ceiling() -> None:
    """A writer's rate is the smaller of its CPU rate and the ceiling."""
    res = run([("a", 0, code(init(PMEM0, 1000)))], profile(pmem_gbps=TIGHT))
    assert res.end == pytest.approx(1000 / 0.05)


@pytest.mark.parametrize(
    ("lo_a", "lo_b", "prof"),
    [
        (RAM0, RAM1, profile(dram_gbps=TIGHT)),  # DRAM of two nodes
        (PMEM0, PMEM1, profile(pmem_gbps=TIGHT)),  # pmem of two nodes
        (RAM0, PMEM0, profile(dram_gbps=TIGHT, pmem_gbps=TIGHT)),  # DRAM and pmem of one node
    ],
    ids=["dram", "pmem", "dram-vs-pmem"],
)
def test_writers_to_different_memories_do_not_share(
    lo_a: int, lo_b: int, prof: CostProfile
) -> None:
    """Each writer of a different memory gets that memory's whole ceiling."""
    cpu_b = 2 if lo_b in (RAM1, PMEM1) else 1
    res = run([("a", 0, code(init(lo_a, 1000))), ("b", cpu_b, code(init(lo_b, 3000)))], prof)
    (a,) = work_of(res, "a")
    (b,) = work_of(res, "b")
    assert a.end == pytest.approx(1000 / 0.05)
    assert b.end == pytest.approx(3000 / 0.05)


def test_a_tight_dram_ceiling_does_not_bind_pmem_writers() -> None:
    """The DRAM ceiling applies to memmaps in DRAM only."""
    res = run(
        [("a", 0, code(init(PMEM0, 1000))), ("b", 1, code(init(PMEM0, 1000)))],
        profile(dram_gbps=0.001),
    )
    assert res.end == pytest.approx(10_000.0)


# --- CPU sharing -----------------------------------------------------------------------------
def test_threads_on_one_cpu_share_it() -> None:
    """Two threads on CPU 0 each run at half speed until one ends; a thread on another CPU
    runs at full speed."""
    threads = [
        ("a", 0, code(init(RAM0, 1000))),
        ("b", 0, code(init(RAM0, 3000))),
        ("c", 1, code(init(RAM0, 1000))),
    ]
    res = run(threads)
    ends = {i.thread: i.end for i in res.intervals}
    assert ends["a"] == pytest.approx(20_000.0)
    assert ends["b"] == pytest.approx(20_000.0 + 2000 * 10)
    assert ends["c"] == pytest.approx(10_000.0)


# --- printk and jiffies ----------------------------------------------------------------------
def test_printk_is_stamped_with_the_simulated_time() -> None:
    """A LogLine's time_ns is the simulated time when the printk was issued; a printk costs
    fixed_ns.printk."""
    eff = code(init(RAM0, 1000), fx.Printk("info", "one"), init(RAM0, 500), fx.Printk("err", "two"))
    res = run([("t", 0, eff)], profile(printk=700.0))
    assert [(ln.time_ns, ln.level, ln.text, ln.thread) for ln in res.log] == [
        (10_000, "info", "one", "t"),
        (15_700, "err", "two", "t"),
    ]
    assert res.end == pytest.approx(16_400.0)


@pytest.mark.parametrize("hz", [100, 250, 300, 1000])
def test_jiffies_follow_the_simulated_time_at_hz(hz: int) -> None:
    """jiffies = simulated ns x HZ / 1e9, rounded down."""
    got: list[Any] = []
    eff = code(
        fx.Jiffies(),
        init(RAM0, 1_234_567),
        fx.Jiffies(),
        init(RAM0, 765_433),
        fx.Jiffies(),
        replies=got,
    )
    run([("t", 0, eff)], hz=hz)
    assert [got[0], got[2], got[4]] == [0, 12_345_670 * hz // 10**9, 20_000_000 * hz // 10**9]


def test_dmesg_line_uses_the_kernel_timestamp_format() -> None:
    """``[%5lu.%06lu] `` with the probe start offset added."""
    assert dmesg_line(24_923_562_513, "x") == "[   24.923563] x"
    assert dmesg_line(1_500, "y", offset_s=5.0) == "[    5.000002] y"
    assert dmesg_line(123_456_789_000_000, "z") == "[123456.789000] z"


# --- summary ---------------------------------------------------------------------------------
def test_summary_excludes_lock_waits_from_init() -> None:
    """init_s is work time, lock_wait_s waiting, lock_hold_s mem_hotplug_lock held."""
    threads = [
        ("a", 0, code(acq(), init(RAM0, 1000), rel())),
        ("b", 2, code(acq(), init(RAM1, 3000), rel(), init(RAM1, 1000))),
    ]
    s = summarize(run(threads))
    a, b = s.devices
    assert (a.node, a.init_s, a.lock_wait_s, a.lock_hold_s) == pytest.approx((0, 1e-5, 0, 1e-5))
    assert (b.node, b.init_s, b.lock_wait_s, b.lock_hold_s) == pytest.approx((1, 4e-5, 1e-5, 3e-5))
    assert (b.start_s, b.finish_s) == pytest.approx((0.0, 5e-5))
    assert s.total_s == pytest.approx(5e-5)
    assert s.lock_hold_s == pytest.approx(4e-5)
    assert [n.name for n in s.nodes] == ["node0", "node1"]


def test_a_thread_that_ends_holding_a_lock_is_an_error() -> None:
    """Was accepted silently (the hold vanished from the trace and from lock_hold_s); the
    in-order engine already refused it."""
    with pytest.raises(RuntimeError, match="ended holding"):
        run([("t", 0, code(acq(), fx.Step("work")))])
