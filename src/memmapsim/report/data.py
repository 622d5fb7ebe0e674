"""A run's result as plain data (the JSON schema), shared by the JSON and text reports.

Everything here derives from the memory state's observable runs, never from a backend's
internals, so the dense and runs backends give byte-identical JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memmapsim.check.classes import ClassCensus
from memmapsim.engine.trace import Span, TimingSummary, dmesg_line
from memmapsim.simulate import BootResult, DeviceResult, RunResult
from memmapsim.units import PAGE_SHIFT

if TYPE_CHECKING:
    from memmapsim.engine.timing import Interval


def _hex(v: int) -> str:
    return f"{v:#x}"


def class_data(c: ClassCensus) -> dict[str, Any]:
    histories = [
        {
            "pages": pages,
            "init_passes": len(hist),
            "passes": [{"by": p.by, "thread": p.who, "locked": p.locked} for p in hist],
        }
        for hist, pages in c.histories
    ]
    out: dict[str, Any] = {
        "class": c.cls.key,
        "label": c.cls.label,
        "pfns": [[_hex(lo), _hex(hi)] for lo, hi in c.cls.ranges],
    }
    if c.cls.period:
        # the pfns of those ranges at these offsets of every compound page
        out["compound_pages_of"] = c.cls.period
        out["offsets"] = list(c.cls.window)
    return out | {
        "pages": c.cls.pages,
        "init_passes": max(len(hist) for hist, _pages in c.histories),
        "uniform": c.uniform,
        "histories": histories,
    }


def device_data(d: DeviceResult) -> dict[str, Any]:
    ns = d.ns
    out: dict[str, Any] = {
        "name": ns.label,
        "kind": ns.kind,
        "node": ns.nid,
        "dev_name": ns.device.name,
        "start": _hex(ns.start),
        "size": _hex(ns.size),
        "memmap": ns.memmap,
    }
    pg = d.pgmap
    if pg is not None:
        cfg = pg.cfg
        out["res"] = [_hex(cfg.res_start), _hex(cfg.res_end)]
        out["pfns"] = [_hex(cfg.res_start >> PAGE_SHIFT), _hex(cfg.pfn_end())]
        if pg.altmap is not None:
            a = pg.altmap
            out["altmap"] = {
                "base_pfn": _hex(a.cfg.base_pfn),
                "reserve": a.cfg.reserve,
                "free": a.cfg.free,
                "alloc": a.alloc,
                "align": a.align,
            }
    out["present"] = d.present
    if d.memory_blocks is not None:
        out["memory_blocks"] = dict(sorted(d.memory_blocks.items()))
    out["pages_initialised"] = d.pages_initialised
    out["struct_pages_written"] = d.struct_pages_written
    out["pages_initialised_locked"] = d.pages_locked
    out["pages_initialised_unlocked"] = d.pages_unlocked
    out["pages_poisoned"] = d.poisoned_pages
    out["memmap_bytes"] = dict(d.memmap_bytes)
    out["log_pages"] = d.log_pages
    out["pgmap_refs"] = {"taken": d.refs_taken, "put_at_release": d.refs_put_at_release}
    if d.removed:
        out["pgmap_refs"]["put"] = d.refs_put
    out["pfn_classes"] = [class_data(c) for c in d.census]
    return out


def _s(v: float) -> float:
    """Seconds, rounded to the microsecond (the JSON stays byte-stable)."""
    return round(v, 6)


def span_data(sp: Span) -> dict[str, Any]:
    return {
        "node": sp.node,
        "init_s": _s(sp.init_s),
        "lock_wait_s": _s(sp.lock_wait_s),
        "lock_hold_s": _s(sp.lock_hold_s),
        "start_s": _s(sp.start_s),
        "finish_s": _s(sp.finish_s),
    }


def timing_data(t: TimingSummary) -> dict[str, Any]:
    return {
        "total_s": _s(t.total_s),
        "lock_hold_s": _s(t.lock_hold_s),
        "nodes": [span_data(n) for n in t.nodes],
    }


def machine_data(r: RunResult) -> dict[str, Any]:
    """The scenario's machine: its nodes with their CPUs and DRAM ranges."""
    m = r.scenario.machine
    return {
        "description": m.description,
        "five_level_paging": m.five_level_paging,
        "nodes": [
            {
                "id": n.id,
                "cpus": n.cpus,
                "dram": [[_hex(d.start), _hex(d.size)] for d in n.dram],
            }
            for n in m.nodes
        ],
    }


