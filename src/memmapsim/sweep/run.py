"""Running a sweep: one point's simulation and its row, on a local process pool or on a
Dask cluster, results handed to the :class:`~memmapsim.sweep.store.Store` as they come.

- ``jobs == 1``: in this process, one point after another.
- ``jobs > 1``: a :class:`~concurrent.futures.ProcessPoolExecutor` of the ``forkserver``
  kind (workers forked from a clean server that imported memmapsim once: no lock or
  thread of this process is inherited, nor the journal's file). A worker leaves when the
  process that started it is gone, so a killed sweep leaves no workers behind.
- ``scheduler``: an existing Dask cluster (``distributed.Client(address)``); memmapsim, at
  the same version, must be installed on its workers. Dask is the optional extra
  ``memmapsim[dask]``.

Whichever runs it, a point gives the same row: the simulation is deterministic, and the
order in which results arrive does not matter (the Parquet file is in grid order).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from memmapsim.config.scenario import Scenario
from memmapsim.engine.costs import CostProfile
from memmapsim.errors import InputError
from memmapsim.report.progress import Progress
from memmapsim.simulate import RunResult, simulate
from memmapsim.sweep.spec import Point, SweepSpec
from memmapsim.sweep.store import Store

Task = tuple[str, Scenario, str, CostProfile]
"""(key, scenario, kernel, cost profile): what a worker needs to run a point."""
Row = dict[str, Any]
OnResult = Callable[[str, Row], None]


def _s(v: float) -> float:
    """Seconds to the nanosecond."""
    return round(v, 9)


def result_row(r: RunResult) -> Row:
    """The result columns of a point (:mod:`memmapsim.report.sweepfile`)."""
    t = r.timing
    assert t is not None
    row: Row = {
        "total_s": _s(t.total_s),
        "lock_hold_s": _s(t.lock_hold_s),
        "findings": len(r.findings),
        "error": None,
    }
    for n in t.nodes:
        row[f"node{n.node}_init_s"] = _s(n.init_s)
        row[f"node{n.node}_lock_wait_s"] = _s(n.lock_wait_s)
        row[f"node{n.node}_lock_hold_s"] = _s(n.lock_hold_s)
        row[f"node{n.node}_finish_s"] = _s(n.finish_s)
    for d in r.devices:
        name = d.ns.label
        row[f"dev_{name}_pages_initialised"] = d.pages_initialised
        row[f"dev_{name}_struct_pages_written"] = d.struct_pages_written
        row[f"dev_{name}_memmap_ram_bytes"] = d.memmap_bytes.get("ram", 0)
        row[f"dev_{name}_memmap_device_bytes"] = d.memmap_bytes.get("device", 0)
    return row


def run_point(task: Task) -> tuple[str, Row]:
    """Simulate one point on the timing engine. A kernel that refuses the point is a
    result (its ``error``), not a failure of the sweep."""
    key, sc, kernel, profile = task
    try:
        r = simulate(sc, kernel, "runs", "timing", profile)
    except InputError as e:
        what = f"{e.field}: {e.message}" if e.field else e.message
        return key, {"total_s": None, "lock_hold_s": None, "findings": None, "error": what}
    return key, result_row(r)


def task_of(p: Point) -> Task:
    return (p.key, p.scenario, p.kernel, p.profile)


# --- in this process ---------------------------------------------------------------------


def run_inline(points: list[Point], on_result: OnResult) -> None:
    for p in points:
        on_result(*run_point(task_of(p)))


# --- a local process pool ----------------------------------------------------------------


def _watch_parent(alive: Connection) -> None:
    """In a worker: leave as soon as the sweep's process is gone. ``alive`` is the reading
    end of a pipe whose other end only that process holds: it reads end-of-file when the
    process exits, however it ends. (A pool's workers would otherwise wait for work
    forever after a kill, and so would the fork server, which stays while they do.)"""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv()
        os._exit(1)

    threading.Thread(target=watch, name="memmapsim-parent-watch", daemon=True).start()


def run_pool(points: list[Point], jobs: int, on_result: OnResult) -> None:
    """Run on ``jobs`` worker processes, a few points queued per worker at a time."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["memmapsim.sweep.run"])
    todo: Iterator[Point] = iter(points)
    window = 4 * jobs
    alive_r, alive_w = ctx.Pipe(duplex=False)
    try:
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=_watch_parent, initargs=(alive_r,)
        ) as pool:
            running: set[Future[tuple[str, Row]]] = set()
            try:
                while True:
                    for p in todo:
                        running.add(pool.submit(run_point, task_of(p)))
                        if len(running) >= window:
                            break
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for f in sorted(done, key=id):
                        on_result(*f.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        alive_r.close()
        alive_w.close()


# --- a Dask cluster ----------------------------------------------------------------------

CONNECT_TIMEOUT_S = 10


def run_dask(points: list[Point], address: str, on_result: OnResult) -> None:
    """Run on the Dask cluster whose scheduler is at ``address``."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(
            "--scheduler", None, "Dask is not installed: pip install 'memmapsim[dask]'"
        ) from None
    try:
        client = Client(  # type: ignore[no-untyped-call]
            address, timeout=CONNECT_TIMEOUT_S, set_as_default=False
        )
    except (OSError, ValueError, TypeError) as e:
        why = " ".join(str(e).split()) or type(e).__name__
        raise InputError(
            "--scheduler", address, f"cannot reach the Dask scheduler: {why}"
        ) from None
    try:
        futures = [
            client.submit(run_point, task_of(p), key=f"memmapsim-point-{p.key}", pure=False)
            for p in points
        ]
        done = as_completed(  # type: ignore[no-untyped-call]
            futures, loop=client.loop, with_results=True
        )
        for _f, result in done:
            on_result(*result)
    finally:
        client.close()  # type: ignore[no-untyped-call]


@dataclass
class Executor:
    """How points run: ``jobs`` local processes, or the Dask scheduler at ``scheduler``."""

    jobs: int = 1
    scheduler: str | None = None

    def run(self, points: list[Point], on_result: OnResult) -> None:
        if not points:
            return
        if self.scheduler is not None:
            run_dask(points, self.scheduler, on_result)
        elif self.jobs == 1 or len(points) == 1:
            run_inline(points, on_result)
        else:
            run_pool(points, min(self.jobs, len(points)), on_result)

    def describe(self) -> str:
        if self.scheduler is not None:
            return f"Dask scheduler {self.scheduler}"
        return "this process" if self.jobs == 1 else f"{self.jobs} local processes"


@dataclass(frozen=True)
class Summary:
    """What a sweep did: its points, how many ran now, how many were finished before
    (in the Parquet file, in the journal), how many the kernel refused, and how many rows
    of the old file were not points of this grid (left out of the new file)."""

    points: int
    ran: int
    from_file: int
    from_journal: int
    refused: int
    dropped: int
    damaged: int
    seconds: float


def run_sweep(
    spec: SweepSpec,
    out: Path,
    executor: Executor,
    checkpoint_s: float = 10.0,
    progress: Callable[[int], Progress] | None = None,
) -> Summary:
    """Run every point of ``spec`` not finished before and write ``out``."""
    start = time.monotonic()
    store = Store(spec, out, checkpoint_s)
    store.open()
    try:
        todo = store.pending()
        bar = progress(len(todo)) if progress is not None else Progress("", enabled=False)

        def on_result(key: str, row: Row) -> None:
            store.add(key, row)
            bar.advance()

        with bar:
            executor.run(todo, on_result)
        store.finish()
    except BaseException:
        if store.dirty:
            with contextlib.suppress(Exception):
                store.checkpoint()
        store.close()
        raise
    refused = sum(1 for p in spec.points if store.results[p.key].get("error") is not None)
    return Summary(
        len(spec.points),
        len(todo),
        store.from_file,
        store.from_journal,
        refused,
        store.dropped,
        store.damaged,
        time.monotonic() - start,
    )
