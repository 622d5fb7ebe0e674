"""One pfn's state: the struct page words plus a shadow history of who wrote them.

The shadow is not kernel state (as KMSAN's shadow is not): it records, per pfn, each
init pass and each poisoning that wrote the struct page, and whether mem_hotplug_lock
was held, so invariants such as "no pfn is initialized more often than this version
says" can be checked on the final state.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from memmapsim.model.pageflags import PageFlagsLayout
from memmapsim.model.structpage import (
    ABSENT,
    MAPCOUNT_MASK,
    NR_WORDS,
    REFCOUNT_SHIFT,
    TokenKind,
    Word,
    Write,
    compound_head_pfn,
    compound_order_of,
    describe_word,
    token_arg,
    token_kind,
)


class PassKind(StrEnum):
    INIT = "init"  # a pass that writes struct page fields (__init_single_page, pgmap loop)
    POISON = "poison"  # DEBUG_VM memset(0xFF) of the memmap
    FREE = "free"  # given to the buddy allocator (__free_pages_core and its ancestors)


class PassRecord(msgspec.Struct, frozen=True, order=True):
    """One pass over a pfn: which kernel function, run by which thread (the device whose
    probe ran it), and whether mem_hotplug_lock was held."""

    kind: PassKind
    by: str
    locked: bool
    who: str = ""

    def label(self, who: bool = False) -> str:
        lock = "locked" if self.locked else "unlocked"
        return f"{self.by} [{self.who}] ({lock})" if who and self.who else f"{self.by} ({lock})"


class PageRecord(msgspec.Struct, frozen=True):
    """The state of one struct page: eight words and the shadow history."""

    words: tuple[int, ...]
    history: tuple[PassRecord, ...] = ()

    def with_writes(self, writes: tuple[Write, ...]) -> PageRecord:
        w = list(self.words)
        for wr in writes:
            w[wr.word] = wr.apply(w[wr.word])
        return PageRecord(tuple(w), self.history)

    def with_pass(self, rec: PassRecord) -> PageRecord:
        return PageRecord(self.words, (*self.history, rec))

    @property
    def init_passes(self) -> tuple[PassRecord, ...]:
        return tuple(p for p in self.history if p.kind is PassKind.INIT)

    @property
    def poisonings(self) -> int:
        return sum(1 for p in self.history if p.kind is PassKind.POISON)


ABSENT_RECORD = PageRecord((ABSENT,) * NR_WORDS)


class PageView(msgspec.Struct, frozen=True):
    """A struct page decoded with a version's page->flags layout (read-only)."""

    pfn: int
    record: PageRecord
    layout: PageFlagsLayout

    @property
    def words(self) -> tuple[int, ...]:
        return self.record.words

    @property
    def flags(self) -> int:
        return self.words[Word.FLAGS]

    @property
    def absent(self) -> bool:
        return token_kind(self.flags) is TokenKind.ABSENT

    @property
    def stale(self) -> bool:
        return token_kind(self.flags) is TokenKind.STALE

    @property
    def poisoned(self) -> bool:
        return self.layout.is_poisoned(self.flags)

    @property
    def zone(self) -> int:
        return self.layout.zone(self.flags)

    @property
    def nid(self) -> int:
        return self.layout.nid(self.flags)

    def test(self, flag: str) -> bool:
        return self.layout.test(self.flags, flag)

    @property
    def reserved(self) -> bool:
        return self.test("PG_reserved")

    @property
    def refcount(self) -> int:
        """page_ref_count(): _refcount as a signed 32-bit value."""
        v = (self.words[Word.COUNTS] >> REFCOUNT_SHIFT) & 0xFFFF_FFFF
        return v - (1 << 32) if v >> 31 else v

    @property
    def mapcount(self) -> int:
        """The raw _mapcount (-1 after page_mapcount_reset)."""
        v = self.words[Word.COUNTS] & MAPCOUNT_MASK
        return v - (1 << 32) if v >> 31 else v

    @property
    def pgmap(self) -> int | None:
        """The dev_pagemap number page->pgmap points at, or None if it holds anything else."""
        w = self.words[Word.LRU_NEXT]
        return token_arg(w) if token_kind(w) is TokenKind.PGMAP else None

    @property
    def page_tail(self) -> bool:
        """PageTail(): bit 0 of compound_head (true on a poisoned page)."""
        return bool(self.words[Word.LRU_NEXT] & 1)

    @property
    def head(self) -> bool:
        """PageHead(): PG_head set in page->flags, at the layout's bit (15 in v4.18, 16 in
        v4.20-v6.4, 6 from v6.6). False for a pfn with no memmap or stale contents; true on a
        poisoned page (every bit set)."""
        if self.absent or self.stale:
            return False
        return self.test("PG_head")

    @property
    def compound_order(self) -> int | None:
        """The order a compound tail's word 1 encodes (either tail encoding), or None if word 1
        is not a compound tail token (a head, an ordinary page, a poisoned page)."""
        return compound_order_of(self.words[Word.LRU_NEXT])

    @property
    def tail(self) -> bool:
        """Whether word 1 holds a compound tail token (``set_compound_head`` was applied).
        Unlike :attr:`page_tail` (the raw bit 0), this is false on a poisoned page."""
        return self.compound_order is not None

    @property
    def compound_head_pfn(self) -> int | None:
        """compound_head() as a pfn for a compound tail: ``pfn & ~((1 << order) - 1)``
        (compound pages are naturally aligned); None when :attr:`tail` is false."""
        order = self.compound_order
        return None if order is None else compound_head_pfn(self.pfn, order)

    def fields(self) -> dict[str, object]:
        """A field-by-field decoding for reports and tests."""
        if self.absent or self.stale:
            state = "absent" if self.absent else "stale"
            return {"pfn": self.pfn, "state": state}
        out: dict[str, object] = {
            "pfn": self.pfn,
            "state": "poisoned" if self.poisoned else "written",
            "flags": f"{self.flags:#018x}",
            "zone": self.zone,
            "node": self.nid,
            "pageflags": self.layout.set_names(self.flags) if not self.poisoned else ["all"],
            "refcount": self.refcount,
            "mapcount": self.mapcount,
            "lru_next/pgmap": describe_word(self.words[Word.LRU_NEXT]),
            "lru_prev/hmm_data": describe_word(self.words[Word.LRU_PREV]),
            "mapping": describe_word(self.words[Word.MAPPING]),
        }
        return out
