"""page->flags layouts for v4.18 and v4.20 (spec §3; research v4.18 §5-6, v4.20 §6-7)."""

from __future__ import annotations

import pytest

from memmapsim.model.pageflags import (
    MAX_NR_ZONES,
    PAGEFLAGS_V4_18,
    PAGEFLAGS_V4_20,
    PageFlagsLayout,
    ZoneType,
)
from memmapsim.model.structpage import WORD_MASK, Word, set_bits, set_field

V4_18 = PageFlagsLayout(PAGEFLAGS_V4_18)
V4_20 = PageFlagsLayout(PAGEFLAGS_V4_20)
LAST_CPUPID_ALL = (1 << 21) - 1


def test_zone_type() -> None:
    """x86_64 with ZONE_DEVICE and no HIGHMEM: DMA..DEVICE = 0..4, five zones, 3 bits."""
    assert [int(z) for z in ZoneType] == [0, 1, 2, 3, 4]
    assert ZoneType.ZONE_DMA == 0
    assert ZoneType.ZONE_NORMAL == 2
    assert ZoneType.ZONE_MOVABLE == 3
    assert ZoneType.ZONE_DEVICE == 4
    assert MAX_NR_ZONES == 5
    assert V4_18.zones_width == V4_20.zones_width == 3


@pytest.mark.parametrize(("nr_zones", "width"), [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3)])
def test_zones_shift(nr_zones: int, width: int) -> None:
    """ZONES_SHIFT is 0/1/2/3 for MAX_NR_ZONES < 2 / <= 2 / <= 4 / <= 8."""
    assert PageFlagsLayout(PAGEFLAGS_V4_18, max_nr_zones=nr_zones).zones_width == width


def test_zones_shift_rejects_more_than_eight_zones() -> None:
    with pytest.raises(ValueError, match="more than 3 bits"):
        _ = PageFlagsLayout(PAGEFLAGS_V4_18, max_nr_zones=9).zones_width


# --- enum pageflags -------------------------------------------------------------------


def test_v4_18_pageflags() -> None:
    """v4.18: 25 flags, PG_error at 1, PG_waiters 7, PG_reserved 11, no PG_workingset."""
    assert V4_18.nr_pageflags == 25
    assert V4_18.bit["PG_locked"] == 0
    assert V4_18.bit["PG_error"] == 1
    assert V4_18.bit["PG_waiters"] == 7
    assert V4_18.bit["PG_reserved"] == 11
    assert V4_18.bit["PG_head"] == 15
    assert V4_18.bit["PG_mlocked"] == 20
    assert V4_18.bit["PG_uncached"] == 21
    assert V4_18.bit["PG_hwpoison"] == 22
    assert V4_18.bit["PG_young"] == 23
    assert V4_18.bit["PG_idle"] == 24
    assert V4_18.flag("PG_reserved") == 1 << 11
    assert "PG_workingset" not in PAGEFLAGS_V4_18
    with pytest.raises(KeyError):
        V4_18.flag("PG_workingset")


def test_v4_20_pageflags() -> None:
    """v4.20: PG_workingset inserted at 6, PG_error moved to 8: 26 flags, PG_reserved 12."""
    assert V4_20.nr_pageflags == 26
    assert V4_20.bit["PG_workingset"] == 6
    assert V4_20.bit["PG_waiters"] == 7
    assert V4_20.bit["PG_error"] == 8
    assert V4_20.bit["PG_reserved"] == 12
    assert V4_20.bit["PG_head"] == 16
    assert V4_20.bit["PG_unevictable"] == 20
    assert V4_20.bit["PG_mlocked"] == 21
    assert V4_20.bit["PG_uncached"] == 22
    assert V4_20.bit["PG_hwpoison"] == 23
    assert V4_20.bit["PG_young"] == 24
    assert V4_20.bit["PG_idle"] == 25
    assert V4_20.flag("PG_reserved") == 1 << 12


def test_v4_20_is_v4_18_plus_workingset() -> None:
    """Same flag set apart from PG_workingset; names unique (a flag's bit is its index)."""
    assert set(PAGEFLAGS_V4_20) - set(PAGEFLAGS_V4_18) == {"PG_workingset"}
    assert set(PAGEFLAGS_V4_18) <= set(PAGEFLAGS_V4_20)
    assert len(set(PAGEFLAGS_V4_18)) == len(PAGEFLAGS_V4_18)
    assert len(set(PAGEFLAGS_V4_20)) == len(PAGEFLAGS_V4_20)


