"""What a timing run's trace says: per node and per device, where the time went.

- ``init_s`` of a node: time its devices' threads spent writing struct pages (init
  passes, the 4.18 pgmap pass, poisoning, section population) — lock waits excluded;
- ``lock_wait_s``: time they waited for any lock; ``lock_hold_s``: time they held
  ``mem_hotplug_lock``;
- ``start_s``/``finish_s``: first and last moment any of them ran.
"""

from __future__ import annotations

import msgspec

from memmapsim.engine.timing import Interval, LockHold, TimingResult
from memmapsim.model.locks import MEM_HOTPLUG_LOCK

WORK_KINDS = (
    "struct page init",
    "pgmap pass",
    "poison",
    "section add",
    "buddy free",
    "memmap zeroing",
)
NS = 1e-9


class Span(msgspec.Struct, frozen=True):
    name: str
    node: int
    init_s: float
    lock_wait_s: float
    lock_hold_s: float
    start_s: float
    finish_s: float


class TimingSummary(msgspec.Struct, frozen=True):
    total_s: float
    lock_hold_s: float
    nodes: tuple[Span, ...]
    devices: tuple[Span, ...]


def _span(name: str, node: int, ivs: list[Interval], holds: list[LockHold], end: float) -> Span:
    work = sum(i.duration for i in ivs if i.kind in WORK_KINDS)
    wait = sum(i.duration for i in ivs if i.kind == "lock wait")
    held = sum(h.end - h.start for h in holds if h.lock == MEM_HOTPLUG_LOCK)
    starts = [i.start for i in ivs] + [h.start for h in holds]
    ends = [i.end for i in ivs] + [h.end for h in holds]
    return Span(
        name,
        node,
        work * NS,
        wait * NS,
        held * NS,
        min(starts, default=0.0) * NS,
        max(ends, default=end) * NS,
    )


def summarize(
    res: TimingResult,
    node_of: dict[str, int] | None = None,
    device_of: dict[str, str] | None = None,
) -> TimingSummary:
    """Spans per device and per node. ``node_of`` names the device threads and the node
    each device is on (the threads of the root and of helpers are not devices); by default
    every thread counts, on its CPU's node. ``device_of`` groups threads into devices (a
    device's probe and, in a later step, its removal); by default each thread is one."""
    if node_of is None:
        node_of = {name: cnode for name, _cpu, cnode in res.threads}
    if device_of is None:
        device_of = {name: name for name in node_of}
    names = list(dict.fromkeys(device_of[t] for t in node_of))
    devices = tuple(
        _span(
            name,
            next(node_of[t] for t in node_of if device_of[t] == name),
            [i for i in res.intervals if device_of.get(i.thread) == name],
            [h for h in res.holds if device_of.get(h.thread) == name],
            res.end,
        )
        for name in names
    )
    nodes = tuple(
        _span(
            f"node{n}",
            n,
            [i for i in res.intervals if node_of.get(i.thread) == n],
            [h for h in res.holds if node_of.get(h.thread) == n],
            res.end,
        )
        for n in sorted(set(node_of.values()))
    )
    held = sum(h.end - h.start for h in res.holds if h.lock == MEM_HOTPLUG_LOCK)
    return TimingSummary(res.end * NS, held * NS, nodes, devices)


def dmesg_line(time_ns: int, text: str, offset_s: float = 0.0) -> str:
    """A printk line as the kernel prints it, with its ``[%5lu.%06lu] `` timestamp."""
    us = round(time_ns / 1000 + offset_s * 1e6)
    return f"[{us // 1_000_000:5d}.{us % 1_000_000:06d}] {text}"
