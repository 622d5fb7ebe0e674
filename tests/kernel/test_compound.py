"""Compound tail tokens and the ZONE_DEVICE compound init writes per release (v5.17+).

Expected words are docs/kernel-notes/page-format.md §3.2-§3.4 (first/second tail tables, prep
functions) and zone-device-late.md §12.2 (when prep_compound_head runs), which cite the trees.
"""

from __future__ import annotations

import pytest

from memmapsim.kernel.compound import (
    COMPOUND_BY_RELEASE,
    COMPOUND_LAYOUT_BY_RELEASE,
    COMPOUND_PAGE_DTOR,
    CompoundField,
    compound_format,
)
from memmapsim.model.page import PageRecord, PageView
from memmapsim.model.pageflags import PAGEFLAGS_BY_RELEASE, layout_for
from memmapsim.model.structpage import (
    LIST_POISON1,
    NR_WORDS,
    PAGE_POISON_PATTERN,
    SELF_LRU,
    STALE,
    TAIL_MAPPING,
    TokenKind,
    Word,
    Write,
    compound_head_pfn,
    compound_head_token,
    compound_info_mask,
    compound_mask_token,
    compound_order_of,
    describe_word,
    pgmap_token,
    self_token,
    token_arg,
    token_kind,
)

ZERO = PageRecord((0,) * NR_WORDS)
M32 = 0xFFFF_FFFF

# --- tokens (model/structpage.py) -------------------------------------------------------


def test_tail_mapping() -> None:
    """TAIL_MAPPING = 0x400 + POISON_POINTER_DELTA (include/linux/poison.h, x86_64)."""
    assert TAIL_MAPPING == 0xDEAD_0000_0000_0400
    assert describe_word(TAIL_MAPPING) == "TAIL_MAPPING"


@pytest.mark.parametrize("order", [1, 2, 9, 18, 30])
def test_compound_head_token(order: int) -> None:
    """head | 1: bit 0 set (PageTail reads true), decodes back to the order."""
    t = compound_head_token(order)
    assert t & 1
    assert token_kind(t) is TokenKind.COMPOUND_HEAD
    assert compound_order_of(t) == order
    assert describe_word(t) == f"head|1 (order {order})"
    assert t != compound_mask_token(order)


@pytest.mark.parametrize("order", [1, 9, 18])
def test_compound_mask_token(order: int) -> None:
    """v7.1's compound_info: same decode API, its own kind."""
    t = compound_mask_token(order)
    assert t & 1
    assert token_kind(t) is TokenKind.COMPOUND_MASK
    assert compound_order_of(t) == order
    assert describe_word(t) == f"mask|1 (order {order})"


def test_compound_info_mask_values() -> None:
    """GENMASK(63, order + 6) | 1: order 9 -> 0xffffffffffff8001 (page-format.md §3.4); order 18
    -> GENMASK(63, 24) | 1 = 0xffffffffff000001 (the notes' 0xffffffff00000001 is GENMASK(63,
    32) | 1, i.e. order 26)."""
    assert compound_info_mask(9) == 0xFFFF_FFFF_FFFF_8001
    assert compound_info_mask(18) == 0xFFFF_FFFF_FF00_0001
    assert compound_info_mask(26) == 0xFFFF_FFFF_0000_0001


@pytest.mark.parametrize("value", [0, 1, SELF_LRU, STALE, pgmap_token(3), PAGE_POISON_PATTERN])
def test_other_values_have_no_compound_order(value: int) -> None:
    assert compound_order_of(value) is None


@pytest.mark.parametrize("order", [0, -1, 58])
def test_compound_order_out_of_range(order: int) -> None:
    with pytest.raises(ValueError):
        compound_head_token(order)


def test_self_token() -> None:
    t = self_token(16)
    assert token_kind(t) is TokenKind.SELF and token_arg(t) == 16
    assert describe_word(t) == "&page+0x10"
    with pytest.raises(ValueError):
        self_token(64)


@pytest.mark.parametrize(
    ("pfn", "order", "head"),
    [(0x40001, 9, 0x40000), (0x401FF, 9, 0x40000), (0x7FFFF, 18, 0x40000), (0x40203, 2, 0x40200)],
)
def test_compound_head_pfn(pfn: int, order: int, head: int) -> None:
    """Compound pages are naturally aligned: head = pfn & ~((1 << order) - 1)."""
    assert compound_head_pfn(pfn, order) == head


