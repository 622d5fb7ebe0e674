"""enum pageflags and the page->flags layout per release, v4.18 - v7.1 (distro x86_64).

Expected values are docs/kernel-notes/page-format.md §1.1 (bits per version) and §2.1 (field
ranges), which cite the release trees; the enum lists were re-read from the same trees.
"""

from __future__ import annotations

import pytest

from memmapsim.model.pageflags import (
    MIGRATETYPE_NAMES,
    PAGEFLAG_NAMES_BY_RELEASE,
    PAGEFLAGS_BY_RELEASE,
    PAGEFLAGS_V4_18,
    PAGEFLAGS_V4_20,
    PageFlagsLayout,
    layout_for,
    release_key,
)
from memmapsim.model.structpage import WORD_MASK, Word, set_bits, set_field

RELEASES = (
    "4.14", "4.18", "4.19", "4.20", "5.0", "5.1", "5.2", "5.3", "5.4", "5.5", "5.7", "5.8",
    "5.10", "5.12", "5.16", "5.17", "5.18", "5.19", "6.1", "6.4", "6.6", "6.12", "7.0", "7.1",
)  # fmt: skip

# release: (NR_PAGEFLAGS, PG_reserved, PG_head) — page-format.md §1.1 (last row and bold cells)
BITS = {
    "4.14": (25, 11, 15),  # hxxful/linux-4.14.0-friendlyarm: the 4.18 enum
    "4.18": (25, 11, 15),
    "4.19": (25, 11, 15),  # ZDawnG/linux-4.19: the 4.18 enum
    "4.20": (26, 12, 16),
    "5.0": (26, 12, 16),
    "5.1": (26, 12, 16),
    "5.2": (26, 12, 16),
    "5.3": (26, 12, 16),
    "5.4": (26, 12, 16),
    "5.5": (26, 12, 16),
    "5.7": (26, 12, 16),
    "5.8": (26, 12, 16),
    "5.10": (27, 12, 16),
    "5.12": (27, 12, 16),
    "5.16": (27, 12, 16),
    "5.17": (27, 12, 16),
    "5.18": (27, 12, 16),
    "5.19": (27, 12, 16),
    "6.1": (27, 12, 16),
    "6.4": (26, 12, 16),
    "6.6": (26, 14, 6),
    "6.12": (24, 13, 6),
    "7.0": (25, 13, 6),
    "7.1": (25, 13, 6),
}


def test_every_release_is_in_the_tables() -> None:
    """The release names the project models, in order, in every per-release table."""
    assert tuple(PAGEFLAGS_BY_RELEASE) == RELEASES
    assert tuple(PAGEFLAG_NAMES_BY_RELEASE) == RELEASES
    assert [release_key(r) for r in RELEASES] == sorted(release_key(r) for r in RELEASES)


def test_existing_names_are_the_table_entries() -> None:
    """PAGEFLAGS_V4_18 / PAGEFLAGS_V4_20 stay the 4.18 / 4.20 entries."""
    assert PAGEFLAGS_BY_RELEASE["4.18"] is PAGEFLAGS_V4_18
    assert PAGEFLAGS_BY_RELEASE["4.20"] == PAGEFLAGS_V4_20


@pytest.mark.parametrize("release", RELEASES)
def test_reserved_and_head_bits(release: str) -> None:
    """PG_reserved and PG_head bit and NR_PAGEFLAGS per release (page-format.md §1.1)."""
    nr, reserved, head = BITS[release]
    layout = layout_for(release)
    assert layout.nr_pageflags == nr
    assert layout.bit["PG_reserved"] == reserved
    assert layout.bit["PG_head"] == head
    assert len(set(layout.pageflags)) == nr  # names unique: a flag's bit is its index


@pytest.mark.parametrize(
    ("release", "flag", "bit"),
    [
        ("4.18", "PG_error", 1),
        ("4.20", "PG_workingset", 6),
        ("4.20", "PG_error", 8),
        ("5.10", "PG_arch_2", 26),  # under CONFIG_64BIT 5.10-6.1
        ("6.6", "PG_writeback", 1),
        ("6.6", "PG_waiters", 7),
        ("6.6", "PG_active", 8),
        ("6.6", "PG_uncached", 22),
        ("6.12", "PG_owner_2", 11),
        ("6.12", "PG_arch_2", 23),  # x86 PAT selects ARCH_USES_PG_ARCH_2
        ("7.0", "PG_dropbehind", 19),
        ("7.1", "PG_dropbehind", 19),
        ("7.1", "PG_hwpoison", 21),
        ("7.1", "PG_arch_2", 24),
    ],
)
def test_bits_that_moved(release: str, flag: str, bit: int) -> None:
    """Single cells of page-format.md §1.1 where a release moved or added a flag."""
    assert layout_for(release).bit[flag] == bit


