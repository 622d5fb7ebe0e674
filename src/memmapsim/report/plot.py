"""Timeline plots: one panel per kernel on one time axis, one row per CPU that worked.

Bars are coloured by kind of work; work done while holding ``mem_hotplug_lock`` is
hatched, and lock waits are drawn as thin grey bars. The PNG is written with the Agg
backend and without metadata (no software version, no date), so the same runs give
byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from memmapsim.simulate import RunResult

COLOURS = {
    "struct page init": "#4878d0",
    "pgmap pass": "#ee854a",
    "poison": "#d65f5f",
    "section add": "#6acc64",
    "lock wait": "#c8c8c8",
}


def timeline(runs: list[RunResult], path: Path) -> None:
    fig, axes = plt.subplots(
        len(runs), 1, sharex=True, figsize=(11, 1.2 + 1.3 * len(runs)), squeeze=False
    )
    end = max(r.timing.total_s for r in runs if r.timing is not None)
    for ax, r in zip(axes[:, 0], runs, strict=True):
        cpus = sorted({iv.cpu for iv in r.intervals})
        row = {cpu: i for i, cpu in enumerate(cpus)}
        for iv in r.intervals:
            y = row[iv.cpu]
            start, width = iv.start * 1e-9, iv.duration * 1e-9
            if iv.kind == "lock wait":
                ax.broken_barh([(start, width)], (y - 0.08, 0.16), color=COLOURS[iv.kind])
                continue
            ax.broken_barh(
                [(start, width)],
                (y - 0.35, 0.7),
                facecolor=COLOURS.get(iv.kind, "#999999"),
                edgecolor="black" if iv.locked else "none",
                hatch="///" if iv.locked else None,
                linewidth=0.6,
            )
        labels = []
        for cpu in cpus:
            threads = sorted({iv.thread for iv in r.intervals if iv.cpu == cpu})
            node = next(iv.node for iv in r.intervals if iv.cpu == cpu)
            labels.append(f"cpu{cpu} (node {node}): {', '.join(threads)}")
        ax.set_yticks(range(len(cpus)), labels, fontsize=7)
        ax.set_ylim(-0.7, len(cpus) - 0.3)
        ax.invert_yaxis()
        t = r.timing
        assert t is not None
        ax.set_title(
            f"{r.kernel.name}: {t.total_s:.1f} s, mem_hotplug_lock held {t.lock_hold_s:.1f} s",
            fontsize=9,
            loc="left",
        )
        ax.grid(axis="x", linewidth=0.3)
    axes[-1, 0].set_xlim(0, end * 1.02)
    axes[-1, 0].set_xlabel("seconds since the probes started")
    handles = [Patch(facecolor=c, label=k) for k, c in COLOURS.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="under lock"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    fig.suptitle(f"{runs[0].scenario.name}: struct page initialization", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
