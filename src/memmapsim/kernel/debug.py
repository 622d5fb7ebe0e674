"""mm/debug.c: ``dump_page()`` per release, rendered from the model's struct pages
(page-init poisoning and ``vm_debug=`` are in :mod:`memmapsim.kernel.vm_debug`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from memmapsim.kernel.compound import (
    COMPOUND_LAYOUT_BY_RELEASE,
    HUGETLB_PAGE_DTOR,
    CompoundField,
)
from memmapsim.model.page import PageRecord
from memmapsim.model.pageflags import PAGEFLAG_NAMES_BY_RELEASE, PageFlagsLayout, release_key
from memmapsim.model.structpage import (
    STRUCT_PAGE_SIZE,
    TokenKind,
    Word,
    compound_head_pfn,
    compound_info_mask,
    compound_order_of,
    token_arg,
    token_kind,
)

# --- dump_page() -------------------------------------------------------------------------
#
# mm/debug.c ``dump_page(page, reason)`` per release, rendered from the model's struct pages.
# Every format string below is quoted from the release tree (see dump_page's docstring for
# the trees and lines); docs/kernel-notes/page-format.md §4 describes them.

VMEMMAP_START = 0xFFFF_EA00_0000_0000
"""x86_64 vmemmap base with 4-level paging and no KASLR (``__VMEMMAP_BASE_L4``): the struct
page of pfn ``p`` is at ``VMEMMAP_START + p * 64``."""

FAKE_PGMAP_BASE = 0xFFFF_8881_0000_0000
"""Where dump_page pretends the dev_pagemaps live (direct map, 4 KiB apart per pgmap number):
the model has no addresses for them, so this is a deterministic stand-in."""

GOLDEN_RATIO_64 = 0x61C8_8646_80B5_83EB
"""include/linux/hash.h: ``hash_64(val, bits) = val * GOLDEN_RATIO_64 >> (64 - bits)``."""

DUMP_NOTE = "memmapsim"
"""The level of the lines dump_page_printk() adds that the kernel does not print (they start
with ``memmapsim: ``): a pfn without memmap, a stale struct page, a fault the kernel would
take, the name of a pgmap."""

_MASK64 = (1 << 64) - 1
_PAGE = STRUCT_PAGE_SIZE
_MAX_ORDER_NR_PAGES = 1024  # 4.18-6.6: 1 << (MAX_ORDER - 1), MAX_ORDER 11 / 1 << 10 (6.4, 6.6)
_PAGE_MAPPING_ANON = 1
_PAGE_MAPPING_FLAGS = 3  # PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE; KSM = both
_FOLIO_PAGES_MAPPED = 0x800000 - 1  # COMPOUND_MAPPED (6.4/6.6) / ENTIRELY_MAPPED (6.12+) - 1
_PGTY_NAMES = ("buddy", "offline", "table", "guard", "hugetlb", "slab", None, "unaccepted")
_PAGETYPE_NAMES_6_4 = ((0x100, "offline"), (0x400, "guard"), (0x200, "table"), (0x80, "buddy"))


def page_address(pfn: int) -> int:
    """The (fake, deterministic) address of pfn's struct page: ``VMEMMAP_START + pfn * 64``."""
    return (VMEMMAP_START + pfn * _PAGE) & _MASK64


FREE_LIST_ADDRESS = 0xFFFF_8880_0FFF_F000
"""The stand-in address a buddy free-list link prints as (a neighbour's ``lru`` or the list
head in ``zone->free_area``, which the model does not keep)."""


def pgmap_address(pgmap_id: int) -> int:
    """The stand-in address of dev_pagemap number ``pgmap_id``."""
    return FAKE_PGMAP_BASE + pgmap_id * 0x1000


class _UnreadableError(Exception):
    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


@dataclass(frozen=True)
class _Page:
    """One struct page as the kernel sees it: its address and eight raw 64-bit words."""

    pfn: int
    w: tuple[int, ...]

    @property
    def addr(self) -> int:
        return page_address(self.pfn)

    @property
    def flags(self) -> int:
        return self.w[Word.FLAGS]

    @property
    def mapping(self) -> int:
        return self.w[Word.MAPPING]

    @property
    def index(self) -> int:
        return self.w[Word.INDEX]

    @property
    def raw_mapcount(self) -> int:
        v = self.w[Word.COUNTS] & 0xFFFF_FFFF
        return v - (1 << 32) if v >> 31 else v

    @property
    def page_type(self) -> int:
        return self.w[Word.COUNTS] & 0xFFFF_FFFF

    @property
    def refcount(self) -> int:
        v = self.w[Word.COUNTS] >> 32
        return v - (1 << 32) if v >> 31 else v

    @property
    def memcg(self) -> int:
        return self.w[Word.MEMCG]


