"""``memmapsim report``: one self-contained HTML page from saved results.

The page holds everything it shows: CSS, a few lines of JavaScript and SVG charts are
inline, nothing is fetched (no fonts, scripts or images from anywhere), so it can be
mailed, archived or opened offline. Sections, each present when an input has its data:

- inputs; the scenarios (machine, devices); the kernels (release, changes with their
  commits, time, lock held, struct pages, findings);
- per-CPU timelines of each run (the timing engine's intervals, lock holds on rows of
  their own) — zoomable: mouse wheel, drag, the buttons, or ``#zoom=START,END`` (seconds)
  in the page's address for every timeline at once;
- time per node and mem_hotplug_lock held, per scenario and kernel;
- scaling curves from each sweep (total time and lock held against every numeric axis,
  one curve per kernel or other text axis, the other axes at their first value);
- the validation table, the invariant findings, the simulated kernel logs.

The charts are drawn here, in Python, as SVG, so the page reads and prints without
JavaScript; the script only re-draws a timeline when it is zoomed. The same inputs give
the same bytes (no date, no random ids).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from importlib import resources
from typing import Any

from memmapsim import __version__
from memmapsim.kernel.versions import CHAIN, CHANGES, RELEASES
from memmapsim.report.inputs import Inputs, Run, RunInput, Timeline, Validation
from memmapsim.report.sweepfile import SweepFile
from memmapsim.units import format_size

KIND_COLOURS = {
    "struct page init": "#4878d0",
    "pgmap pass": "#ee854a",
    "poison": "#d65f5f",
    "section add": "#6acc64",
    "lock wait": "#c8c8c8",
}
OTHER_COLOUR = "#999999"
SERIES = ("#4878d0", "#ee854a", "#6acc64", "#d65f5f", "#956cb4", "#8c613c", "#dc7ec0",
          "#797979", "#d5bb67", "#82c6e2")  # fmt: skip
MAX_CPU_ROWS = 32
"""CPU rows per timeline beyond which the CPUs of a node share one row."""
MAX_SERIES = len(SERIES)
MAX_LOG_LINES = 2000


def e(text: object) -> str:
    return escape(str(text), quote=True)


def fmt_s(v: float | None) -> str:
    """Seconds in the unit that reads best: ``2.94 ms``, ``163.79 s``."""
    if v is None:
        return "-"
    a = abs(v)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{v * 1e6:.2f} µs"
    if a < 1:
        return f"{v * 1e3:.2f} ms"
    return f"{v:.2f} s"


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (none for a range that is not
    finite)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, t = [], first
    while t <= hi + step * 1e-9:
        out.append(round(t, 12))
        t += step
    return out


# --- the page ------------------------------------------------------------------------------


ASSETS = "memmapsim.report.assets"


def asset(name: str) -> str:
    """The page's stylesheet or script, inlined into it (report/assets/)."""
    return (resources.files(ASSETS) / name).read_text(encoding="utf-8")


