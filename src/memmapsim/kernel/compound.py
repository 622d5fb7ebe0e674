"""Compound pages: where each version keeps the compound fields, and what the ZONE_DEVICE
compound init (v5.17+, ``memmap_init_compound``) writes into the head and its tails.

A compound page of ``1 << order`` pages keeps its metadata in the struct pages of its first
and second tails ("page[1]", "page[2]"). Which field lives at which byte changed almost every
release (docs/kernel-notes/page-format.md §3.2): :data:`COMPOUND_LAYOUT_BY_RELEASE` gives the
fields per release (every modelled release, so that ``dump_page`` can read them), and
:data:`COMPOUND_BY_RELEASE` the writes of ``memmap_init_compound`` (spec §2.2) from v5.17, the
first release with compound devmaps (``pgmap->vmemmap_shift``):

    __SetPageHead(head)                                 CompoundFormat.set_page_head
    for each tail pfn head_pfn+1 .. head_pfn+nr-1:
        __init_zone_device_page(tail)                   (kernel/page_alloc, not here)
        prep_compound_tail(head, i)                     CompoundFormat.prep_compound_tail
        set_page_count(tail, 0)                         CompoundFormat.set_page_count_zero
        if i == head_prep_after:                        CompoundFormat.head_prep_after
            prep_compound_head(head, order)             CompoundFormat.prep_compound_head
    (7.0+: prep_compound_head(head, order) once, after the loop)

Struct page is eight little-endian 64-bit words; a field at byte ``b`` of a struct page is in
word ``b // 8`` at bit ``(b % 8) * 8``. A tail's word 1 (``compound_head``) is a token from
model.structpage (:func:`~memmapsim.model.structpage.compound_head_token`; v7.1's mask
encoding :func:`~memmapsim.model.structpage.compound_mask_token`); a list head initialised to
point to itself (``_deferred_list``, v6.12+) is a :func:`~memmapsim.model.structpage.self_token`.

Trees (repository@path:lines (Makefile version)):

- 5.17.0 kuangfei2019/linux-5.17-mini2440-dt: mm/page_alloc.c:732-739 (prep_compound_head),
  741-747 (prep_compound_tail), 6625-6652 (memmap_init_compound, head prep at :6649 after
  head_pfn + 2); include/linux/mm.h:915-919 (set_compound_order); mm_types.h:72-212.
- 5.18 from 5.18.12 esuoyanyu/kernel-5.18 (``common/``; no 5.18.0 tree):
  mm/page_alloc.c:714-720, 722-728, 6648-6675 (:6672, head_pfn + 2); mm.h:906-912;
  mm_types.h:72-224. page-format.md lists 5.18 as UNVERIFIED (5.17 and 5.19 differ); 5.18.12
  has the 5.19 layout (compound_pincount in page[1]).
- 5.19.0 yishangzhang/linux-5.19: mm/page_alloc.c:719-725, 727-733, 6682-6709 (:6706).
- 6.1.0 fEndman/linux-6.1-t113@27a965b7f8e3 (md5-identical files in krr-io/linux-6.1.0, the
  notes' T61): mm/page_alloc.c:796-802, 804-811
  (prep_compound_tail adds set_page_private(p, 0)), 6859-6886 (:6883, head_pfn + 2);
  mm.h:939-945; mm_types.h:276-314 (folio).
- 6.4.0 julianw1010/WASP-linux-6.4.0: mm/internal.h:381-390, 392-399; mm.h:1232-1240
  (set_compound_order); mm/mm_init.c:1026-1051 (:1048, head_pfn + 1); mm_types.h:301-367.
- 6.6.0 xie1111111/linux-6.6-opensbi-mllb (``linux-6.6/``): mm/internal.h:405-414
  (folio_set_order), 418-426, 428-435; mm/mm_init.c:1030-1055 (:1052); mm_types.h:293-361.
- 6.12.0 shilei-massclouds/linux-6.12: mm/internal.h:676-685, 713-724, 726-733;
  mm/mm_init.c:1043-1068 (:1065); mm_types.h:324-400.
- 7.0.0 julianw1010/WASP-linux-7.0.0@1d9f96d2d: mm/internal.h:822-832, 860-879, 881-888;
  mm/mm_init.c:1082-1106 (head prep after the loop, :1104); mm_types.h:401-506.
- 7.1 from 7.1.3 rikudousennin22/linux-7.1.3: mm/internal.h:843-853, 881-900, 902-908
  (prep_compound_tail(tail, head, order): the mask encoding); mm/mm_init.c:1068-1092 (:1090);
  mm_types.h:401-506; include/linux/page-flags.h:208-280 (compound_info_has_mask,
  set_compound_head).
- 4.18-5.16 (layouts only): zzwd/linux-4.18-rt mm_types.h:71-205, ZDawnG/linux-4.19 :70-207,
  atjhamit/linux-v5.10 mm_types.h:68-226 (compound_nr, hpage_pinned_refcount in page[2]);
  5.12 from 5.12.9 and 5.16 from 5.16.10 (same fields as 5.10).

Configuration (page-format.md §0.1): CONFIG_64BIT, MEMCG (so NR_PAGES_IN_LARGE_FOLIO in 7.x),
TRANSPARENT_HUGEPAGE (selects MM_ID in 7.x), PAGE_MAPCOUNT (= !NO_PAGE_MAPCOUNT, default),
HUGETLB_PAGE_OPTIMIZE_VMEMMAP (7.1's mask encoding).
"""

