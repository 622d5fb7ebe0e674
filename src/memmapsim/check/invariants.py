"""Invariants of spec §9.3 checked on the final memory state, as findings with pfn ranges.

A finding is not an error: a faithful model of a kernel version can violate an invariant
the way the kernel did (spec Preface). Findings name the invariant, the device, the pfn
ranges and what was seen there.

- I2: pgmap references taken for pages = pages release will put (no underflow, no leak);
- I4: every pageblock of the ZONE_DEVICE span is MIGRATE_MOVABLE after add;
- I5: every non-reserve pfn of ``res`` has zone DEVICE, the device's node, PG_reserved
  and ``page->pgmap`` pointing at the device's pgmap (a compound tail: a compound head of
  the device's order);
- PASSES: no pfn is initialized by more passes than the version intends for its class;
- I6: after a teardown, the device's span has no memmap left;
- I1 / I8: no kernel path reads a struct page that is not initialized (I8: the zone-span
  shrinking of a removal);
- B1: after boot, every pfn whose section has a boot memmap has a struct page that was
  written (initialised or zeroed), not stale memory.

:func:`step_invariants` checks, after one effect, the invariants that must hold at every
step of a run (I2, I6), for the race explorer.

What a version intends comes from the kernel layer as
:class:`~memmapsim.model.expect.DeviceExpectations`; nothing here knows a version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import msgspec

from memmapsim import effects as fx
from memmapsim.model.expect import DeviceExpectations
from memmapsim.model.memmap import Spread
from memmapsim.model.memory import MemoryState
from memmapsim.model.page import ABSENT_RECORD, PageRecord, PageView
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageblock import describe as describe_pageblock
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import DevPagemap
from memmapsim.model.section import Medium
from memmapsim.model.structpage import STALE, Word, describe_word
from memmapsim.units import PAGEBLOCK_ORDER, PAGES_PER_SECTION, PAGES_PER_SUBSECTION

MAX_RANGES = 8
"""Findings list at most this many pfn ranges (and say how many there were)."""


class Finding(msgspec.Struct, frozen=True):
    invariant: str
    device: str
    ranges: tuple[tuple[int, int], ...]
    """The first (at most MAX_RANGES) maximal pfn ranges where it holds."""
    pages: int
    message: str
    nranges: int = 0
    """How many ranges there are in all (0: as many as shown)."""

    @property
    def range_count(self) -> int:
        return max(self.nranges, len(self.ranges))

    def as_dict(self) -> dict[str, object]:
        return {
            "invariant": self.invariant,
            "device": self.device,
            "pages": self.pages,
            "pfns": [[f"{lo:#x}", f"{hi:#x}"] for lo, hi in self.ranges[:MAX_RANGES]],
            "ranges": self.range_count,
            "message": self.message,
        }


def _finding(inv: str, label: str, spread: Spread, message: str) -> Finding:
    return Finding(inv, label, tuple(spread.ranges), spread.pages, message, spread.nranges)


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def _pages(ranges: tuple[tuple[int, int], ...]) -> int:
    return sum(hi - lo for lo, hi in ranges)


def check_passes(mem: MemoryState, exp: DeviceExpectations, label: str) -> list[Finding]:
    """PASSES: per class, the pfns initialized more often than the version intends."""
    out: list[Finding] = []
    for cls in exp.classes:
        limit = cls.max_passes

        def too_many(rec: PageRecord, limit: int = limit) -> str | None:
            passes = rec.init_passes
            if len(passes) <= limit:
                return None
            desc = ", then ".join(p.label(who=True) for p in passes)
            return f"{len(passes)} pass" + ("es" if len(passes) > 1 else "") + f": {desc}"

        found: dict[str, Spread] = {}
        cls.spread(mem.memmap, too_many, found)
        for desc, spread in found.items():
            msg = f"{cls.label}: initialized by {desc} (this version intends at most {limit})"
            out.append(_finding("PASSES", label, spread, msg))
    return out


def check_refs(pgmap: DevPagemap, exp: DeviceExpectations, label: str) -> list[Finding]:
    """I2 at the end of add: the references taken for pages must match the puts to come;
    after a teardown, the puts made."""
    taken = pgmap.ref.gets
    puts = pgmap.ref.puts if exp.removed else exp.release_puts
    if taken == puts:
        return []
    lo, hi = sorted((pgmap.cfg.pfn_first(), pgmap.cfg.pfn_end()))
    if taken < puts:
        count = pgmap.ref.count - puts
        msg = (
            f"{taken} pgmap references taken, {puts} pages put at release: the "
            f"{pgmap.ref.name} percpu_ref underflows by {puts - taken} (the kernel "
            f"warns 'percpu ref (...) <= 0 ({count}) after switching to atomic')"
        )
    else:
        msg = (
            f"{taken} pgmap references taken, {puts} pages put at release: "
            f"{taken - puts} references leak and the ref never drops to zero"
        )
    return [Finding("I2", label, ((lo, hi),), hi - lo, msg)]


def check_pageblocks(mem: MemoryState, exp: DeviceExpectations, label: str) -> list[Finding]:
    """I4: every pageblock of the span is MIGRATE_MOVABLE."""
    bad: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for slo, shi in exp.span_pages:
        blo, bhi = slo >> PAGEBLOCK_ORDER, (shi + (1 << PAGEBLOCK_ORDER) - 1) >> PAGEBLOCK_ORDER
        for lo, hi, mt in mem.pageblocks.runs(blo, bhi):
            if mt != MigrateType.MIGRATE_MOVABLE:
                pfns = (lo << PAGEBLOCK_ORDER, hi << PAGEBLOCK_ORDER)
                bad[describe_pageblock(mt)].append(pfns)
    out = []
    for what, ranges in bad.items():
        merged = _merge(ranges)
        n = _pages(merged) >> PAGEBLOCK_ORDER
        out.append(
            Finding(
                "I4",
                label,
                merged,
                _pages(merged),
                f"{n} pageblock(s) not MIGRATE_MOVABLE after add: migratetype {what}",
            )
        )
    return out


def check_device_pages(
    mem: MemoryState, pgmap: DevPagemap, exp: DeviceExpectations, label: str
) -> list[Finding]:
    """I5: every non-reserve pfn of res is a fully set-up ZONE_DEVICE page of this pgmap
    (per class of pfns, one finding per kind of problem)."""
    lo, hi = exp.device_pages

    def problems(rec: PageRecord) -> str | None:
        found = _page_problems(PageView(0, rec, mem.layout), pgmap, exp.compound_order)
        return "; ".join(found) if found else None

    out: list[Finding] = []
    for cls in exp.classes:
        found: dict[str, Spread] = {}
        cls.spread(mem.memmap, problems, found, (lo, hi))
        for what, spread in found.items():
            out.append(_finding("I5", label, spread, f"{cls.label}: {what}"))
    return out


def _page_problems(page: PageView, pgmap: DevPagemap, order: int = 0) -> list[str]:
    if page.absent:
        return ["no memmap"]
    if page.stale:
        return ["never initialized (stale memmap)"]
    if page.poisoned:
        return ["never initialized (poisoned, all bytes 0xff)"]
    problems = []
    if page.zone != ZoneType.ZONE_DEVICE:
        problems.append(f"zone {page.zone}, not ZONE_DEVICE")
    if page.nid != pgmap.nid:
        problems.append(f"node {page.nid}, not {pgmap.nid}")
    if not page.reserved:
        problems.append("PG_reserved clear")
    if order and page.tail:
        # a compound tail: its pgmap is its head's; word 1 must point at a head of this order
        if page.compound_order != order:
            word = describe_word(page.words[Word.LRU_NEXT])
            problems.append(f"compound_head reads {word}, not a head of order {order}")
    elif page.pgmap != pgmap.id:
        problems.append(f"page->pgmap reads {describe_word(page.words[Word.LRU_NEXT])}")
    return problems


def check_removed(mem: MemoryState, exp: DeviceExpectations, label: str) -> list[Finding]:
    """I6 after a teardown: no struct page of the device's span is left mapped."""
    found: dict[str, Spread] = {}
    for lo, hi in exp.span_pages:
        mem.memmap.spread(lo, hi, lambda r: None if r == ABSENT_RECORD else "left", found)
    return [
        _finding("I6", label, spread, "memmap still mapped after the device was removed")
        for spread in found.values()
    ]


