"""The race explorer: a controlled scheduler over writer and reader threads (DESIGN.md).

An :class:`Execution` runs the kernel threads of one scenario — the writers (the root
thread and what it creates: probes, removals) and at most one reader thread (a pfn walker
looking at one pfn) — and lets a strategy pick which thread takes the next step. It uses
the thread driver every engine uses (:class:`~memmapsim.engine.threads.ThreadTable`) and
the mechanical applier (:class:`~memmapsim.engine.apply.Applier`); the memory state is
built afresh for every execution, so a schedule — the list of threads chosen at each
scheduling point — replays exactly.

**Steps and scheduling points.** A thread's effects are split into atoms. A range effect
(:class:`~memmapsim.effects.InitPages`, :class:`~memmapsim.effects.InitPagesPeriodic`) is
split at the pfns the reader looks at, down to the single ordered writes of the per-page
work there (the field order of ``__init_single_page``), and stays whole elsewhere. An atom
is *visible* — a point where another thread may be scheduled — if it is a lock operation,
``cond_resched``, a wait for a thread, a step of the reader, or touches state the reader
may read (its :func:`~memmapsim.engine.footprint.reader_footprint`), or any shared state
while another writer can run. Invisible atoms run at once after the visible one before
them: only effects that touch the same pfns, sections, index entries or locks are
interleaved (partial-order reduction by footprints).

**Strategies.** ``dfs``: every schedule with at most ``K`` preemptions (switching away from
a thread that could go on), depth-first, with sleep sets (two steps whose footprints do
not conflict are not explored in both orders); ``complete`` when the bounded space is
exhausted. ``random``: each schedule picks uniformly among the threads allowed at every
point (at most ``K`` preemptions). ``pct``: probabilistic concurrency testing with depth
``d`` (Burckhardt et al., ASPLOS 2010): random thread priorities and ``d - 1`` random
priority-change points. Every random choice comes from a generator seeded with the seed,
the work item and the schedule number.

**Findings.** A reader's read of a struct page that is not initialized — no memmap, never
written, stale (not yet initialized: an init pass comes later), poisoned, or half
initialized (an init pass at that pfn has begun but not ended) — and a §9.3 invariant
broken at a step (I2: a pgmap's reference count below zero; I6: ``pfn_valid`` true where no
memmap is mapped). Each finding carries the schedule prefix that reaches it; identical
findings are grouped with a count; the first schedule of each group is shrunk
(:func:`shrink`) to the fewest preemptions, then the fewest steps.

This module knows no kernel version: what a reader is, which pfns it reads and how a pfn
is classified come from the caller (:class:`Setup`).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from memmapsim import effects as fx
from memmapsim.check.invariants import step_invariants
from memmapsim.engine.apply import Applier
from memmapsim.engine.footprint import (
    Footprint,
    conflict,
    conflict_reader,
    footprint,
    reader_footprint,
)
from memmapsim.engine.threads import Thread, ThreadTable
from memmapsim.model.memory import MemoryState
from memmapsim.model.page import PageView
from memmapsim.model.section import Medium
from memmapsim.model.structpage import TokenKind, token_kind
from memmapsim.units import pfn_to_section_nr

STRATEGIES = ("dfs", "random", "pct")

WAITS = (fx.Join, fx.AsyncSynchronize)
ALWAYS_VISIBLE = (fx.Acquire, fx.Release, fx.CondResched, fx.Join, fx.AsyncSynchronize)
PAGE_WRITES = (fx.InitPages, fx.InitPagesPeriodic, fx.PopulateMemmap, fx.DepopulateMemmap)
INIT_KINDS = (fx.WorkKind.INIT, fx.WorkKind.PGMAP)


@dataclass(frozen=True)
class Setup:
    """Everything an execution needs; built by the caller, which knows the kernel."""

    build: Callable[[], MemoryState]
    """A fresh memory state, as the machine is before the scenario's steps."""
    writers: tuple[fx.ThreadSpec, ...]
    """The root threads of the scenario."""
    reader_name: str
    reader: fx.ThreadSpec | None = None
    """The reader thread (None: the reader is a writer's own reads, :attr:`internal_by`)."""
    reader_pfns: tuple[int, ...] = ()
    """The pfns the reader thread reads: ranges are split there."""
    internal_by: frozenset[str] = frozenset()
    """ReadPage ``by`` of writers' own reads that are this reader's."""
    read_invariant: Callable[[str], str] = lambda by: "I1"
    """The invariant a bad read breaks, by reading function (I8 for span shrinking)."""
    classify: Callable[[int], tuple[str | None, str | None]] = lambda pfn: (None, None)
    """The device and the pfn class a pfn belongs to."""
    hz: int = 1000
    skip_frames: frozenset[str] = frozenset()
    """Modules whose generator frames are wrappers, not kernel functions."""
    all_visible: bool = False
    """Every atom a scheduling point (no reduction by footprints): for tests and benchmarks."""