# --- PageView (model/page.py) -----------------------------------------------------------


@pytest.mark.parametrize("release", ["4.18", "5.17", "6.6", "7.1"])
def test_page_view_head_and_tail(release: str) -> None:
    """head from PG_head at the release's bit; tail/compound_head_pfn from a compound token."""
    layout = layout_for(release)
    head = ZERO.with_writes(COMPOUND_BY_RELEASE["5.17"].set_page_head(layout))
    hv = PageView(0x40000, head, layout)
    assert hv.head and not hv.tail and hv.compound_head_pfn is None
    assert hv.flags == 1 << layout.bit["PG_head"]
    for tok in (compound_head_token(9), compound_mask_token(9)):
        tail = PageView(0x40123, PageRecord((0, tok, 0, 0, 0, 0, 0, 0)), layout)
        assert tail.tail and tail.page_tail and not tail.head
        assert tail.compound_order == 9
        assert tail.compound_head_pfn == 0x40000


def test_page_view_poisoned_and_stale() -> None:
    """A poisoned page reads PageHead and raw PageTail, but holds no compound token."""
    layout = layout_for("6.12")
    p = PageView(5, PageRecord((PAGE_POISON_PATTERN,) * NR_WORDS), layout)
    assert p.head and p.page_tail and not p.tail and p.compound_head_pfn is None
    s = PageView(5, PageRecord((STALE,) * NR_WORDS), layout)
    assert not s.head and not s.tail


# --- CompoundField ----------------------------------------------------------------------


def test_field_word_and_bit_offsets() -> None:
    """byte b of a struct page is word b // 8, bit (b % 8) * 8; reads are sign-aware."""
    f = CompoundField("x", 1, 20, 4)
    assert (f.word, f.shift, f.width) == (Word.LRU_PREV, 32, 32)
    w = f.write(-1)
    assert (w.word, w.mask, w.value) == (Word.LRU_PREV, M32 << 32, M32 << 32)
    words = ZERO.with_writes((w,)).words
    assert f.read(words) == M32 and f.read_signed(words) == -1
    with pytest.raises(ValueError):
        CompoundField("bad", 1, 18, 4)  # not naturally aligned


# --- the per-release formats ------------------------------------------------------------


def test_formats_from_5_17() -> None:
    """Compound devmaps start in 5.17; every later release has a format, earlier ones none."""
    later = [r for r in PAGEFLAGS_BY_RELEASE if tuple(map(int, r.split("."))) >= (5, 17)]
    assert list(COMPOUND_BY_RELEASE) == later
    assert compound_format("5.16") is None and compound_format("4.18") is None
    assert compound_format("6.1") is COMPOUND_BY_RELEASE["6.1"]
    assert list(COMPOUND_LAYOUT_BY_RELEASE) == list(PAGEFLAGS_BY_RELEASE)


@pytest.mark.parametrize(
    ("release", "after"),
    [("5.17", 2), ("5.18", 2), ("5.19", 2), ("6.1", 2), ("6.4", 1), ("6.6", 1), ("6.12", 1),
     ("7.0", None), ("7.1", None)],
)  # fmt: skip
def test_head_prep_after(release: str, after: int | None) -> None:
    """ "if (pfn == head_pfn + 2)" 5.17-6.1 (spec §8 item 11 is wrong for 6.1, page-format.md §7),
    "+ 1" 6.4-6.12, after the loop from 7.0."""
    assert COMPOUND_BY_RELEASE[release].head_prep_after == after


def test_head_prep_tail() -> None:
    """Order-1 compounds in 5.17-6.1 never reach head_pfn + 2: no prep_compound_head."""
    assert COMPOUND_BY_RELEASE["5.17"].head_prep_tail(2) is None
    assert COMPOUND_BY_RELEASE["5.17"].head_prep_tail(512) == 2
    assert COMPOUND_BY_RELEASE["6.4"].head_prep_tail(2) == 1
    assert COMPOUND_BY_RELEASE["7.0"].head_prep_tail(128) == 127  # dedup: 128 struct pages
    assert COMPOUND_BY_RELEASE["7.0"].head_prep_tail(512) == 511