@pytest.mark.parametrize(
    ("release", "absent"),
    [
        ("4.18", "PG_workingset"),
        ("6.4", "PG_arch_2"),  # ARCH_USES_PG_ARCH_X: not selected by x86
        ("6.6", "PG_arch_2"),
        ("6.12", "PG_error"),
        ("6.12", "PG_slab"),
        ("6.12", "PG_uncached"),
        ("6.12", "PG_mappedtodisk"),  # an alias of PG_owner_2 from 6.12
        ("6.12", "PG_dropbehind"),
    ],
)
def test_flags_a_release_does_not_have(release: str, absent: str) -> None:
    assert absent not in PAGEFLAGS_BY_RELEASE[release]


# --- page->flags fields -----------------------------------------------------------------

# release: describe() — page-format.md §2.1, with LRU_GEN=y from 6.1
DESCRIBE = {
    "4.18": "node 54-63, zone 51-53, last_cpupid 30-50, unused 25-29, flags 0-24",
    "4.20": "node 54-63, zone 51-53, last_cpupid 30-50, unused 26-29, flags 0-25",
    "5.4": "node 54-63, zone 51-53, last_cpupid 30-50, unused 26-29, flags 0-25",
    "5.10": "node 54-63, zone 51-53, last_cpupid 30-50, unused 27-29, flags 0-26",
    "5.19": "node 54-63, zone 51-53, last_cpupid 30-50, unused 27-29, flags 0-26",
    "6.1": "node 54-63, zone 51-53, last_cpupid 30-50, lru_gen 27-29, flags 0-26",
    "6.4": "node 54-63, zone 51-53, last_cpupid 30-50, lru_gen 27-29, lru_refs 26-26, flags 0-25",
    "6.6": "node 54-63, zone 51-53, last_cpupid 30-50, lru_gen 27-29, lru_refs 26-26, flags 0-25",
    "6.12": (
        "node 54-63, zone 51-53, last_cpupid 30-50, lru_gen 27-29, lru_refs 25-26, unused 24-24, "
        "flags 0-23"
    ),
    "7.0": "node 54-63, zone 51-53, last_cpupid 30-50, lru_gen 27-29, lru_refs 25-26, flags 0-24",
    "7.1": "node 54-63, zone 51-53, last_cpupid 30-50, lru_gen 27-29, lru_refs 25-26, flags 0-24",
}


@pytest.mark.parametrize("release", list(DESCRIBE))
def test_describe(release: str) -> None:
    assert layout_for(release).describe() == DESCRIBE[release]


@pytest.mark.parametrize("release", RELEASES)
def test_node_zone_cpupid_never_move(release: str) -> None:
    """node 54-63, zone 51-53, last_cpupid 30-50 in every release (page-format.md §6)."""
    layout = layout_for(release)
    assert (layout.nodes_pgshift, layout.nodes_width) == (54, 10)
    assert (layout.zones_pgshift, layout.zones_width) == (51, 3)
    assert (layout.last_cpupid_pgshift, layout.last_cpupid_width) == (30, 21)
    assert layout.kasan_tag_width == 0


# release: (LRU_GEN pgshift, width, LRU_REFS pgshift, width)
LRU = {
    "5.19": (30, 0, 30, 0),
    "6.1": (27, 3, 27, 0),  # min(2, 64 - 27 - 37) = 0: "exactly tight"
    "6.4": (27, 3, 26, 1),
    "6.6": (27, 3, 26, 1),
    "6.12": (27, 3, 25, 2),
    "7.0": (27, 3, 25, 2),
    "7.1": (27, 3, 25, 2),
}


@pytest.mark.parametrize("release", list(LRU))
def test_lru_gen_and_refs(release: str) -> None:
    """LRU_GEN_PGOFF = KASAN_TAG_PGOFF - 3, LRU_REFS_WIDTH = min(2, bits left) (6.1+)."""
    layout = layout_for(release)
    got = (
        layout.lru_gen_pgshift,
        layout.lru_gen_width,
        layout.lru_refs_pgshift,
        layout.lru_refs_width,
    )
    assert got == LRU[release]


@pytest.mark.parametrize("release", ["6.1", "6.6", "7.1"])
def test_lru_gen_off(release: str) -> None:
    """CONFIG_LRU_GEN=n (the upstream default): no LRU fields, the gap is unused."""
    layout = layout_for(release, lru_gen=False)
    assert (layout.lru_gen_width, layout.lru_refs_width) == (0, 0)
    nr = layout.nr_pageflags
    assert layout.describe().endswith(f"unused {nr}-29, flags 0-{nr - 1}")


