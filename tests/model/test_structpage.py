"""struct page words, Write semantics, tokens and describe_word (spec §1.2, §2.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memmapsim.model.structpage import (
    ABSENT,
    COMPOUND_HEAD,
    HMM_DATA,
    LIST_POISON1,
    LIST_POISON2,
    MAPCOUNT_MASK,
    NR_WORDS,
    PAGE_POISON_PATTERN,
    PGMAP,
    REFCOUNT_MASK,
    REFCOUNT_SHIFT,
    SELF_LRU,
    STALE,
    WORD_MASK,
    TokenKind,
    Word,
    Write,
    clear_bits,
    describe_word,
    fill,
    pgmap_token,
    set_bits,
    set_field,
    store,
    token,
    token_arg,
    token_kind,
)

u64 = st.integers(0, WORD_MASK)
words = st.sampled_from(list(Word))


def canonical(addr: int, va_bits: int) -> bool:
    """x86_64 canonical form: bits 63..va_bits-1 all equal."""
    top = addr >> (va_bits - 1)
    return top in (0, (1 << (65 - va_bits)) - 1)


def kernel_half(addr: int, va_bits: int) -> bool:
    """A canonical address in the kernel (upper) half, where every kernel pointer lives."""
    return canonical(addr, va_bits) and bool(addr >> 63)


# --- layout constants -----------------------------------------------------------------


def test_word_layout_and_aliases() -> None:
    """Eight words; pgmap and compound_head alias lru.next, hmm_data aliases lru.prev."""
    assert NR_WORDS == len(Word) == 8
    assert [int(w) for w in Word] == list(range(8))
    assert PGMAP is Word.LRU_NEXT and COMPOUND_HEAD is Word.LRU_NEXT and int(PGMAP) == 1
    assert HMM_DATA is Word.LRU_PREV and int(HMM_DATA) == 2
    assert Word.FLAGS == 0 and Word.COUNTS == 6 and Word.MEMCG == 7


def test_counts_word_split() -> None:
    """_mapcount is the low 32 bits and _refcount the high 32 bits of word 6."""
    assert MAPCOUNT_MASK == 0xFFFF_FFFF
    assert REFCOUNT_SHIFT == 32
    assert REFCOUNT_MASK == 0xFFFF_FFFF_0000_0000
    assert REFCOUNT_MASK & MAPCOUNT_MASK == 0
    assert REFCOUNT_MASK | MAPCOUNT_MASK == WORD_MASK


def test_poison_values() -> None:
    """memset(0xFF) and list_del poison values on x86_64 (POISON_POINTER_DELTA 0xdead...)."""
    assert PAGE_POISON_PATTERN == WORD_MASK == 0xFFFF_FFFF_FFFF_FFFF
    assert LIST_POISON1 == 0xDEAD_0000_0000_0100
    assert LIST_POISON2 == 0xDEAD_0000_0000_0200


# --- Write ----------------------------------------------------------------------------


def test_write_apply_examples() -> None:
    """word = (word & ~mask) | value: masked bits replaced, the rest kept."""
    assert Write(Word.FLAGS, 0xF0, 0x50).apply(0xFFFF) == 0xFF5F
    assert Write(Word.FLAGS, 0xF0, 0x00).apply(0xFFFF) == 0xFF0F
    assert Write(Word.FLAGS, 0, 0).apply(0x1234) == 0x1234
    assert Write(Word.FLAGS, WORD_MASK, 7).apply(WORD_MASK) == 7
    # the result stays a 64-bit word
    assert Write(Word.FLAGS, 1 << 63, 0).apply(WORD_MASK) == WORD_MASK >> 1


@settings(max_examples=200, deadline=None)
@given(old=u64, mask=u64, raw=u64)
def test_write_apply_property(old: int, mask: int, raw: int) -> None:
    """Bits inside the mask come from value, bits outside it from the old word."""
    value = raw & mask
    new = Write(Word.INDEX, mask, value).apply(old)
    assert 0 <= new <= WORD_MASK
    assert new & mask == value
    assert new & ~mask & WORD_MASK == old & ~mask & WORD_MASK


@pytest.mark.parametrize(("mask", "value"), [(0xF0, 0x1F0), (0, 1), (0xFF00, 0x00FF)])
def test_write_rejects_value_outside_mask(mask: int, value: int) -> None:
    """A value with bits the mask does not cover is a construction error."""
    with pytest.raises(ValueError, match="outside mask"):
        Write(Word.FLAGS, mask, value)


def test_write_is_frozen_and_hashable() -> None:
    """Writes are values: equal writes hash equal (runs-backend memo keys depend on it)."""
    a, b = store(Word.MAPPING, 5), store(Word.MAPPING, 5)
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.value = 6  # type: ignore[misc]


def test_store_is_a_whole_word_store() -> None:
    """store() replaces all 64 bits; a negative value is stored as its 64-bit pattern."""
    w = store(Word.MAPPING, 0x1234)
    assert (w.word, w.mask, w.value) == (Word.MAPPING, WORD_MASK, 0x1234)
    assert w.apply(WORD_MASK) == 0x1234
    assert store(Word.COUNTS, -1).value == WORD_MASK
    assert store(Word.COUNTS, -1).apply(0) == WORD_MASK


def test_set_and_clear_bits() -> None:
    """set_bits ORs in, clear_bits ANDs out, leaving other bits alone."""
    assert set_bits(Word.FLAGS, 1 << 11).apply(0b1) == (1 << 11) | 1
    assert set_bits(Word.FLAGS, 1 << 11).apply(1 << 11) == 1 << 11
    assert clear_bits(Word.FLAGS, 1 << 11).apply(WORD_MASK) == WORD_MASK & ~(1 << 11)
    assert clear_bits(Word.FLAGS, 1 << 11).apply(0) == 0


def test_set_field_places_bits() -> None:
    """set_field(word, shift, width, v) writes v into bits shift..shift+width-1 only."""
    w = set_field(Word.FLAGS, 51, 3, 4)  # zone = ZONE_DEVICE in the v4.18/v4.20 layout
    assert w.mask == 0b111 << 51
    assert w.value == 4 << 51
    assert w.apply(0) == 4 << 51
    assert w.apply(WORD_MASK) == WORD_MASK & ~(0b011 << 51)
    node = set_field(Word.FLAGS, 54, 10, 1023)
    assert node.mask == node.value == 0x3FF << 54
    refcount = set_field(Word.COUNTS, 32, 32, 1)
    assert refcount.apply(0xFFFF_FFFF) == (1 << 32) | 0xFFFF_FFFF


def test_set_field_truncates_like_the_kernel_masks() -> None:
    """A value wider than the field is masked (as set_page_zone does with ZONES_MASK)."""
    w = set_field(Word.FLAGS, 51, 3, 9)
    assert w.value == 1 << 51
    assert w.apply(0) >> 51 == 1


@settings(max_examples=200, deadline=None)
@given(data=st.data(), old=u64)
def test_set_field_round_trip(data: st.DataObject, old: int) -> None:
    """Reading the field back gives the value; bits outside the field are unchanged."""
    shift = data.draw(st.integers(0, 63))
    width = data.draw(st.integers(1, 64 - shift))
    fmask = (1 << width) - 1
    value = data.draw(st.integers(0, fmask))
    new = set_field(Word.FLAGS, shift, width, value).apply(old)
    assert (new >> shift) & fmask == value
    outside = WORD_MASK & ~(fmask << shift)
    assert new & outside == old & outside


def test_fill_stores_every_word_in_order() -> None:
    """fill(v) is one whole-word store per word, words 0..7 in order."""
    writes = fill(PAGE_POISON_PATTERN)
    assert [w.word for w in writes] == list(Word)
    assert all(w.mask == WORD_MASK and w.value == PAGE_POISON_PATTERN for w in writes)
    page = [0x1234] * NR_WORDS
    for w in fill(STALE):
        page[w.word] = w.apply(page[w.word])
    assert page == [STALE] * NR_WORDS


# --- tokens ---------------------------------------------------------------------------

TOKENS = [SELF_LRU, STALE, ABSENT, pgmap_token(0), pgmap_token(1), pgmap_token(0xFFFF_FFFF)]


def test_named_tokens() -> None:
    """The named tokens decode to their kinds, with argument 0, and are all distinct."""
    assert token_kind(SELF_LRU) is TokenKind.SELF_LRU
    assert token_kind(STALE) is TokenKind.STALE
    assert token_kind(ABSENT) is TokenKind.ABSENT
    assert token_arg(SELF_LRU) == token_arg(STALE) == token_arg(ABSENT) == 0
    assert len(set(TOKENS)) == len(TOKENS)


@settings(max_examples=100, deadline=None)
@given(pgmap_id=st.integers(0, 0xFFFF_FFFF))
def test_pgmap_token_round_trip(pgmap_id: int) -> None:
    """pgmap_token(k) decodes to (PGMAP, k), and distinct k give distinct tokens."""
    t = pgmap_token(pgmap_id)
    assert token_kind(t) is TokenKind.PGMAP
    assert token_arg(t) == pgmap_id
    assert t == token(TokenKind.PGMAP, pgmap_id)
    assert pgmap_token(pgmap_id ^ 1) != t


@pytest.mark.parametrize("kind", list(TokenKind))
def test_token_round_trip_every_kind(kind: TokenKind) -> None:
    """token(kind, arg) decodes back to kind and arg for every kind."""
    t = token(kind, 42)
    assert token_kind(t) is kind
    assert token_arg(t) == 42


@pytest.mark.parametrize(
    "value",
    [
        0,
        1,
        LIST_POISON1,
        LIST_POISON2,
        PAGE_POISON_PATTERN,
        PAGE_POISON_PATTERN - 1,  # compound_head() of a poisoned page
        0xFFFF_8880_0000_0000,  # direct map (4-level)
        0xFFFF_EA00_0000_0000,  # vmemmap base (4-level)
        0xFFD4_0000_0000_0000,  # vmemmap base (5-level)
        1 << 48,  # tag bit with kind 0
        (1 << 48) | (99 << 32),  # tag bit with an unknown kind
        SELF_LRU | (1 << 49),  # a higher bit set: not a token
        SELF_LRU | (1 << 63),
    ],
)
def test_ordinary_values_are_not_tokens(value: int) -> None:
    """Kernel pointers, poison values and tag-lookalikes decode as no token."""
    assert token_kind(value) is None


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(list(TokenKind)), arg=st.integers(0, 0xFFFF_FFFF))
def test_tokens_are_non_canonical(kind: TokenKind, arg: int) -> None:
    """Bit 48 set and bit 47 clear: non-canonical with 4-level paging, and never in the
    kernel half with 5-level paging, so no real pointer or LIST_POISON value equals one."""
    t = token(kind, arg)
    assert t >> 48 == 1  # bit 48 set, bits 49..63 clear
    assert not t & (1 << 47)
    assert not canonical(t, 48)
    assert not kernel_half(t, 48) and not kernel_half(t, 57)
    assert t not in (0, LIST_POISON1, LIST_POISON2, PAGE_POISON_PATTERN)


def test_canonical_helper_sanity() -> None:
    """The helper used above accepts real kernel pointers (so the non-canonical test bites)."""
    assert kernel_half(0xFFFF_8880_0000_0000, 48)
    assert kernel_half(0xFFFF_EA00_0000_0000, 48)
    assert kernel_half(0xFFD4_0000_0000_0000, 57)
    assert canonical(0x0000_7FFF_FFFF_F000, 48)
    assert not canonical(LIST_POISON1, 48)


# --- describe_word --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (SELF_LRU, "&page->lru"),
        (pgmap_token(0), "pgmap#0"),
        (pgmap_token(3), "pgmap#3"),
        (STALE, "stale"),
        (ABSENT, "absent"),
        (LIST_POISON1, "LIST_POISON1"),
        (LIST_POISON2, "LIST_POISON2"),
        (0, "0x0"),
        (0xDEAD, "0xdead"),
        (PAGE_POISON_PATTERN, "0xffffffffffffffff"),
        ((1 << 48) | (99 << 32), "0x1006300000000"),
    ],
)
def test_describe_word(value: int, text: str) -> None:
    """Tokens and poison values are named; anything else is rendered in hex."""
    assert describe_word(value) == text


def test_a_write_stays_within_one_word() -> None:
    """Was accepted: the runs backend then stored a 70-bit word and the dense one overflowed."""
    with pytest.raises(ValueError):
        set_field(Word.FLAGS, 60, 10, 0x3FF)
