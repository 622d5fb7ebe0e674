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

Every change to a struct page is a :class:`Write` ``word = (word & ~mask) | value``:
zeroing, setting a bit-field of page->flags, setting a bit, storing a pointer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

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

MAPCOUNT_MASK = 0xFFFF_FFFF
REFCOUNT_SHIFT = 32
REFCOUNT_MASK = 0xFFFF_FFFF << REFCOUNT_SHIFT

PAGE_POISON_PATTERN = WORD_MASK
"""page_init_poison / DEBUG_VM memset(0xFF): every byte 0xFF, so flags == -1 (PagePoisoned)."""

# POISON_POINTER_DELTA is 0xdead000000000000 on x86_64 (CONFIG_ILLEGAL_POINTER_VALUE).
LIST_POISON1 = 0xDEAD_0000_0000_0100
LIST_POISON2 = 0xDEAD_0000_0000_0200

# --- tokens: non-canonical addresses (bit 48 set, bit 47 clear) -------------------------
_TOKEN_TAG = 1 << 48
_KIND_SHIFT = 32
_ARG_MASK = 0xFFFF_FFFF


class TokenKind(IntEnum):
    SELF_LRU = 1  # &page->lru of this very page (INIT_LIST_HEAD self pointer)
    PGMAP = 2  # pointer to dev_pagemap number <arg>
    STALE = 3  # never written in this boot: stale DRAM or media contents
    ABSENT = 4  # no memmap backs this pfn (reading it would fault)


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


def pgmap_token(pgmap_id: int) -> int:
    return token(TokenKind.PGMAP, pgmap_id)


@dataclass(frozen=True, slots=True)
class Write:
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
    if value == LIST_POISON1:
        return "LIST_POISON1"
    if value == LIST_POISON2:
        return "LIST_POISON2"
    return f"{value:#x}"
