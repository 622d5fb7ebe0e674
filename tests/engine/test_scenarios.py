"""The whole machine of duyck-2018 on the timing engine: the issue's acceptance figures emerge
(nodes in series under mem_hotplug_lock on 4.18, about two minutes saved on 4.20, 23-26 s
per node in parallel with node-local probing), probe placement, the same final state as the
in-order engine, and a cost of simulation independent of memory size."""

from __future__ import annotations

import itertools
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

import pytest
from msgspec.structs import replace

from memmapsim.config.scenario import Knobs, Scenario, load_scenario, parse_scenario
from memmapsim.engine.timing import Interval
from memmapsim.engine.trace import TimingSummary
from memmapsim.errors import InputError
from memmapsim.model.locks import MEM_HOTPLUG_LOCK
from memmapsim.report.data import run_data
from memmapsim.simulate import RunResult, simulate, topology

KERNELS = ("4.18", "4.18+nonatomic-reserved", "4.20", "4.20+node-local-probe")
TIMING_KEYS = ("total_s", "lock_hold_s", "nodes", "cost_profile", "dmesg", "timeline")
DEVICE_TIMING_KEYS = ("cpu", "init_s", "lock_wait_s", "lock_hold_s", "start_s", "finish_s")


@cache
def duyck() -> Scenario:
    return load_scenario("duyck-2018")


@cache
def run(kernel: str, registration_node: int = 0) -> RunResult:
    sc = duyck()
    if registration_node:
        sc = replace(sc, knobs=Knobs(registration_node=registration_node))
    return simulate(sc, kernel)


def timing(r: RunResult) -> TimingSummary:
    assert r.timing is not None
    return r.timing


def init_s(kernel: str, registration_node: int = 0) -> list[float]:
    return [n.init_s for n in timing(run(kernel, registration_node)).nodes]


# --- 4.18: the nodes in series under the lock ------------------------------------------------
@pytest.mark.parametrize("kernel", ["4.18", "4.18+nonatomic-reserved"])
def test_418_holds_the_lock_most_of_the_time_node_after_node(kernel: str) -> None:
    """mem_hotplug_lock is held for most of the total, once per node; each node's locked
    phase begins when the previous one ends, and they never overlap."""
    r = run(kernel)
    t = timing(r)
    assert t.lock_hold_s > 0.5 * t.total_s
    holds = sorted((h for h in r.holds if h.lock == MEM_HOTPLUG_LOCK), key=lambda h: h.start)
    assert sorted(h.thread for h in holds) == ["pmem0", "pmem1", "pmem2", "pmem3"]
    assert sum(h.end - h.start for h in holds) * 1e-9 == pytest.approx(t.lock_hold_s)
    for a, b in itertools.pairwise(holds):
        assert a.end <= b.start
        assert b.start - a.end < 1e6  # handed over at once (< 1 ms)
    for h in holds:
        assert (h.end - h.start) * 1e-9 > 20  # a whole node's init pass under the lock
    # Every thread but the first waited for the lock, and did nothing while it waited.
    waits = [n.lock_wait_s for n in t.nodes]
    assert waits[0] == 0 and all(w > 20 for w in waits[1:])
    locked = [iv for iv in r.intervals if iv.detail == "memmap_init_zone"]
    assert len(locked) == 4 and all(iv.locked for iv in locked)


def test_418_atomic_reserved_costs_more_under_the_lock() -> None:
    """The atomic SetPageReserved lengthens the locked phases (35.5 vs 31.5 s a block)."""
    atomic, plain = timing(run("4.18")), timing(run("4.18+nonatomic-reserved"))
    assert atomic.lock_hold_s / plain.lock_hold_s == pytest.approx(35.5 / 31.5, rel=0.01)


# --- 4.20: init out of the lock --------------------------------------------------------------
def test_moving_init_out_of_the_lock_saves_about_two_minutes() -> None:
    """4.20 finishes 90-150 s before 4.18+nonatomic-reserved (about two minutes +-25 %)."""
    saved = timing(run("4.18+nonatomic-reserved")).total_s - timing(run("4.20")).total_s
    assert 90 <= saved <= 150


def test_420_holds_the_lock_briefly() -> None:
    """On 4.20 only the memmap-hosting pfns are initialized under the lock: seconds, not
    minutes, and no data page is initialized locked."""
    r = run("4.20")
    t = timing(r)
    assert t.lock_hold_s < 0.1 * t.total_s
    data = [iv for iv in r.intervals if iv.detail == "memmap_init_zone_device"]
    assert len(data) == 4 and not any(iv.locked for iv in data)


def test_node_local_probing_brings_every_node_to_23_26_s_in_parallel() -> None:
    """With node-local-probe each probe runs on its device's node; every node's init_s is
    23-26 s, and the nodes' init passes all run at one time."""
    r = run("4.20+node-local-probe")
    topo = topology(r.scenario)
    assert {topo.node_of(r.cpus[d.ns.label]) for d in r.devices} == {0, 1, 2, 3}
    for d in r.devices:
        assert topo.node_of(r.cpus[d.ns.label]) == d.ns.nid
    for s in init_s("4.20+node-local-probe"):
        assert 23 <= s <= 26
    passes = [iv for iv in r.intervals if iv.detail == "memmap_init_zone_device"]
    assert sorted(iv.thread for iv in passes) == ["pmem0", "pmem1", "pmem2", "pmem3"]
    assert max(iv.start for iv in passes) < min(iv.end for iv in passes)
    assert timing(r).total_s < 30