def interval_data(iv: Interval, where: bool = False) -> dict[str, Any]:
    """One interval of the timing engine, in seconds to the nanosecond; with ``where``, the
    pfns it wrote and the node of their memmap too (``trace --engine timing --json``)."""
    out: dict[str, Any] = {
        "thread": iv.thread,
        "cpu": iv.cpu,
        "node": iv.node,
        "kind": iv.kind,
        "detail": iv.detail,
        "start_s": round(iv.start * 1e-9, 9),
        "end_s": round(iv.end * 1e-9, 9),
    }
    if where:
        out["pfns"] = [f"{iv.pfns[0]:#x}", f"{iv.pfns[1]:#x}"] if iv.pfns else None
        out["mem_node"] = iv.mem_node
    out["locked"] = iv.locked
    return out


def timeline_data(r: RunResult) -> dict[str, Any]:
    """The timing engine's intervals (work or lock wait, per thread and CPU) and lock
    holds, in seconds to the nanosecond: what ``memmapsim report`` draws as per-CPU
    timelines. The fields of ``trace --engine timing --json`` less the pfns written."""
    return {
        "intervals": [
            interval_data(iv)
            for iv in sorted(r.intervals, key=lambda i: (i.start, i.thread, i.cpu))
        ],
        "lock_holds": [
            {
                "lock": h.lock,
                "thread": h.thread,
                "start_s": round(h.start * 1e-9, 9),
                "end_s": round(h.end * 1e-9, 9),
            }
            for h in sorted(r.holds, key=lambda h: (h.start, h.thread))
        ],
    }


def dmesg_lines(r: RunResult) -> list[str]:
    """The run's printk lines with simulated timestamps, as the kernel's log shows them."""
    off = r.scenario.knobs.probe_start_s
    return [dmesg_line(ln.time_ns, ln.text, off) for ln in r.log]


def boot_data(b: BootResult, timed: bool) -> dict[str, Any]:
    """The boot: per node where deferred init began, the struct pages it initialised and the
    node's line; with the timing engine, when each node's deferred init ran (from the start of
    deferred init), and ``total_s`` from its start to the end of the last node's."""
    nodes = []
    for n in b.nodes:
        node: dict[str, Any] = {
            "node": n.nid,
            "first_deferred_pfn": _hex(n.first_deferred_pfn)
            if n.first_deferred_pfn is not None
            else None,
            "deferred_pages": n.pages,
            "log_pages": n.log_pages,
            "threads": len(n.threads),
            "line": n.line,
        }
        if timed:
            node |= {
                "init_s": _s(n.init_s or 0.0),
                "work_s": _s(n.work_s or 0.0),
                "start_s": _s(n.start_s or 0.0),
                "finish_s": _s(n.finish_s or 0.0),
            }
        nodes.append(node)
    out: dict[str, Any] = {}
    if timed:
        out["total_s"] = _s(b.total_s or 0.0)
        out["deferred_start_s"] = _s(b.deferred_start_s or 0.0)
    out["nodes"] = nodes
    return out


def run_data(r: RunResult) -> dict[str, Any]:
    k = r.kernel
    out: dict[str, Any] = {
        "scenario": r.scenario.name,
        "description": r.scenario.description,
        "machine": machine_data(r),
        "kernel": k.name,
        "release": k.release,
        "changes": list(k.changes),
        "config": {
            "debug_vm": k.config.debug_vm,
            "vm_debug": k.config.vm_debug,
            "hz": k.config.hz,
        },
        **({"boot": boot_data(r.boot, r.timing is not None)} if r.boot is not None else {}),
        "devices": [device_data(d) for d in r.devices],
        "pgmap_refs": sum(d.refs_taken for d in r.devices),
        "findings": [f.as_dict() for f in r.findings],
    }
    if r.timing is not None:
        out |= timing_data(r.timing)
        assert r.profile is not None
        out["cost_profile"] = r.profile.name
        for dev, span in zip(out["devices"], r.timing.devices, strict=True):
            dev["cpu"] = r.cpus[span.name]
            dev |= {key: v for key, v in span_data(span).items() if key != "node"}
        out["dmesg"] = dmesg_lines(r)
        out["timeline"] = timeline_data(r)
    else:
        out["dmesg"] = [ln.text for ln in r.log]
    return out
