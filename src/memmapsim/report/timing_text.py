"""Timing tables for people: one run, or kernels side by side with ratios."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from memmapsim.simulate import RunResult


def _unit(total_s: float) -> tuple[str, float]:
    """Seconds, or milliseconds for runs shorter than a second."""
    return ("s", 1.0) if total_s >= 1.0 else ("ms", 1e3)


def print_timing(r: RunResult, console: Console) -> None:
    t = r.timing
    if t is None:
        return
    assert r.profile is not None
    unit, mult = _unit(t.total_s)
    table = Table(
        title=f"time on {r.kernel.name} (cost profile {r.profile.name}): "
        f"total {t.total_s * mult:.2f} {unit}, "
        f"mem_hotplug_lock held {t.lock_hold_s * mult:.2f} {unit}",
        title_justify="left",
    )
    table.add_column("node", justify="right")
    for col in ("init", "lock_wait", "lock_hold", "start", "finish"):
        table.add_column(f"{col} ({unit})", justify="right")
    for n in t.nodes:
        vals = (n.init_s, n.lock_wait_s, n.lock_hold_s, n.start_s, n.finish_s)
        table.add_row(str(n.node), *(f"{v * mult:.2f}" for v in vals))
    console.print(table)


def _ratio(v: float, base: float) -> str:
    return f"{v / base:.2f}x" if base > 0 else "-"


def print_timing_compare(runs: list[RunResult], console: Console) -> None:
    """Totals, lock hold and per-node figures per kernel, each with its ratio to the first."""
    base = runs[0].timing
    assert base is not None
    unit, mult = _unit(max(r.timing.total_s for r in runs if r.timing is not None))
    table = Table(
        title=f"{runs[0].scenario.name}: time per kernel ({unit}; ratio to {runs[0].kernel.name})",
        title_justify="left",
    )
    table.add_column("")
    for r in runs:
        table.add_column(r.kernel.name, justify="right")
    rows: list[tuple[str, list[float], float]] = []
    tims = [r.timing for r in runs]
    assert all(t is not None for t in tims)
    rows.append(("total", [t.total_s for t in tims if t], base.total_s))
    rows.append(("mem_hotplug_lock held", [t.lock_hold_s for t in tims if t], base.lock_hold_s))
    for i, n in enumerate(base.nodes):
        for key in ("init_s", "lock_wait_s", "finish_s"):
            vals = [getattr(t.nodes[i], key) for t in tims if t]
            rows.append((f"node {n.node} {key.removesuffix('_s')}", vals, getattr(n, key)))
    for label, vals, ref in rows:
        cells = [f"{vals[0] * mult:.2f}"]
        cells += [f"{v * mult:.2f} ({_ratio(v, ref)})" for v in vals[1:]]
        table.add_row(label, *cells)
    console.print(table)
