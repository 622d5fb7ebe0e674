"""What an effect touches: the footprints the explorer compares to decide which steps of two
threads may be reordered (partial-order reduction).

A footprint is a tuple of :class:`Access`: a kind of state, a range of it (pfns, section
numbers, or ``(0, 1)`` for a single object), whether it is written, and a key naming the
object (a lock, a pgmap). Two steps *conflict* when they touch the same object, on
overlapping ranges, and at least one writes it; steps that do not conflict commute. The
table mirrors :class:`~memmapsim.engine.apply.Applier`: one entry per effect type, no
kernel knowledge. An effect the table does not know conflicts with everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memmapsim import effects as fx

SPAN_ALL = (0, 1 << 60)


@dataclass(frozen=True, slots=True)
class Access:
    kind: str
    lo: int
    hi: int
    write: bool
    key: str = ""


Footprint = tuple[Access, ...]
EVERYTHING: Footprint = (Access("*", 0, 1, True),)


def conflict(a: Footprint, b: Footprint) -> bool:
    """Whether two footprints conflict (one writes what the other touches)."""
    for x in a:
        for y in b:
            if x.kind == "*" or y.kind == "*":
                return True
            if (
                x.kind == y.kind
                and (x.write or y.write)
                and x.key == y.key
                and x.lo < y.hi
                and y.lo < x.hi
            ):
                return True
    return False


def _one(kind: str, write: bool, key: str = "") -> Footprint:
    return (Access(kind, 0, 1, write, key),)


def _pages(lo: int, hi: int, write: bool) -> Access:
    return Access("page", lo, hi, write)


def _init(lo: int, hi: int, work: fx.PageWork) -> Footprint:
    out = [_pages(lo, hi, True)]
    if work.pageblock is not None:
        out.append(Access("pageblock", lo, hi, True))
    if work.ref_gets and work.pgmap is not None:
        out.append(Access("refcount", 0, 1, True, str(work.pgmap)))
    return tuple(out)


_TABLE: dict[type, Callable[[Any], Footprint]] = {
    fx.Acquire: lambda e: _one("lock", True, e.lock),
    fx.Release: lambda e: _one("lock", True, e.lock),
    fx.Step: lambda e: (),
    fx.BeginStep: lambda e: (),
    fx.Jiffies: lambda e: (),
    fx.Printk: lambda e: (),
    fx.CondResched: lambda e: (),
    fx.Spawn: lambda e: (),
    fx.AsyncSchedule: lambda e: (),
    fx.Join: lambda e: (),
    fx.AsyncSynchronize: lambda e: (),
    fx.GetDevPagemap: lambda e: (
        Access("index", e.pfn, e.pfn + 1, False, "pgmap"),
        Access("ref", 0, 1, False),
    ),
    fx.RegionIntersects: lambda e: _one("iomem", False),
    fx.RequestMemRegion: lambda e: _one("iomem", True),
    fx.ReleaseMemRegion: lambda e: _one("iomem", True),
    fx.FindPgmap: lambda e: _one("pgmaps", False),
    fx.FreePgmap: lambda e: _one("pgmaps", True),
    fx.NewPgmap: lambda e: _one("pgmaps", True),
    fx.ReadPgmap: lambda e: (),
    fx.PgmapIndexInsert: lambda e: (Access("index", e.lo, e.hi, True, e.index),),
    fx.PgmapIndexRemove: lambda e: (Access("index", e.lo, e.hi, True, e.index),),
    fx.PercpuRefGet: lambda e: _one("refcount", True, str(e.pgmap)),
    fx.PercpuRefPut: lambda e: _one("refcount", True, str(e.pgmap)),
    fx.PercpuRefKill: lambda e: (Access("ref", 0, 1, True), *_one("refcount", True, str(e.pgmap))),
    fx.ReadPage: lambda e: (_pages(e.pfn, e.pfn + 1, False),),
    fx.ReadSections: lambda e: (Access("section", e.lo, e.hi, False),),
    fx.SetSections: lambda e: (Access("section", e.lo, e.hi, True),),
    fx.PopulateMemmap: lambda e: (_pages(e.lo, e.hi, True),),
    fx.DepopulateMemmap: lambda e: (_pages(e.lo, e.hi, True),),
    fx.ReadAltmap: lambda e: _one("altmap", False, str(e.pgmap)),
    fx.SetAltmap: lambda e: _one("altmap", True, str(e.pgmap)),
    fx.SetPageblocks: lambda e: (Access("pageblock", e.lo, e.hi, True),),
    fx.ResizeZoneRange: lambda e: (Access("span", *SPAN_ALL, True),),
    fx.ResizePgdatRange: lambda e: (Access("span", *SPAN_ALL, True),),
    fx.InitCurrentlyEmptyZone: lambda e: (Access("span", *SPAN_ALL, True),),
    fx.ShrinkZoneSpan: lambda e: (Access("span", *SPAN_ALL, True),),
    fx.SetZoneContiguous: lambda e: (Access("span", *SPAN_ALL, True),),
    fx.ReadNodeSpans: lambda e: (Access("span", *SPAN_ALL, False),),
    fx.UpdateEndOfMemoryVars: lambda e: _one("max_pfn", True),
    fx.ReadMaxPfn: lambda e: _one("max_pfn", False),
    fx.SetHighestMemmapPfn: lambda e: _one("highest_memmap_pfn", True),
    fx.SetDriverBound: lambda e: _one("bound", True, e.dev_name),
    fx.ReadDriverBound: lambda e: _one("bound", False, e.dev_name),
    fx.InitPages: lambda e: _init(e.lo, e.hi, e.work),
    fx.InitPagesPeriodic: lambda e: tuple(a for s in e.steps for a in _init(e.lo, e.hi, s.work)),
}


def footprint(eff: fx.Effect) -> Footprint:
    """What ``eff`` reads and writes."""
    fn = _TABLE.get(type(eff))
    return EVERYTHING if fn is None else fn(eff)


def reader_footprint(pfns: tuple[int, ...], sections: tuple[int, ...]) -> Footprint:
    """Everything a reader that looks at ``pfns`` may touch: their struct pages, sections,
    pgmap index entries and pageblocks, the refs' liveness, ``max_pfn``, the spans, which
    drivers are bound, and the pgmaps' existence. Writer steps that conflict with it are
    the points where the explorer lets the reader in."""
    out: list[Access] = []
    for p in pfns:
        out += [
            _pages(p, p + 1, False),
            Access("index", p, p + 1, False, "pgmap"),
            Access("pageblock", p, p + 1, False),
        ]
    for s in sections:
        out.append(Access("section", s, s + 1, False))
    out += [
        Access("ref", 0, 1, False),
        Access("max_pfn", 0, 1, False),
        Access("span", *SPAN_ALL, False),
        Access("bound", 0, 1, False, "*"),
    ]
    return tuple(out)


def conflict_reader(atom: Footprint, reader: Footprint) -> bool:
    """:func:`conflict`, where the reader's ``bound`` access stands for every device."""
    if any(a.kind == "bound" for a in atom):
        return True
    return conflict(atom, reader)