def render(inputs: Inputs, title: str = "memmapsim report") -> str:
    """The page for ``inputs``."""
    sections: list[tuple[str, str, str]] = []  # (id, heading, body)

    def add(sid: str, heading: str, body: str) -> None:
        if body:
            sections.append((sid, heading, body))

    runs = inputs.runs
    add("inputs", "Inputs", _inputs(inputs))
    add("scenarios", "Scenarios", _scenarios(runs))
    add("kernels", "Kernels", _kernels(runs))
    add("timelines", "Per-CPU timelines", _timelines(runs))
    add("nodes", "Time per node", _node_bars(runs))
    add("locks", "mem_hotplug_lock", _locks(runs))
    add("sweeps", "Scaling", "".join(_sweep(sw) for sw in inputs.sweeps))
    add("validation", "Validation", "".join(_validation(src, v) for src, v in inputs.validations))
    add("findings", "Findings", _findings(runs))
    add("logs", "Simulated kernel logs", _logs(runs))
    nav = "".join(f'<a href="#{sid}">{e(h)}</a>' for sid, h, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{e(h)}</h2>{b}</section>' for sid, h, b in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{asset('report.css')}</style></head>"
        f"<body><main><h1>{e(title)}</h1>"
        f'<p class="sub">memmapsim {e(__version__)}: struct page (memmap) initialization, '
        "simulated</p>"
        f"<nav>{nav}</nav>{body}"
        f"<footer>Made by <code>memmapsim report</code> from the files listed under "
        "Inputs. Timelines zoom with the mouse wheel, by dragging, with their buttons, "
        "or with <code>#zoom=START,END</code> (seconds) after the page's address.</footer>"
        f"</main><script>{asset('report.js')}</script></body></html>\n"
    )


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], numeric: set[int] | None = None,
           row_class: Callable[[int], str] | None = None) -> str:  # fmt: skip
    """A table; cells are HTML already (escape text with :func:`e`)."""
    numeric = numeric or set()
    h = "".join(f"<th>{c}</th>" for c in head)
    body = []
    for i, row in enumerate(rows):
        cls = row_class(i) if row_class else ""
        cells = "".join(
            f'<td class="n">{c}</td>' if j in numeric else f"<td>{c}</td>"
            for j, c in enumerate(row)
        )
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _inputs(inputs: Inputs) -> str:
    return _table(("file", "holds"), ((e(f), e(what)) for f, what in inputs.files))


def _run_name(r: Run) -> str:
    return f"{r.scenario} on {r.kernel}"


def _by_scenario(runs: list[RunInput]) -> dict[str, list[RunInput]]:
    out: dict[str, list[RunInput]] = {}
    for ri in runs:
        out.setdefault(ri.run.scenario, []).append(ri)
    return out


def _size(hex_text: str) -> str:
    try:
        return format_size(int(hex_text, 16))
    except ValueError:
        return hex_text


def _scenarios(runs: list[RunInput]) -> str:
    out = []
    for name, group in _by_scenario(runs).items():
        r = group[0].run
        parts = [f"<h3>{e(name)}</h3>"]
        if r.description:
            parts.append(f"<p>{e(r.description)}</p>")
        if r.machine is not None:
            m = r.machine
            if m.description:
                parts.append(f'<p class="muted">{e(m.description)}</p>')
            nrows = []
            for n in m.nodes:
                total = sum(int(s, 16) for _st, s in n.dram if _is_hex(s))
                ranges = ", ".join(f"{e(st)} +{e(_size(s))}" for st, s in n.dram)
                nrows.append((str(n.id), str(n.cpus), e(format_size(total) or "0"), ranges))
            parts.append(_table(("node", "CPUs", "DRAM", "ranges (start +size)"), nrows, {1}))
        rows = [
            (e(d.name), e(d.kind), str(d.node), e(d.start), e(_size(d.size)), e(d.memmap))
            for d in r.devices
        ]
        parts.append(_table(("device", "kind", "node", "start", "size", "memmap"), rows))
        out.append("".join(parts))
    return "".join(out)


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def _kernels(runs: list[RunInput]) -> str:
    if not runs:
        return ""
    rows = []
    for ri in runs:
        r = ri.run
        first = _by_scenario(runs)[r.scenario][0].run
        ratio = ""
        if r.total_s is not None and first.total_s and r is not first:
            ratio = f" ({r.total_s / first.total_s:.2f}x)"
        pages = sum(d.pages_initialised for d in r.devices)
        rows.append(
            (
                e(r.scenario),
                f"<b>{e(r.kernel)}</b>",
                e(r.cost_profile or "-"),
                e(fmt_s(r.total_s)) + e(ratio),
                e(fmt_s(r.lock_hold_s)),
                f"{pages:,}",
                str(len(r.findings)),
            )
        )
    table = _table(
        ("scenario", "kernel", "cost profile", "total", "lock held", "struct pages", "findings"),
        rows,
        {3, 4, 5, 6},
    )
    kernels: dict[str, Run] = {}
    for ri in runs:
        kernels.setdefault(ri.run.kernel, ri.run)
    crow = []
    for kernel, r in kernels.items():
        new = next((rel.changes for rel in CHAIN if rel.name == r.release), ())
        added = [n for n in r.changes if n not in RELEASES.get(r.release, ())]
        crow.append(
            (
                f"<b>{e(kernel)}</b>",
                e(r.release),
                "<br>".join(_change(n) for n in new) or "-",
                "<br>".join(_change(n) for n in added) or "-",
            )
        )
    return (
        table
        + "<h3>What each kernel is</h3>"
        + '<p class="muted">A release is the one before it plus the changes merged for it; '
        "a kernel is a release plus changes named after it (<code>memmapsim kernels</code> "
        "lists them all).</p>"
        + _table(("kernel", "release", "new in the release", "added to it"), crow)
    )


