"""A run's result as plain data (the JSON schema), shared by the JSON and text reports.

Everything here derives from the memory state's observable runs, never from a backend's
internals, so the dense and runs backends give byte-identical JSON.
"""

from __future__ import annotations

from typing import Any

from memmapsim.check.classes import ClassCensus
from memmapsim.simulate import DeviceResult, RunResult
from memmapsim.units import PAGE_SHIFT


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
    return {
        "class": c.cls.key,
        "label": c.cls.label,
        "pfns": [[_hex(lo), _hex(hi)] for lo, hi in c.cls.ranges],
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
    out["pages_initialised_locked"] = d.pages_locked
    out["pages_initialised_unlocked"] = d.pages_unlocked
    out["pages_poisoned"] = d.poisoned_pages
    out["pgmap_refs"] = {"taken": d.refs_taken, "put_at_release": d.refs_put_at_release}
    out["pfn_classes"] = [class_data(c) for c in d.census]
    return out


def run_data(r: RunResult) -> dict[str, Any]:
    k = r.kernel
    return {
        "scenario": r.scenario.name,
        "kernel": k.name,
        "release": k.release,
        "changes": list(k.changes),
        "config": {
            "debug_vm": k.config.debug_vm,
            "vm_debug": k.config.vm_debug,
            "hz": k.config.hz,
        },
        "devices": [device_data(d) for d in r.devices],
        "pgmap_refs": sum(d.refs_taken for d in r.devices),
        "dmesg": [{"level": ln.level, "text": ln.text} for ln in r.log],
        "findings": [f.as_dict() for f in r.findings],
    }
