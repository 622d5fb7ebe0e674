"""Invariants of spec §9.3 checked on the final memory state, as findings with pfn ranges.

A finding is not an error: a faithful model of a kernel version can violate an invariant
the way the kernel did (spec Preface). Findings name the invariant, the device, the pfn
ranges and what was seen there.

- I2: pgmap references taken for pages = pages release will put (no underflow, no leak);
- I4: every pageblock of the ZONE_DEVICE span is MIGRATE_MOVABLE after add;
- I5: every non-reserve pfn of ``res`` has zone DEVICE, the device's node, PG_reserved
  and ``page->pgmap`` pointing at the device's pgmap;
- PASSES: no pfn is initialized by more passes than the version's table allows
  (:func:`expected_passes`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from memmapsim.check.classes import aligned_span, pfn_classes, res_pfns, subtract
from memmapsim.model.memory import MemoryState
from memmapsim.model.page import PageView
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageblock import describe as describe_pageblock
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import DevPagemap
from memmapsim.model.structpage import Word, describe_word
from memmapsim.units import PAGEBLOCK_ORDER

MAX_RANGES = 8
"""Findings list at most this many pfn ranges (and say how many there were)."""


@dataclass(frozen=True)
class Finding:
    invariant: str
    device: str
    ranges: tuple[tuple[int, int], ...]
    pages: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "invariant": self.invariant,
            "device": self.device,
            "pages": self.pages,
            "pfns": [[f"{lo:#x}", f"{hi:#x}"] for lo, hi in self.ranges[:MAX_RANGES]],
            "ranges": len(self.ranges),
            "message": self.message,
        }


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


def expected_passes(key: str, deferred: bool, section_tail: bool) -> int:
    """Init passes a pfn of each class gets when all goes as the version intends
    (spec §4.1, §4.4; the issue's table, with the v4.20 section-tail row corrected)."""
    table = {
        # class:               (era A, era B)
        "altmap_reserve": (0, 0),
        "altmap_free": (1, 1),
        "data": (2, 1),
        "data_section_tail": (2, 1 + int(section_tail)),
        "padding_before": (1, 1),
        "padding_after": (1, 1),
    }
    return table[key][int(deferred)]


def check_passes(
    mem: MemoryState,
    pgmap: DevPagemap,
    label: str,
    others: list[tuple[int, int]],
    deferred: bool,
    section_tail: bool,
) -> list[Finding]:
    out: list[Finding] = []
    for cls in pfn_classes(pgmap.cfg, others):
        limit = expected_passes(cls.key, deferred, section_tail)
        by_history: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for clo, chi in cls.ranges:
            for lo, hi, rec in mem.memmap.runs(clo, chi):
                passes = rec.init_passes
                if len(passes) > limit:
                    desc = ", then ".join(p.label(who=True) for p in passes)
                    n = f"{len(passes)} pass" + ("es" if len(passes) > 1 else "")
                    by_history[f"{n}: {desc}"].append((lo, hi))
        for desc, ranges in by_history.items():
            merged = _merge(ranges)
            out.append(
                Finding(
                    "PASSES",
                    label,
                    merged,
                    _pages(merged),
                    f"{cls.label}: initialized by {desc} (this version intends at most {limit})",
                )
            )
    return out


def pages_put_at_release(pgmap: DevPagemap) -> int:
    """devm_memremap_pages_release puts one page (one pgmap ref) per pfn of
    for_each_device_pfn (none if pfn_first >= pfn_end); hmm_devmem_release puts none."""
    if not pgmap.cfg.release_puts_pages:
        return 0
    return max(0, pgmap.cfg.pfn_end() - pgmap.cfg.pfn_first())


def check_refs(pgmap: DevPagemap, label: str) -> list[Finding]:
    """I2 at the end of add: the references taken for pages must match the puts to come."""
    taken, puts = pgmap.ref.gets, pages_put_at_release(pgmap)
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


def check_pageblocks(
    mem: MemoryState, pgmap: DevPagemap, label: str, others: list[tuple[int, int]]
) -> list[Finding]:
    """I4: every pageblock of the aligned span is MIGRATE_MOVABLE."""
    bad: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for slo, shi in subtract(*aligned_span(pgmap.cfg), others):
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


def check_device_pages(mem: MemoryState, pgmap: DevPagemap, label: str) -> list[Finding]:
    """I5: every non-reserve pfn of res is a fully set-up ZONE_DEVICE page of this pgmap."""
    cfg = pgmap.cfg
    res_lo, res_hi = res_pfns(cfg)
    if cfg.altmap is not None:
        res_lo = max(res_lo, cfg.altmap.base_pfn + cfg.altmap.reserve)
    classes = pfn_classes(cfg)
    bad: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for lo, hi, rec in mem.memmap.runs(res_lo, max(res_lo, res_hi)):
        problems = _page_problems(PageView(lo, rec, mem.layout), pgmap)
        if problems:
            bad["; ".join(problems)].append((lo, hi))
    out = []
    for what, ranges in bad.items():
        merged = _merge(ranges)
        where = ", ".join(
            c.label
            for c in classes
            if any(lo < chi and clo < hi for lo, hi in merged for clo, chi in c.ranges)
        )
        out.append(Finding("I5", label, merged, _pages(merged), f"{where}: {what}"))
    return out


def _page_problems(page: PageView, pgmap: DevPagemap) -> list[str]:
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
    if page.pgmap != pgmap.id:
        problems.append(f"page->pgmap reads {describe_word(page.words[Word.LRU_NEXT])}")
    return problems


def check_all(
    mem: MemoryState, labels: dict[int, str], deferred: bool, section_tail: bool
) -> list[Finding]:
    """All invariants for every pgmap; ``labels`` names each pgmap's device."""
    out: list[Finding] = []
    for pgmap in mem.all_pgmaps():
        label = labels.get(pgmap.id, pgmap.cfg.dev_name)
        others = [res_pfns(p.cfg) for p in mem.all_pgmaps() if p.id != pgmap.id]
        out += check_refs(pgmap, label)
        out += check_pageblocks(mem, pgmap, label, others)
        out += check_device_pages(mem, pgmap, label)
        out += check_passes(mem, pgmap, label, others, deferred, section_tail)
    return out
