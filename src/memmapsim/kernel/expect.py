"""What each modelled version intends for a ZONE_DEVICE device, as data for ``check/``.

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

Before v5.3 the add covers whole sections and two devices can share one; a pfn inside
another device's ``res`` belongs to that device, so a class is clipped to the pfns no other
device owns. Since v5.3 (sub-section hotplug) the add covers each range exactly: there is
no padding and no section tail, and the data class runs from the altmap's end to the
range's end.

Init passes per class (spec §4.1, §4.4; ``era A`` is v4.18-v4.19 and the 2018 series
before the deferral, ``era B`` is 966cf44f637e's deferral, v4.20 onwards):

=====================  ======  ======
class                  era A   era B
=====================  ======  ======
altmap_reserve         0       0
altmap_free            1       1
data                   2       1
data_section_tail      2       1, 2 with the section-tail loop (v4.20)
padding_before/after   1       1
=====================  ======  ======
"""

from __future__ import annotations

from memmapsim.kernel.kernel import Kernel
from memmapsim.kernel.mm_init import compound_nr_pages
from memmapsim.model.expect import DeviceExpectations, PfnClass, Ranges, subtract
from memmapsim.model.pgmap import DevPagemap, PgmapConfig
from memmapsim.units import PAGE_SHIFT, SECTION_ALIGN_DOWN, SECTION_ALIGN_UP

COMPOUND_CLASSES = (
    # key, label, first offset, end offset (None: to the visited end / the period)
    ("compound_head", "compound heads", 0, 1),
    ("compound_tail1", "first tails (page[1]: order, mapcounts)", 1, 2),
    ("compound_tail2", "second tails (page[2])", 2, 3),
    ("compound_tails", "other tails", 3, None),
)
DEDUP_LABEL = "deduplicated tails (read page[64..127]'s struct pages)"

CLASS_LABELS = {
    "altmap_reserve": "altmap reserve",
    "altmap_free": "altmap free (hosts the memmap)",
    "data_section_tail": "data, altmap end to that section's end",
    "data": "data",
    "padding_before": "section padding before the namespace",
    "padding_after": "section padding beyond the namespace",
}


def aligned_span(cfg: PgmapConfig) -> tuple[int, int]:
    """The section-aligned pfn span devm_memremap_pages adds (v4.18-v5.2)."""
    return SECTION_ALIGN_DOWN(cfg.res_start >> PAGE_SHIFT), SECTION_ALIGN_UP(cfg.pfn_end())


def range_pfns(cfg: PgmapConfig, i: int = 0) -> tuple[int, int]:
    """The pfns of range ``i`` (``res`` before v5.10)."""
    rng = cfg.ranges[i]
    return rng.start >> PAGE_SHIFT, (rng.end + 1) >> PAGE_SHIFT


def res_pfns(cfg: PgmapConfig) -> tuple[int, int]:
    return range_pfns(cfg, 0)


def add_spans(k: Kernel, cfg: PgmapConfig) -> tuple[tuple[int, int], ...]:
    """The pfns the add initializes: the section-aligned span of ``res`` before v5.3, each
    range exactly since (only the first range before v5.10's multi-range pgmaps)."""
    if not k.p.subsections:
        return (aligned_span(cfg),)
    count = len(cfg.ranges) if k.p.pagemap_ranges else 1
    return tuple(range_pfns(cfg, i) for i in range(count))


PASSES = {
    # class: (era A, era B)
    "altmap_reserve": (0, 0),
    "altmap_free": (1, 1),
    "data": (2, 1),
    "data_section_tail": (2, 1),
    "padding_before": (1, 1),
    "padding_after": (1, 1),
}


def max_passes(k: Kernel, key: str) -> int:
    """The table of the module docstring: in era B the section-tail loop (v4.20) adds a
    locked pass to the data before the section's end; in era A that span ends on a section
    boundary and the loop adds nothing."""
    deferred = k.p.zone_device_deferred
    tail = key == "data_section_tail" and deferred and k.p.section_tail_init
    return PASSES[key][int(deferred)] + int(tail)