def test_lru_fields_decode() -> None:
    """lru_gen()/lru_refs() read their bits only; every other field is unaffected."""
    layout = layout_for("6.12")
    flags = (3 << 27) | (2 << 25)
    assert layout.lru_gen(flags) == 3
    assert layout.lru_refs(flags) == 2
    assert layout.zone(flags) == layout.nid(flags) == layout.last_cpupid(flags) == 0
    assert layout.set_names(flags) == []
    assert layout_for("6.1").lru_refs(WORD_MASK) == 0  # 0 bits wide
    assert layout_for("5.10").lru_gen(WORD_MASK) == 0


def test_nodes_check_counts_lru_gen() -> None:
    """NODES_WIDTH fits only if ZONES + LRU_GEN + SECTIONS + NODES_SHIFT <= 64 - NR_PAGEFLAGS."""
    flags = PAGEFLAGS_BY_RELEASE["6.1"]  # 27 flags: 37 bits of room
    assert PageFlagsLayout(flags, nodes_shift=34).nodes_width == 34  # 3 + 34 = 37
    with pytest.raises(ValueError, match="NODES_NOT_IN_PAGE_FLAGS"):
        _ = PageFlagsLayout(flags, nodes_shift=32, lru_gen_width=3).nodes_width  # 3 + 3 + 32


def test_last_cpupid_check_counts_lru_gen() -> None:
    """In 6.1 the cpupid check is exactly tight (3 + 3 + 10 + 21 = 37 = 64 - 27): one more
    LRU_GEN bit would push LAST_CPUPID out of page->flags."""
    flags = PAGEFLAGS_BY_RELEASE["6.1"]
    assert PageFlagsLayout(flags, lru_gen_width=3).last_cpupid_width == 21
    assert PageFlagsLayout(flags, lru_gen_width=4).last_cpupid_width == 0


# page-format.md §2.1 "Worked values": initialised ZONE_DEVICE page, node 0, Reserved,
# cpupid reset
WORKED = {
    "4.18": 0x27FFFFC0000800,
    "4.20": 0x27FFFFC0001000,
    "5.4": 0x27FFFFC0001000,
    "5.10": 0x27FFFFC0001000,
    "6.1": 0x27FFFFC0001000,
    "6.4": 0x27FFFFC0001000,
    "6.6": 0x27FFFFC0004000,
    "6.12": 0x27FFFFC0002000,
    "7.1": 0x27FFFFC0002000,
}


@pytest.mark.parametrize("release", list(WORKED))
def test_worked_flags_values(release: str) -> None:
    layout = layout_for(release)
    flags = 0
    for w in (
        set_field(Word.FLAGS, layout.zones_pgshift, layout.zones_width, 4),
        set_field(Word.FLAGS, layout.nodes_pgshift, layout.nodes_width, 0),
        set_field(Word.FLAGS, layout.last_cpupid_pgshift, layout.last_cpupid_width, 0x1FFFFF),
        set_bits(Word.FLAGS, layout.flag("PG_reserved")),
    ):
        flags = w.apply(flags)
    assert flags == WORKED[release]
    assert layout.lru_gen(flags) == 0


# --- %pGp name tables ---------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_print_names_cover_the_enum(release: str) -> None:
    """BUILD_BUG_ON(ARRAY_SIZE(pageflag_names) != __NR_PAGEFLAGS + 1): one name per real bit."""
    names = PAGEFLAG_NAMES_BY_RELEASE[release]
    assert sorted("PG_" + n for n in names) == sorted(PAGEFLAGS_BY_RELEASE[release])


def test_print_order_is_not_bit_order() -> None:
    """mmflags.h order (page-format.md §4.1): waiters/error second and third in 4.18; workingset
    after active from 4.20; idle before young in 6.4-7.1; dropbehind after unevictable in 7.x."""
    n418 = PAGEFLAG_NAMES_BY_RELEASE["4.18"]
    assert n418[:4] == ("locked", "waiters", "error", "referenced")
    n420 = PAGEFLAG_NAMES_BY_RELEASE["4.20"]
    assert n420[n420.index("active") + 1] == "workingset"
    assert PAGEFLAG_NAMES_BY_RELEASE["5.10"][-3:] == ("young", "idle", "arch_2")
    assert PAGEFLAG_NAMES_BY_RELEASE["6.4"][-2:] == ("idle", "young")
    assert PAGEFLAG_NAMES_BY_RELEASE["6.6"] == PAGEFLAG_NAMES_BY_RELEASE["6.4"]
    assert PAGEFLAG_NAMES_BY_RELEASE["6.12"][-3:] == ("idle", "young", "arch_2")
    n71 = PAGEFLAG_NAMES_BY_RELEASE["7.1"]
    assert n71[n71.index("unevictable") + 1] == "dropbehind"


def test_migratetype_names() -> None:
    """migratetype_names[] (mm/page_alloc.c), identical 4.18-7.1."""
    assert MIGRATETYPE_NAMES == (
        "Unmovable",
        "Movable",
        "Reclaimable",
        "HighAtomic",
        "CMA",
        "Isolate",
    )
