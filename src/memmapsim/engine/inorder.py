"""The in-order engine: runs kernel code paths one after another, in program order.

No time passes (jiffies read 0). Every effect is applied as it is yielded and recorded
with the locks its thread held, so the result shows which work ran under
``mem_hotplug_lock``. Threads run to completion in the order given, which is a valid
schedule of the kernel (one probe after another) but not the only one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from memmapsim.effects import Effect, Gen
from memmapsim.engine.apply import Applier, LogLine, ThreadCtx
from memmapsim.model.memory import MemoryState


@dataclass(frozen=True)
class EffectRecord:
    seq: int
    thread: str
    effect: Effect
    locks: tuple[str, ...]
    """Locks the thread held when the effect happened (for an Acquire: before it)."""


@dataclass
class ThreadResult:
    name: str
    ret: int


@dataclass
class InOrderResult:
    threads: list[ThreadResult]
    trace: list[EffectRecord]
    log: list[LogLine] = field(default_factory=list)


class InOrderEngine:
    def __init__(self, mem: MemoryState, hz: int = 1000) -> None:
        self.mem = mem
        self.applier = Applier(mem, clock=lambda: 0, hz=hz)

    def run(self, threads: Iterable[tuple[str, Gen[int]]]) -> InOrderResult:
        trace: list[EffectRecord] = []
        results: list[ThreadResult] = []
        for name, gen in threads:
            ctx = ThreadCtx(name)
            reply: Any = None
            while True:
                try:
                    eff = gen.send(reply)
                except StopIteration as stop:
                    results.append(ThreadResult(name, int(stop.value)))
                    break
                trace.append(EffectRecord(len(trace), name, eff, tuple(sorted(ctx.held))))
                reply = self.applier.apply(ctx, eff)
            if ctx.held:
                raise RuntimeError(f"{name} ended holding {sorted(ctx.held)}")
        return InOrderResult(results, trace, self.applier.log)