def _change(name: str) -> str:
    c = CHANGES.get(name)
    if c is None:
        return f"{e(name)} <span class='muted'>(a change file)</span>"
    commit = f" <code>{e(c.commit)}</code>" if c.commit else ""
    return f"{e(name)}{commit}: {e(c.subject)}"


# --- timelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    row_of: dict[int, int]
    labels: list[str]


def _cpu_rows(r: Run) -> _Rows:
    assert r.timeline is not None
    ivs = r.timeline.intervals
    cpus = sorted({iv.cpu for iv in ivs})
    node_of = {iv.cpu: iv.node for iv in ivs}
    if len(cpus) <= MAX_CPU_ROWS:
        labels = []
        for cpu in cpus:
            threads = list(dict.fromkeys(iv.thread for iv in ivs if iv.cpu == cpu))
            labels.append(f"cpu{cpu} (node {node_of[cpu]}): {', '.join(threads)}")
        return _Rows({c: i for i, c in enumerate(cpus)}, labels)
    nodes = sorted(set(node_of.values()))
    labels = []
    for n in nodes:  # one row per node
        nthreads = len({iv.thread for iv in ivs if iv.node == n})
        ncpus = sum(node_of[c] == n for c in cpus)
        labels.append(f"node {n}: {nthreads} threads on {ncpus} CPUs")
    return _Rows({c: nodes.index(node_of[c]) for c in cpus}, labels)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _timeline_svg(r: Run, uid: str) -> str:
    assert r.timeline is not None
    tl = r.timeline
    rows = _cpu_rows(r)
    end = max([iv.end_s for iv in tl.intervals] + [h.end_s for h in tl.lock_holds] + [1e-9])
    if r.total_s:
        end = max(end, r.total_s)
    locks = _shown_locks(tl, end)
    holds = [h for h in tl.lock_holds if h.lock in locks]
    labels = rows.labels + [f"{lock} held" for lock in locks]
    left, width, rh, top = 250, 720, 20, 8
    height = top + rh * len(labels) + 30
    bottom = top + rh * len(labels)

    def x(t: float) -> float:
        return left + t / end * width

    out = [
        f'<svg viewBox="0 0 {left + width + 14} {height}" width="{left + width + 14}" '
        f'height="{height}" role="img" data-left="{left}" data-plot-width="{width}" '
        f'data-end="{end!r}" data-top="{top}" data-bottom="{bottom}">',
        f"<title>{e(_run_name(r))}: per-CPU timeline</title>",
        f'<defs><clipPath id="clip-{uid}"><rect x="{left}" y="0" width="{width}" '
        f'height="{height}"/></clipPath>'
        f'<pattern id="hatch-{uid}" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="5" height="5" fill="none"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#000" stroke-width="1.2" '
        'stroke-opacity="0.55"/></pattern></defs>',
    ]
    for i, label in enumerate(labels):
        y = top + rh * i
        shade = "#f7f7f9" if i % 2 == 0 else "#ffffff"
        out.append(f'<rect x="{left}" y="{y}" width="{width}" height="{rh}" fill="{shade}"/>')
        out.append(
            f'<text x="{left - 6}" y="{y + rh / 2 + 4:.1f}" text-anchor="end">'
            f"<title>{e(label)}</title>{e(_cut(label, 40))}</text>"
        )
    out.append(f'<g class="ticks axis">{_ticks_svg(end, x, top, bottom)}</g>')
    out.append(f'<g clip-path="url(#clip-{uid})">')
    for iv in tl.intervals:
        y = top + rh * rows.row_of[iv.cpu]
        tip = (
            f"{iv.thread} on cpu{iv.cpu}: {iv.kind}"
            + (f" ({iv.detail})" if iv.detail else "")
            + f", {fmt_s(iv.start_s)} – {fmt_s(iv.end_s)} ({fmt_s(iv.end_s - iv.start_s)})"
            + (", under mem_hotplug_lock" if iv.locked else "")
        )
        w = max((iv.end_s - iv.start_s) / end * width, 0.6)
        attrs = (
            f'data-s="{iv.start_s!r}" data-e="{iv.end_s!r}" x="{x(iv.start_s):.2f}" width="{w:.2f}"'
        )
        if iv.kind == "lock wait":
            out.append(
                f'<rect {attrs} y="{y + rh / 2 - 2}" height="4" '
                f'fill="{KIND_COLOURS["lock wait"]}"><title>{e(tip)}</title></rect>'
            )
            continue
        colour = KIND_COLOURS.get(iv.kind, OTHER_COLOUR)
        out.append(
            f'<rect {attrs} y="{y + 3}" height="{rh - 6}" fill="{colour}">'
            f"<title>{e(tip)}</title></rect>"
        )
        if iv.locked:
            out.append(
                f'<rect {attrs} y="{y + 3}" height="{rh - 6}" fill="url(#hatch-{uid})" '
                'pointer-events="none"/>'
            )
    for h in holds:
        y = top + rh * (len(rows.labels) + locks.index(h.lock))
        w = max((h.end_s - h.start_s) / end * width, 0.6)
        tip = f"{h.lock} held by {h.thread}: {fmt_s(h.start_s)} – {fmt_s(h.end_s)}"
        out.append(
            f'<rect data-s="{h.start_s!r}" data-e="{h.end_s!r}" x="{x(h.start_s):.2f}" '
            f'width="{w:.2f}" y="{y + 4}" height="{rh - 8}" fill="#444">'
            f"<title>{e(tip)}</title></rect>"
        )
    out.append("</g>")
    out.append(
        f'<rect class="frame" x="{left}" y="{top}" width="{width}" height="{bottom - top}"/>'
    )
    out.append("</svg>")
    return "".join(out)


