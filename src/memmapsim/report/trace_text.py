"""The traces, for people and machines.

- in-order engine: every effect in program order, with the thread and the locks it held;
- timing engine: every interval of work or lock wait (thread, CPU, node, kind, time, pfn
  range, memory node, whether mem_hotplug_lock was held), and every lock hold.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import Any

from memmapsim import effects as fx
from memmapsim.report.data import interval_data
from memmapsim.simulate import RunResult

_HEX_FIELDS = {"pfn", "lo", "hi", "start", "size", "start_pfn", "nr_pages", "res_start", "res_end"}


def describe_effect(e: fx.Effect) -> str:
    """``Name field=value ...`` with pfns and addresses in hex, page work by function."""
    parts = [type(e).__name__]
    for name in e.__struct_fields__:
        v = getattr(e, name)
        if isinstance(v, fx.PageWork):
            ops = ", ".join(op.name for op in v.ops)
            parts.append(f"{name}={v.fn}[{ops}]")
        elif isinstance(v, fx.ThreadSpec):
            parts.append(f"{name}={v.name}")
        elif name == "steps" and isinstance(v, tuple):
            steps = ", ".join(f"+{s.lo}..{s.hi - 1} {s.work.fn}" for s in v)
            parts.append(f"steps=[{steps}]")
        elif name == "cfg":
            parts.append(f"cfg={v.dev_name}")
        elif isinstance(v, int) and not isinstance(v, bool) and name in _HEX_FIELDS:
            parts.append(f"{name}={v:#x}")
        elif isinstance(v, IntEnum):
            parts.append(f"{name}={v.name}")
        elif isinstance(v, Enum):
            parts.append(f"{name}={v.value}")
        else:
            parts.append(f"{name}={v}")
    return " ".join(parts)


def trace_data(r: RunResult) -> dict[str, Any]:
    """The trace; a scenario that boots has its boot first (``phase`` "boot", times from
    the start of boot), then its steps (``phase`` "steps", times from the first step)."""
    boot = r.boot
    if r.timing is None:
        phases = [("boot", boot.trace)] if boot is not None else []
        phases.append(("steps", r.trace))
        return {
            "engine": "inorder",
            "effects": [
                {"phase": phase, "seq": rec.seq, "thread": rec.thread}
                | {"effect": describe_effect(rec.effect), "locks": list(rec.locks)}
                for phase, recs in phases
                for rec in recs
            ],
        }
    spans = [("boot", boot.intervals, boot.holds)] if boot is not None else []
    spans.append(("steps", r.intervals, r.holds))
    return {
        "engine": "timing",
        "intervals": [
            {"phase": phase} | interval_data(iv, where=True)
            for phase, ivs, _holds in spans
            for iv in sorted(ivs, key=lambda i: (i.start, i.thread))
        ],
        "lock_holds": [
            {
                "phase": phase,
                "lock": h.lock,
                "thread": h.thread,
                "start_s": round(h.start * 1e-9, 9),
                "end_s": round(h.end * 1e-9, 9),
            }
            for phase, _ivs, holds in spans
            for h in sorted(holds, key=lambda h: (h.start, h.thread))
        ],
    }


def _phased(rows: list[dict[str, Any]], boots: bool, line: Any) -> list[str]:
    """The rows as lines; when the scenario boots, each phase under a ``-- phase --`` line."""
    out: list[str] = []
    phase = None
    for row in rows:
        if boots and row["phase"] != phase:
            phase = row["phase"]
            origin = "the start of boot" if phase == "boot" else "the first step"
            out.append(f"-- {phase} (times from {origin}) --")
        out.append(line(row))
    return out


def trace_lines(r: RunResult) -> list[str]:
    """The trace as text, each part under a header line naming its columns (a scenario that
    boots: its boot, then its steps)."""
    data = trace_data(r)
    boots = r.boot is not None
    if data["engine"] == "inorder":
        width = max([len("thread"), *(len(e["thread"]) for e in data["effects"])])
        head = f"{'seq':>4} {'thread':<{width}} effect  [locks held]"

        def effect(e: dict[str, Any]) -> str:
            locks = f"  [{', '.join(e['locks'])}]" if e["locks"] else ""
            return f"{e['seq']:4d} {e['thread']:<{width}} {e['effect']}{locks}"

        return [head, *_phased(data["effects"], boots, effect)]
    threads = [iv["thread"] for iv in data["intervals"]] + [h["thread"] for h in data["lock_holds"]]
    width = max([len("thread"), *(len(t) for t in threads)])

    def interval(iv: dict[str, Any]) -> str:
        where = (
            f"pfns {iv['pfns'][0]}-{iv['pfns'][1]} on node {iv['mem_node']}" if iv["pfns"] else ""
        )
        lock = " (under mem_hotplug_lock)" if iv["locked"] else ""
        return (
            f"{iv['start_s']:12.6f} {iv['end_s']:12.6f} {iv['thread']:<{width}} "
            f"{'cpu' + str(iv['cpu']):<7} {iv['kind']:<16} {iv['detail']} {where}{lock}".rstrip()
        )

    out = [
        f"{'start (s)':>12} {'end (s)':>12} {'thread':<{width}} {'cpu':<7} "
        f"{'kind':<16} detail, pfns written, memory node (locks)"
    ]
    out += _phased(data["intervals"], boots, interval)
    out.append(f"{'start (s)':>12} {'end (s)':>12} {'thread':<{width}} lock held")
    out += _phased(
        data["lock_holds"],
        boots,
        lambda h: (
            f"{h['start_s']:12.6f} {h['end_s']:12.6f} {h['thread']:<{width}} holds {h['lock']}"
        ),
    )
    return out