def _raw_classes(k: Kernel, cfg: PgmapConfig) -> list[tuple[str, int, int]]:
    res_lo, res_hi = res_pfns(cfg)
    raw: list[tuple[str, int, int]] = []
    data_lo = res_lo
    if cfg.altmap is not None:
        base = cfg.altmap.base_pfn
        data_lo = base + cfg.altmap.offset()
        raw += [
            ("altmap_reserve", base, base + cfg.altmap.reserve),
            ("altmap_free", base + cfg.altmap.reserve, data_lo),
        ]
    if k.p.subsections:
        raw.append(("data", data_lo, res_hi))
        count = len(cfg.ranges) if k.p.pagemap_ranges else 1
        raw += [("data", *range_pfns(cfg, i)) for i in range(1, count)]
        return raw
    span_lo, span_hi = aligned_span(cfg)
    if cfg.altmap is not None:
        tail_hi = min(SECTION_ALIGN_UP(data_lo), res_hi)
        raw += [("data_section_tail", data_lo, tail_hi), ("data", tail_hi, res_hi)]
    else:
        raw += [("padding_before", span_lo, res_lo), ("data", res_lo, res_hi)]
    raw.append(("padding_after", res_hi, span_hi))
    return raw


def compound_classes(k: Kernel, cfg: PgmapConfig, data: Ranges) -> list[PfnClass]:
    """The data pfns of a compound devmap (v5.17+) by offset in their compound page: heads,
    first and second tails (where the compound fields live), the other tails the init
    visits and — with the vmemmap deduplicated (v5.19+) — the tails it never visits, whose
    struct pages are those of tails 64-127. One init pass each."""
    per = 1 << cfg.vmemmap_shift
    nr = compound_nr_pages(k, cfg)
    out = []
    for key, label, a, end in COMPOUND_CLASSES:
        b = min(nr if end is None else end, per)
        if a < b:
            out.append(PfnClass(key, label, data, 1, per, (a, b)))
    if nr < per:
        out.append(PfnClass("compound_dedup", DEDUP_LABEL, data, 1, per, (nr, per)))
    return out


def pfn_classes(k: Kernel, cfg: PgmapConfig, others: list[tuple[int, int]]) -> list[PfnClass]:
    """The non-empty classes of a device, in pfn order; ``others`` are the range pfns of the
    other devices, which are not this device's."""
    ranges_by_key: dict[str, list[tuple[int, int]]] = {}
    for key, lo, hi in _raw_classes(k, cfg):
        ranges_by_key.setdefault(key, []).extend(subtract(lo, hi, others))
    out = []
    for key, ranges in ranges_by_key.items():
        if not ranges:
            continue
        if key == "data" and k.p.compound_devmaps and cfg.vmemmap_shift:
            out += compound_classes(k, cfg, tuple(ranges))
        else:
            out.append(PfnClass(key, CLASS_LABELS[key], tuple(ranges), max_passes(k, key)))
    return out


def release_puts(k: Kernel, cfg: PgmapConfig) -> int:
    """The pgmap references the release puts: one per pfn of ``for_each_device_pfn`` (none
    if ``pfn_first >= pfn_end``), per range since v5.10, one per compound page since v5.17;
    none from hmm_devmem_release (v4.18-v4.20), nor since v6.1 for the types whose pages
    take none at add."""
    if not cfg.release_puts_pages or cfg.type.name in k.p.ref_skip_types:
        return 0
    count = len(cfg.ranges) if k.p.pagemap_ranges else 1
    shift = cfg.vmemmap_shift if k.p.compound_devmaps else 0
    return sum(max(0, cfg.pfn_end(i) - cfg.pfn_first(i)) >> shift for i in range(count))


def expectations(k: Kernel, pgmap: DevPagemap, all_pgmaps: list[DevPagemap]) -> DeviceExpectations:
    cfg = pgmap.cfg
    others = [range_pfns(p.cfg, i) for p in all_pgmaps if p.id != pgmap.id and not p.freed
              for i in range(len(p.cfg.ranges))]  # fmt: skip
    res_lo, res_hi = res_pfns(cfg)
    if cfg.altmap is not None:
        res_lo = max(res_lo, cfg.altmap.base_pfn + cfg.altmap.reserve)
    spans = add_spans(k, cfg)
    span = (spans[0][0], spans[-1][1])
    span_pages = tuple(r for lo, hi in spans for r in subtract(lo, hi, others))
    return DeviceExpectations(
        pgmap.id,
        span,
        tuple(pfn_classes(k, cfg, others)),
        (res_lo, max(res_lo, res_hi)),
        span_pages,
        release_puts(k, cfg),
        cfg.vmemmap_shift if k.p.compound_devmaps else 0,
        pgmap.freed,
    )