READ_INVARIANT = {"shrink_zone_span": "I8"}
"""Readers with an invariant of their own (I8: span shrinking); any other is I1."""


def check_reads(mem: MemoryState, device_of: Callable[[str], str]) -> list[Finding]:
    """I1/I8: a kernel path dereferenced a struct page that was not initialized (absent,
    stale or poisoned) — one finding per reader and state, per device."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for rd in mem.uninitialized_reads:
        groups[(device_of(rd.thread), rd.by, rd.state)].append(rd.pfn)
    out = []
    for (label, by, state), pfns in groups.items():
        spread = Spread()
        for pfn in sorted(set(pfns)):
            spread.add(pfn, pfn + 1)
        what = {"absent": "has no memmap", "stale": "was never initialized",
                "poisoned": "is poisoned (never initialized)"}[state]  # fmt: skip
        msg = f"{by} read a struct page that {what}"
        out.append(_finding(READ_INVARIANT.get(by, "I1"), label, spread, msg))
    return out


def check_boot_memmap(mem: MemoryState) -> list[Finding]:
    """B1, at the end of boot: the struct pages of the boot memmap (pfns whose vmemmap is
    boot memory) that were never written in this boot."""
    found: dict[str, Spread] = {}
    for lo, hi, backing in mem.vmemmap.runs(0, 1 << 52):
        if backing is None or backing.medium is not Medium.BOOT:
            continue
        mem.memmap.spread(lo, hi, lambda r: "stale" if r.words[0] == STALE else None, found)
    return [
        _finding(
            "B1",
            "boot",
            spread,
            "struct page of a pfn with a boot memmap never written: it holds what the raw "
            "memmap allocation held",
        )
        for spread in found.values()
    ]


def check_all(
    mem: MemoryState,
    expected: list[DeviceExpectations],
    labels: dict[int, str],
    device_of: Callable[[str], str] = str,
) -> list[Finding]:
    """All invariants for every pgmap the kernel has expectations for; ``labels`` names
    each pgmap's device, ``device_of`` the device a thread worked for."""
    out: list[Finding] = []
    for exp in expected:
        pgmap = mem.pgmap(exp.pgmap)
        label = labels.get(pgmap.id, pgmap.cfg.dev_name)
        out += check_refs(pgmap, exp, label)
        if exp.removed:
            out += check_removed(mem, exp, label)
            continue
        out += check_pageblocks(mem, exp, label)
        out += check_device_pages(mem, pgmap, exp, label)
        out += check_passes(mem, exp, label)
    return out + check_reads(mem, device_of)


