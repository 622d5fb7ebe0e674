"""The pfn classes of a ZONE_DEVICE range, and a census of how each class was written.

For a device whose section-aligned span is ``[A, B)`` and whose namespace (``res``) is
``[R, E)``, with an altmap based at ``base`` (= A)::

    A      base+reserve        base+offset     next section     E            B
    |reserve|  free (memmap host) | data ... section tail | data ... |  padding  |

- ``altmap_reserve``: the info block and the start's offset into its section; never
  initialized;
- ``altmap_free``: the pfns whose memory holds the memmap (incl. the 2 MiB alignment);
- ``data_section_tail``: data pfns from the altmap's end to the end of that section;
- ``data``: the remaining data pfns of ``res``;
- ``padding_before`` / ``padding_after``: pfns of the aligned span outside ``res``
  (``padding_before`` only without an altmap; with one it is inside the reserve).

Before v5.3 two devices can share a section; a pfn inside another device's ``res``
belongs to that device, so a class is clipped to the pfns no other device owns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from memmapsim.model.memmap import Memmap
from memmapsim.model.page import PassRecord
from memmapsim.model.pgmap import PgmapConfig
from memmapsim.units import PAGE_SHIFT, SECTION_ALIGN_DOWN, SECTION_ALIGN_UP

CLASS_LABELS = {
    "altmap_reserve": "altmap reserve",
    "altmap_free": "altmap free (hosts the memmap)",
    "data_section_tail": "data, altmap end to that section's end",
    "data": "data",
    "padding_before": "section padding before the namespace",
    "padding_after": "section padding beyond the namespace",
}

Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PfnClass:
    key: str
    ranges: Ranges

    @property
    def label(self) -> str:
        return CLASS_LABELS[self.key]

    @property
    def pages(self) -> int:
        return sum(hi - lo for lo, hi in self.ranges)

    @property
    def lo(self) -> int:
        return self.ranges[0][0]

    @property
    def hi(self) -> int:
        return self.ranges[-1][1]


def aligned_span(cfg: PgmapConfig) -> tuple[int, int]:
    """The section-aligned pfn span devm_memremap_pages adds (≤ v5.2)."""
    return SECTION_ALIGN_DOWN(cfg.res_start >> PAGE_SHIFT), SECTION_ALIGN_UP(cfg.pfn_end())


def res_pfns(cfg: PgmapConfig) -> tuple[int, int]:
    return cfg.res_start >> PAGE_SHIFT, cfg.pfn_end()


def subtract(lo: int, hi: int, holes: Sequence[tuple[int, int]]) -> Ranges:
    """``[lo, hi)`` minus the ``holes``."""
    out: list[tuple[int, int]] = []
    pos = lo
    for hlo, hhi in sorted(holes):
        if hhi <= pos or hlo >= hi:
            continue
        if hlo > pos:
            out.append((pos, hlo))
        pos = max(pos, hhi)
    if pos < hi:
        out.append((pos, hi))
    return tuple(out)


def pfn_classes(cfg: PgmapConfig, others: Sequence[tuple[int, int]] = ()) -> list[PfnClass]:
    """The non-empty classes of a device, in pfn order; ``others`` are the res pfn ranges
    of the other devices, which are not this device's."""
    span_lo, span_hi = aligned_span(cfg)
    res_lo, res_hi = res_pfns(cfg)
    raw: list[tuple[str, int, int]] = []
    if cfg.altmap is not None:
        base = cfg.altmap.base_pfn
        data_lo = base + cfg.altmap.offset()
        tail_hi = min(SECTION_ALIGN_UP(data_lo), res_hi)
        raw += [
            ("altmap_reserve", base, base + cfg.altmap.reserve),
            ("altmap_free", base + cfg.altmap.reserve, data_lo),
            ("data_section_tail", data_lo, tail_hi),
            ("data", tail_hi, res_hi),
        ]
    else:
        raw += [("padding_before", span_lo, res_lo), ("data", res_lo, res_hi)]
    raw.append(("padding_after", res_hi, span_hi))
    out = []
    for key, lo, hi in raw:
        ranges = subtract(lo, hi, others)
        if ranges:
            out.append(PfnClass(key, ranges))
    return out


@dataclass(frozen=True)
class ClassCensus:
    """How the pfns of one class were written: each distinct pass history, with its pages."""

    cls: PfnClass
    histories: tuple[tuple[tuple[PassRecord, ...], int], ...]

    @property
    def uniform(self) -> bool:
        return len(self.histories) == 1


def census(memmap: Memmap, cls: PfnClass) -> ClassCensus:
    counts: Counter[tuple[PassRecord, ...]] = Counter()
    for lo, hi in cls.ranges:
        for s, e, rec in memmap.runs(lo, hi):
            counts[rec.init_passes] += e - s
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    return ClassCensus(cls, tuple(ordered))