@pytest.mark.parametrize("release", list(COMPOUND_BY_RELEASE))
def test_set_page_head(release: str) -> None:
    """__SetPageHead: PG_head alone (bit 16 up to 6.4, 6 from 6.6)."""
    layout = layout_for(release)
    rec = ZERO.with_writes(COMPOUND_BY_RELEASE[release].set_page_head(layout))
    assert rec.words == (1 << layout.bit["PG_head"], 0, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("release", list(COMPOUND_BY_RELEASE))
def test_set_page_count_zero(release: str) -> None:
    """set_page_count(page, 0): _refcount (high half of word 6) only."""
    rec = PageRecord((0,) * 6 + ((1 << 32) | M32, 0))
    rec = rec.with_writes(COMPOUND_BY_RELEASE[release].set_page_count_zero())
    assert rec.words[Word.COUNTS] == M32


@pytest.mark.parametrize("release", list(COMPOUND_BY_RELEASE))
def test_prep_compound_tail(release: str) -> None:
    """mapping = TAIL_MAPPING, word 1 = head|1 (7.1: the mask), private = 0 from 6.1."""
    fmt = COMPOUND_BY_RELEASE[release]
    writes = fmt.prep_compound_tail(9)
    assert [w.word for w in writes][:2] == [Word.MAPPING, Word.LRU_NEXT]
    rec = PageRecord((0, 0, 0, 0, 0, LIST_POISON1, 0, 0)).with_writes(writes)
    assert rec.words[Word.MAPPING] == TAIL_MAPPING
    tok = rec.words[Word.LRU_NEXT]
    assert compound_order_of(tok) == 9
    kind = TokenKind.COMPOUND_MASK if release == "7.1" else TokenKind.COMPOUND_HEAD
    assert token_kind(tok) is kind
    sets_private = release not in ("5.17", "5.18", "5.19")
    assert rec.words[Word.PRIVATE] == (0 if sets_private else LIST_POISON1)


def first_and_second_tail(release: str, order: int = 9) -> tuple[PageRecord, PageRecord]:
    """Zeroed tails 1 and 2 after prep_compound_tail + set_page_count(0), then
    prep_compound_head's writes (the order of memmap_init_compound up to 6.1)."""
    fmt = COMPOUND_BY_RELEASE[release]
    tails = {i: ZERO.with_writes(fmt.prep_compound_tail(order)) for i in (1, 2)}
    tails = {i: r.with_writes(fmt.set_page_count_zero()) for i, r in tails.items()}
    prep = fmt.prep_compound_head(order)
    assert [t for t, _ in prep] == sorted(t for t, _ in prep)  # page[1] before page[2]
    for t, ws in prep:
        tails[t] = tails[t].with_writes(ws)
    return tails[1], tails[2]


def test_5_17_words() -> None:
    """5.17: page[1] dtor @16 = 1, order @17 = 9, compound_mapcount @20 = -1, compound_nr @24
    = 512 over the low half of mapping (0xdead000000000200); page[2] hpage_pinned_refcount @16."""
    t1, t2 = first_and_second_tail("5.17")
    assert t1.words[Word.LRU_PREV] & 0xFF == COMPOUND_PAGE_DTOR
    assert t1.words[Word.LRU_PREV] >> 8 & 0xFF == 9
    assert t1.words[Word.LRU_PREV] >> 32 == M32  # compound_mapcount -1
    assert t1.words[Word.MAPPING] == 0xDEAD_0000_0000_0200
    assert t1.words[Word.PRIVATE] == 0 and t1.words[Word.INDEX] == 0
    assert compound_order_of(t1.words[Word.LRU_NEXT]) == 9
    assert t2.words[Word.MAPPING] == TAIL_MAPPING
    # hpage_pinned_refcount written (0) only for order > 1: its write exists for order 9 ...
    assert [w.word for t, ws in COMPOUND_BY_RELEASE["5.17"].prep_compound_head(9) if t == 2
            for w in ws] == [Word.LRU_PREV]  # fmt: skip
    # ... and not for order 1 (hpage_pincount_available)
    assert [t for t, _ in COMPOUND_BY_RELEASE["5.17"].prep_compound_head(1)] == [1]


@pytest.mark.parametrize("release", ["5.18", "5.19", "6.1"])
def test_5_18_to_6_1_words(release: str) -> None:
    """compound_pincount @24 = 0 and compound_nr @28 = 512 overlay mapping: 0x0000020000000000
    (page-format.md §3.2 notes); nothing in page[2]."""
    t1, t2 = first_and_second_tail(release)
    assert t1.words[Word.LRU_PREV] == (M32 << 32) | (9 << 8) | COMPOUND_PAGE_DTOR
    assert t1.words[Word.MAPPING] == 0x0000_0200_0000_0000
    assert t2.words[Word.MAPPING] == TAIL_MAPPING and t2.words[Word.LRU_PREV] == 0
    assert [t for t, _ in COMPOUND_BY_RELEASE[release].prep_compound_head(1)] == [1]


def test_6_4_words() -> None:
    """6.4: _folio_dtor @16, _folio_order @17, _entire_mapcount @20 = -1, _nr_pages_mapped @24
    = 0, _pincount @28 = 0 (mapping word 0), _folio_nr_pages @32 over the low half of index."""
    t1, _ = first_and_second_tail("6.4")
    assert t1.words[Word.LRU_PREV] == (M32 << 32) | (9 << 8) | COMPOUND_PAGE_DTOR
    assert t1.words[Word.MAPPING] == 0
    assert t1.words[Word.INDEX] == 512
    assert t1.words[Word.PRIVATE] == 0


def test_6_6_words() -> None:
    """6.6: order in _flags_1's low byte (flags word 9 -> bits 0 and 3), no dtor (_folio_avail),
    _entire_mapcount @24 = -1, _nr_pages_mapped @28, _pincount @32, _folio_nr_pages @36."""
    t1, _ = first_and_second_tail("6.6")
    assert t1.words[Word.FLAGS] == 9
    assert layout_for("6.6").set_names(t1.words[Word.FLAGS]) == ["PG_locked", "PG_uptodate"]
    assert t1.words[Word.LRU_PREV] == 0
    assert t1.words[Word.MAPPING] == M32  # _entire_mapcount -1, _nr_pages_mapped 0
    assert t1.words[Word.INDEX] == 512 << 32  # _pincount 0, _folio_nr_pages 512


def test_6_12_words() -> None:
    """6.12: _large_mapcount @16 = _entire_mapcount @20 = -1, _nr_pages_mapped @24, _pincount
    @28, _folio_nr_pages @32; for order > 1 INIT_LIST_HEAD(_deferred_list) in page[2]."""
    t1, t2 = first_and_second_tail("6.12")
    assert t1.words[Word.FLAGS] == 9
    assert t1.words[Word.LRU_PREV] == 2**64 - 1
    assert t1.words[Word.MAPPING] == 0
    assert t1.words[Word.INDEX] == 512
    # the list head at page[2]+16 points to itself: next (word 2) and prev (word 3)
    assert t2.words[Word.LRU_PREV] == t2.words[Word.MAPPING] == self_token(16)
    assert [t for t, _ in COMPOUND_BY_RELEASE["6.12"].prep_compound_head(1)] == [1]


@pytest.mark.parametrize("release", ["7.0", "7.1"])
def test_7_x_words(release: str) -> None:
    """7.0/7.1: _large_mapcount @16 = -1, _nr_pages_mapped @20 = 0, _entire_mapcount @24 = -1,
    _pincount @28 = 0, _mm_id_mapcount[0..1] @32/@36 = -1, _mm_ids @40 = 0, _nr_pages @56."""
    t1, t2 = first_and_second_tail(release)
    assert t1.words[Word.FLAGS] == 9
    assert t1.words[Word.LRU_PREV] == M32
    assert t1.words[Word.MAPPING] == M32
    assert t1.words[Word.INDEX] == 2**64 - 1
    assert t1.words[Word.PRIVATE] == 0
    assert t1.words[Word.MEMCG] == 512
    assert t2.words[Word.LRU_PREV] == t2.words[Word.MAPPING] == self_token(16)
    tok = t1.words[Word.LRU_NEXT]
    assert token_kind(tok) is (
        TokenKind.COMPOUND_MASK if release == "7.1" else TokenKind.COMPOUND_HEAD
    )


def test_7_x_head_prep_order() -> None:
    """prep_compound_head's program order in 7.x (mm/internal.h:881-900): folio_set_order,
    _large_mapcount, _nr_pages_mapped, mm ids, _pincount, _entire_mapcount, _deferred_list."""
    names = [s.field.name for s in COMPOUND_BY_RELEASE["7.1"].head_steps]
    assert names == [
        "_flags_1",
        "_nr_pages",
        "_large_mapcount",
        "_nr_pages_mapped",
        "_mm_ids",
        "_mm_id_mapcount[0]",
        "_mm_id_mapcount[1]",
        "_pincount",
        "_entire_mapcount",
        "_deferred_list.next",
        "_deferred_list.prev",
    ]


@pytest.mark.parametrize("release", list(COMPOUND_BY_RELEASE))
def test_head_prep_leaves_tail_markers(release: str) -> None:
    """No prep_compound_head store touches a tail's word 1 (PageTail) or its refcount."""
    for _, ws in COMPOUND_BY_RELEASE[release].prep_compound_head(9):
        for w in ws:
            assert w.word is not Word.LRU_NEXT
            assert not (w.word is Word.COUNTS and w.mask >> 32)


def test_pincount_location_per_release() -> None:
    """Where the pincount lives: page[2] @16 (5.10-5.17), page[1] @24 (5.18-6.1), @28 (6.4),
    @32 (6.6), @28 (6.12, 7.x); none before 5.10."""
    where = {}
    for r, lay in COMPOUND_LAYOUT_BY_RELEASE.items():
        where[r] = None if lay.pincount is None else (lay.pincount.tail, lay.pincount.offset)
    assert where["5.4"] is None
    assert where["5.10"] == where["5.17"] == (2, 16)
    assert where["5.18"] == where["6.1"] == (1, 24)
    assert where["6.4"] == (1, 28) and where["6.6"] == (1, 32)
    assert where["6.12"] == where["7.1"] == (1, 28)


def test_stale_words_untouched_outside_writes() -> None:
    """Words a release's prep does not write keep what was there (here: a stale marker)."""
    fmt = COMPOUND_BY_RELEASE["5.17"]
    rec = PageRecord((STALE,) * NR_WORDS).with_writes(fmt.prep_compound_tail(9))
    assert rec.words[Word.PRIVATE] == STALE and rec.words[Word.MEMCG] == STALE


def written_bytes(writes: tuple[Write, ...]) -> set[int]:
    """The struct page bytes a tuple of Writes stores to (byte b = word b // 8, bit (b % 8) * 8)."""
    out = set()
    for w in writes:
        for b in range(8):
            if w.mask >> (b * 8) & 0xFF:
                out.add(int(w.word) * 8 + b)
    return out


def span(*ranges: tuple[int, int]) -> set[int]:
    return {b for lo, hi in ranges for b in range(lo, hi)}


# release: {tail: bytes prep_compound_head stores for order 9} — page-format.md §3.2 tables
HEAD_PREP_BYTES = {
    # dtor 16, order 17, compound_mapcount 20-23, compound_nr 24-27; page[2] pincount 16-19
    "5.17": {1: span((16, 18), (20, 28)), 2: span((16, 20))},
    # dtor, order, compound_mapcount 20-23, compound_pincount 24-27, compound_nr 28-31
    "5.18": {1: span((16, 18), (20, 32))},
    "5.19": {1: span((16, 18), (20, 32))},
    "6.1": {1: span((16, 18), (20, 32))},
    # _folio_dtor, _folio_order, _entire_mapcount, _nr_pages_mapped, _pincount, _folio_nr_pages
    "6.4": {1: span((16, 18), (20, 36))},
    # _flags_1 low byte; _entire_mapcount 24 .. _folio_nr_pages 36-39
    "6.6": {1: span((0, 1), (24, 40))},
    # _flags_1 low byte; _large_mapcount 16 .. _folio_nr_pages 32-35; page[2] _deferred_list
    "6.12": {1: span((0, 1), (16, 36)), 2: span((16, 32))},
    # _flags_1 low byte; 16-47 (_large_mapcount .. _mm_ids); _nr_pages 56-59; _deferred_list
    "7.0": {1: span((0, 1), (16, 48), (56, 60)), 2: span((16, 32))},
    "7.1": {1: span((0, 1), (16, 48), (56, 60)), 2: span((16, 32))},
}


@pytest.mark.parametrize("release", list(HEAD_PREP_BYTES))
def test_head_prep_stores_exactly_these_bytes(release: str) -> None:
    """Each release's prep_compound_head stores to exactly the bytes its struct layout gives its
    compound fields (so a field at the wrong offset or width fails here)."""
    got = {t: written_bytes(ws) for t, ws in COMPOUND_BY_RELEASE[release].prep_compound_head(9)}
    assert got == HEAD_PREP_BYTES[release]
