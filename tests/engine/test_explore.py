"""The explorer: steps split at the pfn a reader looks at, the reductions, the strategies,
shrinking, grouping, and what readers see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from memmapsim import effects as fx
from memmapsim.engine import explore as ex
from memmapsim.kernel.page_alloc import zone_device_work
from memmapsim.races import Item, Request, context, explore, setup_for

DATA = "data"


def item_at(scenario: str, kernel: str, reader: str, cls: str) -> tuple[ex.Setup, Item]:
    """The work item of ``reader`` at the first pfn of class ``cls`` of the first device."""
    ctx = context(scenario, kernel)
    dev, pc = next((d, c) for d, c in ctx.classes if c.key == cls)
    it = Item(0, reader, pc.ranges[0][0], dev, cls)
    return setup_for(ctx, it), it


def run_until(setup: ex.Setup, stop: Callable[[ex.Execution], bool]) -> ex.Execution:
    """The non-preemptive schedule of the writers until ``stop``, then the reader alone,
    then the rest."""
    run = ex.Execution(setup, record=True)
    reader = run.reader_x
    assert reader is not None
    while not stop(run):
        x = next(x for x in run.enabled() if not x.reader)
        run.choose(x)
    while run.executable(reader):
        run.choose(reader)
    run.finish()
    return run


def pending_write(run: ex.Execution) -> tuple[int, int, int, str, bool] | None:
    w = next(x for x in run.xs if x.key == "pmem0")
    return w.pending[0].write_at if w.pending else None


def test_a_range_is_split_into_single_writes_at_the_watched_pfn_only() -> None:
    setup, it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)
    run = ex.replay(setup, [], record=True)
    pfn = it.pfn
    assert pfn is not None
    mizd = [e for e in run.events if isinstance(e.eff, fx.InitPages)
            and e.eff.work.fn == "memmap_init_zone_device"]  # fmt: skip
    at_pfn = [e for e in mizd if e.eff.lo == pfn]
    k = context("tiny-pmem", "4.20").kernel
    writes = zone_device_work(k, 0, ex_pgmap(run)).writes
    assert [e.eff.work.writes for e in at_pfn] == [(w,) for w in writes]
    assert [e.note for e in at_pfn] == [
        f"write {i} of {len(writes)}" for i in range(1, len(writes) + 1)
    ]
    whole = [e for e in mizd if e.eff.lo != pfn]
    assert [(e.eff.lo < pfn, e.eff.hi - e.eff.lo > 1) for e in whole] == [
        (True, True),
        (False, True),
    ]
    # the state after the split pieces is the state of the whole range
    plain = ex.replay(replace(setup, reader=None, reader_pfns=()), [])
    assert run.mem.memmap.record(pfn) == plain.mem.memmap.record(pfn)
    assert run.mem.pgmap(0).ref.count == plain.mem.pgmap(0).ref.count


def ex_pgmap(run: ex.Execution) -> object:
    from memmapsim.model.pgmap import Pgmap

    pg = run.mem.pgmap(0)
    return Pgmap(pg.id, pg.cfg)


def test_a_reader_between_two_writes_of_the_init_sees_it_half_initialized() -> None:
    setup, it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)

    def mid_init(run: ex.Execution) -> bool:
        w = pending_write(run)
        return w is not None and w[3] == "memmap_init_zone_device" and w[1] == 3

    run = run_until(setup, mid_init)
    (hit,) = [h for h in run.hits if h.kind == "read"]
    assert (hit.state, hit.pfn, hit.writer_step) == (
        "half initialized",
        it.pfn,
        "add: memmap_init_zone_device",
    )
    assert hit.preemptions == 1


def test_a_reader_before_the_init_sees_memory_never_written_until_the_init_comes() -> None:
    setup, _it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)

    def before_init(run: ex.Execution) -> bool:
        w = pending_write(run)
        return w is not None and w[3] == "memmap_init_zone_device" and w[1] == 0

    run = run_until(setup, before_init)
    (hit,) = [h for h in run.hits if h.kind == "read"]
    assert hit.state == "stale"  # an init pass came after the read
    assert hit.next_write is not None and hit.next_write.fn == "memmap_init_zone_device"
    assert hit.last_write is not None and hit.last_write.fn == "vmemmap_populate"


def keys(o: ex.Outcome) -> set[tuple[object, ...]]:
    return set(o.groups)


def test_reductions_explore_fewer_schedules_and_find_the_same() -> None:
    setup, _it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)
    reduced = ex.explore_dfs(setup, 2, 10_000)
    no_sleep = ex.explore_dfs(setup, 2, 10_000, sleep_sets=False)
    every_step = ex.explore_dfs(replace(setup, all_visible=True), 2, 10_000, sleep_sets=False)
    assert reduced.complete and no_sleep.complete and every_step.complete
    assert keys(reduced) == keys(no_sleep) == keys(every_step) != set()
    assert reduced.schedules < no_sleep.schedules < every_step.schedules


def test_the_preemption_bound_is_kept() -> None:
    setup, _it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)
    for bound in (0, 1):
        o = ex.explore_dfs(setup, bound, 10_000)
        assert o.complete
        assert all(g.hit.preemptions <= bound for g in o.groups.values())
    assert not ex.explore_dfs(setup, 0, 10_000).groups
    assert ex.explore_dfs(setup, 1, 10_000).groups


def test_the_budget_stops_dfs_before_it_is_complete() -> None:
    setup, _it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)
    o = ex.explore_dfs(setup, 2, 5)
    assert (o.schedules, o.complete) == (5, False)


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_random_strategies_find_the_window_and_repeat_with_their_seed(strategy: str) -> None:
    req = Request("tiny-pmem", "4.20", ("memory_failure",), (0x48000,), strategy, budget=150)
    a = explore(req)
    b = explore(req)
    assert [(f.hit.key, f.count, f.choices) for f in a.findings] == [
        (f.hit.key, f.count, f.choices) for f in b.findings
    ]
    assert {f.hit.state for f in a.findings} & {"stale", "half initialized"}
    other = explore(replace(req, seed=1))
    assert [f.count for f in other.findings] != [f.count for f in a.findings]


def test_every_finding_is_shrunk_to_a_one_minimal_schedule() -> None:
    setup, _it = item_at("tiny-pmem", "4.20", "kpageflags", DATA)
    o = ex.explore_dfs(setup, 2, 10_000)
    assert o.groups
    shrunk_less = 0
    for g in o.groups.values():
        choices, hit = ex.shrink(setup, g.choices, g.hit)
        assert hit.key == g.hit.key
        assert ex.one_minimal(setup, choices, hit)
        shrunk_less += len(choices) < g.hit.prefix
    assert shrunk_less  # some first schedules were longer than needed


def test_findings_are_grouped_by_reader_writer_step_state_and_class() -> None:
    run = explore(Request("tiny-pmem", "4.20", ("kpageflags", "memory_failure"), preemptions=1))
    groups = [(f.hit.reader, f.hit.writer_step, f.hit.state, f.hit.device, f.hit.pfn_class)
              for f in run.findings]  # fmt: skip
    assert len(groups) == len(set(groups))
    assert sum(f.count for f in run.findings) > len(run.findings)
    assert {f.hit.reader for f in run.findings} == {"kpageflags", "memory_failure"}
    # v4.20's section tail: two passes, two writer steps a reader can be caught in
    tail = {g[1] for g in groups if g[:1] == ("kpageflags",) and g[2:] ==
            ("half initialized", "pmem0", "data_section_tail")}  # fmt: skip
    assert tail == {"add: memmap_init_zone (section tail)", "add: memmap_init_zone_device"}
    states = {g[2] for g in groups if g[0] == "kpageflags" and g[4] == "data"}
    assert states == {"half initialized", "stale"}


def test_a_shared_struct_page_is_watched_where_it_is_stored() -> None:
    """With vmemmap deduplication (v5.19+) a tail's struct page is another tail's: a reader
    of the alias sees the writes to the canonical tail, one by one."""
    setup, it = item_at("devdax-128g-2m", "6.6", "hwpoison_inject", "compound_dedup")
    o = ex.explore_dfs(setup, 1, 10_000)
    states = {(g.hit.state, g.hit.pfn) for g in o.groups.values()}
    assert ("half initialized", it.pfn) in states


def test_a_deadlock_is_a_finding() -> None:
    def hold(lock: str) -> fx.Gen[int]:
        yield fx.Acquire(lock)
        yield fx.Acquire("mf_mutex")
        yield fx.Release("mf_mutex")
        yield fx.Release(lock)
        return 0

    def other() -> fx.Gen[int]:
        yield fx.Acquire("mf_mutex")
        yield fx.Acquire("pgmap_lock")
        yield fx.Release("pgmap_lock")
        yield fx.Release("mf_mutex")
        return 0

    setup, _it = item_at("tiny-pmem", "4.20", "memory_failure", DATA)
    toy = replace(
        setup,
        writers=(fx.ThreadSpec("a", lambda: hold("pgmap_lock")), fx.ThreadSpec("b", other)),
        reader=None,
        reader_pfns=(),
    )
    o = ex.explore_dfs(toy, 1, 100)
    assert [g.hit.invariant for g in o.groups.values()] == ["deadlock"]