from __future__ import annotations

from enum import Enum

import msgspec

from memmapsim.model.pageflags import PageFlagsLayout, release_key
from memmapsim.model.structpage import (
    REFCOUNT_SHIFT,
    TAIL_MAPPING,
    TokenKind,
    Word,
    Write,
    compound_head_token,
    compound_mask_token,
    self_token,
    set_bits,
    set_field,
    store,
)

COMPOUND_PAGE_DTOR = 1
"""enum compound_dtor_id: NULL_COMPOUND_DTOR 0, COMPOUND_PAGE_DTOR 1, HUGETLB_PAGE_DTOR 2,
TRANSHUGE_PAGE_DTOR 3 (kuangfei2019/linux-5.17-mini2440-dt@include/linux/mm.h:866-875; the
same in krr-io/linux-6.1.0 and julianw1010/WASP-linux-6.4.0@include/linux/mm.h:1200; gone
in v6.6)."""

HUGETLB_PAGE_DTOR = 2


class CompoundField(msgspec.Struct, frozen=True):
    """A field of a compound page kept in one of its tails: ``tail`` 1 is page[1] (the first
    tail), 2 is page[2]; ``offset`` is the byte offset inside that struct page."""

    name: str
    tail: int
    offset: int
    size: int

    def __post_init__(self) -> None:
        if self.size not in (1, 4, 8) or self.offset % self.size or not 0 <= self.offset < 64:
            raise ValueError(f"{self.name}: bad field {self.offset}+{self.size}")

    @property
    def word(self) -> Word:
        return Word(self.offset // 8)

    @property
    def shift(self) -> int:
        return (self.offset % 8) * 8

    @property
    def width(self) -> int:
        return self.size * 8

    def write(self, value: int) -> Write:
        """Store ``value`` (negative values as their two's complement) into the field."""
        return set_field(self.word, self.shift, self.width, value & ((1 << self.width) - 1))

    def read(self, words: tuple[int, ...]) -> int:
        """The field's unsigned value in a struct page's eight words."""
        return (words[self.word] >> self.shift) & ((1 << self.width) - 1)

    def read_signed(self, words: tuple[int, ...]) -> int:
        """The field's value as a signed integer of its size (atomic_t reads)."""
        v = self.read(words)
        return v - (1 << self.width) if v >> (self.width - 1) else v


class CompoundLayout(msgspec.Struct, frozen=True):
    """Where a release keeps the compound fields (page-format.md §3.2). ``None``: the
    release has no such field. ``mapcount`` is compound_mapcount (v4.18-v6.1) or
    ``_entire_mapcount`` (v6.4+)."""

    order: CompoundField
    mapcount: CompoundField
    dtor: CompoundField | None = None
    nr_pages: CompoundField | None = None
    pincount: CompoundField | None = None
    nr_pages_mapped: CompoundField | None = None
    large_mapcount: CompoundField | None = None
    mm_id_mapcount: tuple[CompoundField, ...] = ()
    mm_ids: CompoundField | None = None
    deferred_list: tuple[CompoundField, ...] = ()
    """``_deferred_list.next``, ``.prev`` (page[2] words 2 and 3), where prep initialises it."""
    double_map_flag: str | None = None
    """The page flag that is PG_double_map in the first tail (v4.18-v6.1)."""

    @property
    def order_in_flags(self) -> bool:
        """v6.6+: the order is the low byte of the first tail's flags word (``_flags_1``)."""
        return self.order.word is Word.FLAGS


def _f(name: str, tail: int, offset: int, size: int = 4) -> CompoundField:
    return CompoundField(name, tail, offset, size)


_DTOR = _f("compound_dtor", 1, 16, 1)
_ORDER = _f("compound_order", 1, 17, 1)
_MAPCOUNT = _f("compound_mapcount", 1, 20)

LAYOUT_4_18 = CompoundLayout(
    order=_ORDER, mapcount=_MAPCOUNT, dtor=_DTOR, double_map_flag="PG_private_2"
)
"""v4.18-v5.4: page[1] compound_dtor @16, compound_order @17, compound_mapcount @20; no
pincount (ZDawnG/linux-4.19@include/linux/mm_types.h:70-207)."""

LAYOUT_5_10 = CompoundLayout(
    order=_ORDER,
    mapcount=_MAPCOUNT,
    dtor=_DTOR,
    nr_pages=_f("compound_nr", 1, 24),
    pincount=_f("hpage_pinned_refcount", 2, 16),
    double_map_flag="PG_workingset",
)
"""v5.10-v5.17: + compound_nr @24 (over the low half of page[1].mapping) and the pincount in
page[2] @16 (atjhamit/linux-v5.10@include/linux/mm_types.h:68-226;
kuangfei2019/linux-5.17-mini2440-dt@…:72-212)."""

LAYOUT_5_18 = CompoundLayout(
    order=_ORDER,
    mapcount=_MAPCOUNT,
    dtor=_DTOR,
    pincount=_f("compound_pincount", 1, 24),
    nr_pages=_f("compound_nr", 1, 28),
    double_map_flag="PG_workingset",
)
"""v5.18 (read from 5.18.12), v5.19, v6.1: compound_pincount @24 and compound_nr @28 of page[1]
(esuoyanyu/kernel-5.18@common/include/linux/mm_types.h:72-224;
yishangzhang/linux-5.19@…:72-224; krr-io/linux-6.1.0@…:276-314 as folio _total_mapcount,
_pincount, _folio_nr_pages)."""

LAYOUT_6_4 = CompoundLayout(
    order=_f("_folio_order", 1, 17, 1),
    mapcount=_f("_entire_mapcount", 1, 20),
    dtor=_f("_folio_dtor", 1, 16, 1),
    nr_pages_mapped=_f("_nr_pages_mapped", 1, 24),
    pincount=_f("_pincount", 1, 28),
    nr_pages=_f("_folio_nr_pages", 1, 32),
)
"""v6.4: struct folio's first-tail fields (julianw1010/WASP-linux-6.4.0@include/linux/mm_types.h:
301-367)."""

LAYOUT_6_6 = CompoundLayout(
    order=_f("_flags_1", 1, 0, 1),
    mapcount=_f("_entire_mapcount", 1, 24),
    nr_pages_mapped=_f("_nr_pages_mapped", 1, 28),
    pincount=_f("_pincount", 1, 32),
    nr_pages=_f("_folio_nr_pages", 1, 36),
)
"""v6.6: no dtor (``_folio_avail`` @16), the order is the low byte of ``_flags_1``
(xie1111111/linux-6.6-opensbi-mllb@linux-6.6/include/linux/mm_types.h:293-361)."""

_DEFERRED = (_f("_deferred_list.next", 2, 16, 8), _f("_deferred_list.prev", 2, 24, 8))

LAYOUT_6_12 = CompoundLayout(
    order=_f("_flags_1", 1, 0, 1),
    large_mapcount=_f("_large_mapcount", 1, 16),
    mapcount=_f("_entire_mapcount", 1, 20),
    nr_pages_mapped=_f("_nr_pages_mapped", 1, 24),
    pincount=_f("_pincount", 1, 28),
    nr_pages=_f("_folio_nr_pages", 1, 32),
    deferred_list=_DEFERRED,
)
"""v6.12 (shilei-massclouds/linux-6.12@include/linux/mm_types.h:324-400)."""

LAYOUT_7_0 = CompoundLayout(
    order=_f("_flags_1", 1, 0, 1),
    large_mapcount=_f("_large_mapcount", 1, 16),
    nr_pages_mapped=_f("_nr_pages_mapped", 1, 20),
    mapcount=_f("_entire_mapcount", 1, 24),
    pincount=_f("_pincount", 1, 28),
    mm_id_mapcount=(_f("_mm_id_mapcount[0]", 1, 32), _f("_mm_id_mapcount[1]", 1, 36)),
    mm_ids=_f("_mm_ids", 1, 40, 8),
    nr_pages=_f("_nr_pages", 1, 56),
    deferred_list=_DEFERRED,
)
"""v7.0 and v7.1: ``_nr_pages`` @56 (NR_PAGES_IN_LARGE_FOLIO, CONFIG_MEMCG) over the low half of
``memcg_data`` (julianw1010/WASP-linux-7.0.0@1d9f96d2d:include/linux/mm_types.h:401-506;
rikudousennin22/linux-7.1.3@…:401-506)."""

COMPOUND_LAYOUT_BY_RELEASE: dict[str, CompoundLayout] = {
    # 4.14 predates the struct page rework of 4.18 (lru, mapping and the counters sat in
    # other words); memmapsim models its boot pages with the 4.18 words (no compound page
    # of a boot-only release is ever read)
    "4.14": LAYOUT_4_18,
    "4.18": LAYOUT_4_18,
    "4.19": LAYOUT_4_18,
    "4.20": LAYOUT_4_18,  # rbates0119/linux-4.20.1@include/linux/mm_types.h:70-207
    "5.0": LAYOUT_4_18,
    "5.1": LAYOUT_4_18,
    "5.2": LAYOUT_4_18,  # hcly/linux5.2.0-f1c100s-base: 5.1's struct page
    "5.3": LAYOUT_4_18,
    "5.4": LAYOUT_4_18,
    # 5.5-5.8 (boot and hotplug releases): their compound fields are not read (no compound
    # devmaps before 5.17); 5.4's
    "5.5": LAYOUT_4_18,
    "5.7": LAYOUT_4_18,
    "5.8": LAYOUT_4_18,
    "5.10": LAYOUT_5_10,
    "5.12": LAYOUT_5_10,  # read from 5.12.9
    "5.16": LAYOUT_5_10,  # read from 5.16.10
    "5.17": LAYOUT_5_10,
    "5.18": LAYOUT_5_18,  # read from 5.18.12 (UNVERIFIED for 5.18.0, see above)
    "5.19": LAYOUT_5_18,
    "6.1": LAYOUT_5_18,
    "6.4": LAYOUT_6_4,
    "6.6": LAYOUT_6_6,
    "6.12": LAYOUT_6_12,
    "7.0": LAYOUT_7_0,
    "7.1": LAYOUT_7_0,  # read from 7.1.3
}


class HeadValue(Enum):
    """What prep_compound_head stores into a field, as a function of the order."""

    DTOR = "COMPOUND_PAGE_DTOR"
    ORDER = "order"
    NR_PAGES = "1 << order"
    MINUS_ONE = "-1"
    ZERO = "0"
    SELF = "the field's own address (INIT_LIST_HEAD)"


class HeadStep(msgspec.Struct, frozen=True):
    """One store of prep_compound_head, done only for ``order >= min_order``."""

    field: CompoundField
    value: HeadValue
    min_order: int = 1

    def write(self, order: int) -> Write:
        f = self.field
        if self.value is HeadValue.DTOR:
            return f.write(COMPOUND_PAGE_DTOR)
        if self.value is HeadValue.ORDER:
            return f.write(order)
        if self.value is HeadValue.NR_PAGES:
            return f.write(1 << order)
        if self.value is HeadValue.MINUS_ONE:
            return f.write(-1)
        if self.value is HeadValue.ZERO:
            return f.write(0)
        # INIT_LIST_HEAD(list): list->next = list->prev = list; the list head of both
        # _deferred_list words is the .next field (page[2] byte 16)
        return store(f.word, self_token(_DEFERRED[0].offset))


class CompoundFormat(msgspec.Struct, frozen=True):
    """The struct-page writes of one release's ZONE_DEVICE compound init."""

    release: str
    tree: str
    """The release tree read, ``repository@commit`` (or ``(version)`` for a point release)."""
    layout: CompoundLayout
    head_steps: tuple[HeadStep, ...]
    """prep_compound_head's stores, in program order."""
    head_prep_after: int | None
    """The tail index after whose init prep_compound_head runs: 2 (v5.17-v6.1, "if (pfn ==
    head_pfn + 2)"), 1 (v6.2-v6.12, "if (pfn == head_pfn + 1)"), None = once after the tail
    loop (v7.0+)."""
    tail_kind: TokenKind = TokenKind.COMPOUND_HEAD
    """How set_compound_head encodes word 1: head | 1, or v7.1's GENMASK(63, order + 6) | 1."""
    tail_sets_private: bool = False
    """prep_compound_tail also does set_page_private(p, 0) (v6.1+)."""
    notes: tuple[str, ...] = ()

    def set_page_head(self, layout: PageFlagsLayout) -> tuple[Write, ...]:
        """__SetPageHead(head): the non-atomic ``__set_bit(PG_head, &page->flags)`` at the
        layout's bit (16 in v5.17-v6.4, 6 from v6.6)."""
        return (set_bits(Word.FLAGS, layout.flag("PG_head")),)

    def tail_token(self, order: int) -> int:
        """The value set_compound_head stores into every tail's word 1."""
        if self.tail_kind is TokenKind.COMPOUND_MASK:
            return compound_mask_token(order)
        return compound_head_token(order)

    def prep_compound_tail(self, order: int) -> tuple[Write, ...]:
        """prep_compound_tail(): ``p->mapping = TAIL_MAPPING``, ``set_compound_head(p, head)``
        (word 1 = head | 1, or the v7.1 mask) and, from v6.1, ``set_page_private(p, 0)``."""
        writes = [store(Word.MAPPING, TAIL_MAPPING), store(Word.LRU_NEXT, self.tail_token(order))]
        if self.tail_sets_private:
            writes.append(store(Word.PRIVATE, 0))
        return tuple(writes)

    def set_page_count_zero(self) -> tuple[Write, ...]:
        """set_page_count(page, 0): ``atomic_set(&page->_refcount, 0)`` (high half of word 6)."""
        return (set_field(Word.COUNTS, REFCOUNT_SHIFT, 32, 0),)

    def prep_compound_head(self, order: int) -> tuple[tuple[int, tuple[Write, ...]], ...]:
        """prep_compound_head(head, order): per tail index (1 = page[1], 2 = page[2]) the stores
        it makes into that tail, in program order (every version writes page[1] before page[2],
        so the grouping keeps the kernel's order)."""
        if order < 1:
            raise ValueError("a compound page has order >= 1")
        out: dict[int, list[Write]] = {}
        for step in self.head_steps:
            if order >= step.min_order:
                out.setdefault(step.field.tail, []).append(step.write(order))
        return tuple((tail, tuple(ws)) for tail, ws in sorted(out.items()))

    def head_prep_tail(self, nr_pages: int) -> int | None:
        """After which tail (index) prep_compound_head runs when memmap_init_compound visits
        ``nr_pages`` struct pages (head included; 128 with vmemmap dedup, v5.19+), or None if it
        never runs: in v5.17-v6.1 a compound of 2 pages has no tail head_pfn + 2. From v7.0 it runs
        after the last tail."""
        last = nr_pages - 1
        if self.head_prep_after is None:
            return last if last >= 1 else None
        return self.head_prep_after if self.head_prep_after <= last else None


_L5 = LAYOUT_5_10
_L518 = LAYOUT_5_18


def _steps_5_17() -> tuple[HeadStep, ...]:
    """v5.17: set_compound_page_dtor, set_compound_order (order, compound_nr), compound_mapcount
    = -1, and page[2].hpage_pinned_refcount = 0 if hpage_pincount_available (order > 1)."""
    assert _L5.dtor and _L5.nr_pages and _L5.pincount
    return (
        HeadStep(_L5.dtor, HeadValue.DTOR),
        HeadStep(_L5.order, HeadValue.ORDER),
        HeadStep(_L5.nr_pages, HeadValue.NR_PAGES),
        HeadStep(_L5.mapcount, HeadValue.MINUS_ONE),
        HeadStep(_L5.pincount, HeadValue.ZERO, min_order=2),
    )


def _steps_5_18() -> tuple[HeadStep, ...]:
    """v5.18-v6.1: as v5.17 but compound_pincount (page[1] @24) = 0 unconditionally; compound_nr
    (@28) is written by set_compound_order under CONFIG_64BIT."""
    assert _L518.dtor and _L518.nr_pages and _L518.pincount
    return (
        HeadStep(_L518.dtor, HeadValue.DTOR),
        HeadStep(_L518.order, HeadValue.ORDER),
        HeadStep(_L518.nr_pages, HeadValue.NR_PAGES),
        HeadStep(_L518.mapcount, HeadValue.MINUS_ONE),
        HeadStep(_L518.pincount, HeadValue.ZERO),
    )


def _steps_6_4() -> tuple[HeadStep, ...]:
    """v6.4: set_compound_page_dtor (_folio_dtor), set_compound_order (_folio_order,
    _folio_nr_pages), _entire_mapcount = -1, _nr_pages_mapped = 0, _pincount = 0."""
    lay = LAYOUT_6_4
    assert lay.dtor and lay.nr_pages and lay.nr_pages_mapped and lay.pincount
    return (
        HeadStep(lay.dtor, HeadValue.DTOR),
        HeadStep(lay.order, HeadValue.ORDER),
        HeadStep(lay.nr_pages, HeadValue.NR_PAGES),
        HeadStep(lay.mapcount, HeadValue.MINUS_ONE),
        HeadStep(lay.nr_pages_mapped, HeadValue.ZERO),
        HeadStep(lay.pincount, HeadValue.ZERO),
    )


def _steps_6_6() -> tuple[HeadStep, ...]:
    """v6.6: folio_set_order (``_flags_1`` low byte, _folio_nr_pages), _entire_mapcount = -1,
    _nr_pages_mapped = 0, _pincount = 0."""
    lay = LAYOUT_6_6
    assert lay.nr_pages and lay.nr_pages_mapped and lay.pincount
    return (
        HeadStep(lay.order, HeadValue.ORDER),
        HeadStep(lay.nr_pages, HeadValue.NR_PAGES),
        HeadStep(lay.mapcount, HeadValue.MINUS_ONE),
        HeadStep(lay.nr_pages_mapped, HeadValue.ZERO),
        HeadStep(lay.pincount, HeadValue.ZERO),
    )


def _steps_6_12() -> tuple[HeadStep, ...]:
    """v6.12: folio_set_order, _large_mapcount = -1, _entire_mapcount = -1, _nr_pages_mapped = 0,
    _pincount = 0, and for order > 1 INIT_LIST_HEAD(&folio->_deferred_list) in page[2]."""
    lay = LAYOUT_6_12
    assert lay.nr_pages and lay.large_mapcount and lay.nr_pages_mapped and lay.pincount
    return (
        HeadStep(lay.order, HeadValue.ORDER),
        HeadStep(lay.nr_pages, HeadValue.NR_PAGES),
        HeadStep(lay.large_mapcount, HeadValue.MINUS_ONE),
        HeadStep(lay.mapcount, HeadValue.MINUS_ONE),
        HeadStep(lay.nr_pages_mapped, HeadValue.ZERO),
        HeadStep(lay.pincount, HeadValue.ZERO),
        HeadStep(lay.deferred_list[0], HeadValue.SELF, min_order=2),
        HeadStep(lay.deferred_list[1], HeadValue.SELF, min_order=2),
    )


def _steps_7_0() -> tuple[HeadStep, ...]:
    """v7.0/v7.1: folio_set_order (``_flags_1`` low byte, ``_nr_pages``), _large_mapcount = -1,
    _nr_pages_mapped = 0 (PAGE_MAPCOUNT), _mm_ids = 0 and _mm_id_mapcount[0] = [1] = -1 (MM_ID,
    selected by TRANSPARENT_HUGEPAGE), _pincount = 0 and _entire_mapcount = -1 (64BIT), and for
    order > 1 INIT_LIST_HEAD(&folio->_deferred_list)."""
    lay = LAYOUT_7_0
    assert lay.nr_pages and lay.large_mapcount and lay.nr_pages_mapped and lay.pincount
    assert lay.mm_ids
    return (
        HeadStep(lay.order, HeadValue.ORDER),
        HeadStep(lay.nr_pages, HeadValue.NR_PAGES),
        HeadStep(lay.large_mapcount, HeadValue.MINUS_ONE),
        HeadStep(lay.nr_pages_mapped, HeadValue.ZERO),
        HeadStep(lay.mm_ids, HeadValue.ZERO),
        HeadStep(lay.mm_id_mapcount[0], HeadValue.MINUS_ONE),
        HeadStep(lay.mm_id_mapcount[1], HeadValue.MINUS_ONE),
        HeadStep(lay.pincount, HeadValue.ZERO),
        HeadStep(lay.mapcount, HeadValue.MINUS_ONE),
        HeadStep(lay.deferred_list[0], HeadValue.SELF, min_order=2),
        HeadStep(lay.deferred_list[1], HeadValue.SELF, min_order=2),
    )


_F_5_17 = CompoundFormat(
    "5.17",
    "kuangfei2019/linux-5.17-mini2440-dt@10334623246e (5.17.0)",
    LAYOUT_5_10,
    _steps_5_17(),
    head_prep_after=2,
    notes=(
        "compound_nr @24 overlays the low half of page[1].mapping: after prep it reads "
        "0xdead0000_00000000 | nr (order 9: 0xdead000000000200)",
    ),
)
_F_5_18 = CompoundFormat(
    "5.18",
    "esuoyanyu/kernel-5.18 common/ (5.18.12; no 5.18.0 tree)",
    LAYOUT_5_18,
    _steps_5_18(),
    head_prep_after=2,
    notes=("5.18.0 UNVERIFIED: described from the 5.18.12 stable tree",),
)
_F_5_19 = CompoundFormat(
    "5.19", "yishangzhang/linux-5.19 (5.19.0)", LAYOUT_5_18, _steps_5_18(), head_prep_after=2
)
_F_6_1 = CompoundFormat(
    "6.1",
    "fEndman/linux-6.1-t113@27a965b7f8e3 (6.1.0; = krr-io/linux-6.1.0@7c210bc387c3)",
    LAYOUT_5_18,
    _steps_5_18(),
    head_prep_after=2,
    tail_sets_private=True,
)
_F_6_4 = CompoundFormat(
    "6.4",
    "julianw1010/WASP-linux-6.4.0@6e5f9d87eda5 (6.4.0)",
    LAYOUT_6_4,
    _steps_6_4(),
    head_prep_after=1,
    tail_sets_private=True,
)
_F_6_6 = CompoundFormat(
    "6.6",
    "xie1111111/linux-6.6-opensbi-mllb linux-6.6/ (6.6.0)",
    LAYOUT_6_6,
    _steps_6_6(),
    head_prep_after=1,
    tail_sets_private=True,
    notes=(
        "the order is the first tail's flags low byte: decoded as page flags it reads "
        "bits 0 and 3 for order 9",
    ),
)
_F_6_12 = CompoundFormat(
    "6.12",
    "shilei-massclouds/linux-6.12 (6.12.0)",
    LAYOUT_6_12,
    _steps_6_12(),
    head_prep_after=1,
    tail_sets_private=True,
    notes=(
        "prep_compound_head runs after tail 1, before tail 2 is initialised: tail 2's "
        "__init_zone_device_page then overwrites _deferred_list (zeroing, INIT_LIST_HEAD of "
        "lru, zone_device_data = NULL) and prep_compound_tail stores TAIL_MAPPING over .prev",
    ),
)
_F_7_0 = CompoundFormat(
    "7.0",
    "julianw1010/WASP-linux-7.0.0@1d9f96d2d (7.0.0)",
    LAYOUT_7_0,
    _steps_7_0(),
    head_prep_after=None,
    tail_sets_private=True,
)
_F_7_1 = CompoundFormat(
    "7.1",
    "rikudousennin22/linux-7.1.3 (7.1.3; no 7.1.0 tree)",
    LAYOUT_7_0,
    _steps_7_0(),
    head_prep_after=None,
    tail_kind=TokenKind.COMPOUND_MASK,
    tail_sets_private=True,
    notes=("described from the 7.1.3 stable tree",),
)

COMPOUND_BY_RELEASE: dict[str, CompoundFormat] = {
    f.release: f
    for f in (_F_5_17, _F_5_18, _F_5_19, _F_6_1, _F_6_4, _F_6_6, _F_6_12, _F_7_0, _F_7_1)
}
"""The ZONE_DEVICE compound init of every modelled release that has it (v5.17+)."""


def compound_format(release: str) -> CompoundFormat | None:
    """The release's compound init, or None before v5.17 (no compound devmaps)."""
    if release_key(release) < (5, 17):
        return None
    return COMPOUND_BY_RELEASE[release]
