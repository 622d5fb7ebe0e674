"""dump_page() output per release: golden lines for a ZONE_DEVICE page, a compound head and tails
(5.17+), a poisoned page, and the pages the model cannot dump.

Every expected line is checked against the release's format string, quoted in the comment next
to it (mm/debug.c of the tree named in kernel/debug.py; docs/kernel-notes/page-format.md §4).
Rendering conventions (kernel/debug.py): struct page of pfn p at 0xffffea0000000000 + 64 p;
``%p`` hashed as with ``debug_boot_weak_hash``; pgmap #0 at 0xffff888100000000.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memmapsim.kernel.compound import COMPOUND_BY_RELEASE
from memmapsim.kernel.debug import (
    DUMP_NOTE,
    GOLDEN_RATIO_64,
    dump_page,
    dump_page_printk,
    page_address,
    pgmap_address,
)
from memmapsim.model.page import ABSENT_RECORD, PageRecord
from memmapsim.model.pageflags import PAGEFLAGS_V4_20, PageFlagsLayout, layout_for
from memmapsim.model.structpage import (
    NR_WORDS,
    PAGE_POISON_PATTERN,
    SELF_LRU,
    STALE,
    Word,
    Write,
    fill,
    pgmap_token,
    set_bits,
    set_field,
    store,
)

PFN = 0x40000  # 1 GiB: tiny-pmem's first data pfn
POISONED = PFN + 0x200
ABSENT = PFN + 0x1000
ZERO = PageRecord((0,) * NR_WORDS)
Read = Callable[[int], PageRecord]

# %p of the struct pages below: hash_long(addr, 32), zero-padded to 16 digits
P_HEAD = "00000000ad2a8383"  # ffffea0001000000, pfn 0x40000
P_TAIL1 = "000000001f4c1524"  # ffffea0001000040
P_TAIL2 = "00000000916da6c4"  # ffffea0001000080
P_POISONED = "00000000f04dc3de"  # ffffea0001008000

# the normal page's raw dump: flags, pgmap, zone_device_data NULL, mapping, index, private,
# _refcount 1 | _mapcount -1, memcg
RAW_TAIL = "raw: 0000000000000000 0000000000000000 00000001ffffffff 0000000000000000"
POISON_RAW = ["raw: " + " ".join(["ffffffffffffffff"] * 4)] * 2


def zone_device_init(layout: PageFlagsLayout, pgmap: int = 0) -> tuple[Write, ...]:
    """The struct page stores of the ZONE_DEVICE init of one page, as the notes list them
    (zone-device-late.md §12.1): __init_single_page (zero, zone/node links, refcount 1,
    _mapcount -1, last_cpupid reset, INIT_LIST_HEAD(lru)), __SetPageReserved, page->pgmap,
    zone_device_data = NULL. A test fixture, not the kernel model."""
    return (
        *fill(0),
        set_field(Word.FLAGS, layout.zones_pgshift, layout.zones_width, 4),
        set_field(Word.FLAGS, layout.nodes_pgshift, layout.nodes_width, 0),
        set_field(Word.COUNTS, 32, 32, 1),
        set_field(Word.COUNTS, 0, 32, 0xFFFF_FFFF),
        set_field(Word.FLAGS, layout.last_cpupid_pgshift, layout.last_cpupid_width, 0x1FFFFF),
        store(Word.LRU_NEXT, SELF_LRU),
        store(Word.LRU_PREV, SELF_LRU),
        set_bits(Word.FLAGS, layout.flag("PG_reserved")),
        store(Word.LRU_NEXT, pgmap_token(pgmap)),
        store(Word.LRU_PREV, 0),
    )


def memory(release: str, order: int = 0, tails: tuple[int, ...] = (1, 2, 3)) -> Read:
    """A ZONE_DEVICE page at PFN (a compound head of ``order`` with the given tails, in
    memmap_init_compound's order) and a poisoned page at POISONED; every other pfn absent."""
    layout = layout_for(release)
    mem = {PFN: ZERO.with_writes(zone_device_init(layout))}
    mem[POISONED] = PageRecord((PAGE_POISON_PATTERN,) * NR_WORDS)
    if order:
        fmt = COMPOUND_BY_RELEASE[release]
        mem[PFN] = mem[PFN].with_writes(fmt.set_page_head(layout))
        for i in tails:
            mem[PFN + i] = PageRecord((STALE,) * NR_WORDS)  # not yet initialised
        after = fmt.head_prep_tail(1 << order)
        for i in tails:
            rec = ZERO.with_writes(zone_device_init(layout))
            mem[PFN + i] = rec.with_writes(
                fmt.prep_compound_tail(order) + fmt.set_page_count_zero()
            )
            if i == after:
                for t, ws in fmt.prep_compound_head(order):
                    mem[PFN + t] = mem[PFN + t].with_writes(ws)
        if after is not None and after not in tails:  # 7.0+: after the loop
            for t, ws in fmt.prep_compound_head(order):
                mem[PFN + t] = mem[PFN + t].with_writes(ws)
    return lambda pfn: mem.get(pfn, ABSENT_RECORD)


def dump(release: str, pfn: int, order: int = 0, reason: str | None = None) -> list[str]:
    return dump_page(release, pfn, memory(release, order), layout_for(release), reason=reason)


# --- rendering helpers ------------------------------------------------------------------


def test_addresses_and_hash() -> None:
    """vmemmap base without KASLR; %p = hash_long(ptr, 32) (debug_boot_weak_hash)."""
    assert page_address(PFN) == 0xFFFF_EA00_0100_0000
    assert pgmap_address(0) == 0xFFFF_8881_0000_0000
    for pfn, text in ((PFN, P_HEAD), (PFN + 1, P_TAIL1), (POISONED, P_POISONED)):
        assert f"{(page_address(pfn) * GOLDEN_RATIO_64 % 2**64) >> 32:016x}" == text


# --- 4.18 ------------------------------------------------------------------------------


def test_4_18_zone_device_page() -> None:
    out = dump_page(
        "4.18", PFN, memory("4.18"), layout_for("4.18"), lambda n: f"pmem{n}", reason="test"
    )
    # pr_emerg("page:%px count:%d mapcount:%d mapping:%px index:%#lx", ...); pr_cont("\n")
    assert out[0] == "page:ffffea0001000000 count:1 mapcount:0 mapping:0000000000000000 index:0x0"
    # pr_emerg("flags: %#lx(%pGp)\n", page->flags, &page->flags): names of flags & PAGEFLAGS
    assert out[1] == "flags: 0x27ffffc0000800(reserved)"
    # print_hex_dump(KERN_ALERT, "raw: ", DUMP_PREFIX_NONE, 32, sizeof(unsigned long), page, ...)
    assert out[2] == "raw: 0027ffffc0000800 ffff888100000000 0000000000000000 0000000000000000"
    assert out[3] == RAW_TAIL
    # pr_alert("page dumped because: %s\n", reason)
    assert out[4] == "page dumped because: test"
    # not a kernel line: pgmap_name names the stand-in address
    assert out[5:] == ["memmapsim: ffff888100000000 is the dev_pagemap of pmem0"]


def test_4_18_levels() -> None:
    """pr_emerg for the page and flags lines, KERN_ALERT hex dump, pr_alert reason."""
    lines = dump_page_printk("4.18", PFN, memory("4.18"), layout_for("4.18"), reason="x")
    assert [level for level, _ in lines] == ["emerg", "emerg", "alert", "alert", "alert"]


def test_4_18_poisoned() -> None:
    out = dump("4.18", POISONED, reason="test")
    # pr_emerg("page:%px is uninitialized and poisoned", page); goto hex_only;
    assert out[0] == "page:ffffea0001008000 is uninitialized and poisoned"
    # print_hex_dump(KERN_ALERT, "raw: ", ...) of the 0xff page
    assert out[1:3] == POISON_RAW
    # pr_alert("page dumped because: %s\n", reason); no mem_cgroup line for a poisoned page
    assert out[3:] == ["page dumped because: test"]


def test_4_20_and_5_0_flags_bit_12() -> None:
    """4.20: PG_reserved at bit 12; 5.0: same format at KERN_WARNING."""
    out = dump("4.20", PFN)
    # pr_emerg("flags: %#lx(%pGp)\n", ...)
    assert out[1] == "flags: 0x27ffffc0001000(reserved)"
    lines = dump_page_printk("5.0", PFN, memory("5.0"), layout_for("5.0"))
    # pr_warn("page:%px count:%d mapcount:%d mapping:%px index:%#lx", ...)
    assert lines[0] == (
        "warning",
        "page:ffffea0001000000 count:1 mapcount:0 mapping:0000000000000000 index:0x0",
    )
    assert {level for level, _ in lines} == {"warning"}


def test_5_3_refcount() -> None:
    # pr_warn("page:%px refcount:%d mapcount:%d mapping:%px index:%#lx", ...)
    assert dump("5.3", PFN)[0] == (
        "page:ffffea0001000000 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0"
    )


# --- 5.4 -------------------------------------------------------------------------------


def test_5_4_zone_device_page_has_no_flags_line() -> None:
    out = dump("5.4", PFN, reason="test")
    # pr_warn("page:%px refcount:%d mapcount:%d mapping:%px index:%#lx\n", ...)
    assert (
        out[0] == "page:ffffea0001000000 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0"
    )
    # not ksm, not anon, no mapping: no "flags: %#lx(%pGp)\n" line at all; straight to
    # print_hex_dump(KERN_WARNING, "raw: ", ...)
    assert out[1] == "raw: 0027ffffc0001000 ffff888100000000 0000000000000000 0000000000000000"
    assert out[2] == RAW_TAIL
    # pr_warn("page dumped because: %s\n", reason)
    assert out[3:] == ["page dumped because: test"]


def test_5_4_poisoned() -> None:
    out = dump("5.4", POISONED)
    # pr_warn("page:%px is uninitialized and poisoned", page); goto hex_only;
    assert out == ["page:ffffea0001008000 is uninitialized and poisoned", *POISON_RAW]


# --- 5.10 ------------------------------------------------------------------------------


def test_5_10_zone_device_page() -> None:
    out = dump("5.10", PFN, reason="test")
    # pr_warn("page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n", ...)
    assert out[0] == (
        f"page:{P_HEAD} refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000"
    )
    # pr_warn("%sflags: %#lx(%pGp)%s\n", type, head->flags, &head->flags, page_cma ? " CMA" : "")
    assert out[1] == "flags: 0x27ffffc0001000(reserved)"
    # print_hex_dump(KERN_WARNING, "raw: ", ...); head == page: no "head: " dump
    assert out[2] == "raw: 0027ffffc0001000 ffff888100000000 0000000000000000 0000000000000000"
    assert out[3] == RAW_TAIL
    # pr_warn("page dumped because: %s\n", reason)
    assert out[4:] == ["page dumped because: test"]


def test_5_10_poisoned_faults_on_the_head_dump() -> None:
    out = dump("5.10", POISONED, reason="test")
    # pr_warn("page:%px is uninitialized and poisoned", page); goto hex_only;
    assert out[0] == "page:ffffea0001008000 is uninitialized and poisoned"
    # print_hex_dump(KERN_WARNING, "raw: ", ...)
    assert out[1:3] == POISON_RAW
    # if (head != page) print_hex_dump(KERN_WARNING, "head: ", ..., head, ...): head =
    # compound_head() of word 1 = 0xff..ff - 1, unmapped -> no reason line after it
    assert len(out) == 4
    assert out[3].startswith("memmapsim: ") and "fffffffffffffffe" in out[3]


def test_5_12_and_5_16_flags() -> None:
    """5.12 still "%#lx(%pGp)"; 5.16 (from 5.16.10) has the field-printing %pGp."""
    # pr_warn("%sflags: %#lx(%pGp)%s\n", ...)
    assert dump("5.12", PFN)[1] == "flags: 0x27ffffc0001000(reserved)"
    # pr_warn("%sflags: %pGp%s\n", type, &head->flags, ...)
    assert dump("5.16", PFN)[1] == (
        "flags: 0x27ffffc0001000(reserved|node=0|zone=4|lastcpupid=0x1fffff)"
    )
    # dump_page(): pr_warn("page:%p is uninitialized and poisoned", page) - no hex dump
    assert dump("5.16", POISONED) == [f"page:{P_POISONED} is uninitialized and poisoned"]


# --- 5.17 ------------------------------------------------------------------------------

FLAGS_5_17 = "flags: 0x27ffffc0001000(reserved|node=0|zone=4|lastcpupid=0x1fffff)"
HEAD_FLAGS_5_17 = "flags: 0x27ffffc0011000(reserved|head|node=0|zone=4|lastcpupid=0x1fffff)"
HEAD_RAW_5_17 = [
    "head: 0027ffffc0011000 ffff888100000000 0000000000000000 0000000000000000",
    "head: 0000000000000000 0000000000000000 00000001ffffffff 0000000000000000",
]


def test_5_17_zone_device_page() -> None:
    out = dump("5.17", PFN, reason="test")
    # pr_warn("page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n", ...)
    assert out[0] == (
        f"page:{P_HEAD} refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000"
    )
    # pr_warn("%sflags: %pGp%s\n", type, &head->flags, page_cma ? " CMA" : "")
    assert out[1] == FLAGS_5_17
    # print_hex_dump(KERN_WARNING, "raw: ", ...)
    assert out[2:4] == [
        "raw: 0027ffffc0001000 ffff888100000000 0000000000000000 0000000000000000",
        RAW_TAIL,
    ]
    # dump_page(): pr_warn("page dumped because: %s\n", reason)
    assert out[4:] == ["page dumped because: test"]


def test_5_17_compound_head() -> None:
    out = dump("5.17", PFN, order=9)
    assert out[0].startswith(f"page:{P_HEAD} refcount:1 mapcount:0 ")
    # pr_warn("head:%p order:%u compound_mapcount:%d compound_pincount:%d\n", head,
    #   compound_order(head), head_compound_mapcount(head), head_compound_pincount(head))
    # (hpage_pincount_available: order 9 > 1)
    assert out[1] == f"head:{P_HEAD} order:9 compound_mapcount:0 compound_pincount:0"
    # pr_warn("%sflags: %pGp%s\n", ...): PG_head is bit 16
    assert out[2] == HEAD_FLAGS_5_17
    # "raw: " only: head == page
    assert out[3] == "raw: 0027ffffc0011000 ffff888100000000 0000000000000000 0000000000000000"
    assert len(out) == 5


def test_5_17_compound_first_tail() -> None:
    out = dump("5.17", PFN + 1, order=9)
    # "page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n": refcount of the head,
    # mapping = page_mapping() of the head (NULL), index = head->index + 1
    assert out[0] == (
        f"page:{P_TAIL1} refcount:1 mapcount:0 mapping:0000000000000000 index:0x1 pfn:0x40001"
    )
    # "head:%p order:%u compound_mapcount:%d compound_pincount:%d\n"
    assert out[1] == f"head:{P_HEAD} order:9 compound_mapcount:0 compound_pincount:0"
    # "%sflags: %pGp%s\n" of head->flags
    assert out[2] == HEAD_FLAGS_5_17
    # "raw: " of the tail: word 1 = head | 1, dtor 1 / order 9 / compound_mapcount -1 in
    # word 2, compound_nr 512 over the low half of TAIL_MAPPING; refcount 0
    assert out[3:5] == [
        "raw: 0027ffffc0001000 ffffea0001000001 ffffffff00000901 dead000000000200",
        "raw: 0000000000000000 0000000000000000 00000000ffffffff 0000000000000000",
    ]
    # if (head != page) print_hex_dump(KERN_WARNING, "head: ", ...)
    assert out[5:] == HEAD_RAW_5_17


def test_5_17_compound_second_tail() -> None:
    out = dump("5.17", PFN + 2, order=9)
    # "page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n"
    assert out[0] == (
        f"page:{P_TAIL2} refcount:1 mapcount:0 mapping:0000000000000000 index:0x2 pfn:0x40002"
    )
    # "raw: ": page[2].hpage_pinned_refcount (word 2 low half) 0, mapping TAIL_MAPPING
    assert out[3] == "raw: 0027ffffc0001000 ffffea0001000001 0000000000000000 dead000000000400"
    assert out[5:] == HEAD_RAW_5_17


def test_5_17_poisoned() -> None:
    # dump_page(): pr_warn("page:%p is uninitialized and poisoned", page); reason
    assert dump("5.17", POISONED, reason="test") == [
        f"page:{P_POISONED} is uninitialized and poisoned",
        "page dumped because: test",
    ]


def test_5_17_far_tail_of_a_1g_page_takes_the_corrupt_path() -> None:
    """page >= head + MAX_ORDER_NR_PAGES: mapping from page->mapping (TAIL_MAPPING), head =
    page, not compound — and dump_mapping() cannot read TAIL_MAPPING."""
    read = memory("5.17", order=18, tails=(1, 2, 0x401))
    out = dump_page("5.17", PFN + 0x401, read, layout_for("5.17"))
    # "page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n": the page's own
    # refcount (0), %p of 0xdead000000000400 hashed, index from page_to_pgoff (head + 0x401)
    assert out[0] == (
        "page:00000000a59295d9 refcount:0 mapcount:0 mapping:0000000011e81a02 index:0x401 "
        "pfn:0x40401"
    )
    # dump_mapping(): pr_warn("invalid mapping:%px\n", mapping)
    assert out[1] == "invalid mapping:dead000000000400"
    # "%sflags: %pGp%s\n" of the page itself (head = page): no PG_head
    assert out[2] == FLAGS_5_17
    assert len(out) == 5  # raw only, no "head: " dump


# --- 6.1 -------------------------------------------------------------------------------


def test_6_1_zone_device_page_and_poison() -> None:
    out = dump("6.1", PFN)
    # "page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n"
    assert out[0] == (
        f"page:{P_HEAD} refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000"
    )
    # "%sflags: %pGp%s\n": LRU_GEN bits (27-29, 0 here) are not named
    assert out[1] == FLAGS_5_17
    assert len(out) == 4
    # pr_warn("page:%p is uninitialized and poisoned", page)
    assert dump("6.1", POISONED) == [f"page:{P_POISONED} is uninitialized and poisoned"]


def test_6_1_compound_head_and_tail() -> None:
    head = dump("6.1", PFN, order=9)
    # pr_warn("head:%p order:%u compound_mapcount:%d compound_pincount:%d\n", head,
    #   compound_order(head), folio_entire_mapcount(folio), head_compound_pincount(head))
    assert head[1] == f"head:{P_HEAD} order:9 compound_mapcount:0 compound_pincount:0"
    assert head[2] == HEAD_FLAGS_5_17
    tail = dump("6.1", PFN + 1, order=9)
    assert tail[0] == (
        f"page:{P_TAIL1} refcount:1 mapcount:0 mapping:0000000000000000 index:0x1 pfn:0x40001"
    )
    assert tail[1] == head[1]
    # "raw: ": compound_pincount @24 = 0, compound_nr @28 = 512 over the mapping word;
    # private set to 0 by prep_compound_tail
    assert tail[3] == "raw: 0027ffffc0001000 ffffea0001000001 ffffffff00000901 0000020000000000"
    assert tail[5:] == HEAD_RAW_5_17


def test_5_19_head_line_always_has_pincount() -> None:
    # "head:%p order:%u compound_mapcount:%d compound_pincount:%d\n" (no order > 1 test)
    read = memory("5.19", order=1, tails=(1,))
    out = dump_page("5.19", PFN + 1, read, layout_for("5.19"))
    # order 1 in 5.19: prep_compound_head never runs (no head_pfn + 2), so page[1] holds no
    # compound fields: order byte 0, compound_mapcount 0 (+1), compound_pincount @24 = the low
    # half of TAIL_MAPPING (0x400)
    assert out[1] == f"head:{P_HEAD} order:0 compound_mapcount:1 compound_pincount:1024"


# --- 6.4 / 6.6 -------------------------------------------------------------------------


def test_6_4_page_type_line() -> None:
    out = dump("6.4", PFN + 1, order=9)
    # pr_warn("head:%p order:%u entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n", ...)
    assert out[1] == f"head:{P_HEAD} order:9 entire_mapcount:0 nr_pages_mapped:0 pincount:0"
    # pr_warn("page_type: %pGt\n", &head->page_type): 0xffffffff is not a type
    assert out[3] == "page_type: 0xffffffff()"
    # "raw: ": _folio_nr_pages 512 over the low half of index
    assert out[5] == "raw: 0000000000000200 0000000000000000 00000000ffffffff 0000000000000000"


HEAD_FLAGS_6_6 = "flags: 0x27ffffc0004040(reserved|head|node=0|zone=4|lastcpupid=0x1fffff)"


def test_6_6_zone_device_page() -> None:
    out = dump("6.6", PFN, reason="test")
    # "page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n"
    assert out[0] == (
        f"page:{P_HEAD} refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000"
    )
    # "%sflags: %pGp%s\n": PG_reserved is bit 14 in 6.6
    assert out[1] == "flags: 0x27ffffc0004000(reserved|node=0|zone=4|lastcpupid=0x1fffff)"
    # "page_type: %pGt\n"
    assert out[2] == "page_type: 0xffffffff()"
    # "raw: "
    assert out[3] == "raw: 0027ffffc0004000 ffff888100000000 0000000000000000 0000000000000000"
    # "page dumped because: %s\n"
    assert out[5:] == ["page dumped because: test"]


def test_6_6_compound_head() -> None:
    out = dump("6.6", PFN, order=9)
    # "head:%p order:%u entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n": order from
    # _flags_1 & 0xff
    assert out[1] == f"head:{P_HEAD} order:9 entire_mapcount:0 nr_pages_mapped:0 pincount:0"
    # "%sflags: %pGp%s\n": PG_head is bit 6 from 6.6
    assert out[2] == HEAD_FLAGS_6_6
    assert out[3] == "page_type: 0xffffffff()"
    assert len(out) == 6


def test_6_6_compound_tail() -> None:
    out = dump("6.6", PFN + 1, order=9)
    assert out[0] == (
        f"page:{P_TAIL1} refcount:1 mapcount:0 mapping:0000000000000000 index:0x1 pfn:0x40001"
    )
    # the flags line is the head's; the tail's own flags word carries the order in its low
    # byte (0x...09), visible only in the raw dump
    assert out[2] == HEAD_FLAGS_6_6
    # "raw: ": _entire_mapcount -1 @24, _pincount 0 @32, _folio_nr_pages 512 @36
    assert out[4:6] == [
        "raw: 0027ffffc0004009 ffffea0001000001 0000000000000000 00000000ffffffff",
        "raw: 0000020000000000 0000000000000000 00000000ffffffff 0000000000000000",
    ]
    # "head: " dump of the head (2 lines)
    assert out[6:] == [
        "head: 0027ffffc0004040 ffff888100000000 0000000000000000 0000000000000000",
        "head: 0000000000000000 0000000000000000 00000001ffffffff 0000000000000000",
    ]


def test_6_6_poisoned() -> None:
    assert dump("6.6", POISONED) == [f"page:{P_POISONED} is uninitialized and poisoned"]


# --- 6.12 ------------------------------------------------------------------------------


def test_6_12_second_tail_shows_the_overwritten_deferred_list() -> None:
    """Head prep runs after tail 1 and writes page[2]'s _deferred_list; tail 2's own init then
    zeroes it and prep_compound_tail stores TAIL_MAPPING over .prev."""
    out = dump("6.12", PFN + 2, order=9)
    # pr_warn("page: refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n", ...)
    assert out[0] == "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x2 pfn:0x40002"
    # pr_warn("head: order:%u mapcount:%d entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n")
    assert out[1] == "head: order:9 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0"
    # "raw: " of page[2]: words 2/3 are zone_device_data NULL and TAIL_MAPPING
    assert out[3] == "raw: 0027ffffc0002000 ffffea0001000001 0000000000000000 dead000000000400"
    # print_hex_dump(KERN_WARNING, "head: ", ..., folio, 2 * sizeof(struct page), false)
    assert len([line for line in out if line.startswith("head: 0027")]) == 2
    assert out[-4:-2] == [
        "head: 0027ffffc0002040 ffff888100000000 0000000000000000 0000000000000000",
        "head: 0000000000000000 0000000000000000 00000001ffffffff 0000000000000000",
    ]


def test_6_12_page_does_not_match_folio() -> None:
    """A tail whose head is not PG_head: nr_pages 1 < idx, so the copy is dumped alone with bit
    0 of its compound_head cleared."""
    layout = layout_for("6.12")
    fmt = COMPOUND_BY_RELEASE["6.12"]
    mem = {PFN + i: ZERO.with_writes(zone_device_init(layout)) for i in range(8)}
    mem[PFN + 5] = mem[PFN + 5].with_writes(fmt.prep_compound_tail(3))
    out = dump_page("6.12", PFN + 5, lambda p: mem.get(p, ABSENT_RECORD), layout)
    # pr_warn("page does not match folio\n")
    assert out[0] == "page does not match folio"
    # __dump_folio of the copy: "page: refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n"
    assert out[1] == "page: refcount:1 mapcount:0 mapping:0000000011e81a02 index:0x0 pfn:0x40005"
    # dump_mapping(): "invalid mapping:%px\n"
    assert out[2] == "invalid mapping:dead000000000400"
    # precise.compound_head &= ~1UL: the raw word 1 is the head address without bit 0
    assert out[4] == "raw: 0027ffffc0002000 ffffea0001000000 0000000000000000 dead000000000400"


# --- 7.0 / 7.1 -------------------------------------------------------------------------

HEAD_FLAGS_7 = "flags: 0x27ffffc0002040(reserved|head|node=0|zone=4|lastcpupid=0x1fffff)"
FOLIO_RAW_7_1 = [
    "head: 0027ffffc0002040 ffff888100000000 0000000000000000 0000000000000000",
    "head: 0000000000000000 0000000000000000 00000001ffffffff 0000000000000000",
    "head: 0027ffffc0002009 ffffffffffff8001 00000000ffffffff 00000000ffffffff",
    "head: ffffffffffffffff 0000000000000000 00000000ffffffff 0000000000000200",
]


def test_7_1_zone_device_page() -> None:
    out = dump("7.1", PFN, reason="test")
    # pr_warn("page: refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n", ...)
    assert out[0] == "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000"
    # pr_warn("%sflags: %pGp%s\n", ...): PG_reserved bit 13
    assert out[1] == "flags: 0x27ffffc0002000(reserved|node=0|zone=4|lastcpupid=0x1fffff)"
    # page_has_type() false for page_type 0xffffffff: no "page_type: %x(%s)\n" line
    assert out[2] == "raw: 0027ffffc0002000 ffff888100000000 0000000000000000 0000000000000000"
    assert out[3] == RAW_TAIL
    # "page dumped because: %s\n"
    assert out[4:] == ["page dumped because: test"]


def test_7_1_compound_head() -> None:
    out = dump("7.1", PFN, order=9)
    assert out[0] == "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000"
    # "head: order:%u mapcount:%d entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n"
    assert out[1] == "head: order:9 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0"
    assert out[2] == HEAD_FLAGS_7
    # "raw: " of the head, then "head: " of the folio copy: 2 struct pages, also for the head
    assert out[3] == "raw: 0027ffffc0002040 ffff888100000000 0000000000000000 0000000000000000"
    assert out[5:] == FOLIO_RAW_7_1


def test_7_1_compound_tail() -> None:
    out = dump("7.1", PFN + 1, order=9)
    # index = folio->index + idx; refcount of the folio (head)
    assert out[0] == "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x1 pfn:0x40001"
    assert out[1] == "head: order:9 mapcount:0 entire_mapcount:0 nr_pages_mapped:0 pincount:0"
    assert out[2] == HEAD_FLAGS_7
    # "raw: ": compound_info = GENMASK(63, 15) | 1; _large_mapcount -1 @16, _entire_mapcount
    # -1 @24, _mm_id_mapcount -1 -1 @32, _nr_pages 512 @56
    assert out[3:5] == [
        "raw: 0027ffffc0002009 ffffffffffff8001 00000000ffffffff 00000000ffffffff",
        "raw: ffffffffffffffff 0000000000000000 00000000ffffffff 0000000000000200",
    ]
    assert out[5:] == FOLIO_RAW_7_1


def test_7_1_second_tail_keeps_the_deferred_list() -> None:
    """7.x runs prep_compound_head after the loop: page[2]'s _deferred_list points to itself
    (ffffea0001000080 + 16)."""
    out = dump("7.1", PFN + 2, order=9)
    assert out[3] == "raw: 0027ffffc0002000 ffffffffffff8001 ffffea0001000090 ffffea0001000090"


def test_7_1_poisoned() -> None:
    # pr_warn("page:%p is uninitialized and poisoned\n", page); "page dumped because: %s\n"
    assert dump("7.1", POISONED, reason="test") == [
        f"page:{P_POISONED} is uninitialized and poisoned",
        "page dumped because: test",
    ]


def test_7_0_tail_word_is_head_or_1() -> None:
    """7.0 has no mask encoding: the raw word 1 of a tail is the head's address | 1."""
    out = dump("7.0", PFN + 1, order=9)
    assert out[3] == "raw: 0027ffffc0002009 ffffea0001000001 00000000ffffffff 00000000ffffffff"


# --- pages the model cannot dump ----------------------------------------------------------


@pytest.mark.parametrize("release", ["4.18", "5.10", "6.1", "7.1"])
def test_absent_pfn(release: str) -> None:
    """No memmap: one simulator line, the kernel would fault."""
    lines = dump_page_printk(release, ABSENT, memory(release), layout_for(release))
    assert lines == [
        (
            DUMP_NOTE,
            "memmapsim: pfn 0x41000 has no memmap: struct page ffffea0001040000 is not mapped, "
            "dump_page() would fault reading it",
        )
    ]


def test_stale_page_and_stale_head() -> None:
    layout = layout_for("6.12")
    fmt = COMPOUND_BY_RELEASE["6.12"]
    mem = {
        PFN: PageRecord((STALE,) * NR_WORDS),
        PFN + 1: ZERO.with_writes(zone_device_init(layout) + fmt.prep_compound_tail(9)),
    }
    read: Read = lambda p: mem.get(p, ABSENT_RECORD)  # noqa: E731
    assert dump_page("6.12", PFN, read, layout) == [
        "memmapsim: pfn 0x40000: struct page ffffea0001000000 was never written in this boot; "
        "dump_page() would print whatever it holds"
    ]
    out = dump_page("6.12", PFN + 1, read, layout)
    assert len(out) == 1 and out[0].startswith("memmapsim: pfn 0x40000: folio ffffea0001000000")


def test_no_hash_pointers() -> None:
    """%p printed raw with no_hash_pointers (5.12+); 5.10 had no such parameter."""
    read, layout = memory("6.1"), layout_for("6.1")
    out = dump_page("6.1", PFN, read, layout, no_hash_pointers=True)
    assert out[0].startswith("page:ffffea0001000000 refcount:1")
    out = dump_page("5.10", PFN, memory("5.10"), layout_for("5.10"), no_hash_pointers=True)
    assert out[0].startswith(f"page:{P_HEAD} ")


def test_name_table_follows_the_layout() -> None:
    """A 4.18 kernel with PG_workingset added (4.18+pg-workingset) prints 4.20's table."""
    layout = PageFlagsLayout(PAGEFLAGS_V4_20)
    flags = 1 << layout.bit["PG_workingset"] | 1 << layout.bit["PG_reserved"]
    mem = {PFN: PageRecord((flags, 0, 0, 0, 0, 0, 0xFFFF_FFFF, 0))}
    out = dump_page("4.18", PFN, lambda p: mem.get(p, ABSENT_RECORD), layout)
    # "flags: %#lx(%pGp)\n": names in mmflags.h order, '|' between them
    assert out[1] == "flags: 0x1040(workingset|reserved)"


def test_leftover_flag_bits_print_in_hex() -> None:
    """format_flags(): a name per set bit in table order, then remaining bits as %#lx — here
    bits above NR_PAGEFLAGS are masked off first (4.18 "Remove zone id")."""
    layout = layout_for("4.18")
    mem = {PFN: PageRecord((0b11 | 1 << 11 | 1 << 30, 0, 0, 0, 0, 0, 0, 0))}
    out = dump_page("4.18", PFN, lambda p: mem.get(p, ABSENT_RECORD), layout)
    assert out[1] == "flags: 0x40000803(locked|error|reserved)"


def test_unknown_release() -> None:
    with pytest.raises(ValueError, match="not modelled"):
        dump_page("3.10", PFN, memory("4.18"), layout_for("4.18"))
