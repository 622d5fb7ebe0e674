"""Race exploration of a scenario: the kernel's readers against its writers (DESIGN.md).

The engine's explorer (:mod:`memmapsim.engine.explore`) knows no kernel; this module wires
one to it. A request names a scenario, a kernel, readers (:mod:`memmapsim.kernel.readers`)
and the pfns they look at — by default one pfn of every pfn class of every device, from an
in-order reference run (:func:`memmapsim.kernel.expect.expectations`). Each (reader, pfn)
is a work item; an item is one task for the exhaustive strategy and chunks of schedules for
the random ones, so the tasks are the same whatever runs them: this process, ``--jobs N``
local processes or a Dask cluster (:mod:`memmapsim.engine.workers`), and the merged result
is the same. Every finding's first schedule is shrunk where it was found; the merged
findings are replayed once more, recording, for their reports and schedule files.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memmapsim.check.invariants import READ_INVARIANT
from memmapsim.config.scenario import Scenario, load_scenario
from memmapsim.effects import ThreadSpec
from memmapsim.engine import explore as ex
from memmapsim.engine.inorder import InOrderEngine
from memmapsim.errors import InputError
from memmapsim.kernel.expect import expectations
from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.probe import root_thread
from memmapsim.kernel.readers import BY_NAME, READERS
from memmapsim.model.expect import PfnClass
from memmapsim.simulate import (
    build_memory,
    check_kinds,
    namespaces,
    nvdimm_bus,
    preflight,
    ram_classes,
    resolve_kernel,
    steps_of,
)

CHUNK = 100
"""Schedules per task for the random strategies (fixed, so the tasks do not depend on the
number of workers)."""
SKIP_FRAMES = frozenset({"memmapsim.kernel.user_change"})
SCHEDULE_FORMAT = 1


@dataclass(frozen=True)
class Request:
    scenario: str
    kernel: str | None
    readers: tuple[str, ...] = ()
    """Empty: every reader."""
    pfns: tuple[int, ...] = ()
    """Empty: one pfn of every pfn class of every device."""
    strategy: str = "dfs"
    preemptions: int = 2
    depth: int = 3
    budget: int = 100_000
    """Schedules per work item."""
    seconds: float | None = None
    seed: int = 0


@dataclass(frozen=True)
class Item:
    index: int
    reader: str
    pfn: int | None
    device: str | None
    pfn_class: str | None

    @property
    def label(self) -> str:
        return self.reader if self.pfn is None else f"{self.reader}@{self.pfn:#x}"


@dataclass(frozen=True)
class Task:
    request: Request
    item: Item
    chunk: int
    first: int
    count: int
    deadline: float | None


@dataclass
class Context:
    """What every task of a request shares, built once per process."""

    scenario: Scenario
    kernel: Kernel
    classes: list[tuple[str, PfnClass]]

    def classify(self, pfn: int) -> tuple[str | None, str | None]:
        for dev, cls in self.classes:
            if _member(cls, pfn):
                return dev, cls.key
        return None, None


def _member(cls: PfnClass, pfn: int) -> bool:
    for lo, hi in cls.ranges:
        if lo <= pfn < hi:
            if not cls.period:
                return True
            a, b = cls.window
            return a <= pfn % cls.period < b
    return False


def _first_pfn(cls: PfnClass) -> int | None:
    for lo, hi in cls.ranges:
        if not cls.period:
            return lo
        a, _b = cls.window
        p = lo - lo % cls.period + a
        if p < lo:
            p += cls.period
        if p < hi:
            return p
    return None


@functools.lru_cache(maxsize=8)
def context(scenario: str, kernel: str | None) -> Context:
    """The scenario, its kernel and the pfn classes of its devices (every pgmap the steps
    create, by the device that owns it)."""
    sc = load_scenario(scenario)
    if not sc.devices:
        raise InputError(sc.source, "devices", "no devices: add a [[devices]] table to probe")
    k = resolve_kernel(sc, kernel)
    check_kinds(sc, k, kernel is not None)
    preflight(sc, k)
    mem = build_memory(sc, k, "runs")
    InOrderEngine(mem, hz=k.config.hz).run([root_thread(k, steps_of(sc), nvdimm_bus(sc))])
    labels = {ns.device.name: ns.label for ns in namespaces(sc)}
    pgmaps = mem.all_pgmaps()
    classes: list[tuple[str, PfnClass]] = []
    for pg in pgmaps:
        dev = labels.get(pg.cfg.dev_name, pg.cfg.dev_name)
        for cls in expectations(k, pg, pgmaps).classes:
            classes.append((dev, cls))
    for ns in namespaces(sc):
        if ns.kind == "system-ram":  # hot-added RAM: its data pages, and memmap-hosting ones
            lo, hi = ns.pfns
            classes += [(ns.label, cls) for cls in ram_classes(mem, lo, hi)]
    return Context(sc, k, classes)


def setup_for(ctx: Context, item: Item) -> ex.Setup:
    k, sc = ctx.kernel, ctx.scenario
    r = BY_NAME[item.reader]
    writers = (root_thread(k, steps_of(sc), nvdimm_bus(sc)),)
    build = functools.partial(build_memory, sc, k, "runs")
    common: dict[str, Any] = {
        "classify": ctx.classify,
        "hz": k.config.hz,
        "skip_frames": SKIP_FRAMES,
        "read_invariant": lambda by: READ_INVARIANT.get(by, "I1"),
    }
    if r.code is None or item.pfn is None:
        return ex.Setup(build, writers, r.name, internal_by=r.by, **common)
    code = r.code
    spec = ThreadSpec(item.label, functools.partial(code, k, item.pfn))
    return ex.Setup(build, writers, r.name, spec, r.pfns(item.pfn), **common)


# --- planning ---------------------------------------------------------------------------
def check_request(req: Request, jobs: int = 1) -> None:
    """Bad options as one line each (InputError)."""
    if req.strategy not in ex.STRATEGIES:
        known = ", ".join(ex.STRATEGIES)
        raise InputError("--strategy", None, f"unknown strategy {req.strategy!r} ({known})")
    if req.preemptions < 0:
        raise InputError("--preemptions", None, f"must be 0 or more, got {req.preemptions}")
    if req.budget < 1:
        raise InputError("--budget", None, f"must be at least 1 schedule, got {req.budget}")
    if req.depth < 1:
        raise InputError("--depth", None, f"must be at least 1, got {req.depth}")
    if req.seconds is not None and not req.seconds > 0:
        raise InputError("--seconds", None, f"must be more than 0, got {req.seconds}")
    if jobs < 1:
        raise InputError("--jobs", None, f"must be at least 1, got {jobs}")
    for name in req.readers:
        if name not in BY_NAME:
            known = ", ".join(r.name for r in READERS)
            raise InputError("--reader", None, f"unknown reader {name!r} (readers: {known})")
    if len(set(req.readers)) != len(req.readers):
        raise InputError("--reader", None, "a reader is named twice: give it once")


def work_items(req: Request, ctx: Context) -> list[Item]:
    readers = [BY_NAME[n] for n in req.readers] if req.readers else list(READERS)
    limit = 1 << (ctx.scenario.machine.max_physmem_bits - 12)
    for p in req.pfns:
        if not 0 <= p < limit:
            raise InputError("--pfn", None, f"{p:#x} is outside the machine's pfns [0, {limit:#x})")
    targets: list[tuple[int, str | None, str | None]] = []
    if req.pfns:
        targets = [(p, *ctx.classify(p)) for p in req.pfns]
    else:
        seen: set[tuple[str, str]] = set()
        for dev, cls in ctx.classes:
            pfn = _first_pfn(cls)
            if pfn is None or (dev, cls.key) in seen:
                continue
            seen.add((dev, cls.key))
            targets.append((pfn, dev, cls.key))
    items: list[Item] = []
    for r in readers:
        if r.code is None:
            items.append(Item(len(items), r.name, None, None, None))
            continue
        for target, device, key in targets:
            items.append(Item(len(items), r.name, target, device, key))
    return items


def tasks_of(req: Request, items: list[Item]) -> list[Task]:
    deadline = time.time() + req.seconds if req.seconds is not None else None
    out = []
    for it in items:
        if req.strategy == "dfs":
            out.append(Task(req, it, 0, 0, req.budget, deadline))
            continue
        for c, first in enumerate(range(0, req.budget, CHUNK)):
            out.append(Task(req, it, c, first, min(CHUNK, req.budget - first), deadline))
    return out


# --- one task ---------------------------------------------------------------------------
@dataclass
class TaskResult:
    item: int
    chunk: int
    schedules: int
    complete: bool
    groups: list[tuple[tuple[Any, ...], int, int, list[str], ex.Hit]]
    """(key, count, order, shrunk schedule, its finding)."""
    seconds: float = 0.0


def run_task(task: Task) -> TaskResult:
    """Explore one task and shrink the first schedule of each finding (in a worker)."""
    t0 = time.perf_counter()
    req = task.request
    ctx = context(req.scenario, req.kernel)
    setup = setup_for(ctx, task.item)
    if req.strategy == "dfs":
        out = ex.explore_dfs(setup, req.preemptions, task.count, task.deadline)
    elif req.strategy == "random":
        length = ex.schedule_length(setup)
        out = ex.explore_random(
            setup, req.preemptions, task.first, task.count, req.seed, task.item.index, length,
            task.deadline,
        )  # fmt: skip
    else:
        length = ex.schedule_length(setup)
        out = ex.explore_pct(
            setup, req.depth, task.first, task.count, req.seed, task.item.index, length,
            task.deadline,
        )  # fmt: skip
    groups = []
    for key, g in out.groups.items():
        choices, hit = ex.shrink(setup, g.choices, g.hit)
        groups.append((key, g.count, g.order, choices, hit))
    complete = out.complete and req.strategy == "dfs"
    return TaskResult(
        task.item.index, task.chunk, out.schedules, complete, groups, time.perf_counter() - t0
    )


# --- the whole exploration ------------------------------------------------------------------
@dataclass
class Finding:
    number: int
    hit: ex.Hit
    item: Item
    choices: list[str]
    count: int
    report: FindingReport | None = None
    schedule_file: str | None = None
    context_name: str = ""
    """"scenario NAME, kernel NAME", the first line of its report."""


@dataclass
class Exploration:
    request: Request
    context: Context
    items: list[Item]
    schedules: int
    complete: bool
    findings: list[Finding]
    seconds: float = 0.0
    per_item: dict[int, int] = field(default_factory=dict)


@dataclass
class Plan:
    request: Request
    context: Context
    items: list[Item]
    tasks: list[Task]


def plan(req: Request, jobs: int = 1) -> Plan:
    """Check the request, build its context and split it into work items and tasks."""
    check_request(req, jobs)
    ctx = context(req.scenario, req.kernel)
    items = work_items(req, ctx)
    return Plan(req, ctx, items, tasks_of(req, items))


def explore(
    req: Request | Plan,
    jobs: int = 1,
    scheduler: str | None = None,
    done: Callable[[int, int], None] | None = None,
) -> Exploration:
    """Run and merge an exploration; ``done(finished, total)`` reports progress."""
    from memmapsim.engine.workers import run_tasks

    p = req if isinstance(req, Plan) else plan(req, jobs)
    ctx, items, tasks = p.context, p.items, p.tasks
    t0 = time.perf_counter()
    finished = [0]

    def tick(_i: int) -> None:
        finished[0] += 1
        if done is not None:
            done(finished[0], len(tasks))

    results = run_tasks(run_task, tasks, jobs, scheduler, tick)
    merged: dict[tuple[Any, ...], tuple[tuple[int, int, int], Finding]] = {}
    schedules = 0
    per_item: dict[int, int] = {}
    complete = p.request.strategy == "dfs"
    for res in results:
        schedules += res.schedules
        per_item[res.item] = per_item.get(res.item, 0) + res.schedules
        complete = complete and res.complete
        for key, count, order, choices, hit in res.groups:
            rank = (res.item, res.chunk, order)
            if key in merged:
                best_rank, f = merged[key]
                f.count += count
                if rank < best_rank:
                    f.item, f.choices, f.hit = items[res.item], choices, hit
                    merged[key] = (rank, f)
            else:
                merged[key] = (rank, Finding(0, hit, items[res.item], choices, count))
    findings = [f for _rank, f in sorted(merged.values(), key=lambda rf: rf[0])]
    for n, f in enumerate(findings, 1):
        f.number = n
        f.report = finding_report(ctx, f.item, f.choices, f.hit.key)
        f.context_name = context_name(ctx)
    return Exploration(
        p.request, ctx, items, schedules, complete, findings, time.perf_counter() - t0, per_item
    )


# --- reports ------------------------------------------------------------------------------
@dataclass
class FindingReport:
    """A finding as a recorded replay of its schedule shows it."""

    hit: ex.Hit
    preemptions: int
    steps: int
    events: list[ex.Event]
    reader_thread: str
    read_index: int
    """The index in ``events`` of the read (or of the step that broke the invariant)."""


def finding_report(
    ctx: Context, item: Item, choices: list[str], key: tuple[Any, ...]
) -> FindingReport:
    """Replay ``choices``, recording, and find the finding ``key`` in it."""
    setup = setup_for(ctx, item)
    run = ex.replay(setup, choices, record=True)
    hit = next((h for h in run.hits if h.key == key and h.prefix <= len(choices)), None)
    if hit is None:
        raise InputError(
            item.label,
            None,
            "the schedule no longer reaches its finding on this kernel and scenario",
        )
    return FindingReport(hit, hit.preemptions, len(choices), run.events, hit.thread, hit.seq)


def finding_data(f: Finding) -> dict[str, Any]:
    """A finding as ``explore --json`` and ``replay --json`` print it."""
    h = f.hit
    w = h.writer
    data: dict[str, Any] = {
        "number": f.number,
        "kind": h.kind,
        "invariant": h.invariant,
        "reader": h.reader,
        "writer_step": h.writer_step,
        "reader_step": h.reader_step,
        "pfn": f"{h.pfn:#x}" if h.pfn is not None else None,
        "device": h.device,
        "pfn_class": h.pfn_class,
        "state_seen": h.state,
        "preemptions": h.preemptions,
        "steps": len(f.choices),
        "count": f.count,
        "reader_thread": h.thread if h.kind == "read" else None,
        "reader_locks": list(h.reader_locks) if h.kind == "read" else None,
        "reader_functions": list(h.reader_funcs) if h.kind == "read" else None,
        "writer_thread": w.thread if w is not None else None,
        "writer_locks": list(w.locks) if w is not None else None,
        "writer_functions": list(w.funcs) if w is not None else None,
        "message": h.detail or None,
        "schedule": ex.runs(f.choices),
        "schedule_file": f.schedule_file,
    }
    return data


def exploration_data(run: Exploration) -> dict[str, Any]:
    req = run.request
    return {
        "scenario": run.context.scenario.name,
        "kernel": run.context.kernel.name,
        "strategy": req.strategy,
        "preemptions": req.preemptions if req.strategy != "pct" else None,
        "depth": req.depth if req.strategy == "pct" else None,
        "seed": req.seed,
        "budget": req.budget,
        "readers": sorted({it.reader for it in run.items}, key=[r.name for r in READERS].index),
        "work_items": len(run.items),
        "schedules_explored": run.schedules,
        "complete": run.complete,
        "findings": [finding_data(f) for f in run.findings],
    }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def schedule_document(run: Exploration, f: Finding) -> dict[str, Any]:
    """What a schedule file holds: enough to replay the finding exactly."""
    req = run.request
    h = f.hit
    return {
        "memmapsim": "schedule",
        "format": SCHEDULE_FORMAT,
        "scenario": req.scenario,
        "kernel": run.context.kernel.name,
        "reader": f.item.reader,
        "pfn": f"{f.item.pfn:#x}" if f.item.pfn is not None else None,
        "finding": {
            "kind": h.kind,
            "invariant": h.invariant,
            "reader": h.reader,
            "writer_step": h.writer_step,
            "state_seen": h.state,
            "device": h.device,
            "pfn_class": h.pfn_class,
        },
        "number": f.number,
        "count": f.count,
        "preemptions": h.preemptions,
        "steps": len(f.choices),
        "schedule": ex.runs(f.choices),
    }


def save_schedules(run: Exploration, out_dir: str) -> None:
    """Write one schedule file per finding: ``DIR/SCENARIO_KERNEL_NN.json``."""
    base = Path(out_dir)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError("--out", None, f"cannot create {out_dir}: {e.strerror}") from None
    name = _slug(f"{run.context.scenario.name}_{run.context.kernel.name}")
    for f in run.findings:
        path = base / f"{name}_{f.number:02d}.json"
        f.schedule_file = str(path)
        doc = schedule_document(run, f)
        try:
            path.write_text(json.dumps(doc, indent=2) + "\n")
        except OSError as e:
            raise InputError(str(path), None, f"cannot write: {e.strerror}") from None


# --- replay -------------------------------------------------------------------------------
def load_schedule(path: str) -> dict[str, Any]:
    """A schedule file, checked field by field."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, None, f"cannot read: {e}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}", None, f"not JSON: {e.msg}") from None
    if not isinstance(doc, dict) or doc.get("memmapsim") != "schedule":
        raise InputError(path, None, 'not a memmapsim schedule file ("memmapsim": "schedule")')
    if doc.get("format") != SCHEDULE_FORMAT:
        raise InputError(
            path, "format", f"format {doc.get('format')!r}, expected {SCHEDULE_FORMAT}"
        )
    for key, typ in (("scenario", str), ("kernel", str), ("reader", str)):
        if not isinstance(doc.get(key), typ):
            raise InputError(path, key, f"missing or not a {typ.__name__}")
    if doc["reader"] not in BY_NAME:
        raise InputError(path, "reader", f"unknown reader {doc['reader']!r}")
    pfn = doc.get("pfn")
    if pfn is not None and not (isinstance(pfn, str) and re.fullmatch(r"0x[0-9a-f]+", pfn)):
        raise InputError(path, "pfn", f"not a hex pfn: {pfn!r}")
    sched = doc.get("schedule")
    if not isinstance(sched, list) or not all(
        isinstance(r, list) and len(r) == 2 and isinstance(r[0], str) and isinstance(r[1], int)
        and r[1] > 0 for r in sched
    ):  # fmt: skip
        raise InputError(path, "schedule", "not a list of [thread, steps] pairs")
    finding = doc.get("finding")
    if not isinstance(finding, dict) or not all(
        k in finding
        for k in ("kind", "invariant", "reader", "writer_step", "state_seen", "device", "pfn_class")
    ):
        raise InputError(path, "finding", "missing or incomplete")
    return doc


