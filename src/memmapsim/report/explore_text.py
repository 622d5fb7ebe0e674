"""The explorer's findings for people: a summary, and per finding what the reader saw, the
writer step it raced with, both sides' kernel functions and locks, the schedule, and a
two-column message-passing summary in the style of the kernel memory model's litmus tests
(tools/memory-model: a writer thread P0 publishes, a reader thread P1 observes).

Plain text, no tables: the report of a finding is what ``memmapsim replay`` prints for its
schedule file, byte for byte.
"""

from __future__ import annotations

from typing import Any

from memmapsim import effects as fx
from memmapsim.engine.explore import Event, runs
from memmapsim.engine.footprint import conflict
from memmapsim.model.locks import CPU_HOTPLUG_LOCK, MEM_HOTPLUG_LOCK
from memmapsim.model.section import SectionFlag, SectionState
from memmapsim.races import Exploration, Finding, FindingReport

STATES = {
    "never written": "a struct page that was never written (its memory holds what it held)",
    "stale": "a struct page not yet initialized (an init pass comes later)",
    "poisoned": "a poisoned struct page (all bytes 0xff)",
    "half initialized": "a half-initialized struct page (an init pass is under way)",
    "no memmap": "a pfn whose memmap is not mapped",
}


def _flags(st: SectionState) -> str:
    names = [f.name.lower() for f in SectionFlag if f and st.flags & f and f.name]
    return "|".join(names) or "none"


def describe(ev: Event) -> str:
    """One event as a line of the litmus summary."""
    e, r = ev.eff, ev.reply
    fn = ev.funcs[-1] if ev.funcs else type(e).__name__
    if isinstance(e, fx.ReadPage):
        return f"{fn}: r = page({e.pfn:#x})->{'/'.join(e.fields) or 'flags'}"
    if isinstance(e, fx.ReadSections):
        return f"{fn}: mem_section[{e.lo}] is {_flags(r[0][2]) if r else 'none'}"
    if isinstance(e, fx.SetSections):
        return f"{fn}: mem_section[{e.lo}..{e.hi - 1}] = {_flags(e.state)}"
    if isinstance(e, fx.GetDevPagemap):
        return f"get_dev_pagemap({e.pfn:#x}) = " + ("NULL" if r is None else f"pgmap#{r}")
    if isinstance(e, fx.PgmapIndexInsert):
        return f"{fn}: pgmap index [{e.lo:#x}, {e.hi:#x}) = pgmap#{e.pgmap}"
    if isinstance(e, fx.PgmapIndexRemove):
        return f"{fn}: pgmap index [{e.lo:#x}, {e.hi:#x}) = NULL"
    if isinstance(e, fx.PopulateMemmap):
        return f"{fn}: memmap of [{e.lo:#x}, {e.hi:#x}) mapped ({e.backing.medium})"
    if isinstance(e, fx.DepopulateMemmap):
        return f"{fn}: memmap of [{e.lo:#x}, {e.hi:#x}) unmapped"
    if isinstance(e, fx.InitPages):
        ops = ", ".join(op.name for op in e.work.ops)
        where = f"page {e.lo:#x}" if e.hi - e.lo == 1 else f"[{e.lo:#x}, {e.hi:#x})"
        note = f" ({ev.note})" if ev.note else ""
        return f"{e.work.fn}: {ops}{note} of {where}"
    if isinstance(e, fx.ReadPgmap):
        return f"{fn}: reads pgmap#{e.pgmap}"
    if isinstance(e, fx.Step):
        return f"{fn}: {e.name}" + (f" ({e.detail})" if e.detail else "")
    if isinstance(e, fx.InitPagesPeriodic):
        return f"{e.steps[0].work.fn if e.steps else fn}: compound pages [{e.lo:#x}, {e.hi:#x})"
    if isinstance(e, fx.ReadMaxPfn):
        return f"{fn}: max_pfn = {r:#x}"
    if isinstance(e, fx.UpdateEndOfMemoryVars):
        return f"{fn}: max_pfn >= {e.start_pfn + e.nr_pages:#x}"
    if isinstance(e, fx.ReadNodeSpans):
        spans = ", ".join(f"node {n} [{lo:#x}, {hi:#x})" for n, lo, hi in r)
        return f"{fn}: {spans or 'no spans'}"
    if isinstance(e, fx.ResizePgdatRange | fx.ResizeZoneRange):
        return f"{fn}: span grows to [{e.start_pfn:#x}, +{e.nr_pages:#x})"
    if isinstance(e, fx.Acquire | fx.Release):
        verb = "lock" if isinstance(e, fx.Acquire) else "unlock"
        return f"{verb} {e.lock} ({e.mode.value})"
    if isinstance(e, fx.PercpuRefKill):
        return f"{fn}: percpu_ref_kill(pgmap#{e.pgmap})"
    if isinstance(e, fx.PercpuRefGet | fx.PercpuRefPut):
        verb = "get" if isinstance(e, fx.PercpuRefGet) else "put"
        return f"{fn}: percpu_ref_{verb}_many(pgmap#{e.pgmap}, {e.n})"
    if isinstance(e, fx.SetDriverBound | fx.ReadDriverBound):
        return f"{fn}: {type(e).__name__} {e.dev_name}" + (f" = {r}" if r is not None else "")
    return f"{fn}: {type(e).__name__}"