# --- at every step (the race explorer) ----------------------------------------------------
REF_EFFECTS = (fx.PercpuRefGet, fx.PercpuRefPut, fx.PercpuRefKill)
SECTION_EFFECTS = (fx.SetSections, fx.PopulateMemmap, fx.DepopulateMemmap)


def pfn_valid_state(mem: MemoryState, pfn: int) -> bool:
    """``pfn_valid`` from the section state alone: the section has a memmap and — where the
    section has a v5.3 ``usage`` and is not early — the pfn's sub-section bit is set."""
    ms = mem.sections.of_pfn(pfn)
    if not ms.valid:
        return False
    if not ms.usage or ms.early:
        return True
    idx = (pfn % PAGES_PER_SECTION) // PAGES_PER_SUBSECTION
    return bool(ms.subsection_map >> idx & 1)


def step_invariants(
    mem: MemoryState, eff: fx.Effect, pfns: tuple[int, ...]
) -> list[tuple[str, int | None, str, str]]:
    """The invariants of spec §9.3 that must hold after every step, checked after ``eff``:

    - I2: no pgmap's reference count is below zero (checked after a reference effect);
    - I6: at the pfns ``pfns``, ``pfn_valid`` implies a mapped memmap (after a section or
      memmap effect; a boot memmap, whose struct pages are not modelled, counts as mapped).

    Each as ``(invariant, pfn, state, message)``."""
    out: list[tuple[str, int | None, str, str]] = []
    if isinstance(eff, REF_EFFECTS):
        pg = mem.pgmap(eff.pgmap)
        if pg.ref.count < 0:
            what = type(eff).__name__
            out.append(
                (
                    "I2",
                    pg.cfg.pfn_first(),
                    "reference underflow",
                    f"{pg.cfg.dev_name}: the {pg.ref.name} percpu_ref reads {pg.ref.count} after "
                    f"{what}: {pg.ref.gets} references taken, {pg.ref.puts} put",
                )
            )
    elif isinstance(eff, SECTION_EFFECTS):
        for p in pfns:
            if not pfn_valid_state(mem, p):
                continue
            if mem.memmap.record(p) != ABSENT_RECORD:
                continue
            backing = mem.vmemmap.backing(p)
            if backing is not None and backing.medium is Medium.BOOT:
                continue
            out.append(("I6", p, "pfn_valid without memmap",
                        f"pfn {p:#x}: pfn_valid is true but no memmap backs it"))  # fmt: skip
    return out