def replay_file(path: str) -> Finding:
    """Replay a schedule file: the finding it records, as its replay shows it."""
    doc = load_schedule(path)
    ctx = context(doc["scenario"], doc["kernel"])
    reader = BY_NAME[doc["reader"]]
    pfn = int(doc["pfn"], 16) if doc["pfn"] is not None else None
    dev, cls = ctx.classify(pfn) if pfn is not None else (None, None)
    item = Item(0, reader.name, pfn if reader.code is not None else None, dev, cls)
    fd = doc["finding"]
    key = (
        fd["kind"], fd["invariant"], fd["reader"] or "", fd["writer_step"] or "",
        fd["state_seen"], fd["device"] or "", fd["pfn_class"] or "",
    )  # fmt: skip
    choices = ex.unruns(doc["schedule"])
    try:
        report = finding_report(ctx, item, choices, key)
    except ex.InvalidScheduleError as e:
        raise InputError(path, "schedule", f"thread {e} cannot run at that point") from None
    stored, number = doc.get("count"), doc.get("number")
    count = stored if isinstance(stored, int) else 1
    return Finding(
        number if isinstance(number, int) else 0, report.hit, item, choices, count, report, path,
        context_name(ctx),
    )  # fmt: skip


def context_name(ctx: Context) -> str:
    return f"scenario {ctx.scenario.name}, kernel {ctx.kernel.name}"


def reader_table() -> list[dict[str, Any]]:
    """Every reader with its gate per release that has ZONE_DEVICE paths (4.14 is modelled
    for boot memory only), consecutive releases with the same gate in one row, for
    ``memmapsim readers``."""
    from memmapsim.kernel.readers import gate_of
    from memmapsim.kernel.versions import device_releases, parse_kernel

    out = []
    for r in READERS:
        spans: list[dict[str, Any]] = []
        for rel in device_releases():
            gate = gate_of(r, parse_kernel(rel))
            if spans and spans[-1]["gate"] == gate:
                spans[-1]["last"] = rel
            else:
                spans.append({"first": rel, "last": rel, "gate": gate})
        out.append(
            {"reader": r.name, "file": r.file, "function": r.entry, "what": r.what,
             "thread": r.code is not None, "gates": spans}
        )  # fmt: skip
    return out