# --- field positions ------------------------------------------------------------------


@pytest.mark.parametrize("layout", [V4_18, V4_20], ids=["v4.18", "v4.20"])
def test_field_positions(layout: PageFlagsLayout) -> None:
    """node 54-63, zone 51-53, last_cpupid 30-50 (21 bits) in both versions."""
    assert layout.sections_width == 0
    assert (layout.nodes_pgshift, layout.nodes_width) == (54, 10)
    assert (layout.zones_pgshift, layout.zones_width) == (51, 3)
    assert layout.last_cpupid_shift == 21
    assert (layout.last_cpupid_pgshift, layout.last_cpupid_width) == (30, 21)
    assert layout.nr_pageflags <= layout.last_cpupid_pgshift


def test_describe() -> None:
    """Bit ranges highest first; only the unused gap differs between v4.18 and v4.20."""
    assert V4_18.describe() == (
        "node 54-63, zone 51-53, last_cpupid 30-50, unused 25-29, flags 0-24"
    )
    assert V4_20.describe() == (
        "node 54-63, zone 51-53, last_cpupid 30-50, unused 26-29, flags 0-25"
    )


def test_x86_defaults_without_maxsmp() -> None:
    """NODES_SHIFT 6 and NR_CPUS 64 give a 14-bit LAST_CPUPID (spec §3.3)."""
    layout = PageFlagsLayout(PAGEFLAGS_V4_20, nodes_shift=6, nr_cpus_bits=6)
    assert layout.last_cpupid_width == 14
    assert layout.describe() == (
        "node 58-63, zone 55-57, last_cpupid 41-54, unused 26-40, flags 0-25"
    )


def test_last_cpupid_exact_fit_leaves_no_unused_gap() -> None:
    """When LAST_CPUPID just fits (34+5 = 39 = 64-25 bits), it is kept and no gap remains."""
    layout = PageFlagsLayout(PAGEFLAGS_V4_18, nr_cpus_bits=18)
    assert layout.last_cpupid_width == 26
    assert layout.last_cpupid_pgshift == 25
    assert layout.describe() == "node 54-63, zone 51-53, last_cpupid 25-50, flags 0-24"


@pytest.mark.parametrize(
    ("pageflags", "cpu_bits"), [(PAGEFLAGS_V4_18, 19), (PAGEFLAGS_V4_20, 18), (PAGEFLAGS_V4_18, 40)]
)
def test_last_cpupid_without_room(pageflags: tuple[str, ...], cpu_bits: int) -> None:
    """LAST_CPUPID that does not fit beside the flags gets width 0 (LAST_CPUPID_NOT_IN_PAGE_FLAGS):
    node and zone stay put, the gap below the zone is unused, and the field reads 0."""
    layout = PageFlagsLayout(pageflags, nr_cpus_bits=cpu_bits)
    nr = len(pageflags)
    assert layout.last_cpupid_width == 0
    assert (layout.nodes_pgshift, layout.zones_pgshift) == (54, 51)
    assert layout.last_cpupid(WORD_MASK) == 0
    assert layout.describe() == f"node 54-63, zone 51-53, unused {nr}-50, flags 0-{nr - 1}"


def test_last_cpupid_boundary_v4_20() -> None:
    """v4.20 has one bit less room than v4.18: 17 cpu bits still fit, 18 do not."""
    assert PageFlagsLayout(PAGEFLAGS_V4_20, nr_cpus_bits=17).last_cpupid_width == 25
    assert PageFlagsLayout(PAGEFLAGS_V4_20, nr_cpus_bits=18).last_cpupid_width == 0
    assert PageFlagsLayout(PAGEFLAGS_V4_18, nr_cpus_bits=18).last_cpupid_width == 26


def test_nodes_not_in_page_flags_is_rejected() -> None:
    """A node field that does not fit (NODES_NOT_IN_PAGE_FLAGS) is not modelled: it raises."""
    assert PageFlagsLayout(PAGEFLAGS_V4_18, nodes_shift=36).nodes_width == 36  # 36+3 = 39 fits
    with pytest.raises(ValueError, match="NODES_NOT_IN_PAGE_FLAGS"):
        _ = PageFlagsLayout(PAGEFLAGS_V4_18, nodes_shift=37).nodes_width