MAIN_LOCK = "mem_hotplug_lock"
LOCK_SHARE = 0.01
"""Locks other than mem_hotplug_lock get a row when held this share of the run or more."""


def _shown_locks(tl: Timeline, end: float) -> list[str]:
    held: dict[str, float] = {}
    for h in tl.lock_holds:
        held[h.lock] = held.get(h.lock, 0.0) + h.end_s - h.start_s
    return [k for k, v in held.items() if k == MAIN_LOCK or v >= LOCK_SHARE * end]


def _ticks_svg(end: float, x: Callable[[float], float], top: float, bottom: float) -> str:
    out = []
    for t in nice_ticks(0, end):
        X = f"{x(t):.2f}"
        out.append(f'<line x1="{X}" x2="{X}" y1="{top}" y2="{bottom}"/>')
        out.append(f'<text x="{X}" y="{bottom + 14}" text-anchor="middle">{e(fmt_s(t))}</text>')
    return "".join(out)


def _svg_open(width: float, height: float) -> str:
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'


def _legend(items: Iterable[tuple[str, str]], hatch: bool = False) -> str:
    spans = "".join(f'<span style="--c:{c}">{e(k)}</span>' for k, c in items)
    if hatch:
        spans += '<span class="hatch">under mem_hotplug_lock</span>'
    return f'<div class="legend">{spans}</div>'