# --- atoms and threads -------------------------------------------------------------------
@dataclass(slots=True)
class Atom:
    eff: fx.Effect
    fp: Footprint
    funcs: tuple[str, ...]
    """The kernel functions on the thread's stack when it yielded the effect (outer first)."""
    last: bool = True
    """The last atom of its effect: the effect's result is handed back after it."""
    write_at: tuple[int, int, int, str, bool] | None = None
    """A single write of a per-page work at a watched pfn: (pfn, index, count, function,
    whether the work is an init pass)."""


class XThread:
    __slots__ = ("done", "key", "pending", "reader", "t")

    def __init__(self, t: Thread, key: str, reader: bool) -> None:
        self.t = t
        self.key = key
        self.reader = reader
        self.pending: deque[Atom] = deque()
        self.done = False


@dataclass(frozen=True)
class WriteRec:
    """A write to struct pages (or their mapping) that ran."""

    lo: int
    hi: int
    thread: str
    fn: str
    label: str
    locks: tuple[str, ...]
    decision: int
    init: bool
    """An init pass (not poisoning, field stores or the mapping itself)."""
    funcs: tuple[str, ...] = ()
    """The kernel functions on the writer's stack."""
    seq: int = -1
    """The atom's number in its execution (the index of its :class:`Event` when recorded)."""

    @property
    def step(self) -> str:
        return f"{self.label}: {self.fn}" if self.label else self.fn


@dataclass
class Hit:
    """One finding in one execution."""

    kind: str  # "read" or "invariant"
    invariant: str
    reader: str | None
    thread: str
    pfn: int | None
    state: str
    prefix: int
    """Decisions taken when it happened: the schedule that reaches it is the first ones."""
    preemptions: int
    reader_fn: str = ""
    reader_funcs: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    reader_locks: tuple[str, ...] = ()
    last_write: WriteRec | None = None
    next_write: WriteRec | None = None
    detail: str = ""
    device: str | None = None
    pfn_class: str | None = None
    seq: int = -1
    """The number of the atom where it happened in its execution."""

    @property
    def writer(self) -> WriteRec | None:
        """The writer step the finding conflicts with: the init the reader got ahead of,
        else the write that left the page as the reader saw it."""
        return self.next_write or self.last_write

    @property
    def writer_step(self) -> str | None:
        w = self.writer
        return w.step if w is not None else None

    @property
    def reader_step(self) -> str | None:
        if self.kind != "read":
            return None
        return f"{self.reader_fn}: reads {', '.join(self.fields) or 'flags'}"

    @property
    def key(self) -> tuple[Any, ...]:
        return (
            self.kind,
            self.invariant,
            self.reader or "",
            self.writer_step or "",
            self.state,
            self.device or "",
            self.pfn_class or "",
        )


@dataclass(frozen=True)
class Event:
    """An atom that ran (kept when an execution records, for the finding reports)."""

    decision: int
    thread: str
    eff: fx.Effect
    reply: Any
    funcs: tuple[str, ...]
    locks: tuple[str, ...]
    fp: Footprint
    visible: bool
    label: str
    note: str = ""
    """For one write of a per-page work split at a watched pfn: "write i of n"."""


class InvalidScheduleError(Exception):
    """A schedule names a thread that cannot run at that point."""


