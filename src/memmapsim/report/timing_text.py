"""Timing tables for people: one run, or kernels side by side with ratios.

A node's ``init``, ``lock_wait`` and ``lock_hold`` are sums over its devices' probe
threads; ``start``, ``finish`` and ``wall`` (finish - start) are wall-clock times. With one
device per node the two agree; with several, the sums can exceed the wall time, so the
tables then say which is which.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from memmapsim.report.text import print_table
from memmapsim.simulate import RunResult


def _unit(total_s: float) -> tuple[str, float]:
    """Seconds, or milliseconds for runs shorter than a second."""
    return ("s", 1.0) if total_s >= 1.0 else ("ms", 1e3)


def threads_per_node(r: RunResult) -> Counter[int]:
    """How many probe threads (devices) ran on behalf of each node."""
    assert r.timing is not None
    return Counter(d.node for d in r.timing.devices)


def print_timing(r: RunResult, console: Console) -> None:
    t = r.timing
    if t is None or not r.devices:
        return
    assert r.profile is not None
    unit, mult = _unit(t.total_s)
    title = (
        f"time on {r.kernel.name} (cost profile {r.profile.name}): "
        f"total {t.total_s * mult:.2f} {unit}, "
        f"mem_hotplug_lock held {t.lock_hold_s * mult:.2f} {unit}"
    )
    per_node = threads_per_node(r)
    many = max(per_node.values(), default=1) > 1
    table = Table()
    table.add_column("node", justify="right")
    if many:
        table.add_column("threads", justify="right")
    sums = ("init", "lock_wait", "lock_hold")
    for col in sums:
        table.add_column(f"{col} ({unit}{', sum' if many else ''})", justify="right")
    for col in ("start", "finish", *(("wall",) if many else ())):
        table.add_column(f"{col} ({unit})", justify="right")
    for n in t.nodes:
        vals = [n.init_s, n.lock_wait_s, n.lock_hold_s, n.start_s, n.finish_s]
        if many:
            vals.append(n.finish_s - n.start_s)
        lead = [str(n.node), *([str(per_node[n.node])] if many else [])]
        table.add_row(*lead, *(f"{v * mult:.2f}" for v in vals))
    if many:
        title += "; init, lock_wait and lock_hold are summed over each node's threads"
    print_table(console, table, title)


def _ratio(v: float, base: float) -> str:
    return f"{v / base:.2f}x" if base > 0 else "-"


def print_timing_compare(runs: list[RunResult], console: Console) -> None:
    """Totals, lock hold and per-node figures per kernel, each with its ratio to the first."""
    base = runs[0].timing
    assert base is not None
    if not runs[0].devices:
        return
    unit, mult = _unit(max(r.timing.total_s for r in runs if r.timing is not None))
    title = f"{runs[0].scenario.name}: time per kernel ({unit}; ratio to {runs[0].kernel.name})"
    table = Table()
    table.add_column("")
    for r in runs:
        table.add_column(r.kernel.name, justify="right")
    rows: list[tuple[str, list[float], float]] = []
    tims = [r.timing for r in runs]
    assert all(t is not None for t in tims)
    per_node = threads_per_node(runs[0])
    rows.append(("total", [t.total_s for t in tims if t], base.total_s))
    rows.append(("mem_hotplug_lock held", [t.lock_hold_s for t in tims if t], base.lock_hold_s))
    for i, n in enumerate(base.nodes):
        many = per_node[n.node] > 1
        for key in ("init_s", "lock_wait_s", "finish_s"):
            vals = [getattr(t.nodes[i], key) for t in tims if t]
            label = f"node {n.node} {key.removesuffix('_s')}"
            if many and key != "finish_s":
                label += f" (sum of {per_node[n.node]} threads)"
            rows.append((label, vals, getattr(n, key)))
        if many:
            walls = [t.nodes[i].finish_s - t.nodes[i].start_s for t in tims if t]
            rows.append((f"node {n.node} wall", walls, n.finish_s - n.start_s))
    for label, vals, ref in rows:
        cells = [f"{vals[0] * mult:.2f}"]
        cells += [f"{v * mult:.2f} ({_ratio(v, ref)})" for v in vals[1:]]
        table.add_row(label, *cells)
    print_table(console, table, title)


def print_boot(r: RunResult, console: Console) -> None:
    """Per node: where deferred struct page init began, the pages it initialised, its threads,
    the node's own line, and (timing) when it ran, from the start of deferred init."""
    b = r.boot
    if b is None:
        return
    timed = b.total_s is not None
    title = f"boot on {r.kernel.name}"
    if timed:
        assert r.profile is not None and b.total_s is not None
        unit, mult = _unit(b.total_s)
        title += (
            f" (cost profile {r.profile.name}): deferred struct page init "
            f"{b.total_s * mult:.2f} {unit}"
        )
    table = Table()
    for col in ("node", "first deferred pfn", "pages", "threads"):
        table.add_column(col, justify="right")
    if timed:
        for col in ("init", "start", "finish"):
            table.add_column(f"{col} ({unit})", justify="right")
    table.add_column("kernel log")
    for n in b.nodes:
        first = f"{n.first_deferred_pfn:#x}" if n.first_deferred_pfn is not None else "-"
        cells = [str(n.nid), first, f"{n.pages:,}", str(len(n.threads))]
        if timed:
            cells += [f"{(v or 0.0) * mult:.2f}" for v in (n.init_s, n.start_s, n.finish_s)]
        table.add_row(*cells, n.line or "")
    print_table(console, table, title)


def print_boot_compare(runs: list[RunResult], console: Console) -> None:
    """Deferred init per kernel: the total and each node's, with ratios to the first."""
    boots = [r.boot for r in runs]
    if any(b is None or b.total_s is None for b in boots):
        return
    totals = [b.total_s or 0.0 for b in boots if b is not None]
    unit, mult = _unit(max(totals))
    title = (
        f"{runs[0].scenario.name}: deferred struct page init per kernel ({unit}; ratio to "
        f"{runs[0].kernel.name})"
    )
    table = Table()
    table.add_column("")
    for r in runs:
        table.add_column(r.kernel.name, justify="right")
    rows: list[tuple[str, list[float]]] = [("total", totals)]
    first = boots[0]
    assert first is not None
    for i, n in enumerate(first.nodes):
        rows.append(
            (f"node {n.nid} init", [(b.nodes[i].init_s or 0.0) for b in boots if b is not None])
        )
        threads = [float(len(b.nodes[i].threads)) for b in boots if b is not None]
        rows.append((f"node {n.nid} threads", threads))
    for label, vals in rows:
        if label.endswith("threads"):
            table.add_row(label, *(f"{int(v)}" for v in vals))
            continue
        cells = [f"{vals[0] * mult:.2f}"] + [
            f"{v * mult:.2f} ({_ratio(v, vals[0])})" for v in vals[1:]
        ]
        table.add_row(label, *cells)
    print_table(console, table, title)