def _timelines(runs: list[RunInput]) -> str:
    out = []
    missing = [ri.run for ri in runs if ri.run.timeline is None]
    for i, ri in enumerate(runs):
        r = ri.run
        if r.timeline is None:
            continue
        svg = _timeline_svg(r, f"t{i}")
        cap = f"{e(_run_name(r))}: {e(fmt_s(r.total_s))}"
        if r.lock_hold_s is not None:
            cap += f", mem_hotplug_lock held {e(fmt_s(r.lock_hold_s))}"
        out.append(
            f'<figure class="timeline"><figcaption><b>{cap}</b></figcaption>'
            '<div class="controls"><button type="button" class="in">zoom in</button>'
            '<button type="button" class="out">zoom out</button>'
            '<button type="button" class="reset">whole run</button>'
            '<span class="range"></span></div>'
            f"{svg}</figure>"
        )
    if not out and not missing:
        return ""
    body = _legend(KIND_COLOURS.items(), hatch=True) + "".join(out)
    if missing:
        names = ", ".join(_run_name(r) for r in missing)
        body += (
            f'<p class="muted">No timeline in the input for {e(names)} (an in-order run, or '
            "a file from before timelines were saved): run it again with --json or --save.</p>"
        )
    return body


# --- bars ------------------------------------------------------------------------------------


def _hbars(
    groups: list[tuple[str, list[tuple[str, list[tuple[float, str, str]]]]]], unit_end: float
) -> str:
    """Horizontal stacked bars: groups of (label, [(value, colour, tip), ...]) rows."""
    left, width, rh, top = 250, 620, 16, 6
    nrows = sum(len(rows) for _g, rows in groups) + len(groups)
    bottom = top + rh * nrows
    height = bottom + 28
    end = unit_end or 1e-9

    def x(v: float) -> float:
        return left + v / end * width

    out = [_svg_open(left + width + 40, height)]
    out.append(f'<g class="grid">{_ticks_svg(end, x, top, bottom)}</g>')
    y = top
    for glabel, rows in groups:
        out.append(f'<text x="4" y="{y + rh - 4}" font-weight="600">{e(glabel)}</text>')
        y += rh
        for label, parts in rows:
            tx = f'x="{left - 6}" y="{y + rh - 4}" text-anchor="end"'
            out.append(f"<text {tx}>{e(_cut(label, 38))}</text>")
            at = 0.0
            for v, colour, tip in parts:
                if v <= 0:
                    continue
                out.append(
                    f'<rect x="{x(at):.2f}" y="{y + 2}" width="{max(v / end * width, 0.6):.2f}" '
                    f'height="{rh - 4}" fill="{colour}"><title>{e(tip)}</title></rect>'
                )
                at += v
            total = sum(v for v, _c, _t in parts)
            out.append(f'<text x="{x(at) + 4:.2f}" y="{y + rh - 4}">{e(fmt_s(total))}</text>')
            y += rh
    out.append("</svg>")
    return "".join(out)


