"""Kernel threads as effects: the one thread driver every engine uses.

A kernel code path creates threads with :class:`~memmapsim.effects.Spawn` and
:class:`~memmapsim.effects.AsyncSchedule` and waits for them with
:class:`~memmapsim.effects.Join` and :class:`~memmapsim.effects.AsyncSynchronize`. This
module keeps the thread table and gives those effects their meaning — which thread
exists, which is blocked on what, who wakes whom — so that engines differ only in *when*
they run a runnable thread (program order, simulated time, an explored schedule) and
*where* (the timing engine's CPUs). Like SimPy's processes, a thread is itself something
to wait for: joining a finished thread returns its result at once.

Threads come from :class:`~memmapsim.effects.ThreadSpec` factories, created when they
are spawned, so running the same root again replays the same run.
"""

from __future__ import annotations

from typing import Any

import msgspec

from memmapsim import effects as fx
from memmapsim.engine.apply import ThreadCtx


class Thread(msgspec.Struct):
    tid: int
    spec: fx.ThreadSpec
    gen: fx.Gen[int]
    ctx: ThreadCtx
    node: int | None
    """The node the thread was asked to run near (None: near its creator)."""
    parent: int | None
    domain: str | None = None
    reply: Any = None
    ret: int | None = None
    waiting: fx.Effect | None = None
    """The Join or AsyncSynchronize the thread is blocked in."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def done(self) -> bool:
        return self.ret is not None


class ThreadTable(msgspec.Struct):
    """Every thread of a run, by tid (creation order)."""

    threads: list[Thread] = msgspec.field(default_factory=list)
    _blocked: dict[int, Thread] = msgspec.field(default_factory=dict)
    """The threads blocked in a Join or AsyncSynchronize, by tid."""

    def create(
        self,
        spec: fx.ThreadSpec,
        node: int | None = None,
        parent: int | None = None,
        domain: str | None = None,
    ) -> Thread:
        tid = len(self.threads)
        t = Thread(tid, spec, spec.start(), ThreadCtx(spec.name, tid=tid), node, parent, domain)
        self.threads.append(t)
        return t

    def handle(self, t: Thread, eff: fx.Effect) -> tuple[Thread | None, bool]:
        """Give a thread effect of ``t`` its meaning. Returns the thread it created (if any)
        and whether ``t`` may go on (False: it is blocked until :meth:`finish` wakes it)."""
        if isinstance(eff, fx.Spawn):
            new = self.create(eff.thread, eff.node, t.tid)
            t.reply = new.tid
            return new, True
        if isinstance(eff, fx.AsyncSchedule):
            new = self.create(eff.thread, eff.node, t.tid, eff.domain)
            t.reply = new.tid
            return new, True
        if isinstance(eff, fx.Join | fx.AsyncSynchronize):
            if self._satisfied(eff):
                t.reply = self._result(eff)
                return None, True
            t.waiting = eff
            self._blocked[t.tid] = t
            return None, False
        raise TypeError(f"not a thread effect: {eff!r}")

    def finish(self, t: Thread, ret: int) -> list[Thread]:
        """``t`` returned ``ret``: the threads this wakes, in tid order."""
        t.ret = ret
        if t.ctx.held:
            raise RuntimeError(f"{t.name} ended holding {sorted(t.ctx.held)}")
        woken = []
        for tid in sorted(self._blocked):
            w = self._blocked[tid]
            if w.waiting is not None and self._satisfied(w.waiting):
                w.reply = self._result(w.waiting)
                w.waiting = None
                del self._blocked[tid]
                woken.append(w)
        return woken

    def satisfied(self, eff: fx.Effect) -> bool:
        """Whether a Join or AsyncSynchronize would return at once (the explorer runs a
        thread only when its next step can go on)."""
        return self._satisfied(eff)

    def blocked(self) -> list[Thread]:
        return [self._blocked[tid] for tid in sorted(self._blocked)]

    def _satisfied(self, eff: fx.Effect) -> bool:
        if isinstance(eff, fx.Join):
            return self.threads[eff.tid].done
        assert isinstance(eff, fx.AsyncSynchronize)
        return all(t.done for t in self.threads if t.domain == eff.domain)

    def _result(self, eff: fx.Effect) -> int:
        if isinstance(eff, fx.Join):
            ret = self.threads[eff.tid].ret
            assert ret is not None
            return ret
        return 0
