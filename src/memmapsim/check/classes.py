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
"""

from __future__ import annotations

from collections import Counter
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


@dataclass(frozen=True)
class PfnClass:
    key: str
    lo: int
    hi: int

    @property
    def label(self) -> str:
        return CLASS_LABELS[self.key]

    @property
    def pages(self) -> int:
        return self.hi - self.lo


def aligned_span(cfg: PgmapConfig) -> tuple[int, int]:
    """The section-aligned pfn span devm_memremap_pages adds (≤ v5.2)."""
    return SECTION_ALIGN_DOWN(cfg.res_start >> PAGE_SHIFT), SECTION_ALIGN_UP(cfg.pfn_end())


def pfn_classes(cfg: PgmapConfig) -> list[PfnClass]:
    """The non-empty classes of a device, in pfn order."""
    span_lo, span_hi = aligned_span(cfg)
    res_lo, res_hi = cfg.res_start >> PAGE_SHIFT, cfg.pfn_end()
    out: list[PfnClass] = []
    if cfg.altmap is not None:
        base = cfg.altmap.base_pfn
        data_lo = base + cfg.altmap.offset()
        out.append(PfnClass("altmap_reserve", base, base + cfg.altmap.reserve))
        out.append(PfnClass("altmap_free", base + cfg.altmap.reserve, data_lo))
        tail_hi = min(SECTION_ALIGN_UP(data_lo), res_hi)
        out.append(PfnClass("data_section_tail", data_lo, tail_hi))
        out.append(PfnClass("data", tail_hi, res_hi))
    else:
        out.append(PfnClass("padding_before", span_lo, res_lo))
        out.append(PfnClass("data", res_lo, res_hi))
    out.append(PfnClass("padding_after", res_hi, span_hi))
    return [c for c in out if c.pages > 0]


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
    for lo, hi, rec in memmap.runs(cls.lo, cls.hi):
        counts[rec.init_passes] += hi - lo
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    return ClassCensus(cls, tuple(ordered))
