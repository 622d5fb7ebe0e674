"""The in-order engine: runs kernel threads one after another, in program order.

No time passes (jiffies read 0). A thread runs until it ends or blocks (joining a thread
or synchronizing an async domain); threads it creates queue up in creation order, and a
thread woken by another's end queues behind them. Every effect is applied as it is
yielded and recorded with the locks its thread held, so the result shows which work ran
under ``mem_hotplug_lock``. This is a valid schedule of the kernel (one probe after
another) but not the only one.
"""

from __future__ import annotations

from collections import deque

import msgspec

from memmapsim import effects as fx
from memmapsim.engine.apply import Applier, LogLine
from memmapsim.engine.threads import Thread, ThreadTable
from memmapsim.model.memory import MemoryState


class EffectRecord(msgspec.Struct, frozen=True):
    seq: int
    thread: str
    effect: fx.Effect
    locks: tuple[str, ...]
    """Locks the thread held when the effect happened (for an Acquire: before it)."""


class ThreadResult(msgspec.Struct):
    name: str
    ret: int
    parent: str | None = None
    """The thread that created it (None for a root)."""


class InOrderResult(msgspec.Struct):
    threads: list[ThreadResult]
    trace: list[EffectRecord]
    log: list[LogLine] = msgspec.field(default_factory=list)


class InOrderEngine:
    def __init__(self, mem: MemoryState, hz: int = 1000) -> None:
        self.mem = mem
        self.applier = Applier(mem, clock=lambda: 0, hz=hz)

    def run(self, roots: list[fx.ThreadSpec]) -> InOrderResult:
        table = ThreadTable()
        queue: deque[Thread] = deque(table.create(spec) for spec in roots)
        trace: list[EffectRecord] = []
        while queue:
            t = queue.popleft()
            while True:
                try:
                    eff = t.gen.send(t.reply)
                except StopIteration as stop:
                    queue.extend(table.finish(t, int(stop.value)))
                    break
                t.reply = None
                trace.append(EffectRecord(len(trace), t.name, eff, tuple(sorted(t.ctx.held))))
                if isinstance(eff, fx.THREAD_EFFECTS):
                    new, go_on = table.handle(t, eff)
                    if new is not None:
                        queue.append(new)
                    if not go_on:
                        break
                    continue
                t.reply = self.applier.apply(t.ctx, eff)
        stuck = table.blocked()
        if stuck:
            raise RuntimeError(
                f"deadlock: {[t.name for t in stuck]} wait for threads that never end"
            )
        names = [t.name for t in table.threads]
        results = [
            ThreadResult(
                t.name,
                t.ret if t.ret is not None else 0,
                names[t.parent] if t.parent is not None else None,
            )
            for t in table.threads
        ]
        return InOrderResult(results, trace, self.applier.log)