class Execution:
    """One run of the threads of a :class:`Setup` under a scheduler's choices."""

    def __init__(self, setup: Setup, record: bool = False) -> None:
        self.setup = setup
        self.mem = setup.build()
        self.applier = Applier(self.mem, clock=lambda: 0, hz=setup.hz)
        self.table = ThreadTable()
        self.xs: list[XThread] = []
        self.keys: dict[str, XThread] = {}
        self.split: set[int] = set(setup.reader_pfns)
        self.canon: dict[int, int] = {}
        self.reader_fp: Footprint | None = None
        if setup.reader is not None:
            secs = tuple(sorted({pfn_to_section_nr(p) for p in setup.reader_pfns}))
            self.reader_fp = reader_footprint(tuple(sorted(self.split)), secs)
        self.label = ""
        self.in_progress: dict[int, WriteRec] = {}
        self.writes: list[WriteRec] = []
        self.hits: list[Hit] = []
        self.awaiting: list[Hit] = []
        self._seen: set[tuple[Any, ...]] = set()
        self.choices: list[str] = []
        self.preemptions = 0
        self.current: XThread | None = None
        self.record = record
        self.events: list[Event] = []
        self.reader_x: XThread | None = None
        self.seq = 0
        for spec in setup.writers:
            self._wrap(self.table.create(spec), reader=False)
        if setup.reader is not None:
            self.reader_x = self._wrap(self.table.create(setup.reader), reader=True)

    # --- threads ---------------------------------------------------------------------------
    def _wrap(self, t: Thread, reader: bool) -> XThread:
        key = t.name
        n = 2
        while key in self.keys:
            key, n = f"{t.name}#{n}", n + 1
        x = XThread(t, key, reader)
        self.xs.append(x)
        self.keys[key] = x
        self._advance(x)
        return x

    def _funcs(self, x: XThread) -> tuple[str, ...]:
        out: list[str] = []
        g: Any = x.t.gen
        skip = self.setup.skip_frames
        while g is not None:
            frame = getattr(g, "gi_frame", None)
            code = getattr(g, "gi_code", None)
            if code is not None and (frame is None or frame.f_globals.get("__name__") not in skip):
                out.append(code.co_name)
            g = getattr(g, "gi_yieldfrom", None)
        return tuple(out)

    def _pull(self, x: XThread) -> bool:
        """Bring the thread's next effect in as atoms; False when it has ended."""
        try:
            eff = x.t.gen.send(x.t.reply)
        except StopIteration as stop:
            x.done = True
            self.table.finish(x.t, int(stop.value))
            return False
        x.t.reply = None
        x.pending.extend(self._atoms(eff, self._funcs(x)))
        return True

    def _atoms(self, eff: fx.Effect, funcs: tuple[str, ...]) -> list[Atom]:
        if isinstance(eff, fx.InitPages) and self._splits(eff.lo, eff.hi):
            return _last(self._split_pages(eff.lo, eff.hi, eff.work, funcs))
        if isinstance(eff, fx.InitPagesPeriodic) and self._splits(eff.lo, eff.hi):
            return _last(self._split_periodic(eff, funcs))
        return [Atom(eff, footprint(eff), funcs)]

    def _splits(self, lo: int, hi: int) -> list[int]:
        return sorted(p for p in self.split if lo <= p < hi)

    def _split_pages(
        self, lo: int, hi: int, work: fx.PageWork, funcs: tuple[str, ...]
    ) -> list[Atom]:
        out: list[Atom] = []
        cur = lo
        for p in self._splits(lo, hi):
            if cur < p:
                e = fx.InitPages(cur, p, work)
                out.append(Atom(e, footprint(e), funcs, last=False))
            out += self._single_writes(p, work, funcs)
            cur = p + 1
        if cur < hi:
            e = fx.InitPages(cur, hi, work)
            out.append(Atom(e, footprint(e), funcs, last=False))
        return out

    def _single_writes(self, p: int, work: fx.PageWork, funcs: tuple[str, ...]) -> list[Atom]:
        """The per-page work at ``p`` as one atom per write, in order; the pass record, the
        migratetype and the references go with the last."""
        writes = [(op, w) for op in work.ops for w in op.writes]
        if not writes:
            e = fx.InitPages(p, p + 1, work)
            return [Atom(e, footprint(e), funcs, last=False)]
        out = []
        n = len(writes)
        for i, (op, w) in enumerate(writes):
            if i < n - 1:
                part = fx.PageWork(
                    work.fn, (fx.PageOp(op.name, op.cost, (w,)),), kind=fx.WorkKind.FIELDS
                )
            else:
                part = fx.PageWork(
                    work.fn,
                    (fx.PageOp(op.name, op.cost, (w,), ref_get=work.ref_gets),),
                    pageblock=work.pageblock,
                    pgmap=work.pgmap,
                    kind=work.kind,
                )
            e = fx.InitPages(p, p + 1, part)
            init = work.kind in INIT_KINDS
            out.append(Atom(e, footprint(e), funcs, last=False, write_at=(p, i, n, work.fn, init)))
        return out

    def _split_periodic(self, eff: fx.InitPagesPeriodic, funcs: tuple[str, ...]) -> list[Atom]:
        out: list[Atom] = []
        cur = eff.lo
        done_heads: set[int] = set()
        for p in self._splits(eff.lo, eff.hi):
            head = p - (p - eff.lo) % eff.period
            if head in done_heads:
                continue
            done_heads.add(head)
            if cur < head:
                e = fx.InitPagesPeriodic(cur, head, eff.period, eff.steps)
                out.append(Atom(e, footprint(e), funcs, last=False))
            for s in eff.steps:
                out += self._split_pages(head + s.lo, head + s.hi, s.work, funcs)
            cur = head + eff.period
        if cur < eff.hi:
            e = fx.InitPagesPeriodic(cur, eff.hi, eff.period, eff.steps)
            out.append(Atom(e, footprint(e), funcs, last=False))
        return out

    def _waiting(self, x: XThread) -> bool:
        if x.done or not x.pending:
            return False
        e = x.pending[0].eff
        return isinstance(e, WAITS) and not self.table.satisfied(e)

    def _visible(self, x: XThread, atom: Atom) -> bool:
        if x.reader or self.setup.all_visible or isinstance(atom.eff, ALWAYS_VISIBLE):
            return True
        if not atom.fp:
            return False
        reader = self.reader_x
        if (
            self.reader_fp is not None
            and reader is not None
            and not reader.done
            and conflict_reader(atom.fp, self.reader_fp)
        ):
            return True
        return any(
            w is not x and not w.reader and not w.done and not self._waiting(w) for w in self.xs
        )

    def executable(self, x: XThread) -> bool:
        if x.done or not x.pending:
            return False
        e = x.pending[0].eff
        if isinstance(e, fx.Acquire):
            return self.mem.locks[e.lock].can_take(e.mode)
        if isinstance(e, WAITS):
            return self.table.satisfied(e)
        return True

    def _advance(self, x: XThread) -> None:
        """Run the thread's invisible atoms until its next visible one (or its end)."""
        while True:
            if not x.pending and not self._pull(x):
                return
            atom = x.pending[0]
            if self._visible(x, atom) or not self.executable(x):
                return
            self._execute(x, visible=False)

    # --- one atom ---------------------------------------------------------------------------
    def _execute(self, x: XThread, visible: bool) -> None:
        atom = x.pending.popleft()
        e = atom.eff
        locks = tuple(sorted(x.t.ctx.held))
        seq = self.seq
        self.seq += 1
        if isinstance(e, fx.ReadPage):
            self._check_read(x, e, atom, locks, seq)
        reply: Any = None
        new: Thread | None = None
        if isinstance(e, fx.THREAD_EFFECTS):
            new, _go = self.table.handle(x.t, e)
            reply = x.t.reply
        else:
            reply = self.applier.apply(x.t.ctx, e)
            if atom.last:
                x.t.reply = reply
        if self.record:
            note = ""
            if atom.write_at is not None:
                note = f"write {atom.write_at[1] + 1} of {atom.write_at[2]}"
            ev = Event(
                len(self.choices), x.key, e, reply, atom.funcs, locks, atom.fp, visible,
                self.label, note,
            )  # fmt: skip
            self.events.append(ev)
        if isinstance(e, fx.BeginStep):
            self.label = e.label
        if isinstance(e, PAGE_WRITES):
            self._wrote(x, atom, locks, seq)
        if isinstance(e, fx.PopulateMemmap) and e.sharing is not None:
            self._note_sharing(e)
        for inv, pfn, state, text in step_invariants(self.mem, e, tuple(sorted(self.split))):
            here = WriteRec(
                0, 0, x.key, _fn(atom, e), self.label, locks, len(self.choices), False, atom.funcs,
                seq,
            )  # fmt: skip
            self._hit(
                Hit("invariant", inv, None, x.key, pfn, state, len(self.choices),
                    self.preemptions, detail=text, last_write=here, seq=seq)
            )  # fmt: skip
        if new is not None:
            self._wrap(new, reader=False)

    def _note_sharing(self, e: fx.PopulateMemmap) -> None:
        """With vmemmap deduplication a watched pfn's struct page is stored at another pfn:
        watch that one too, and read the state there."""
        sh = e.sharing
        assert sh is not None
        for p in sorted(self.split):
            if e.lo <= p < e.hi:
                off = p % sh.period
                c = p - off + sh.canonical(off)
                if c != p:
                    self.canon[p] = c
                    self.split.add(c)

    def _canonical(self, pfn: int) -> int:
        return self.canon.get(pfn, pfn)

    def _wrote(self, x: XThread, atom: Atom, locks: tuple[str, ...], seq: int) -> None:
        e = atom.eff
        if isinstance(e, fx.InitPages):
            lo, hi, fn, init = e.lo, e.hi, e.work.fn, e.work.kind in INIT_KINDS
        elif isinstance(e, fx.InitPagesPeriodic):
            fn = e.steps[0].work.fn if e.steps else _fn(atom, e)
            lo, hi, init = e.lo, e.hi, any(s.work.kind in INIT_KINDS for s in e.steps)
        else:
            assert isinstance(e, fx.PopulateMemmap | fx.DepopulateMemmap)
            lo, hi, fn, init = e.lo, e.hi, _fn(atom, e), False
        if hi <= lo:
            return
        if atom.write_at is not None:
            p, i, n, fn, init = atom.write_at
            rec = WriteRec(
                lo, hi, x.key, fn, self.label, locks, len(self.choices), init, atom.funcs, seq
            )
            if i < n - 1 and init:
                self.in_progress[p] = rec  # half initialized until its last write
            else:
                self.in_progress.pop(p, None)
            if init:
                self._resolve_at(p, p + 1, rec)
        else:
            rec = WriteRec(
                lo, hi, x.key, fn, self.label, locks, len(self.choices), init, atom.funcs, seq
            )
            if init or isinstance(e, fx.PopulateMemmap):
                self._resolve_at(lo, hi, rec, mapping=not init)
        self.writes.append(rec)

    def _resolve_at(self, lo: int, hi: int, rec: WriteRec, mapping: bool = False) -> None:
        """An init pass starts on ``[lo, hi)`` (``mapping``: their memmap is mapped): readers
        that saw those pages before it got ahead of it."""
        for h in list(self.awaiting):
            if mapping and h.state != "no memmap":
                continue
            if h.pfn is not None and lo <= self._canonical(h.pfn) < hi:
                h.next_write = rec
                if h.state == "never written":
                    h.state = "stale"
                self.awaiting.remove(h)

    def _check_read(
        self, x: XThread, e: fx.ReadPage, atom: Atom, locks: tuple[str, ...], seq: int
    ) -> None:
        if x.reader:
            reader, inv = self.setup.reader_name, "I1"
        elif e.by in self.setup.internal_by:
            reader, inv = self.setup.reader_name, self.setup.read_invariant(e.by)
        else:
            return
        state, last = self._state(e.pfn)
        if state is None:
            return
        hit = Hit(
            "read",
            inv,
            reader,
            x.key,
            e.pfn,
            state,
            len(self.choices),
            self.preemptions,
            reader_fn=atom.funcs[-1] if atom.funcs else e.by,
            reader_funcs=atom.funcs,
            fields=e.fields,
            reader_locks=locks,
            last_write=last,
            seq=seq,
        )
        if self._hit(hit):
            self.awaiting.append(hit)

    def _state(self, pfn: int) -> tuple[str | None, WriteRec | None]:
        """What a reader of ``pfn`` sees, if it is not an initialized struct page, and the
        write that left it so."""
        storage = self._canonical(pfn)
        if storage in self.in_progress:
            return "half initialized", self.in_progress[storage]
        last = next((w for w in reversed(self.writes) if w.lo <= pfn < w.hi), None)
        rec = self.mem.memmap.record(pfn)
        kind = token_kind(rec.words[0])
        if kind is TokenKind.ABSENT:
            backing = self.mem.vmemmap.backing(pfn)
            if backing is not None and backing.medium is Medium.BOOT:
                return None, None  # a boot memmap: its struct pages are not modelled
            return "no memmap", last
        if kind is TokenKind.STALE:
            return "never written", last
        if PageView(pfn, rec, self.mem.layout).poisoned:
            return "poisoned", last
        return None, None

    def _hit(self, hit: Hit) -> bool:
        ident = (
            hit.kind,
            hit.invariant,
            hit.thread,
            hit.pfn,
            hit.state if hit.kind != "read" else "",
        )
        if ident in self._seen:
            return False
        self._seen.add(ident)
        self.hits.append(hit)
        return True

    # --- scheduling ---------------------------------------------------------------------------
    def enabled(self) -> list[XThread]:
        """The threads that can take a step, in creation order."""
        return [x for x in self.xs if self.executable(x)]

    def cost(self, x: XThread) -> int:
        """1 if running ``x`` now is a preemption (the current thread could go on)."""
        cur = self.current
        return int(cur is not None and cur is not x and self.executable(cur))

    def choose(self, x: XThread) -> None:
        if not self.executable(x):
            raise InvalidScheduleError(x.key)
        self.preemptions += self.cost(x)
        self.current = x
        self.choices.append(x.key)
        self._execute(x, visible=True)
        self._advance(x)

    def default(self) -> XThread | None:
        """The thread a non-preemptive scheduler runs: the current one if it can go on,
        else the first that can."""
        cur = self.current
        if cur is not None and self.executable(cur):
            return cur
        en = self.enabled()
        return en[0] if en else None

    def finish(self) -> None:
        """Run to the end without preempting anyone."""
        while (x := self.default()) is not None:
            self.choose(x)
        self.end()

    def end(self) -> None:
        stuck = [x.key for x in self.xs if not x.done]
        if stuck and not self.enabled():
            self._hit(
                Hit("invariant", "deadlock", None, stuck[0], None, "deadlock", len(self.choices),
                    self.preemptions, detail=f"threads {', '.join(stuck)} can never go on")
            )  # fmt: skip
        for h in self.hits:
            if h.pfn is not None:
                h.device, h.pfn_class = self.setup.classify(h.pfn)
                if h.kind == "invariant" and h.invariant == "I2":
                    h.pfn_class = None  # the whole pgmap's references, not one pfn's


