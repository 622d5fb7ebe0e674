"""Timeline plots: one panel per kernel on one time axis, one row per CPU that worked.

Bars are coloured by kind of work; work done while holding ``mem_hotplug_lock`` is
hatched, and lock waits are drawn as thin grey bars. When a panel would need more rows
than stay readable (:data:`MAX_ROWS`), the CPUs of each node share one row, labelled with
how many threads ran there. Images (PNG, SVG or PDF) are rendered with the Agg backend
and without metadata (no software version, no date), so the same runs give
byte-identical files. Names are drawn as plain text: a ``$`` is not mathtext.
"""

from __future__ import annotations

import io
from typing import Any

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


MAX_ROWS = 12
"""Rows per panel beyond which CPUs are grouped per node."""

METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}
RC: dict[str, Any] = {"text.parse_math": False, "svg.hashsalt": "memmapsim", "svg.fonttype": "path"}


def rows(r: RunResult) -> tuple[dict[int, int], list[str]]:
    """Each CPU's row in the panel, and the row labels: one row per CPU that worked, or,
    past :data:`MAX_ROWS`, one row per node."""
    cpus = sorted({iv.cpu for iv in r.intervals})
    node_of = {iv.cpu: iv.node for iv in r.intervals}
    if len(cpus) <= MAX_ROWS:
        labels = []
        for cpu in cpus:
            threads = sorted({iv.thread for iv in r.intervals if iv.cpu == cpu})
            labels.append(f"cpu{cpu} (node {node_of[cpu]}): {', '.join(threads)}")
        return {cpu: i for i, cpu in enumerate(cpus)}, labels
    nodes = sorted(set(node_of.values()))
    labels = []
    for n in nodes:
        nthreads = len({iv.thread for iv in r.intervals if iv.node == n})
        ncpu = sum(1 for c in cpus if node_of[c] == n)
        labels.append(f"node {n}: {nthreads} threads on {ncpu} CPUs")
    return {cpu: nodes.index(node_of[cpu]) for cpu in cpus}, labels


def timeline(runs: list[RunResult], fmt: str = "png") -> bytes:
    """The timeline of ``runs`` as an image in ``fmt`` (png, svg or pdf)."""
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        return _render(runs, fmt)


def _render(runs: list[RunResult], fmt: str) -> bytes:
    nrows = [len(rows(r)[1]) for r in runs]
    height = 1.2 + sum(0.5 + 0.2 * max(n, 4) for n in nrows)
    fig, axes = plt.subplots(
        len(runs),
        1,
        sharex=True,
        figsize=(11, height),
        squeeze=False,
        gridspec_kw={"height_ratios": [max(n, 4) for n in nrows]},
    )
    end = max(r.timing.total_s for r in runs if r.timing is not None)
    for ax, r in zip(axes[:, 0], runs, strict=True):
        row, labels = rows(r)
        grouped = len(set(row.values())) < len(row)
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
                alpha=0.5 if grouped else 1.0,
            )
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_ylim(-0.7, max(len(labels), 1) - 0.3)
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
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=100, metadata=METADATA[fmt])
    finally:
        plt.close(fig)
    return buf.getvalue()