def test_fewer_zones_move_the_lower_fields_up() -> None:
    """Without ZONE_DEVICE (4 zones) the zone field is 2 bits and last_cpupid moves up one."""
    layout = PageFlagsLayout(PAGEFLAGS_V4_20, max_nr_zones=4)
    assert layout.describe() == (
        "node 54-63, zone 52-53, last_cpupid 31-51, unused 26-30, flags 0-25"
    )


# --- decoding -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [V4_18, V4_20], ids=["v4.18", "v4.20"])
def test_poisoned_flags_decode(layout: PageFlagsLayout) -> None:
    """flags == -1 reads zone 7, node 1023, every flag set, and is PagePoisoned."""
    assert layout.is_poisoned(WORD_MASK)
    assert layout.zone(WORD_MASK) == 7
    assert layout.nid(WORD_MASK) == 1023
    assert layout.last_cpupid(WORD_MASK) == LAST_CPUPID_ALL
    assert layout.set_names(WORD_MASK) == list(layout.pageflags)
    assert layout.test(WORD_MASK, "PG_reserved")
    assert layout.test(WORD_MASK, "PG_head")


@pytest.mark.parametrize("flags", [0, WORD_MASK - 1, WORD_MASK >> 1, WORD_MASK & ~(1 << 11)])
def test_almost_poisoned_is_not_poisoned(flags: int) -> None:
    """PagePoisoned is an exact compare with -1, not a bit test."""
    assert not V4_18.is_poisoned(flags)


@pytest.mark.parametrize("layout", [V4_18, V4_20], ids=["v4.18", "v4.20"])
def test_zeroed_flags_decode(layout: PageFlagsLayout) -> None:
    """After mm_zero_struct_page only: zone 0 (DMA), node 0, no flags."""
    assert layout.zone(0) == ZoneType.ZONE_DMA
    assert layout.nid(0) == 0
    assert layout.last_cpupid(0) == 0
    assert layout.set_names(0) == []
    assert not layout.is_poisoned(0)


@pytest.mark.parametrize("layout", [V4_18, V4_20], ids=["v4.18", "v4.20"])
@pytest.mark.parametrize("nid", [0, 1, 5, 1023])
def test_initialized_zone_device_page_decodes(layout: PageFlagsLayout, nid: int) -> None:
    """set_page_links + page_cpupid_reset_last + SetPageReserved, built with the layout's
    own positions, decode to zone 4, node nid, last_cpupid all ones and PG_reserved."""
    flags = 0
    for w in (
        set_field(Word.FLAGS, layout.zones_pgshift, layout.zones_width, ZoneType.ZONE_DEVICE),
        set_field(Word.FLAGS, layout.nodes_pgshift, layout.nodes_width, nid),
        set_field(
            Word.FLAGS, layout.last_cpupid_pgshift, layout.last_cpupid_width, LAST_CPUPID_ALL
        ),
        set_bits(Word.FLAGS, layout.flag("PG_reserved")),
    ):
        flags = w.apply(flags)
    assert layout.zone(flags) == ZoneType.ZONE_DEVICE
    assert layout.nid(flags) == nid
    assert layout.last_cpupid(flags) == LAST_CPUPID_ALL
    assert layout.set_names(flags) == ["PG_reserved"]
    assert layout.test(flags, "PG_reserved")
    assert not layout.test(flags, "PG_head")
    assert not layout.is_poisoned(flags)
    # the expected literal bit pattern (fields at 54/51/30, reserved at bit 11 or 12)
    reserved_bit = 11 if layout is V4_18 else 12
    assert flags == (nid << 54) | (4 << 51) | (LAST_CPUPID_ALL << 30) | (1 << reserved_bit)


def test_fields_are_disjoint_and_fill_from_the_top() -> None:
    """node, zone and last_cpupid are adjacent, non-overlapping, and end at bit 63."""
    for layout in (V4_18, V4_20):
        node = ((1 << layout.nodes_width) - 1) << layout.nodes_pgshift
        zone = ((1 << layout.zones_width) - 1) << layout.zones_pgshift
        cpupid = ((1 << layout.last_cpupid_width) - 1) << layout.last_cpupid_pgshift
        flags = (1 << layout.nr_pageflags) - 1
        masks = [node, zone, cpupid, flags]
        assert sum(bin(m).count("1") for m in masks) == bin(node | zone | cpupid | flags).count("1")
        assert node >> 63 == 1
        assert (node | zone | cpupid) == WORD_MASK & ~((1 << layout.last_cpupid_pgshift) - 1)