def _fn(atom: Atom, e: fx.Effect) -> str:
    return atom.funcs[-1] if atom.funcs else type(e).__name__


def _last(atoms: list[Atom]) -> list[Atom]:
    if atoms:
        atoms[-1].last = True
    return atoms


# --- results ------------------------------------------------------------------------------
@dataclass
class Group:
    """Identical findings: how many schedules had one, and the first of them."""

    hit: Hit
    choices: list[str]
    count: int = 1
    order: int = 0


@dataclass
class Outcome:
    schedules: int = 0
    complete: bool = False
    groups: dict[tuple[Any, ...], Group] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    first_at: float | None = None
    """Seconds from the start to the end of the first schedule with a finding."""

    def add(self, ex: Execution) -> None:
        self.schedules += 1
        if ex.hits and self.first_at is None:
            self.first_at = time.perf_counter() - self.started
        for h in ex.hits:
            g = self.groups.get(h.key)
            if g is None:
                self.groups[h.key] = Group(h, ex.choices[: h.prefix], 1, len(self.groups))
            else:
                g.count += 1


def _rng(seed: int, item: int, n: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{item}:{n}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass
class _Node:
    enabled: list[str]
    current: str | None
    cur_enabled: bool
    fps: dict[str, Footprint]
    sleep: dict[str, Footprint]
    pre: int
    chosen: str = ""
    tried: list[str] = field(default_factory=list)

    def cost(self, key: str) -> int:
        return int(self.current is not None and self.cur_enabled and key != self.current)


def _node(ex: Execution, sleep: dict[str, Footprint]) -> _Node:
    en = ex.enabled()
    cur = ex.current
    return _Node(
        [x.key for x in en],
        cur.key if cur is not None else None,
        cur is not None and ex.executable(cur),
        {x.key: x.pending[0].fp for x in en},
        sleep,
        ex.preemptions,
    )


def _allowed(node: _Node, bound: int) -> list[str]:
    return [
        k
        for k in node.enabled
        if k not in node.tried and k not in node.sleep and node.pre + node.cost(k) <= bound
    ]


def explore_dfs(
    setup: Setup,
    bound: int,
    budget: int,
    deadline: float | None = None,
    sleep_sets: bool = True,
    stop: Callable[[Outcome], bool] | None = None,
) -> Outcome:
    """Every schedule with at most ``bound`` preemptions, depth first, with sleep sets
    (``sleep_sets=False``, for tests and benchmarks, explores equivalent orders too);
    ``budget`` executions at most, or until ``stop`` says so."""
    out = Outcome()
    stack: list[_Node] = []
    while out.schedules < budget:
        ex = Execution(setup)
        depth = 0
        sleep: dict[str, Footprint] = {}
        tail = False
        while True:
            if not tail and depth < len(stack):
                node = stack[depth]
            elif not tail:
                node = _node(ex, sleep)
                allowed = _allowed(node, bound)
                if not node.enabled:
                    break
                if not allowed:
                    tail = True
                    continue
                cur = node.current
                node.chosen = cur if cur in allowed else allowed[0]
                stack.append(node)
            else:
                x = ex.default()
                if x is None:
                    break
                ex.choose(x)
                continue
            x = ex.keys[node.chosen]
            chosen_fp = node.fps[node.chosen]
            ex.choose(x)
            done = {k: node.fps[k] for k in node.tried if k != node.chosen}
            sleep = {
                k: fp
                for k, fp in {**node.sleep, **done}.items()
                if sleep_sets and k != node.chosen and not conflict(fp, chosen_fp)
            }
            depth += 1
        ex.end()
        out.add(ex)
        if stop is not None and stop(out):
            break
        # backtrack: the deepest node with an alternative
        while stack:
            node = stack[-1]
            node.tried.append(node.chosen)
            alt = _allowed(node, bound)
            if alt:
                node.chosen = alt[0]
                break
            stack.pop()
        if not stack:
            out.complete = True
            break
        if deadline is not None and time.time() > deadline:
            break
    return out


def explore_random(
    setup: Setup,
    bound: int,
    first: int,
    count: int,
    seed: int,
    item: int,
    length: int,
    deadline: float | None = None,
) -> Outcome:
    """Schedules ``first .. first + count``: each picks up to ``bound`` points among the
    first ``length`` steps and there switches to a thread drawn among the others that can
    run; elsewhere the current thread goes on (a thread that blocks or ends hands over to a
    thread drawn among those that can run)."""
    out = Outcome()
    for n in range(first, first + count):
        rng = _rng(seed, item, n)
        k = rng.randint(0, bound)
        points = set(rng.sample(range(1, max(length, k) + 1), k))
        run = Execution(setup)
        step = 0
        while en := run.enabled():
            step += 1
            cur = run.current
            if cur is not None and run.executable(cur):
                others = [x for x in en if x is not cur]
                x = rng.choice(others) if step in points and others else cur
            else:
                x = rng.choice(en)
            run.choose(x)
        run.end()
        out.add(run)
        if deadline is not None and time.time() > deadline:
            break
    return out


def schedule_length(setup: Setup) -> int:
    """Scheduling points of the non-preemptive schedule (PCT's estimate of a run's length)."""
    ex = Execution(setup)
    ex.finish()
    return len(ex.choices)


def explore_pct(
    setup: Setup,
    depth: int,
    first: int,
    count: int,
    seed: int,
    item: int,
    length: int,
    deadline: float | None = None,
) -> Outcome:
    """PCT with ``depth``: per schedule, random distinct priorities (above ``depth``) for the
    threads as they come, ``depth - 1`` change points among the first ``length`` steps; at
    each point the highest-priority thread that can run runs, and at the i-th change point
    the thread that ran last drops to priority i."""
    out = Outcome()
    for n in range(first, first + count):
        rng = _rng(seed, item, n)
        changes = sorted(rng.sample(range(1, max(length, depth) + 1), max(depth - 1, 0)))
        prio: dict[str, float] = {}
        ex = Execution(setup)
        step = 0
        while True:
            for x in ex.xs:
                if x.key not in prio:
                    prio[x.key] = depth + rng.random()
            en = ex.enabled()
            if not en:
                break
            step += 1
            if step in changes and ex.current is not None:
                prio[ex.current.key] = changes.index(step) + 1 + 0.0
            ex.choose(max(en, key=lambda x: prio[x.key]))
        ex.end()
        out.add(ex)
        if deadline is not None and time.time() > deadline:
            break
    return out


# --- replay and shrinking -----------------------------------------------------------------
def replay(setup: Setup, choices: list[str], record: bool = False) -> Execution:
    """Run ``choices`` (:class:`InvalidScheduleError` if one cannot run), then the rest
    without preemptions."""
    ex = Execution(setup, record)
    for key in choices:
        x = ex.keys.get(key)
        if x is None:
            raise InvalidScheduleError(key)
        ex.choose(x)
    ex.finish()
    return ex


def _reproduce(setup: Setup, choices: list[str], key: tuple[Any, ...]) -> Hit | None:
    try:
        ex = replay(setup, choices)
    except InvalidScheduleError:
        return None
    for h in ex.hits:
        if h.key == key and h.prefix <= len(choices):
            return h
    return None


def runs(choices: list[str]) -> list[list[Any]]:
    """Run-length form ``[[thread, steps], ...]``."""
    out: list[list[Any]] = []
    for c in choices:
        if out and out[-1][0] == c:
            out[-1][1] += 1
        else:
            out.append([c, 1])
    return out


def unruns(rle: list[list[Any]]) -> list[str]:
    return [str(t) for t, n in rle for _ in range(int(n))]


def _without(rle: list[list[Any]], i: int, drop: int) -> list[str]:
    """The schedule with ``drop`` steps of run ``i`` removed."""
    new = [list(r) for r in rle]
    new[i][1] -= drop
    return unruns([r for r in new if r[1] > 0])


def candidates(choices: list[str]) -> Iterator[list[str]]:
    """What 1-minimality tries: each run removed whole (a context switch and its steps), and
    each run one step shorter."""
    rle = runs(choices)
    for i in range(len(rle)):
        yield _without(rle, i, rle[i][1])
    for i in range(len(rle)):
        if rle[i][1] > 1:
            yield _without(rle, i, 1)


def shrink(setup: Setup, choices: list[str], hit: Hit) -> tuple[list[str], Hit]:
    """The schedule of ``hit`` made 1-minimal: no run can be removed and no run shortened by
    one step (each would lose the finding, or not lower (preemptions, steps))."""
    key = hit.key
    best = choices[: hit.prefix]
    found = _reproduce(setup, best, key)
    if found is None:
        return best, hit
    best_hit = found
    best = best[: found.prefix]

    def better(h: Hit, c: list[str]) -> bool:
        return (h.preemptions, h.prefix) < (best_hit.preemptions, len(best))

    improved = True
    while improved:
        improved = False
        # big steps first: halve runs while the finding stays
        rle = runs(best)
        for i in range(len(rle)):
            drop = rle[i][1] // 2
            while drop >= 1:
                cand = _without(runs(best), i, drop) if i < len(runs(best)) else best
                h = _reproduce(setup, cand, key)
                if h is not None and better(h, cand[: h.prefix]):
                    best, best_hit = cand[: h.prefix], h
                    improved = True
                    break
                drop //= 2
            if improved:
                break
        if improved:
            continue
        for cand in candidates(best):
            h = _reproduce(setup, cand, key)
            if h is not None and better(h, cand[: h.prefix]):
                best, best_hit = cand[: h.prefix], h
                improved = True
                break
    return best, best_hit


def one_minimal(setup: Setup, choices: list[str], hit: Hit) -> bool:
    """Whether no candidate of :func:`candidates` reproduces ``hit`` with fewer
    (preemptions, steps)."""
    for cand in candidates(choices):
        h = _reproduce(setup, cand, hit.key)
        if h is not None and (h.preemptions, h.prefix) < (hit.preemptions, len(choices)):
            return False
    return True
