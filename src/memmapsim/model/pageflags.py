"""page->flags: the page-flag bits and the node/zone/last_cpupid fields (spec §3).

``include/linux/page-flags-layout.h`` packs the fields from bit 63 downward:
``SECTIONS | NODES | ZONES | LAST_CPUPID | KASAN_TAG | LRU_GEN | LRU_REFS | ... | flags``
(KASAN_TAG from v5.0, LRU_GEN/LRU_REFS from v6.1). On x86_64 with SPARSEMEM_VMEMMAP the
section field is 0 bits wide. memmapsim models the distro-style configuration the spec and
docs/kernel-notes/page-format.md §0.1 assume: MAXSMP (NODES_SHIFT = 10, NR_CPUS = 8192, so
LAST_CPUPID = 8 pid bits + 13 cpu bits), NUMA_BALANCING, MEMORY_FAILURE,
IDLE_PAGE_TRACKING (PAGE_IDLE_FLAG from v5.15), x86 PAT (PG_uncached up to v6.6, PG_arch_2
from v6.12), KASAN off and, from v6.1, CONFIG_LRU_GEN=y.

``enum pageflags`` changed between the modelled versions; each list below is the enum
in order, so a flag's bit is its index. :data:`PAGEFLAGS_BY_RELEASE` gives it per release,
:func:`layout_for` the whole page->flags layout, :data:`PAGEFLAG_NAMES_BY_RELEASE` the order
in which ``%pGp`` prints the names (``__def_pageflag_names``, include/trace/events/mmflags.h).

Trees read (docs/kernel-notes/page-format.md §0 and §1; the enums were re-read with the
configuration above): 4.18.0 zzwd/linux-4.18-rt@include/linux/page-flags.h:70-134 (4.19
ZDawnG/linux-4.19 has the same enum); 4.20.0 a4913994/linux-4.20@…:70-135; 5.0.0
akshaybaviskar/Linux-5.0@…:70-135; 5.1.0 KJT9109/linux_kernel_5.1.0@…:99-164; 5.3.0
Awik84/linux-5.3@…:99-166; 5.4.0 KevinRSX/w4118-s21-linux-v5.4@…:99-166; 5.10.0
atjhamit/linux-v5.10@…:104-177; 5.12 from 5.12.9 (zhangyinjun/linux-5.12.9); 5.16 from
5.16.10 (DFAUS-git/ps4-linux-kernel-5.16.10-belize); 5.17.0
kuangfei2019/linux-5.17-mini2440-dt@…:100-187; 5.18 from 5.18.12 (esuoyanyu/kernel-5.18,
``common/``; the notes bracket it by 5.17.0 = 5.19.0); 5.19.0 yishangzhang/linux-5.19@…:100-196;
6.1.0 fEndman/linux-6.1-t113 (= krr-io/linux-6.1.0@…:100-201); 6.4.0
julianw1010/WASP-linux-6.4.0@…:100-193; 6.6.0 xie1111111/linux-6.6-opensbi-mllb@linux-6.6/…:100-195;
6.12.0 shilei-massclouds/linux-6.12@…:93-190; 7.0.0 julianw1010/WASP-linux-7.0.0@1d9f96d2d…:93-195;
7.1 from 7.1.3 (rikudousennin22/linux-7.1.3@…:93-195).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

from memmapsim.model.structpage import WORD_MASK


class ZoneType(IntEnum):
    """enum zone_type on x86_64 with CONFIG_ZONE_DEVICE (no HIGHMEM): MAX_NR_ZONES = 5."""

    ZONE_DMA = 0
    ZONE_DMA32 = 1
    ZONE_NORMAL = 2
    ZONE_MOVABLE = 3
    ZONE_DEVICE = 4


MAX_NR_ZONES = len(ZoneType)

PAGEFLAGS_V4_18: tuple[str, ...] = (
    "PG_locked",
    "PG_error",
    "PG_referenced",
    "PG_uptodate",
    "PG_dirty",
    "PG_lru",
    "PG_active",
    "PG_waiters",
    "PG_slab",
    "PG_owner_priv_1",
    "PG_arch_1",
    "PG_reserved",
    "PG_private",
    "PG_private_2",
    "PG_writeback",
    "PG_head",
    "PG_mappedtodisk",
    "PG_reclaim",
    "PG_swapbacked",
    "PG_unevictable",
    "PG_mlocked",
    "PG_uncached",
    "PG_hwpoison",
    "PG_young",
    "PG_idle",
)
"""v4.18 ``enum pageflags`` for the modelled x86_64 configuration (25 flags)."""

PAGEFLAGS_V4_20: tuple[str, ...] = (
    "PG_locked",
    "PG_referenced",
    "PG_uptodate",
    "PG_dirty",
    "PG_lru",
    "PG_active",
    "PG_workingset",
    "PG_waiters",
    "PG_error",
    "PG_slab",
    "PG_owner_priv_1",
    "PG_arch_1",
    "PG_reserved",
    "PG_private",
    "PG_private_2",
    "PG_writeback",
    "PG_head",
    "PG_mappedtodisk",
    "PG_reclaim",
    "PG_swapbacked",
    "PG_unevictable",
    "PG_mlocked",
    "PG_uncached",
    "PG_hwpoison",
    "PG_young",
    "PG_idle",
)
"""v4.20 ``enum pageflags``: PG_workingset added by 1899ad18c607 ("mm: workingset: tell cache
transitions from workingset thrashing", v4.20-rc1), PG_error moved after PG_waiters (26 flags)."""

PAGEFLAGS_V5_10: tuple[str, ...] = (*PAGEFLAGS_V4_20, "PG_arch_2")
"""v5.10-v6.1 ``enum pageflags``: v4.20's plus PG_arch_2, which is under CONFIG_64BIT (so always
present on x86_64) — 27 flags (atjhamit/linux-v5.10@include/linux/page-flags.h:104-177 (5.10.0);
fEndman/linux-6.1-t113 = krr-io/linux-6.1.0@include/linux/page-flags.h:100-201 (6.1.0)). v5.17
moved PG_young/PG_idle under CONFIG_PAGE_IDLE_FLAG (selected by IDLE_PAGE_TRACKING) and added
PG_skip_kasan_poison under KASAN_HW_TAGS (arm64 only): the x86_64 bits are unchanged."""

PAGEFLAGS_V6_4: tuple[str, ...] = PAGEFLAGS_V4_20
"""v6.4 ``enum pageflags``: PG_arch_2 is now under CONFIG_ARCH_USES_PG_ARCH_X, which x86 does not
select, so the x86_64 enum is v4.20's again — 26 flags, PG_reserved 12, PG_head 16
(julianw1010/WASP-linux-6.4.0@include/linux/page-flags.h:100-193 (6.4.0))."""

PAGEFLAGS_V6_6: tuple[str, ...] = (
    "PG_locked",
    "PG_writeback",
    "PG_referenced",
    "PG_uptodate",
    "PG_dirty",
    "PG_lru",
    "PG_head",
    "PG_waiters",
    "PG_active",
    "PG_workingset",
    "PG_error",
    "PG_slab",
    "PG_owner_priv_1",
    "PG_arch_1",
    "PG_reserved",
    "PG_private",
    "PG_private_2",
    "PG_mappedtodisk",
    "PG_reclaim",
    "PG_swapbacked",
    "PG_unevictable",
    "PG_mlocked",
    "PG_uncached",
    "PG_hwpoison",
    "PG_young",
    "PG_idle",
)
"""v6.6 ``enum pageflags``: PG_writeback moved to bit 1, PG_head to bit 6 ("Must be in bit 6"),
PG_active/PG_workingset after PG_waiters — 26 flags, PG_reserved 14
(xie1111111/linux-6.6-opensbi-mllb@linux-6.6/include/linux/page-flags.h:100-195 (6.6.0))."""

PAGEFLAGS_V6_12: tuple[str, ...] = (
    "PG_locked",
    "PG_writeback",
    "PG_referenced",
    "PG_uptodate",
    "PG_dirty",
    "PG_lru",
    "PG_head",
    "PG_waiters",
    "PG_active",
    "PG_workingset",
    "PG_owner_priv_1",
    "PG_owner_2",
    "PG_arch_1",
    "PG_reserved",
    "PG_private",
    "PG_private_2",
    "PG_reclaim",
    "PG_swapbacked",
    "PG_unevictable",
    "PG_mlocked",
    "PG_hwpoison",
    "PG_young",
    "PG_idle",
    "PG_arch_2",
)
"""v6.12 ``enum pageflags``: PG_error, PG_slab and PG_uncached gone, PG_owner_2 added after
PG_owner_priv_1, PG_mappedtodisk an alias of PG_owner_2, and x86 PAT selects
CONFIG_ARCH_USES_PG_ARCH_2 — 24 flags, PG_reserved 13, PG_head 6
(shilei-massclouds/linux-6.12@include/linux/page-flags.h:93-190 (6.12.0);
arch/x86/Kconfig:1805)."""

PAGEFLAGS_V7_0: tuple[str, ...] = (
    *PAGEFLAGS_V6_12[: PAGEFLAGS_V6_12.index("PG_unevictable") + 1],
    "PG_dropbehind",
    *PAGEFLAGS_V6_12[PAGEFLAGS_V6_12.index("PG_mlocked") :],
)
"""v7.0 and v7.1 ``enum pageflags``: v6.12's with PG_dropbehind after PG_unevictable — 25 flags
(julianw1010/WASP-linux-7.0.0@1d9f96d2d:include/linux/page-flags.h:93-195 (7.0.0);
rikudousennin22/linux-7.1.3@include/linux/page-flags.h:93-195 (7.1.3, the newest 7.1 tree read;
danayer/linux-7.1.5 agrees))."""

PAGEFLAGS_BY_RELEASE: dict[str, tuple[str, ...]] = {
    "4.14": PAGEFLAGS_V4_18,  # hxxful/linux-4.14.0-friendlyarm@…:75-109: the 4.18 enum
    "4.18": PAGEFLAGS_V4_18,
    "4.19": PAGEFLAGS_V4_18,  # ZDawnG/linux-4.19 (4.19.0): the 4.18 enum
    "4.20": PAGEFLAGS_V4_20,
    "5.0": PAGEFLAGS_V4_20,
    "5.1": PAGEFLAGS_V4_20,  # KJT9109/linux_kernel_5.1.0 (5.1.0)
    "5.2": PAGEFLAGS_V4_20,  # hcly/linux5.2.0-f1c100s-base (5.2.0)
    "5.3": PAGEFLAGS_V4_20,
    "5.4": PAGEFLAGS_V4_20,
    "5.5": PAGEFLAGS_V4_20,  # no 5.5 tree: 5.4.0 and 5.7.6 agree
    "5.7": PAGEFLAGS_V4_20,  # read from 5.7.6 (HanRunyu/linux-5.7.6-jz2440)
    "5.8": PAGEFLAGS_V4_20,  # read from 5.8.1 (semwett0301/linux-5.8.1)
    "5.10": PAGEFLAGS_V5_10,
    "5.12": PAGEFLAGS_V5_10,  # read from 5.12.9 (no 5.12.0 tree)
    "5.16": PAGEFLAGS_V5_10,  # read from 5.16.10 (no 5.16.0 tree)
    "5.17": PAGEFLAGS_V5_10,
    "5.18": PAGEFLAGS_V5_10,  # read from 5.18.12; bracketed by 5.17.0 = 5.19.0 (notes §1.1)
    "5.19": PAGEFLAGS_V5_10,
    "6.1": PAGEFLAGS_V5_10,
    "6.4": PAGEFLAGS_V6_4,
    "6.6": PAGEFLAGS_V6_6,
    "6.12": PAGEFLAGS_V6_12,
    "7.0": PAGEFLAGS_V7_0,
    "7.1": PAGEFLAGS_V7_0,  # read from 7.1.3 (no 7.1.0 tree)
}
"""``enum pageflags`` (bit order) per modelled release, distro x86_64 configuration."""

_NAMES_V4_18: tuple[str, ...] = (
    "locked",
    "waiters",
    "error",
    "referenced",
    "uptodate",
    "dirty",
    "lru",
    "active",
    "slab",
    "owner_priv_1",
    "arch_1",
    "reserved",
    "private",
    "private_2",
    "writeback",
    "head",
    "mappedtodisk",
    "reclaim",
    "swapbacked",
    "unevictable",
    "mlocked",
    "uncached",
    "hwpoison",
    "young",
    "idle",
)
_NAMES_V4_20 = (*_NAMES_V4_18[:8], "workingset", *_NAMES_V4_18[8:])
_NAMES_V5_10 = (*_NAMES_V4_20, "arch_2")
_NAMES_V6_4 = (*_NAMES_V4_20[:-2], "idle", "young")
_NAMES_V6_12: tuple[str, ...] = (
    "locked",
    "waiters",
    "referenced",
    "uptodate",
    "dirty",
    "lru",
    "active",
    "workingset",
    "owner_priv_1",
    "owner_2",
    "arch_1",
    "reserved",
    "private",
    "private_2",
    "writeback",
    "head",
    "reclaim",
    "swapbacked",
    "unevictable",
    "mlocked",
    "hwpoison",
    "idle",
    "young",
    "arch_2",
)
_NAMES_V7_0 = (*_NAMES_V6_12[:19], "dropbehind", *_NAMES_V6_12[19:])

PAGEFLAG_NAMES_BY_RELEASE: dict[str, tuple[str, ...]] = {
    "4.14": _NAMES_V4_18,  # hxxful/linux-4.14.0-friendlyarm@…:84-109
    "4.18": _NAMES_V4_18,  # zzwd/linux-4.18-rt@include/trace/events/mmflags.h:82-107
    "4.19": _NAMES_V4_18,
    "4.20": _NAMES_V4_20,  # a4913994/linux-4.20@…:82-108 (same file through 5.4)
    "5.0": _NAMES_V4_20,
    "5.1": _NAMES_V4_20,
    "5.2": _NAMES_V4_20,  # hcly/linux5.2.0-f1c100s-base
    "5.3": _NAMES_V4_20,
    "5.4": _NAMES_V4_20,
    "5.5": _NAMES_V4_20,  # no 5.5 tree: 5.4.0 and 5.7.6 agree
    "5.7": _NAMES_V4_20,  # HanRunyu/linux-5.7.6-jz2440 (5.7.6)
    "5.8": _NAMES_V4_20,  # semwett0301/linux-5.8.1 (5.8.1)
    "5.10": _NAMES_V5_10,  # atjhamit/linux-v5.10@…:88-115: + arch_2 (CONFIG_64BIT)
    "5.12": _NAMES_V5_10,
    "5.16": _NAMES_V5_10,
    "5.17": _NAMES_V5_10,  # kuangfei2019/linux-5.17-mini2440-dt@…:96-124 (no KASAN_HW_TAGS)
    "5.18": _NAMES_V5_10,
    "5.19": _NAMES_V5_10,
    "6.1": _NAMES_V5_10,  # krr-io/linux-6.1.0@…:106-134
    "6.4": _NAMES_V6_4,  # julianw1010/WASP-linux-6.4.0@…:100-128: idle before young, no arch_2
    "6.6": _NAMES_V6_4,  # print order unchanged although the bits moved
    "6.12": _NAMES_V6_12,  # shilei-massclouds/linux-6.12@…:100-125
    "7.0": _NAMES_V7_0,
    "7.1": _NAMES_V7_0,  # rikudousennin22/linux-7.1.3@…:142-167
}
"""The names ``%pGp`` prints, in the order it tries them (``__def_pageflag_names``, without the
``PG_`` prefix; aliases are never printed). The order is not the bit order."""

MIGRATETYPE_NAMES: tuple[str, ...] = (
    "Unmovable",
    "Movable",
    "Reclaimable",
    "HighAtomic",
    "CMA",
    "Isolate",
)
"""``migratetype_names[]`` (mm/page_alloc.c), indexed by enum migratetype with CONFIG_CMA and
CONFIG_MEMORY_ISOLATION; identical in every version read (4.18.0 mm/page_alloc.c:241 …
7.1.3 mm/page_alloc.c:255; page-format.md §5.1)."""


def release_key(release: str) -> tuple[int, int]:
    """``"5.17"`` -> ``(5, 17)``, for ordering releases."""
    major, minor = release.split(".")
    return int(major), int(minor)


def _bits_for_zones(n: int) -> int:
    """ZONES_SHIFT: 0/1/2/3 bits for MAX_NR_ZONES < 2 / <= 2 / <= 4 / <= 8."""
    for shift, limit in ((0, 1), (1, 2), (2, 4), (3, 8)):
        if n <= limit:
            return shift
    raise ValueError(f"MAX_NR_ZONES {n} needs more than 3 bits")


@dataclass(frozen=True)
class PageFlagsLayout:
    """Where each field of page->flags lives, derived as page-flags-layout.h does."""

    pageflags: tuple[str, ...]
    nodes_shift: int = 10
    nr_cpus_bits: int = 13
    last_pid_shift: int = 8
    sections_width: int = 0  # SPARSEMEM_VMEMMAP: the section is not kept in page->flags
    max_nr_zones: int = MAX_NR_ZONES
    kasan_tag_width: int = 0
    """KASAN_TAG_WIDTH (v5.0+): 8 with software tag KASAN, 0 here (KASAN off)."""
    lru_gen_width: int = 0
    """LRU_GEN_WIDTH (v6.1+): order_base_2(MAX_NR_GENS + 1) = 3 with CONFIG_LRU_GEN, else 0."""
    lru_refs_max_width: int = 0
    """__LRU_REFS_WIDTH (v6.1+): MAX_NR_TIERS - 2 = 2 with CONFIG_LRU_GEN, else 0. The field
    gets only the bits left over (:attr:`lru_refs_width`)."""

    @property
    def nr_pageflags(self) -> int:
        return len(self.pageflags)

    @property
    def zones_width(self) -> int:
        return _bits_for_zones(self.max_nr_zones)

    @property
    def nodes_width(self) -> int:
        """NODES_WIDTH: ZONES + LRU_GEN + SECTIONS + NODES_SHIFT must fit beside the flags."""
        used = self.sections_width + self.zones_width + self.lru_gen_width
        if used + self.nodes_shift > 64 - self.nr_pageflags:
            raise ValueError("NODES_NOT_IN_PAGE_FLAGS is not modelled")
        return self.nodes_shift

    @property
    def last_cpupid_shift(self) -> int:
        return self.last_pid_shift + self.nr_cpus_bits

    @property
    def last_cpupid_width(self) -> int:
        """LAST_CPUPID_WIDTH: the full shift if it fits beside the flags (with the KASAN tag and,
        v6.1+, LRU_GEN counted as used), else 0."""
        used = (
            self.sections_width
            + self.nodes_width
            + self.zones_width
            + self.kasan_tag_width
            + self.lru_gen_width
        )
        if used + self.last_cpupid_shift <= 64 - self.nr_pageflags:
            return self.last_cpupid_shift
        return 0

    @property
    def lru_refs_width(self) -> int:
        """LRU_REFS_WIDTH = min(__LRU_REFS_WIDTH, the bits left between the flags and the
        fields) (krr-io/linux-6.1.0@include/linux/page-flags-layout.h:110-112 (6.1.0); same
        in rikudousennin22/linux-7.1.3@…:112-114). 0 in v6.1 (27 flags leave no room), 1 in
        v6.4/v6.6, 2 in v6.12 and v7.x."""
        left = (
            64
            - self.nr_pageflags
            - self.zones_width
            - self.lru_gen_width
            - self.sections_width
            - self.nodes_width
            - self.kasan_tag_width
            - self.last_cpupid_width
        )
        return max(0, min(self.lru_refs_max_width, left))

    @property
    def nodes_pgshift(self) -> int:
        return 64 - self.sections_width - self.nodes_width

    @property
    def zones_pgshift(self) -> int:
        return self.nodes_pgshift - self.zones_width

    @property
    def last_cpupid_pgshift(self) -> int:
        return self.zones_pgshift - self.last_cpupid_width

    @property
    def kasan_tag_pgshift(self) -> int:
        """KASAN_TAG_PGOFF = LAST_CPUPID_PGOFF - KASAN_TAG_WIDTH (v5.0+)."""
        return self.last_cpupid_pgshift - self.kasan_tag_width

    @property
    def lru_gen_pgshift(self) -> int:
        """LRU_GEN_PGOFF = KASAN_TAG_PGOFF - LRU_GEN_WIDTH (v6.1+, include/linux/mmzone.h;
        krr-io/linux-6.1.0@include/linux/mmzone.h:939)."""
        return self.kasan_tag_pgshift - self.lru_gen_width

    @property
    def lru_refs_pgshift(self) -> int:
        """LRU_REFS_PGOFF = LRU_GEN_PGOFF - LRU_REFS_WIDTH (krr-io/linux-6.1.0@…mmzone.h:940)."""
        return self.lru_gen_pgshift - self.lru_refs_width

    @property
    def pageflags_mask(self) -> int:
        """PAGEFLAGS_MASK: ``(1UL << NR_PAGEFLAGS) - 1``."""
        return (1 << self.nr_pageflags) - 1

    @cached_property
    def bit(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.pageflags)}

    def flag(self, name: str) -> int:
        """The mask of one page flag, e.g. ``flag("PG_reserved")``."""
        return 1 << self.bit[name]

    # --- decoding ------------------------------------------------------------------
    def zone(self, flags: int) -> int:
        """page_zonenum(): the zone field (7 for a poisoned page)."""
        return (flags >> self.zones_pgshift) & ((1 << self.zones_width) - 1)

    def nid(self, flags: int) -> int:
        """page_to_nid(): the node field (all ones, 1023, for a poisoned page)."""
        return (flags >> self.nodes_pgshift) & ((1 << self.nodes_width) - 1)

    def last_cpupid(self, flags: int) -> int:
        return (flags >> self.last_cpupid_pgshift) & ((1 << self.last_cpupid_width) - 1)

    def lru_gen(self, flags: int) -> int:
        """The raw LRU_GEN field (generation + 1; 0 = not on an MGLRU list; 0 without LRU_GEN)."""
        return (flags >> self.lru_gen_pgshift) & ((1 << self.lru_gen_width) - 1)

    def lru_refs(self, flags: int) -> int:
        """The raw LRU_REFS field (0 when it is 0 bits wide)."""
        return (flags >> self.lru_refs_pgshift) & ((1 << self.lru_refs_width) - 1)

    def test(self, flags: int, name: str) -> bool:
        return bool(flags & self.flag(name))

    def set_names(self, flags: int) -> list[str]:
        """Names of the page flags set in ``flags`` (bit order)."""
        return [name for i, name in enumerate(self.pageflags) if flags >> i & 1]

    def is_poisoned(self, flags: int) -> bool:
        """PagePoisoned(): ``page->flags == PAGE_POISON_PATTERN`` (v4.16+, f165b378bbdf)."""
        return flags == WORD_MASK

    def describe(self) -> str:
        """Bit ranges, highest first, as in spec §3.3 (and page-format.md §2.1 for v6.1+)."""

        def span(lo: int, width: int) -> str:
            return f"{lo}-{lo + width - 1}"

        parts = [f"node {span(self.nodes_pgshift, self.nodes_width)}"]
        parts.append(f"zone {span(self.zones_pgshift, self.zones_width)}")
        if self.last_cpupid_width:
            parts.append(f"last_cpupid {span(self.last_cpupid_pgshift, self.last_cpupid_width)}")
        if self.kasan_tag_width:
            parts.append(f"kasan_tag {span(self.kasan_tag_pgshift, self.kasan_tag_width)}")
        if self.lru_gen_width:
            parts.append(f"lru_gen {span(self.lru_gen_pgshift, self.lru_gen_width)}")
        if self.lru_refs_width:
            parts.append(f"lru_refs {span(self.lru_refs_pgshift, self.lru_refs_width)}")
        if self.lru_refs_pgshift > self.nr_pageflags:
            gap = self.lru_refs_pgshift - self.nr_pageflags
            parts.append(f"unused {span(self.nr_pageflags, gap)}")
        parts.append(f"flags 0-{self.nr_pageflags - 1}")
        return ", ".join(parts)


def layout_for(release: str, *, lru_gen: bool = True) -> PageFlagsLayout:
    """The page->flags layout of a modelled release (distro x86_64, see the module docstring).

    From v6.1, CONFIG_LRU_GEN=y (``lru_gen=False`` gives the upstream default, n) adds the
    LRU_GEN field (3 bits, 27-29) below last_cpupid and the LRU_REFS field below that, as wide
    as the room left allows (kernel/bounds.c: LRU_GEN_WIDTH = order_base_2(MAX_NR_GENS + 1),
    __LRU_REFS_WIDTH = MAX_NR_TIERS - 2; krr-io/linux-6.1.0@kernel/bounds.c:26-27 (6.1.0),
    rikudousennin22/linux-7.1.3@kernel/bounds.c:27-28 (7.1.3)). node 54-63, zone 51-53 and
    last_cpupid 30-50 are the same in every release (page-format.md §2.1).
    """
    pageflags = PAGEFLAGS_BY_RELEASE[release]
    if lru_gen and release_key(release) >= (6, 1):
        return PageFlagsLayout(pageflags, lru_gen_width=3, lru_refs_max_width=2)
    return PageFlagsLayout(pageflags)
