"""Threads as effects: the thread table, and both engines driving it.

Placement under test (tests/engine/test_timing.py's machine: CPUs 0-1 are node 0, 2-3
node 1)::

    root on cpu 0 ──AsyncSchedule(node None)──► worker on node 0 (the queuing CPU's node)
                  ──AsyncSchedule(node 1)─────► worker on cpu 2, then cpu 3, then cpu 2
                  ──Spawn(node 1)─────────────► same pool of CPUs
"""

from __future__ import annotations

from functools import partial

import pytest

from memmapsim import effects as fx
from memmapsim.engine.inorder import InOrderEngine
from memmapsim.engine.placement import Topology, pick_cpu
from memmapsim.engine.threads import ThreadTable
from memmapsim.engine.timing import TimingEngine
from memmapsim.model.locks import Mode
from tests.engine.test_timing import RAM0, RAM1, TOPO, init, memory, profile


def leaf(*effects: fx.Effect, ret: int = 0) -> fx.Gen[int]:
    for e in effects:  # noqa: UP028 (replies are sent in; a tuple iterator cannot take them)
        yield e
    return ret


def spec(name: str, *effects: fx.Effect, ret: int = 0) -> fx.ThreadSpec:
    return fx.ThreadSpec(name, partial(leaf, *effects, ret=ret))


def root(children: list[tuple[fx.ThreadSpec, int | None]], got: list[int]) -> fx.Gen[int]:
    """Schedule each child (node None: NUMA_NO_NODE) in domain "d", then spawn one more on
    node 1 and join it, then synchronize the domain."""
    for child, node in children:
        yield fx.AsyncSchedule(child, node, "d")
    tid = yield fx.Spawn(spec("joined", init(RAM1, 100), ret=7), 1)
    got.append((yield fx.Join(tid)))
    yield fx.AsyncSynchronize("d")
    got.append(-1)
    return 0


def test_table_join_returns_the_result_and_synchronize_waits_for_the_domain() -> None:
    table = ThreadTable()
    r = table.create(spec("r"))
    a, go = table.handle(r, fx.AsyncSchedule(spec("a"), None, "d"))
    assert a is not None and go and r.reply == a.tid and a.domain == "d"
    b, go = table.handle(r, fx.Spawn(spec("b"), 1))
    assert b is not None and go and b.node == 1 and b.domain is None
    assert table.handle(r, fx.Join(b.tid)) == (None, False)
    assert table.blocked() == [r]
    assert table.finish(a, 0) == []  # r waits for b, not for a
    assert table.finish(b, 5) == [r] and r.reply == 5 and r.waiting is None
    # synchronizing a domain whose threads are all done goes on at once
    assert table.handle(r, fx.AsyncSynchronize("d")) == (None, True)
    c, _ = table.handle(r, fx.AsyncSchedule(spec("c"), None, "d"))
    assert c is not None
    assert table.handle(r, fx.AsyncSynchronize("d")) == (None, False)
    assert table.finish(c, 0) == [r]


def test_a_thread_ending_with_a_lock_held_is_an_error() -> None:
    table = ThreadTable()
    t = table.create(spec("t"))
    t.ctx.held["mem_hotplug_lock"] = Mode.WRITE
    with pytest.raises(RuntimeError, match="t ended holding"):
        table.finish(t, 0)


def test_inorder_runs_created_threads_in_creation_order_after_the_creator_blocks() -> None:
    got: list[int] = []
    kids = [(spec("a", init(RAM0, 10)), None), (spec("b", init(RAM0, 10)), 1)]
    res = InOrderEngine(memory()).run([fx.ThreadSpec("root", partial(root, kids, got))])
    order = [r.thread for r in res.trace]
    # root runs until it joins; then a, b, joined; root resumes when joined ends
    assert order == ["root"] * 4 + ["a", "b", "joined", "root"]
    assert got == [7, -1]
    assert [(t.name, t.ret) for t in res.threads] == [
        ("root", 0),
        ("a", 0),
        ("b", 0),
        ("joined", 7),
    ]


def test_timing_places_threads_on_their_node_and_waiting_uses_no_cpu() -> None:
    got: list[int] = []
    kids = [
        (spec("any", init(RAM0, 1000)), None),  # near the queuing CPU: node 0
        (spec("n1a", init(RAM1, 1000)), 1),
        (spec("n1b", init(RAM1, 1000)), 1),
    ]
    eng = TimingEngine(memory(), profile(), TOPO, 1000)
    res = eng.run([(fx.ThreadSpec("root", partial(root, kids, got)), 0)])
    cpus = {name: cpu for name, cpu, _node in res.threads}
    assert cpus == {"root": 0, "any": 0, "n1a": 2, "n1b": 3, "joined": 2}
    assert got == [7, -1]
    assert res.rets == {"root": 0, "any": 0, "n1a": 0, "n1b": 0, "joined": 7}
    ends = {i.thread: i.end for i in res.intervals}
    # "any" shares cpu 0 with nobody busy (root waits), "joined" shares cpu 2 with n1a
    assert ends["any"] == pytest.approx(10_000.0)
    assert ends["n1b"] == pytest.approx(10_000.0)
    assert ends["joined"] == pytest.approx(2_000.0) and ends["n1a"] == pytest.approx(11_000.0)
    assert res.end == pytest.approx(11_000.0)


def test_a_thread_joined_but_never_ending_is_a_deadlock() -> None:
    def forever() -> fx.Gen[int]:
        tid = yield fx.Spawn(fx.ThreadSpec("child", partial(joiner, 0)), 0)
        yield fx.Join(tid)
        return 0

    def joiner(tid: int) -> fx.Gen[int]:
        yield fx.Join(tid)  # joins the root, which joins it
        return 0

    for run in (
        lambda: InOrderEngine(memory()).run([fx.ThreadSpec("root", forever)]),
        lambda: TimingEngine(memory(), profile(), TOPO, 1000).run(
            [(fx.ThreadSpec("root", forever), 0)]
        ),
    ):
        with pytest.raises(RuntimeError, match="deadlock"):
            run()


def test_a_node_without_cpus_runs_work_on_the_creators_node() -> None:
    topo = Topology(((0, 2), (1, 0), (2, 2)))
    taken: dict[int, int] = {}
    assert pick_cpu(topo, 1, 2, taken) == 2
    assert pick_cpu(topo, 1, 2, taken) == 3
    assert pick_cpu(topo, 1, 2, taken) == 2  # wraps around the node's CPUs
    assert pick_cpu(topo, 0, 2, taken) == 0