def litmus(rep: FindingReport) -> list[str]:
    """The message-passing summary: the reader's steps up to the read, for each the last
    writer step it conflicts with, and the writer step after the read on the same struct
    page (``[locks]`` held; cpu_hotplug_lock, taken with mem_hotplug_lock, is not shown)."""
    evs = rep.events
    r = rep.read_index
    reader = rep.reader_thread
    internal = rep.hit.reader is not None and not reader.startswith(rep.hit.reader + "@")
    if internal:
        mine = [r]
    else:
        mine = [i for i in range(r + 1) if evs[i].thread == reader and (evs[i].visible or i == r)]
    rows = set(mine)
    for i in mine:
        for j in range(i - 1, -1, -1):
            if (
                (evs[j].thread != reader or internal)
                and evs[j].fp
                and conflict(evs[j].fp, evs[i].fp)
            ):
                rows.add(j)
                break
    nxt = rep.hit.next_write
    if nxt is not None and 0 <= nxt.seq < len(evs):
        rows.add(nxt.seq)
    left: list[tuple[int, str]] = []
    right: list[tuple[int, str]] = []
    writers = sorted({evs[i].thread for i in rows if i not in mine})
    for i in sorted(rows):
        ev = evs[i]
        text = describe(ev)
        locks = [
            lk for lk in ev.locks if not (lk == CPU_HOTPLUG_LOCK and MEM_HOTPLUG_LOCK in ev.locks)
        ]
        if locks:
            text += f"  [{', '.join(locks)}]"
        if i in mine:
            right.append((i, text))
        else:
            who = f"{ev.thread}: " if len(writers) > 1 else ""
            left.append((i, who + text))
    width = max([len(t) for _i, t in left] + [24])
    p0 = ", ".join(writers) or "(no writer)"
    lines = [f"{'P0: ' + p0:<{width}} | P1: {reader}", "-" * width + "-+-" + "-" * 24]
    cells = {i: (t, "") for i, t in left} | {i: ("", t) for i, t in right}
    for i in sorted(cells):
        a, b = cells[i]
        lines.append(f"{a:<{width}} | {b}".rstrip())
    if nxt is None and rep.hit.kind == "read":
        lines.append(f"{'(no later write to the page)':<{width}} |")
    if rep.hit.pfn is not None:
        lines.append(f"exists (P1: r = page({rep.hit.pfn:#x}) is {rep.hit.state})")
    return lines


def finding_lines(f: Finding) -> list[str]:
    """The report of one finding (what ``memmapsim replay`` prints)."""
    rep = f.report
    assert rep is not None
    h = rep.hit
    out: list[str] = []
    if h.kind == "read":
        what = STATES.get(h.state, h.state)
        out.append(f"finding: {h.reader} reads {what} ({h.invariant})")
    else:
        out.append(f"finding: {h.invariant} broken: {h.state}")
    ctx = f.context_name
    if ctx:
        out.append(f"  {ctx}")
    where = ", ".join(x for x in (h.device, h.pfn_class) if x) or "outside any device"
    if h.pfn is not None:
        out.append(f"  pfn {h.pfn:#x}: {where}")
    if h.detail:
        out.append(f"  {h.detail}")
    if h.kind == "read":
        out.append(f"  reader step: {h.reader_step} (thread {h.thread})")
        out.append(f"    functions: {' > '.join(h.reader_funcs)}")
        out.append(f"    locks held: {', '.join(h.reader_locks) or 'none'}")
    w = h.writer
    if w is not None:
        when = (
            "after the read"
            if h.next_write is not None
            else ("the step itself" if h.kind == "invariant" else "the last write before the read")
        )
        out.append(f"  writer step: {w.step} (thread {w.thread}; {when})")
        out.append(f"    functions: {' > '.join(w.funcs)}")
        out.append(f"    locks held: {', '.join(w.locks) or 'none'}")
    sched = ", ".join(f"{t} x{n}" for t, n in runs(f.choices)) or "(none: the first steps reach it)"
    pre = "preemption" if rep.preemptions == 1 else "preemptions"
    out.append(f"  schedule: {rep.preemptions} {pre}, {len(f.choices)} steps: {sched}")
    if h.kind == "read":
        out.append("  litmus (message passing):")
        out += [f"    {ln}" for ln in litmus(rep)]
    return out


def exploration_lines(run: Exploration) -> list[str]:
    req = run.request
    how = (
        f"{req.strategy}, at most {req.preemptions} preemptions"
        if req.strategy != "pct"
        else f"pct, depth {req.depth}"
    )
    head = (
        f"explore {run.context.scenario.name} on {run.context.kernel.name}: {how}, seed {req.seed}"
    )
    readers: dict[str, int] = {}
    for it in run.items:
        readers[it.reader] = readers.get(it.reader, 0) + (it.pfn is not None)
    rtext = ", ".join(f"{r} ({n} pfns)" if n else r for r, n in readers.items())
    done = (
        "complete: the bounded space is exhausted"
        if run.complete
        else f"not complete: the budget of {req.budget} per reader and pfn or the time ran out"
        if req.strategy == "dfs"
        else "sampled"
    )
    out = [head, f"  readers: {rtext}", f"  schedules explored: {run.schedules:,} ({done})"]
    if not run.findings:
        out.append("no findings")
        return out
    out.append(f"findings ({len(run.findings)})")
    for f in run.findings:
        times = "schedule" if f.count == 1 else "schedules"
        out.append(f"{f.number}. in {f.count} {times}; saved as {f.schedule_file}")
        out += [f"   {ln}" if ln else "" for ln in finding_lines(f)]
    return out


def reader_lines(table: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in table:
        kind = "" if r["thread"] else " (reads made by the removing thread)"
        out.append(f"{r['reader']}: {r['file']} {r['function']}{kind}")
        out.append(f"  when: {r['what']}")
        for g in r["gates"]:
            span = g["first"] if g["first"] == g["last"] else f"{g['first']}-{g['last']}"
            out.append(f"  {span}: {g['gate']}")
    return out