def _node_bars(runs: list[RunInput]) -> str:
    out = []
    for name, group in _by_scenario(runs).items():
        timed = [ri.run for ri in group if ri.run.nodes]
        if not timed:
            continue
        colours = {r.kernel: SERIES[i % len(SERIES)] for i, r in enumerate(timed)}
        node_ids = sorted({n.node for r in timed for n in r.nodes or []})
        groups = []
        end = 0.0
        for nid in node_ids:
            rows = []
            for r in timed:
                span = next((n for n in r.nodes or [] if n.node == nid), None)
                if span is None:
                    continue
                rows.append(
                    (
                        r.kernel,
                        [
                            (
                                span.init_s,
                                colours[r.kernel],
                                f"node {nid} on {r.kernel}: init {fmt_s(span.init_s)}",
                            ),
                            (
                                span.lock_wait_s,
                                KIND_COLOURS["lock wait"],
                                f"waiting for locks {fmt_s(span.lock_wait_s)}",
                            ),
                        ],
                    )
                )
                end = max(end, span.init_s + span.lock_wait_s)
            groups.append((f"node {nid}", rows))
        legend = _legend([*colours.items(), ("lock wait", KIND_COLOURS["lock wait"])])
        out.append(
            f"<figure><figcaption><b>{e(name)}</b>: per node, the time its devices' threads "
            "spent initialising struct pages, then waiting for locks</figcaption>"
            f"{legend}{_hbars(groups, end * 1.15)}</figure>"
        )
    return "".join(out)


def _locks(runs: list[RunInput]) -> str:
    out = []
    for name, group in _by_scenario(runs).items():
        timed = [ri.run for ri in group if ri.run.total_s is not None]
        if not timed:
            continue
        rows = []
        end = 0.0
        for r in timed:
            assert r.total_s is not None and r.lock_hold_s is not None
            rows.append(
                (
                    f"{r.kernel}: total",
                    [(r.total_s, "#b9c6e8", f"{r.kernel}: total {fmt_s(r.total_s)}")],
                )
            )
            rows.append(
                (
                    f"{r.kernel}: lock held",
                    [
                        (
                            r.lock_hold_s,
                            "#444444",
                            f"{r.kernel}: mem_hotplug_lock held {fmt_s(r.lock_hold_s)}",
                        )
                    ],
                )
            )
            end = max(end, r.total_s)
        out.append(
            f"<figure><figcaption><b>{e(name)}</b>: the whole run and the time "
            "mem_hotplug_lock was held (summed over holds)</figcaption>"
            f"{_hbars([('', rows)], end * 1.15)}</figure>"
        )
    return "".join(out)


# --- sweeps ----------------------------------------------------------------------------------

NUMERIC = ("int64", "float64")