class _Memory:
    """Struct pages by pfn or address, with the model's tokens turned into kernel values."""

    def __init__(
        self, read: Callable[[int], PageRecord], pgmap_name: Callable[[int], str] | None
    ) -> None:
        self._read = read
        self._pgmap_name = pgmap_name
        self.pgmaps: dict[int, int] = {}  # address -> pgmap number, for the notes

    def page(self, pfn: int, what: str = "struct page") -> _Page:
        rec = self._read(pfn)
        addr = page_address(pfn)
        kinds = {token_kind(v) for v in rec.words}
        if TokenKind.ABSENT in kinds:
            raise _UnreadableError(
                f"memmapsim: pfn {pfn:#x} has no memmap: {what} {addr:016x} is not mapped, "
                "dump_page() would fault reading it"
            )
        if TokenKind.STALE in kinds:
            raise _UnreadableError(
                f"memmapsim: pfn {pfn:#x}: {what} {addr:016x} was never written in this boot; "
                "dump_page() would print whatever it holds"
            )
        return _Page(pfn, tuple(self._kernel_value(v, pfn) for v in rec.words))

    def at(self, addr: int, what: str) -> _Page:
        off = addr - VMEMMAP_START
        if off < 0 or off % _PAGE or off >= 1 << 46:
            raise _UnreadableError(
                f"memmapsim: {what} {addr:016x} is not a struct page in the vmemmap; "
                "dump_page() would read whatever that address holds (not modelled)"
            )
        return self.page(off // _PAGE, what)

    def _kernel_value(self, v: int, pfn: int) -> int:
        kind = token_kind(v)
        if kind is None:
            return v
        if kind is TokenKind.SELF_LRU:
            return page_address(pfn) + 8
        if kind is TokenKind.SELF:
            return page_address(pfn) + token_arg(v)
        if kind is TokenKind.PGMAP:
            addr = pgmap_address(token_arg(v))
            self.pgmaps[addr] = token_arg(v)
            return addr
        if kind is TokenKind.FREE_LIST:
            return FREE_LIST_ADDRESS
        order = compound_order_of(v)
        assert order is not None
        if kind is TokenKind.COMPOUND_HEAD:
            return page_address(compound_head_pfn(pfn, order)) | 1
        return compound_info_mask(order)  # TokenKind.COMPOUND_MASK

    def notes(self, printed: set[int]) -> list[str]:
        """With ``pgmap_name``: which pgmap each stand-in address printed in a hex dump is;
        what a free-list stand-in is."""
        out = []
        if FREE_LIST_ADDRESS in printed:
            out.append(
                f"memmapsim: {FREE_LIST_ADDRESS:016x} stands for a buddy free-list link (the "
                "model keeps no list)"
            )
        if self._pgmap_name is None:
            return out
        return out + [
            f"memmapsim: {addr:016x} is the dev_pagemap of {self._pgmap_name(n)}"
            for addr, n in sorted(self.pgmaps.items())
            if addr in printed
        ]


class _Dump:
    """The output of one dump_page() call and the helpers its format strings need."""

    def __init__(self, release: str, layout: PageFlagsLayout, no_hash_pointers: bool) -> None:
        if release not in PAGEFLAG_NAMES_BY_RELEASE:
            raise ValueError(f"dump_page: release {release} is not modelled")
        self.v = release_key(release)
        self.layout = layout
        self.names = _pageflag_names(release, layout)
        self.clayout = COMPOUND_LAYOUT_BY_RELEASE[release]
        self.no_hash = no_hash_pointers and self.v >= (5, 12)
        self.lines: list[tuple[str, str]] = []
        self.printed: set[int] = set()

    def emit(self, level: str, text: str) -> None:
        self.lines.append((level, text))

    # --- vsprintf -----------------------------------------------------------------------
    @staticmethod
    def px(addr: int) -> str:
        """``%px``: the raw pointer, 16 zero-padded hex digits."""
        return f"{addr & _MASK64:016x}"

    def p(self, addr: int) -> str:
        """``%p``: NULL and ERR pointers raw; otherwise hashed. Rendered as with the
        ``debug_boot_weak_hash`` boot parameter (``hash_long(ptr, 32)``, deterministic) instead of
        the boot-random siphash, or raw with ``no_hash_pointers`` (v5.12+)."""
        addr &= _MASK64
        if addr == 0 or addr >= (1 << 64) - 4095 or self.no_hash:
            return f"{addr:016x}"
        return f"{(addr * GOLDEN_RATIO_64 & _MASK64) >> 32:016x}"

    def format_flags(self, flags: int) -> str:
        """lib/vsprintf.c format_flags() over ``pageflag_names``: table order, a name when its
        bit is set, ``|`` while bits remain, leftover bits as ``%#lx``."""
        out = ""
        for name in self.names:
            if not flags:
                break
            mask = self.layout.flag("PG_" + name)
            if flags & mask != mask:
                continue
            out += name
            flags &= ~mask
            if flags:
                out += "|"
        if flags:
            out += f"{flags:#x}"
        return out

    def pgp(self, flags: int) -> str:
        """``%pGp``. Up to v5.12: the flag names of ``flags & ((1UL << NR_PAGEFLAGS) - 1)`` (the
        caller prints the word: ``%#lx(%pGp)``). From v5.16 (format_page_flags): the word as
        ``%#lx``, then ``(names|node=N|zone=Z|lastcpupid=0x…)`` for the non-zero-width fields
        (section, node, zone, lastcpupid, kasantag); node/zone decimal, the others ``%#x``."""
        names = self.format_flags(flags & self.layout.pageflags_mask)
        if self.v < (5, 16):
            return names
        lay = self.layout
        fields: list[tuple[str, int, bool]] = []
        if lay.sections_width:
            section = flags >> (64 - lay.sections_width)
            fields.append(("section", section, False))
        fields += [("node", lay.nid(flags), False), ("zone", lay.zone(flags), False)]
        if lay.last_cpupid_width:
            fields.append(("lastcpupid", lay.last_cpupid(flags), True))
        if lay.kasan_tag_width:
            tag = (flags >> lay.kasan_tag_pgshift) & ((1 << lay.kasan_tag_width) - 1)
            fields.append(("kasantag", tag, True))
        parts = [names] if names else []
        parts += [f"{n}={v:#x}" if hexa else f"{n}={v}" for n, v, hexa in fields]
        return f"{flags:#x}(" + "|".join(parts) + ")"

    def pgt(self, page_type: int) -> str:
        """``%pGt`` (v6.4, v6.6): ``%#x`` of page_type, then ``(names of ~page_type)`` if
        page_type_has_type() (``(int)page_type < PAGE_MAPCOUNT_RESERVE`` = -128)."""
        signed = page_type - (1 << 32) if page_type >> 31 else page_type
        inner = ""
        if signed < -128:
            flags = ~page_type & 0xFFFF_FFFF
            for mask, name in _PAGETYPE_NAMES_6_4:
                if not flags:
                    break
                if flags & mask == mask:
                    inner += name
                    flags &= ~mask
                    if flags:
                        inner += "|"
            if flags:
                inner += f"{flags:#x}"
        return f"{page_type:#x}({inner})"

    def hex_dump(self, level: str, prefix: str, words: tuple[int, ...]) -> None:
        """print_hex_dump(level, prefix, DUMP_PREFIX_NONE, 32, 8, …, false): four ``%16.16llx``
        words per line, one space apart."""
        self.printed.update(words)
        for i in range(0, len(words), 4):
            self.emit(level, prefix + " ".join(f"{w:016x}" for w in words[i : i + 4]))

    # --- page-flags.h / mm.h helpers ------------------------------------------------------
    def test(self, page: _Page, name: str) -> bool:
        return name in self.layout.bit and self.layout.test(page.flags, name)

    @staticmethod
    def page_tail(page: _Page) -> bool:
        return bool(page.w[Word.LRU_NEXT] & 1)

    def page_compound(self, page: _Page) -> bool:
        return self.test(page, "PG_head") or self.page_tail(page)

    def compound_head(self, page: _Page) -> int:
        """compound_head() as an address: head | 1 decoded, or v7.1's mask applied."""
        info = page.w[Word.LRU_NEXT]
        if not info & 1:
            return page.addr
        if self.v >= (7, 1):  # compound_info_has_mask(): page & info
            return page.addr & info
        return info - 1

    def compound_order(self, mem: _Memory, head: _Page) -> int:
        """compound_order(head) / folio_order(): 0 unless PG_head, else page[1]'s order byte
        (v4.18-v6.4) or ``_flags_1 & 0xff`` (v6.6+)."""
        if not self.test(head, "PG_head"):
            return 0
        return self.clayout.order.read(self.tail(mem, head, 1).w)

    def tail(self, mem: _Memory, head: _Page, i: int) -> _Page:
        return mem.at(head.addr + i * _PAGE, f"page[{i}] of head {head.addr:016x}")

    def cfield(self, mem: _Memory, head: _Page, f: CompoundField | None) -> int:
        if f is None:
            return 0
        return f.read_signed(self.tail(mem, head, f.tail).w)

    def head_of(self, mem: _Memory, page: _Page) -> _Page:
        addr = self.compound_head(page)
        return page if addr == page.addr else mem.at(addr, "compound head")

    def page_anon(self, mem: _Memory, page: _Page) -> bool:
        return bool(self.head_of(mem, page).mapping & _PAGE_MAPPING_ANON)

    def page_ksm(self, mem: _Memory, page: _Page) -> bool:
        return self.head_of(mem, page).mapping & _PAGE_MAPPING_FLAGS == _PAGE_MAPPING_FLAGS

    def page_huge(self, mem: _Memory, page: _Page) -> bool:
        """PageHuge(): a compound page whose page[1] dtor is HUGETLB_PAGE_DTOR (v4.18-v6.4;
        hugetlb folios of later releases are not modelled)."""
        dtor = self.clayout.dtor
        if dtor is None or not self.page_compound(page):
            return False
        head = self.head_of(mem, page)
        return self.cfield(mem, head, dtor) == HUGETLB_PAGE_DTOR

    def page_mapping(self, mem: _Memory, page: _Page) -> int:
        """page_mapping() (v4.18-v6.6 on a page of this model): the head's mapping, NULL for
        a slab page or an anon mapping, else with PAGE_MAPPING_FLAGS cleared (PageSwapCache
        pages are not modelled)."""
        head = self.head_of(mem, page)
        if self.test(head, "PG_slab") or head.mapping & _PAGE_MAPPING_ANON:
            return 0
        return head.mapping & ~_PAGE_MAPPING_FLAGS & _MASK64

    def page_mapcount(self, mem: _Memory, page: _Page) -> int:
        """page_mapcount(): v4.18-v6.1 ``__page_mapcount`` for a compound page (its own
        _mapcount + 1, plus the compound mapcount if anon or hugetlb, minus PageDoubleMap);
        v6.4/v6.6 own _mapcount + 1 + folio_entire_mapcount() if compound."""
        own = page.raw_mapcount + 1
        if not self.page_compound(page):
            return own
        head = self.head_of(mem, page)
        if self.v >= (6, 4):
            return own + self.cfield(mem, head, self.clayout.mapcount) + 1
        if not self.page_anon(mem, page) and not self.page_huge(mem, page):
            return own
        own += self.cfield(mem, head, self.clayout.mapcount) + 1
        double = self.clayout.double_map_flag
        if double and self.test(self.tail(mem, head, 1), double):
            own -= 1
        return own

    def page_to_pgoff(self, mem: _Memory, page: _Page) -> int:
        """page_to_pgoff(): page->index, or for a tail (PageTransTail, THP on) the head's index
        plus the tail's offset (hugetlb indexes are not modelled)."""
        if not self.page_tail(page):
            return page.index
        head = self.head_of(mem, page)
        return (head.index + (page.addr - head.addr) // _PAGE) & _MASK64


def dump_page_printk(
    release: str,
    pfn: int,
    read: Callable[[int], PageRecord],
    layout: PageFlagsLayout,
    pgmap_name: Callable[[int], str] | None = None,
    reason: str | None = None,
    *,
    no_hash_pointers: bool = False,
) -> list[tuple[str, str]]:
    """:func:`dump_page` as printk records: ``(level, text)`` with level "emerg", "alert",
    "warning", or :data:`DUMP_NOTE` for the simulator's own ``memmapsim: …`` lines."""
    d = _Dump(release, layout, no_hash_pointers)
    mem = _Memory(read, pgmap_name)
    try:
        page = mem.page(pfn)
    except _UnreadableError as e:
        return [(DUMP_NOTE, e.line)]
    try:
        if d.v < (5, 7):
            _dump_4_18(d, mem, page, reason)
        elif d.v < (5, 10):
            _dump_5_7(d, mem, page, reason)
        elif d.v < (6, 12):
            _dump_5_10(d, mem, page, reason)
        else:
            _dump_6_12(d, mem, page, reason)
    except _UnreadableError as e:
        d.emit(DUMP_NOTE, e.line)
    return d.lines + [(DUMP_NOTE, n) for n in mem.notes(d.printed)]


def _pageflag_names(release: str, layout: PageFlagsLayout) -> tuple[str, ...]:
    """The ``%pGp`` name table for ``layout``: the release's own, or — when the layout carries a
    different flag set (a release plus a change that adds a flag, e.g. 4.18+pg-workingset) —
    the table of the first release with exactly that flag set (mmflags.h gained each name in
    the commit that added the flag)."""
    want = {n.removeprefix("PG_") for n in layout.pageflags}
    own = PAGEFLAG_NAMES_BY_RELEASE[release]
    if set(own) == want:
        return own
    for names in PAGEFLAG_NAMES_BY_RELEASE.values():
        if set(names) == want:
            return names
    raise ValueError(f"dump_page: no %pGp name table for the flags of this layout ({release})")


def dump_page(
    release: str,
    pfn: int,
    read: Callable[[int], PageRecord],
    layout: PageFlagsLayout,
    pgmap_name: Callable[[int], str] | None = None,
    reason: str | None = None,
    *,
    no_hash_pointers: bool = False,
) -> list[str]:
    """The lines ``dump_page(pfn_to_page(pfn), reason)`` prints in ``release`` (mm/debug.c),
    for the struct page the model holds for ``pfn``.

    ``read(pfn)`` returns the PageRecord of any pfn (the head and the tails the kernel reads
    for a compound page); ``layout`` is the release's page->flags layout (:func:`layout_for`).

    Rendering:

    - Struct page addresses are x86_64's vmemmap without KASLR (4-level paging):
      ``0xffffea0000000000 + pfn * 64`` (:func:`page_address`). ``%px`` prints them raw; ``%p``
      (v5.10+) prints them hashed — here as with the ``debug_boot_weak_hash`` boot parameter
      (``hash_long(ptr, 32)``: ``00000000`` + 8 hex digits, deterministic), or raw with
      ``no_hash_pointers`` (a boot parameter from v5.12; ignored for earlier releases).
    - Tokens in a word are printed as the kernel value they stand for: ``&page->lru`` (SELF_LRU)
      = the page's address + 8; a self-pointing list head = the page's address + offset; a
      compound tail's word 1 = the head's address | 1, or v7.1's ``GENMASK(63, order + 6) | 1``;
      a pgmap pointer = a stand-in direct-map address (:func:`pgmap_address`) — with
      ``pgmap_name``, a trailing ``memmapsim:`` line names the pgmap behind each address
      printed.
    - A pfn with no memmap (ABSENT) or a struct page never written in this boot (STALE) is not
      dumped: one ``memmapsim:`` line says so (the kernel would fault, or print stale bytes).
      The same line ends the dump where the kernel would read such a page (a compound head or
      tail).
    - ``%pGp`` names come from the release's ``__def_pageflag_names``; a layout with another
      flag set (a release plus a flag-adding change) uses the table of the release that
      first has that set.
    - Not modelled (none occur on the modelled init paths): address_space objects (a non-NULL
      mapping is one the kernel cannot read — the "failed to read mapping contents" /
      "invalid mapping" lines; before v5.10 the kernel dereferences it, and a ``memmapsim:``
      line says so), swap-cache and hugetlb pages, CMA pageblocks (no " CMA" suffix),
      page_owner (off, so dump_page_owner() prints nothing).

    Per release (levels: pr_emerg/pr_alert up to v4.20, pr_warn from v5.0), mm/debug.c
    ``__dump_page`` … ``dump_page``:

    - 4.18, 4.19, 4.20 (zzwd/linux-4.18-rt:44-95; ZDawnG/linux-4.19:44-94;
      a4913994/linux-4.20:45-95): ``"page:%px count:%d mapcount:%d mapping:%px index:%#lx"``
      [+ ``" compound_mapcount: %d"``], ``"flags: %#lx(%pGp)\\n"``, the ``"raw: "`` hex dump,
      ``"page dumped because: %s\\n"``, ``"page->mem_cgroup:%px\\n"``; a poisoned page:
      ``"page:%px is uninitialized and poisoned"`` and the hex dump only.
    - 5.0, 5.1 (akshaybaviskar/Linux-5.0:45-110; KJT9109/linux_kernel_5.1.0:45-110): as 4.20 at
      KERN_WARNING, with ``"anon "`` / ``"ksm "`` lines. 5.3 (Awik84/linux-5.3:45-110):
      ``count:`` becomes ``refcount:``. 5.4 (KevinRSX/w4118-s21-linux-v5.4:45-113): one line
      with ``" compound_mapcount: %d"``, and the flags line only for a ksm, anon or mapped page
      (so never for a ZONE_DEVICE page).
    - 5.10 (atjhamit/linux-v5.10:45-194): ``"page:%p refcount:%d mapcount:%d mapping:%p
      index:%#lx pfn:%#lx\\n"`` (refcount of the head), ``"head:%p order:%u compound_mapcount:%d[
      compound_pincount:%d]\\n"``, ``"%sflags: %#lx(%pGp)%s\\n"`` of the head, ``"raw: "`` and
      ``"head: "`` dumps, reason, mem_cgroup. A poisoned page prints the message and its raw
      dump, then hex-dumps "the head" compound_head() computed from the poison
      (0xfffffffffffffffe), which faults: a ``memmapsim:`` line says so. 5.12 (read from
      5.12.9, zhangyinjun/linux-5.12.9:45-194): + ``"memcg:%lx\\n"``, no mem_cgroup line.
    - 5.16 (read from 5.16.10, DFAUS-git/ps4-linux-kernel-5.16.10-belize:49-187): ``"%sflags:
      %pGp%s\\n"`` with the v5.16 %pGp; a poisoned page prints only ``"page:%p is uninitialized
      and poisoned"`` (and the reason). 5.17 (kuangfei2019/linux-5.17-mini2440-dt:49-139):
      dump_mapping()'s ``"invalid mapping:%px\\n"``. 5.18 (read from 5.18.12,
      esuoyanyu/kernel-5.18 ``common/``:49-135), 5.19 (yishangzhang/linux-5.19:49-135), 6.1
      (krr-io/linux-6.1.0:49-135): ``"head:%p order:%u compound_mapcount:%d
      compound_pincount:%d\\n"``. 6.4, 6.6 (julianw1010/WASP-linux-6.4.0:54-143;
      xie1111111/linux-6.6-opensbi-mllb ``linux-6.6/``:54-143): ``"head:%p order:%u
      entire_mapcount:%d nr_pages_mapped:%d pincount:%d\\n"`` and ``"page_type: %pGt\\n"``.
    - 6.12 (shilei-massclouds/linux-6.12:70-171): from a copy of the page and its folio:
      ``"page: refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\\n"``, ``"head: order:%u
      mapcount:%d entire_mapcount:%d nr_pages_mapped:%d pincount:%d\\n"``, ``"page_type:
      %x(%s)\\n"`` for a typed page, ``"raw: "`` and a two-page ``"head: "`` dump, ``"page does
      not match folio\\n"`` when the page lies outside its folio. 7.0
      (julianw1010/WASP-linux-7.0.0@1d9f96d2d:70-150, snapshot_page() in mm/util.c:1238-1284)
      and 7.1 (read from 7.1.3, rikudousennin22/linux-7.1.3:70-150, mm/util.c:1316-1370): the
      same lines; the mismatch fallback clears word 1 of the copy, 7.1 decodes the
      ``compound_info`` mask, and the poison line ends with ``\\n``.
    """
    lines = dump_page_printk(
        release, pfn, read, layout, pgmap_name, reason, no_hash_pointers=no_hash_pointers
    )
    return [text for _, text in lines]


def _dump_4_18(d: _Dump, mem: _Memory, page: _Page, reason: str | None) -> None:
    """v4.18-v5.4 ``__dump_page(page, reason)`` + dump_page_owner() (off)."""
    old = d.v <= (4, 20)
    emerg, alert = ("emerg", "alert") if old else ("warning", "warning")
    if d.layout.is_poisoned(page.flags):
        # pr_emerg/pr_warn("page:%px is uninitialized and poisoned", page); goto hex_only
        d.emit(emerg, f"page:{d.px(page.addr)} is uninitialized and poisoned")
        d.hex_dump(alert, "raw: ", page.w)
        if reason:
            d.emit(alert, f"page dumped because: {reason}")
        return
    mapping = d.page_mapping(mem, page) if d.v >= (5, 0) else 0
    mapcount = 0 if d.test(page, "PG_slab") else d.page_mapcount(mem, page)
    count = "count" if d.v < (5, 3) else "refcount"
    line = (
        f"page:{d.px(page.addr)} {count}:{page.refcount} mapcount:{mapcount} "
        f"mapping:{d.px(page.mapping)} index:{d.page_to_pgoff(mem, page):#x}"
    )
    if d.page_compound(page):
        head = d.head_of(mem, page)
        line += f" compound_mapcount: {d.cfield(mem, head, d.clayout.mapcount) + 1}"
    d.emit(emerg, line)
    flags_line = f"flags: {page.flags:#x}({d.pgp(page.flags)})"
    unreadable = (
        f"memmapsim: the kernel dereferences mapping {mapping:016x} here "
        "(mapping->a_ops); address_space objects are not modelled"
    )
    if d.v < (5, 4):
        if d.v >= (5, 0):
            if d.page_anon(mem, page):
                d.emit("warning", "anon ")
            elif d.page_ksm(mem, page):
                d.emit("warning", "ksm ")
            elif mapping:
                d.emit(DUMP_NOTE, unreadable)
        d.emit(emerg, flags_line)
    elif d.page_ksm(mem, page):
        d.emit("warning", "ksm " + flags_line)
    elif d.page_anon(mem, page):
        d.emit("warning", "anon " + flags_line)
    elif mapping:
        d.emit(DUMP_NOTE, unreadable)
        d.emit("warning", flags_line)
    d.hex_dump(alert, "raw: ", page.w)
    if reason:
        d.emit(alert, f"page dumped because: {reason}")
    if page.memcg:
        d.emit(alert, f"page->mem_cgroup:{d.px(page.memcg)}")


def _dump_5_7(d: _Dump, mem: _Memory, page: _Page, reason: str | None) -> None:
    """v5.7-v5.9 ``__dump_page(page, reason)`` (HanRunyu/linux-5.7.6-jz2440@mm/debug.c,
    semwett0301/linux-5.8.1@mm/debug.c): ``mapping`` hashed (``%p``), the flags line always,
    with ``type`` ("ksm ", "anon ") in front and " CMA" after for a CMA pageblock; a compound
    page's line names its head and order. (5.8's words for an unreadable mapping differ; the
    model has no address_space to read.)"""
    warn = "warning"
    if d.layout.is_poisoned(page.flags):
        d.emit(warn, f"page:{d.px(page.addr)} is uninitialized and poisoned")
        d.hex_dump(warn, "raw: ", page.w)
        if reason:
            d.emit(warn, f"page dumped because: {reason}")
        return
    mapping = d.page_mapping(mem, page)
    mapcount = 0 if d.test(page, "PG_slab") else d.page_mapcount(mem, page)
    line = (
        f"page:{d.px(page.addr)} refcount:{page.refcount} mapcount:{mapcount} "
        f"mapping:{d.p(mapping)} index:{d.page_to_pgoff(mem, page):#x}"
    )
    head = page
    if d.page_compound(page):
        head = d.head_of(mem, page)
        order = d.cfield(mem, head, d.clayout.order)
        line = (
            f"page:{d.px(page.addr)} refcount:{head.refcount} mapcount:{mapcount} "
            f"mapping:{d.p(mapping)} index:{d.page_to_pgoff(mem, page):#x} "
            f"head:{d.px(head.addr)} order:{order} "
            f"compound_mapcount:{d.cfield(mem, head, d.clayout.mapcount) + 1}"
        )
    d.emit(warn, line)
    kind = "ksm " if d.page_ksm(mem, page) else "anon " if d.page_anon(mem, page) else ""
    if not kind and mapping:
        d.emit(
            DUMP_NOTE,
            f"memmapsim: the kernel dereferences mapping {mapping:016x} here "
            "(mapping->a_ops); address_space objects are not modelled",
        )
    d.emit(warn, f"{kind}flags: {page.flags:#x}({d.pgp(page.flags)})")
    d.hex_dump(warn, "raw: ", page.w)
    if head is not page:
        d.hex_dump(warn, "head: ", head.w)
    if reason:
        d.emit(warn, f"page dumped because: {reason}")
    if page.memcg:
        d.emit(warn, f"page->mem_cgroup:{d.px(page.memcg)}")


def _dump_5_10(d: _Dump, mem: _Memory, page: _Page, reason: str | None) -> None:
    """v5.10-v6.6 ``dump_page()`` / ``__dump_page()``."""
    warn = "warning"
    head_addr = d.compound_head(page)  # struct page *head = compound_head(page);
    if d.layout.is_poisoned(page.flags):
        if d.v < (5, 16):
            # pr_warn("page:%px is uninitialized and poisoned", page); goto hex_only;
            d.emit(warn, f"page:{d.px(page.addr)} is uninitialized and poisoned")
            d.hex_dump(warn, "raw: ", page.w)
            # if (head != page) print_hex_dump(..., "head: ", ..., head, ...)
            d.emit(
                DUMP_NOTE,
                f"memmapsim: the kernel then hex-dumps the head {head_addr:016x} "
                "(compound_head() of the poisoned word 1) and faults reading it",
            )
            return
        # dump_page(): pr_warn("page:%p is uninitialized and poisoned", page);
        d.emit(warn, f"page:{d.p(page.addr)} is uninitialized and poisoned")
        if reason:
            d.emit(warn, f"page dumped because: {reason}")
        return
    compound = d.page_compound(page)
    if page.addr < head_addr or page.addr >= head_addr + _MAX_ORDER_NR_PAGES * _PAGE:
        # "Corrupt page, so we cannot call page_mapping": mapping from page->mapping, head = page
        tmp = page.mapping
        mapping = 0 if tmp & _PAGE_MAPPING_ANON else tmp & ~_PAGE_MAPPING_FLAGS & _MASK64
        head = page
        compound = False
    else:
        head = d.head_of(mem, page)
        mapping = d.page_mapping(mem, page)
    mapcount = 0 if d.test(head, "PG_slab") else d.page_mapcount(mem, page)
    # "page:%p refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n"
    d.emit(
        warn,
        f"page:{d.p(page.addr)} refcount:{head.refcount} mapcount:{mapcount} "
        f"mapping:{d.p(mapping)} index:{d.page_to_pgoff(mem, page):#x} pfn:{page.pfn:#x}",
    )
    if compound:
        lay = d.clayout
        order = d.compound_order(mem, head)
        mapc = d.cfield(mem, head, lay.mapcount) + 1
        hp = d.p(head.addr)
        if d.v < (5, 18):
            real = d.head_of(mem, page)  # hpage_pincount_available(page)
            if d.page_compound(real) and d.compound_order(mem, real) > 1:
                pin = d.cfield(mem, head, lay.pincount)
                # "head:%p order:%u compound_mapcount:%d compound_pincount:%d\n"
                d.emit(
                    warn,
                    f"head:{hp} order:{order} compound_mapcount:{mapc} compound_pincount:{pin}",
                )
            else:
                # "head:%p order:%u compound_mapcount:%d\n"
                d.emit(warn, f"head:{hp} order:{order} compound_mapcount:{mapc}")
        elif d.v < (6, 4):
            pin = d.cfield(mem, head, lay.pincount)
            d.emit(
                warn, f"head:{hp} order:{order} compound_mapcount:{mapc} compound_pincount:{pin}"
            )
        else:
            # "head:%p order:%u entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n"
            mapped = d.cfield(mem, head, lay.nr_pages_mapped) & _FOLIO_PAGES_MAPPED
            pin = d.cfield(mem, head, lay.pincount)
            d.emit(
                warn,
                f"head:{hp} order:{order} entire_mapcount:{mapc} nr_pages_mapped:{mapped} "
                f"pincount:{pin}",
            )
    if d.v >= (5, 12) and head.memcg:
        d.emit(warn, f"memcg:{head.memcg:x}")  # "memcg:%lx\n"
    kind = ""
    if d.page_ksm(mem, page):
        kind = "ksm "
    elif d.page_anon(mem, page):
        kind = "anon "
    elif mapping:
        if d.v < (5, 17):
            d.emit(warn, "failed to read mapping contents, not a valid kernel address?")
        else:
            d.emit(warn, f"invalid mapping:{d.px(mapping)}")  # dump_mapping()
    if d.v < (5, 16):
        # "%sflags: %#lx(%pGp)%s\n"
        d.emit(warn, f"{kind}flags: {head.flags:#x}({d.pgp(head.flags)})")
    else:
        d.emit(warn, f"{kind}flags: {d.pgp(head.flags)}")  # "%sflags: %pGp%s\n"
    if d.v >= (6, 4):
        d.emit(warn, f"page_type: {d.pgt(head.page_type)}")  # "page_type: %pGt\n"
    d.hex_dump(warn, "raw: ", page.w)
    if head is not page:
        d.hex_dump(warn, "head: ", head.w)
    if reason:
        d.emit(warn, f"page dumped because: {reason}")
    if d.v < (5, 12) and page.memcg:
        d.emit(warn, f"page->mem_cgroup:{d.px(page.memcg)}")


def _has_type(page_type: int) -> bool:
    """page_type_has_type(): ``(int)page_type < PGTY_mapcount_underflow << 24``."""
    signed = page_type - (1 << 32) if page_type >> 31 else page_type
    return signed < -(1 << 24)


def _dump_6_12(d: _Dump, mem: _Memory, page: _Page, reason: str | None) -> None:
    """v6.12 ``__dump_page`` (copy + folio) and v7.0/v7.1 ``snapshot_page``, then
    ``__dump_folio(folio, page, pfn, idx)``."""
    warn = "warning"
    if d.layout.is_poisoned(page.flags):
        # 6.12: "page:%p is uninitialized and poisoned"; 7.x the same with "\n"
        d.emit(warn, f"page:{d.p(page.addr)} is uninitialized and poisoned")
        if reason:
            d.emit(warn, f"page dumped because: {reason}")
        return
    lay = d.clayout
    max_folio_nr_pages = 1 << (18 if d.v < (7, 0) else 22)  # PUD_ORDER / ilog2(SZ_16G) - 12
    precise = list(page.w)
    folio: list[int]
    idx = 0
    nr_pages = 1
    if not page.w[Word.LRU_NEXT] & 1:
        if not d.test(page, "PG_head"):
            _dump_folio(d, mem, list(page.w), precise, page.pfn, 0, reason)
            return
        foliop = page.addr
    else:
        foliop = d.compound_head(page)
        idx = ((page.addr - foliop) & _MASK64) // _PAGE  # folio_page_idx(), unsigned
    folio = list(page.w)
    if idx < max_folio_nr_pages:
        head = mem.at(foliop, "folio")
        folio = list(head.w) + list(mem.at(foliop + _PAGE, "page[1] of the folio").w)
        if d.layout.test(folio[Word.FLAGS], "PG_head"):  # folio_nr_pages()
            nr_pages = lay.nr_pages.read(tuple(folio[8:])) if lay.nr_pages else 1
    if idx > nr_pages:
        d.emit(warn, "page does not match folio")
        if d.v < (7, 0):
            precise[Word.LRU_NEXT] &= ~1  # precise.compound_head &= ~1UL
        else:
            precise[Word.LRU_NEXT] = 0  # clear_compound_head(&ps->page_snapshot)
        folio = list(precise)
        idx = 0
    _dump_folio(d, mem, folio, precise, page.pfn, idx, reason)


def _dump_folio(
    d: _Dump,
    mem: _Memory,
    folio: list[int],
    page: list[int],
    pfn: int,
    idx: int,
    reason: str | None,
) -> None:
    """``__dump_folio(folio, page, pfn, idx)`` (v6.12, v7.x), on the copies."""
    warn = "warning"
    lay = d.clayout
    f = _Page(pfn, tuple(folio[:8]))
    p = _Page(pfn, tuple(page))
    large = d.test(f, "PG_head") and len(folio) > 8
    # folio_mapping(): NULL for a slab folio or a mapping with PAGE_MAPPING_FLAGS bits
    slab = f.page_type >> 24 == 0xF5 and _has_type(f.page_type)
    mapping = 0 if slab or f.mapping & _PAGE_MAPPING_FLAGS else f.mapping
    raw = p.raw_mapcount
    if d.v < (7, 0):
        # mapcount = page_mapcount_is_type(mapcount) ? 0 : mapcount + 1;  (is_type(m):
        # page_type_has_type(m - 1))
        mapcount = 0 if _has_type((raw - 1) & 0xFFFF_FFFF) else raw + 1
    else:
        # mapcount = _mapcount + 1; if (page_mapcount_is_type(mapcount)) mapcount = 0;
        mapcount = 0 if _has_type(raw & 0xFFFF_FFFF) else raw + 1
    # "page: refcount:%d mapcount:%d mapping:%p index:%#lx pfn:%#lx\n"
    d.emit(
        warn,
        f"page: refcount:{f.refcount} mapcount:{mapcount} mapping:{d.p(mapping)} "
        f"index:{(f.index + idx) & _MASK64:#x} pfn:{pfn:#x}",
    )
    if large:
        t1 = tuple(folio[8:16])

        def rd(cf: CompoundField | None) -> int:
            return cf.read_signed(t1) if cf is not None else 0

        order = lay.order.read(t1)
        # "head: order:%u mapcount:%d entire_mapcount:%d nr_pages_mapped:%d pincount:%d\n"
        d.emit(
            warn,
            f"head: order:{order} mapcount:{rd(lay.large_mapcount) + 1} "
            f"entire_mapcount:{rd(lay.mapcount) + 1} "
            f"nr_pages_mapped:{rd(lay.nr_pages_mapped) & _FOLIO_PAGES_MAPPED} "
            f"pincount:{rd(lay.pincount)}",
        )
    if f.memcg:
        d.emit(warn, f"memcg:{f.memcg:x}")  # "memcg:%lx\n"
    kind = ""
    if f.mapping & _PAGE_MAPPING_FLAGS == _PAGE_MAPPING_FLAGS:
        kind = "ksm "
    elif f.mapping & _PAGE_MAPPING_ANON:
        kind = "anon "
    elif mapping:
        d.emit(warn, f"invalid mapping:{d.px(mapping)}")  # dump_mapping()
    d.emit(warn, f"{kind}flags: {d.pgp(f.flags)}")  # "%sflags: %pGp%s\n"
    has_type = (
        _has_type((f.page_type - 1) & 0xFFFF_FFFF)  # 6.12: page_mapcount_is_type(page_type)
        if d.v < (7, 0)
        else _has_type(f.page_type)
    )
    if has_type:
        i = (f.page_type >> 24) - 0xF0
        name = "unknown" if not 0 <= i < len(_PGTY_NAMES) else (_PGTY_NAMES[i] or "(null)")
        d.emit(warn, f"page_type: {f.page_type >> 24:x}({name})")  # "page_type: %x(%s)\n"
    d.hex_dump(warn, "raw: ", p.w)
    if large:
        d.hex_dump(warn, "head: ", tuple(folio[:16]))
    if reason:
        d.emit(warn, f"page dumped because: {reason}")
