"""Timing tables for people: one run, or kernels side by side with ratios."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from memmapsim.simulate import RunResult


def print_timing(r: RunResult, console: Console) -> None:
    t = r.timing
    if t is None:
        return
    assert r.profile is not None
    table = Table(
        title=f"time on {r.kernel.name} (cost profile {r.profile.name}): total {t.total_s:.2f} s, "
        f"mem_hotplug_lock held {t.lock_hold_s:.2f} s",
        title_justify="left",
    )
    for col in ("node", "init_s", "lock_wait_s", "lock_hold_s", "start_s", "finish_s"):
        table.add_column(col, justify="right")
    for n in t.nodes:
        table.add_row(
            str(n.node),
            f"{n.init_s:.2f}",
            f"{n.lock_wait_s:.2f}",
            f"{n.lock_hold_s:.2f}",
            f"{n.start_s:.2f}",
            f"{n.finish_s:.2f}",
        )
    console.print(table)


def _ratio(v: float, base: float) -> str:
    return f"{v / base:.2f}x" if base > 0 else "-"


def print_timing_compare(runs: list[RunResult], console: Console) -> None:
    """Totals, lock hold and per-node figures per kernel, each with its ratio to the first."""
    base = runs[0].timing
    assert base is not None
    table = Table(title=f"{runs[0].scenario.name}: time per kernel", title_justify="left")
    table.add_column("")
    for r in runs:
        table.add_column(r.kernel.name, justify="right")
    rows: list[tuple[str, list[float], float]] = []
    tims = [r.timing for r in runs]
    assert all(t is not None for t in tims)
    rows.append(("total_s", [t.total_s for t in tims if t], base.total_s))
    rows.append(("lock_hold_s", [t.lock_hold_s for t in tims if t], base.lock_hold_s))
    for i, n in enumerate(base.nodes):
        for key in ("init_s", "lock_wait_s", "finish_s"):
            vals = [getattr(t.nodes[i], key) for t in tims if t]
            rows.append((f"node {n.node} {key}", vals, getattr(n, key)))
    for label, vals, ref in rows:
        cells = [f"{vals[0]:.2f}"] + [f"{v:.2f} ({_ratio(v, ref)})" for v in vals[1:]]
        table.add_row(label, *cells)
    console.print(table)