def _axis_label(name: str, v: Any) -> str:
    if name in ("dram_per_node", "device_memory_per_node") and isinstance(v, int):
        return format_size(v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _sweep(sw: SweepFile) -> str:
    meta = sw.meta
    rows = sw.rows()
    axes = sw.axes
    ok = [r for r in rows if r.get("error") is None and _finite(r.get("total_s"))]
    parts = [f"<h3>sweep {e(meta['name'])}</h3>"]
    if meta.get("description"):
        parts.append(f"<p>{e(meta['description'])}</p>")
    refused = len(rows) - len(ok)
    parts.append(
        f'<p class="muted">{e(sw.path)}: base scenario {e(meta["base"])}, '
        f"{len(rows):,} of {int(meta.get('points', len(rows))):,} points"
        + (f", {refused:,} refused by the kernel" if refused else "")
        + "</p>"
    )
    parts.append(
        _table(
            ("axis", "values"),
            (
                (e(a["name"]), e(", ".join(_axis_label(a["name"], v) for v in a["values"])))
                for a in axes
            ),
        )
    )
    numeric = [a for a in axes if a["kind"] in NUMERIC and len(a["values"]) > 1]
    text_axes = [a for a in axes if a["kind"] not in NUMERIC and len(a["values"]) > 1]
    charts = []
    for a in numeric:
        for metric, what in (("total_s", "total time"), ("lock_hold_s", "mem_hotplug_lock held")):
            charts.append(
                _scaling_chart(a, [b for b in numeric if b is not a], text_axes, ok, metric, what)
            )
    if charts:
        parts.append('<div class="charts">' + "".join(charts) + "</div>")
    elif ok:
        parts.append(_sweep_table(axes, ok))
    return "".join(parts)


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _sweep_table(axes: list[dict[str, Any]], rows: list[dict[str, Any]]) -> str:
    names = [a["name"] for a in axes]
    shown = rows[:200]
    body = [
        [e(_axis_label(n, r.get(n))) for n in names]
        + [e(fmt_s(r["total_s"])), e(fmt_s(r["lock_hold_s"]))]
        for r in shown
    ]
    note = (
        f'<p class="muted">the first {len(shown)} of {len(rows)} points</p>'
        if len(rows) > len(shown)
        else ""
    )
    return _table([*map(e, names), "total", "lock held"], body, {len(names), len(names) + 1}) + note


def _scaling_chart(
    axis: dict[str, Any],
    others: list[dict[str, Any]],
    text_axes: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    metric: str,
    what: str,
) -> str:
    name = axis["name"]
    fixed = {b["name"]: b["values"][0] for b in others}
    mine = [r for r in rows if all(r.get(k) == v for k, v in fixed.items())]
    series: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    for r in mine:
        if not (_finite(r.get(name)) and _finite(r.get(metric))):
            continue
        key = tuple(r.get(t["name"]) for t in text_axes)
        series.setdefault(key, []).append((float(r[name]), float(r[metric])))
    keys = list(series)[:MAX_SERIES]
    xs = sorted({float(v) for v in axis["values"]} | {a for k in keys for a, _y in series[k]})
    log = xs[0] > 0 and xs[-1] / xs[0] >= 100
    ymax = max([y for k in keys for _x, y in series[k]] + [1e-12])
    left, width, top, height = 70, 400, 10, 220
    bottom = top + height

    def fx(v: float) -> float:
        if xs[-1] == xs[0]:
            return left + width / 2
        if log:
            return (
                left
                + (math.log(v) - math.log(xs[0])) / (math.log(xs[-1]) - math.log(xs[0])) * width
            )
        return left + (v - xs[0]) / (xs[-1] - xs[0]) * width

    def fy(v: float) -> float:
        return bottom - v / (ymax * 1.08) * height

    out = [_svg_open(left + width + 20, bottom + 44)]
    out.append('<g class="grid">')
    for t in nice_ticks(0, ymax * 1.08, 5):
        Y = f"{fy(t):.2f}"
        out.append(f'<line x1="{left}" x2="{left + width}" y1="{Y}" y2="{Y}"/>')
        out.append(
            f'<text x="{left - 5}" y="{float(Y) + 4:.2f}" text-anchor="end">{e(fmt_s(t))}</text>'
        )
    last = -math.inf
    for v in xs:
        X = f"{fx(v):.2f}"
        out.append(f'<line x1="{X}" x2="{X}" y1="{top}" y2="{bottom}"/>')
        if fx(v) - last < 34:  # no label over the one before
            continue
        last = fx(v)
        label = _axis_label(name, int(v) if axis["kind"] == "int64" else v)
        out.append(f'<text x="{X}" y="{bottom + 14}" text-anchor="middle">{e(label)}</text>')
    out.append("</g>")
    out.append(f'<rect class="frame" x="{left}" y="{top}" width="{width}" height="{height}"/>')
    scale = " (log scale)" if log else ""
    tx = f'x="{left + width / 2}" y="{bottom + 34}" text-anchor="middle"'
    out.append(f"<text {tx}>{e(name)}{scale}</text>")
    legend = []
    for i, k in enumerate(keys):
        colour = SERIES[i % len(SERIES)]
        pts = sorted(series[k])
        label = (
            ", ".join(
                f"{t['name']}={_axis_label(t['name'], v)}"
                for t, v in zip(text_axes, k, strict=True)
            )
            or what
        )
        path = " ".join(f"{fx(a):.2f},{fy(b):.2f}" for a, b in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        for a, b in pts:
            at = _axis_label(name, int(a) if axis["kind"] == "int64" else a)
            tip = f"{label}, {name}={at}: {fmt_s(b)}"
            dot = f'cx="{fx(a):.2f}" cy="{fy(b):.2f}" r="2.8" fill="{colour}"'
            out.append(f"<circle {dot}><title>{e(tip)}</title></circle>")
        legend.append((label, colour))
    out.append("</svg>")
    held = ", ".join(f"{k}={_axis_label(k, v)}" for k, v in fixed.items())
    cap = f"<b>{e(what)}</b> against {e(name)}" + (f"; {e(held)}" if held else "")
    more = len(series) - len(keys)
    note = f'<p class="muted">{more} more curves not drawn</p>' if more > 0 else ""
    return f"<figure><figcaption>{cap}</figcaption>{_legend(legend)}{''.join(out)}{note}</figure>"


# --- validation, findings, logs ------------------------------------------------------------


def _validation(source: str, v: Validation) -> str:
    s = v.summary
    head = (
        f"<h3>cost profile {e(v.profile)}</h3>"
        f'<p class="muted">{e(source)}: {s.get("covered", len(v.figures))} covered figures: '
        f"{s.get('predicted', 0)} predicted, {s.get('restated', 0)} restated, "
        f"{s.get('fitted', 0)} fitted; {s.get('known_misses', 0)} known misses</p>"
    )
    rows = []
    for f in v.figures:
        lo, hi = (f.published[0], f.published[-1]) if f.published else (0.0, 0.0)
        pub = f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
        tol = "–".join(f"{t:g}" for t in f.tolerance)
        status = f'<span class="{"ok" if f.ok else "bad"}">{e(f.status)}</span>'
        rows.append(
            (
                e(f.id),
                e(f.kind),
                e(f.restates or "-"),
                f"{e(pub)} {e(f.unit)}",
                f"{f.model:.1f} {e(f.unit)}",
                f"{f.error:+.1%}",
                f"{e(tol)} {e(f.unit)}",
                status,
            )
        )
    table = _table(
        ("figure", "kind", "restates", "published", "model", "error", "tolerance", "status"),
        rows,
        {4, 5},
        lambda i: "" if v.figures[i].ok else "bad",
    )
    nc = _table(("not covered", "reason"), ((e(n.id), e(n.reason)) for n in v.not_covered))
    return head + table + nc


def _findings(runs: list[RunInput]) -> str:
    out = []
    for ri in runs:
        r = ri.run
        if not r.findings:
            out.append(f"<h3>{e(_run_name(r))}</h3><p class='muted'>no findings</p>")
            continue
        rows = [
            (
                e(f.invariant),
                e(f.device),
                f"{f.pages:,}",
                e(_pfns(f.pfns, f.ranges)),
                e(f.message),
            )
            for f in r.findings
        ]
        out.append(
            f"<h3>{e(_run_name(r))}</h3>"
            + _table(("invariant", "device", "pages", "pfns", "what"), rows, {2})
        )
    return "".join(out)


def _pfns(pfns: list[tuple[str, str]], ranges: int) -> str:
    shown = ", ".join("-".join(p[:2]) for p in pfns)
    more = ranges - len(pfns)
    return shown + (f" (+{more} more ranges)" if more > 0 else "")


def _logs(runs: list[RunInput]) -> str:
    out = []
    for ri in runs:
        r = ri.run
        lines = r.dmesg[:MAX_LOG_LINES]
        cut = len(r.dmesg) - len(lines)
        text = "\n".join(lines) + (f"\n... {cut} more lines" if cut else "")
        if not r.dmesg:
            text = "(no lines: this kernel printed nothing)"
        out.append(
            f"<details open><summary>{e(_run_name(r))} ({len(r.dmesg)} lines)</summary>"
            f'<pre class="log">{e(text)}</pre></details>'
        )
    return "".join(out)
