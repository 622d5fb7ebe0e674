"""struct page as eight 64-bit words, and the field writes that change it (spec §1.2, §2.1).

Layout of struct page on 64-bit since v4.18 (Matthew Wilcox's rework), by word:

    word  normal page            ZONE_DEVICE page (v4.18-v5.2)
    0     flags                  flags
    1     lru.next               pgmap            (also compound_head; bit 0 = PageTail)
    2     lru.prev               hmm_data
    3     mapping                _zd_pad_1
    4     index
    5     private
    6     _mapcount (low 32 bits) + _refcount (high 32 bits)
    7     mem_cgroup

Values that differ per page in a real kernel but not in kind — the self-pointer that
INIT_LIST_HEAD(&page->lru) leaves in words 1 and 2, a pointer to a dev_pagemap — are
stored as *tokens*: 64-bit values in the non-canonical x86_64 address range, which no
real kernel pointer can hold. A token reads back as what the kernel would see (e.g.
``&page->lru``), and lets the run-length backend keep a 3 TiB range as one run.
Memory never written in this boot (stale RAM or media contents) and pfns that have no
memmap at all are tokens too, in every word.

A compound tail's word 1 is a token too (:func:`compound_head_token`): the kernel stores the
head's address | 1 there (``set_compound_head``), which differs per compound page, while the
token holds only the order — every tail of every compound page of one order then holds the
same value, so the runs backend keeps a range of compound pages as one periodic run. The head
of tail pfn ``p`` is ``p & ~((1 << order) - 1)`` (compound pages are naturally aligned). v7.1's
``compound_info`` mask encoding has a token kind of its own (:func:`compound_mask_token`).

Every change to a struct page is a :class:`Write` ``word = (word & ~mask) | value``:
zeroing, setting a bit-field of page->flags, setting a bit, storing a pointer.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec

NR_WORDS = 8
WORD_MASK = (1 << 64) - 1


class Word(IntEnum):
    FLAGS = 0
    LRU_NEXT = 1  # == pgmap == compound_head for ZONE_DEVICE / tail pages
    LRU_PREV = 2  # == hmm_data (<= v5.2), zone_device_data (v5.3+)
    MAPPING = 3
    INDEX = 4
    PRIVATE = 5
    COUNTS = 6  # _mapcount in bits 0..31, _refcount in bits 32..63 (little endian)
    MEMCG = 7


PGMAP = Word.LRU_NEXT
HMM_DATA = Word.LRU_PREV
COMPOUND_HEAD = Word.LRU_NEXT

FIELDS: dict[str, Word] = {
    "flags": Word.FLAGS,
    "compound_head": Word.LRU_NEXT,
    "pgmap": Word.LRU_NEXT,
    "lru": Word.LRU_NEXT,
    "zone_device_data": Word.LRU_PREV,
    "mapping": Word.MAPPING,
    "index": Word.INDEX,
    "private": Word.PRIVATE,
    "_mapcount": Word.COUNTS,
    "_refcount": Word.COUNTS,
    "memcg_data": Word.MEMCG,
}
"""The fields a kernel path reads, by the name it uses, and the word each lives in (a read
names its fields: :class:`~memmapsim.effects.ReadPage`)."""

MAPCOUNT_MASK = 0xFFFF_FFFF
REFCOUNT_SHIFT = 32
REFCOUNT_MASK = 0xFFFF_FFFF << REFCOUNT_SHIFT

PAGE_POISON_PATTERN = WORD_MASK
"""page_init_poison / DEBUG_VM memset(0xFF): every byte 0xFF, so flags == -1 (PagePoisoned)."""

# POISON_POINTER_DELTA is 0xdead000000000000 on x86_64 (CONFIG_ILLEGAL_POINTER_VALUE).
LIST_POISON1 = 0xDEAD_0000_0000_0100
LIST_POISON2 = 0xDEAD_0000_0000_0200
POISON_POINTER_DELTA = 0xDEAD_0000_0000_0000
"""CONFIG_ILLEGAL_POINTER_VALUE on x86_64 (rikudousennin22/linux-7.1.3@arch/x86/Kconfig)."""

TAIL_MAPPING = 0x400 + POISON_POINTER_DELTA
"""``#define TAIL_MAPPING ((void *) 0x400 + POISON_POINTER_DELTA)`` = 0xdead000000000400, the
``mapping`` of every compound tail (include/linux/poison.h: ZDawnG/linux-4.19 line 42 (4.19.0),
kuangfei2019/linux-5.17-mini2440-dt line 34 (5.17.0), unchanged through rikudousennin22/linux-7.1.3
line 34 (7.1.3))."""

STRUCT_PAGE_SIZE = 64
"""sizeof(struct page) on x86_64 in every modelled version (page-format.md §3)."""

# --- tokens: non-canonical addresses (bit 48 set, bit 47 clear) -------------------------
_TOKEN_TAG = 1 << 48
_KIND_SHIFT = 32
_ARG_MASK = 0xFFFF_FFFF


class TokenKind(IntEnum):
    SELF_LRU = 1  # &page->lru of this very page (INIT_LIST_HEAD self pointer)
    PGMAP = 2  # pointer to dev_pagemap number <arg>
    STALE = 3  # never written in this boot: stale DRAM or media contents
    ABSENT = 4  # no memmap backs this pfn (reading it would fault)
    COMPOUND_HEAD = 5  # a tail's compound_head: head address | 1; arg = order << 1 | 1
    COMPOUND_MASK = 6  # v7.1 compound_info: GENMASK(63, order + 6) | 1; arg = order << 1 | 1
    SELF = 7  # the address of byte <arg> of this very struct page (e.g. a list head's own)
    FREE_LIST = 8  # lru linked into a buddy free list: a neighbour's lru or the list head


def token(kind: TokenKind, arg: int = 0) -> int:
    return _TOKEN_TAG | (int(kind) << _KIND_SHIFT) | (arg & _ARG_MASK)


def token_kind(value: int) -> TokenKind | None:
    """The token kind of a word value, or None for an ordinary value."""
    if value >> 48 != 1:
        return None
    try:
        return TokenKind((value >> _KIND_SHIFT) & 0xFFFF)
    except ValueError:
        return None


def token_arg(value: int) -> int:
    return value & _ARG_MASK


SELF_LRU = token(TokenKind.SELF_LRU)
STALE = token(TokenKind.STALE)
ABSENT = token(TokenKind.ABSENT)
FREE_LIST = token(TokenKind.FREE_LIST)
"""``lru.next``/``lru.prev`` of a page on a buddy free list (``list_add(&page->lru,
&area->free_list[mt])``): pointers to its neighbours on the list, which differ per page in
a real kernel."""


def pgmap_token(pgmap_id: int) -> int:
    return token(TokenKind.PGMAP, pgmap_id)


_COMPOUND_KINDS = (TokenKind.COMPOUND_HEAD, TokenKind.COMPOUND_MASK)
MAX_COMPOUND_ORDER = 57
"""The largest order a compound token encodes (``order + 6`` must stay below 64 for the mask)."""


def _compound_token(kind: TokenKind, order: int) -> int:
    if not 0 < order <= MAX_COMPOUND_ORDER:
        raise ValueError(f"compound order {order} out of range 1..{MAX_COMPOUND_ORDER}")
    return token(kind, (order << 1) | 1)


def compound_head_token(order: int) -> int:
    """A tail's word 1 as ``set_compound_head(p, head)`` leaves it: ``head | 1`` (bit 0 set, so
    PageTail() reads true), for a compound page of ``1 << order`` pages. Every version up to
    v7.0, and v7.1 without the mask encoding (``set_compound_head`` in include/linux/page-flags.h:
    ZDawnG/linux-4.19 line 507 (4.19.0), kuangfei2019/linux-5.17-mini2440-dt line 711 (5.17.0),
    julianw1010/WASP-linux-7.0.0@1d9f96d2d line 868 (7.0.0))."""
    return _compound_token(TokenKind.COMPOUND_HEAD, order)


def compound_mask_token(order: int) -> int:
    """A tail's word 1 in v7.1 with ``compound_info_has_mask()`` (HUGETLB_PAGE_OPTIMIZE_VMEMMAP
    and a power-of-two struct page, the distro x86_64 case): ``GENMASK(63, order + 6) | 1``, the
    mask that turns the tail's address into the head's
    (rikudousennin22/linux-7.1.3@include/linux/page-flags.h:257-280 (7.1.3)). Unlike
    :func:`compound_head_token` this is the kernel's own value class (it does not depend on
    the head), kept as a token so both encodings decode through one API."""
    return _compound_token(TokenKind.COMPOUND_MASK, order)


def compound_order_of(value: int) -> int | None:
    """The order a compound tail token encodes (either kind), or None for any other value."""
    if token_kind(value) in _COMPOUND_KINDS:
        return token_arg(value) >> 1
    return None


def compound_head_pfn(tail_pfn: int, order: int) -> int:
    """The head pfn of ``tail_pfn`` in a naturally aligned compound page of ``1 << order``."""
    return tail_pfn & ~((1 << order) - 1)


def compound_info_mask(order: int) -> int:
    """The numeric value of a v7.1 mask-encoded ``compound_info``: ``GENMASK(63, order + 6) | 1``
    (order 9: 0xffffffffffff8001; order 18: 0xffffffffff000001 — docs/kernel-notes
    page-format.md §3.4 gives 0xffffffff00000001 for order 18, which is GENMASK(63, 32) | 1)."""
    shift = order + STRUCT_PAGE_SIZE.bit_length() - 1
    return (WORD_MASK & ~((1 << shift) - 1)) | 1


def self_token(offset: int) -> int:
    """The address of byte ``offset`` of this very struct page, as a list head initialised to
    point to itself holds (INIT_LIST_HEAD of a field at that offset)."""
    if not 0 <= offset < STRUCT_PAGE_SIZE:
        raise ValueError(f"offset {offset} is not inside a struct page")
    return token(TokenKind.SELF, offset)


class Write(msgspec.Struct, frozen=True):
    """One store to a struct page word: ``word = (word & ~mask) | value``."""

    word: Word
    mask: int
    value: int

    def __post_init__(self) -> None:
        if self.mask & ~WORD_MASK or self.mask < 0:
            raise ValueError(f"write mask {self.mask:#x} is not within one 64-bit word")
        if self.value & ~self.mask:
            raise ValueError(f"write value {self.value:#x} outside mask {self.mask:#x}")

    def apply(self, old: int) -> int:
        return (old & ~self.mask & WORD_MASK) | self.value


def store(word: Word, value: int) -> Write:
    """A plain store of a whole word."""
    return Write(word, WORD_MASK, value & WORD_MASK)


def set_bits(word: Word, bits: int) -> Write:
    return Write(word, bits, bits)


def clear_bits(word: Word, bits: int) -> Write:
    return Write(word, bits, 0)


def set_field(word: Word, shift: int, width: int, value: int) -> Write:
    mask = ((1 << width) - 1) << shift
    return Write(word, mask, (value << shift) & mask)


def fill(value: int) -> tuple[Write, ...]:
    """Every word set to ``value`` (memset of a whole struct page, or a token state)."""
    return tuple(store(w, value) for w in Word)


def describe_word(value: int) -> str:
    """What a word holds, as the kernel would see it (tokens decoded)."""
    kind = token_kind(value)
    if kind is TokenKind.SELF_LRU:
        return "&page->lru"
    if kind is TokenKind.PGMAP:
        return f"pgmap#{token_arg(value)}"
    if kind is TokenKind.STALE:
        return "stale"
    if kind is TokenKind.ABSENT:
        return "absent"
    if kind is TokenKind.COMPOUND_HEAD:
        return f"head|1 (order {token_arg(value) >> 1})"
    if kind is TokenKind.COMPOUND_MASK:
        return f"mask|1 (order {token_arg(value) >> 1})"
    if kind is TokenKind.SELF:
        return f"&page+{token_arg(value):#x}"
    if kind is TokenKind.FREE_LIST:
        return "free list"
    if value == TAIL_MAPPING:
        return "TAIL_MAPPING"
    if value == LIST_POISON1:
        return "LIST_POISON1"
    if value == LIST_POISON2:
        return "LIST_POISON2"
    return f"{value:#x}"