@pytest.mark.parametrize("reg", [0, 2])
def test_without_node_local_probing_the_registration_node_is_fast(reg: int) -> None:
    """On 4.20 every probe runs on the registration node: its own node is the fastest
    (local), the others are slower by the remote factor and equal among themselves."""
    r = run("4.20", reg)
    topo = topology(r.scenario)
    assert {topo.node_of(cpu) for cpu in r.cpus.values()} == {reg}
    times = init_s("4.20", reg)
    fast = times[reg]
    slow = [s for n, s in enumerate(times) if n != reg]
    assert all(s > 1.2 * fast for s in slow)
    assert max(slow) == pytest.approx(min(slow), rel=1e-6)
    assert fast == pytest.approx(init_s("4.20+node-local-probe")[reg], rel=1e-6)


def test_the_registration_node_moves_the_fast_node() -> None:
    """Node 2 as registration node makes node 2, not node 0, the fast one."""
    times = init_s("4.20", 2)
    assert min(range(4), key=times.__getitem__) == 2
    assert times[0] > times[2]


# --- engines agree on state ------------------------------------------------------------------
def state_data(r: RunResult) -> dict[str, Any]:
    """run_data without what only a timing run reports."""
    data = {k: v for k, v in run_data(r).items() if k not in TIMING_KEYS}
    data["devices"] = [
        {k: v for k, v in dev.items() if k not in DEVICE_TIMING_KEYS} for dev in data["devices"]
    ]
    return data


@pytest.mark.parametrize("kernel", [*KERNELS, "4.18+page-init-poison-off+nonatomic-reserved"])
def test_inorder_and_timing_engines_leave_the_same_state(kernel: str) -> None:
    """The timing engine's concurrency changes when things happen, not what the memory ends
    up as: per device classes, passes, locked/unlocked page counts, refs, findings."""
    timed = state_data(run(kernel))
    inorder = state_data(simulate(duyck(), kernel, engine="inorder"))
    assert timed == inorder
    assert (
        timed["devices"][0]["pages_initialised_unlocked"]
        + timed["devices"][0]["pages_initialised_locked"]
        > 0
    )


# --- cost of simulation independent of size --------------------------------------------------
DUYCK_TEXT = (resources.files("memmapsim.config.scenarios") / "duyck-2018.toml").read_text()
SIZES_GIB = (3, 3 * 1024, 250 * 1024)


def scaled_text(gib: int, five_level: bool) -> str:
    """duyck-2018 with ``gib`` GiB of pmem per node, the devices back to back after DRAM."""
    head, _, rest = DUYCK_TEXT.partition("[[devices]]")
    if five_level:
        head = head.replace("[machine]\n", "[machine]\nfive_level_paging = true\n", 1)
        assert "five_level_paging = true" in head
    devices = "".join(
        f'[[devices]]\nname = "pmem{i}"\nkind = "fsdax"\nnode = {i}\n'
        f'start = "{1538 + i * gib}G"\nsize = "{gib}G"\nmemmap = "device"\n\n'
        for i in range(4)
    )
    return head + devices + "[knobs]" + rest.partition("[knobs]")[2]


@cache
def scaled(gib: int) -> Scenario:
    return parse_scenario(scaled_text(gib, five_level=gib > 3 * 1024), f"duyck-{gib}G.toml")


def test_beyond_64_tib_needs_five_level_paging() -> None:
    """250 TiB per node ends beyond 4-level paging's 64 TiB: rejected, naming the knob."""
    with pytest.raises(InputError, match="five_level_paging"):
        parse_scenario(scaled_text(250 * 1024, five_level=False), "big.toml")
    assert scaled(250 * 1024).machine.five_level_paging


def shape(iv: Interval) -> tuple[str, str, str]:
    """Thread, kind and function of an interval (a section add's detail is its count)."""
    return iv.thread, iv.kind, "" if iv.kind == "section add" else iv.detail


@pytest.mark.parametrize("kernel", ["4.18", "4.20", "4.20+node-local-probe"])
def test_events_do_not_grow_with_memory_and_time_scales_with_it(kernel: str) -> None:
    """3 GiB, 3 TiB and 250 TiB per node give the same intervals (per thread, kind and
    function), and total_s proportional to the size: within 1 % from 3 TiB to 250 TiB,
    within 10 % at 3 GiB, where fixed work (v4.20's section-tail loop covers most of a
    section whatever the size) weighs more."""
    runs = {gib: simulate(scaled(gib), kernel) for gib in SIZES_GIB}
    shapes = [Counter(map(shape, r.intervals)) for r in runs.values()]
    assert len({len(r.intervals) for r in runs.values()}) == 1
    assert shapes[0] == shapes[1] == shapes[2]
    per_gib = [timing(r).total_s / gib for gib, r in runs.items()]
    assert per_gib[0] == pytest.approx(per_gib[1], rel=0.10)
    assert per_gib[2] == pytest.approx(per_gib[1], rel=0.01)
    assert timing(runs[3 * 1024]).total_s == pytest.approx(timing(run(kernel)).total_s)
