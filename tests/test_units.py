"""Units: size parsing and formatting, x86_64 memory-model constants, alignment helpers
and the kernel's %pr / %pR resource rendering (spec §1.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memmapsim.units import (
    ALIGN,
    ALIGN_DOWN,
    IS_ALIGNED,
    PAGE_SIZE,
    PAGEBLOCK_NR_PAGES,
    PAGES_PER_SECTION,
    PAGES_PER_SUBSECTION,
    PFN_PHYS,
    PHYS_PFN,
    PMD_SIZE,
    SECTION_ALIGN_DOWN,
    SECTION_ALIGN_UP,
    SECTION_SIZE,
    STRUCT_PAGE_SIZE,
    GiB,
    KiB,
    MiB,
    PiB,
    SizeError,
    TiB,
    format_size,
    pageblock_nr,
    parse_size,
    pfn_to_section_nr,
    resource_str,
    resource_str_R,
    section_nr_to_pfn,
)

# --- parse_size -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("3T", 3 * TiB),
        ("128M", 128 * MiB),
        ("200MiB", 200 * MiB),
        ("200MB", 200 * MiB),  # binary, as memparse
        ("0x1_0000_0000", 4 * GiB),
        ("0x40000000", GiB),
        ("0X10M", 16 * MiB),
        ("1.5G", 3 * GiB // 2),
        ("0.5K", 512),
        ("1_000", 1000),
        ("4096", 4096),
        ("  8K ", 8 * KiB),
        ("1P", PiB),
        ("0", 0),
        (4096, 4096),
        (0, 0),
        (3 * TiB, 3 * TiB),
    ],
)
def test_parse_size(text: str | int, nbytes: int) -> None:
    """Binary suffixes, optional iB/B, hex, underscores, whole-byte fractions and ints."""
    assert parse_size(text) == nbytes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (-1, "negative"),
        (True, "expected a size"),
        (False, "expected a size"),
        ("abc", "cannot parse size 'abc'"),
        ("", "cannot parse size ''"),
        ("-4K", "cannot parse"),
        ("3X", "cannot parse"),
        ("1.0000001K", "not a whole number of bytes"),
        ("1.5", "not a whole number of bytes"),
    ],
)
def test_parse_size_rejects(text: str | int, message: str) -> None:
    """Bad input raises SizeError (a ValueError) whose message says what was wrong."""
    with pytest.raises(SizeError, match=message):
        parse_size(text)
    assert issubclass(SizeError, ValueError)


def test_parse_size_error_shows_examples() -> None:
    with pytest.raises(SizeError, match=r"examples: 3T, 128M"):
        parse_size("three terabytes")


# --- format_size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [
        (3 * TiB, "3T"),
        (200 * MiB, "200M"),
        (8 * KiB, "8K"),
        (PiB, "1P"),
        (1536 * MiB, "1536M"),  # 1.5G is not a whole number of G
        (1000, "1000"),
        (0, "0"),
        (GiB + 4 * KiB, "1048580K"),
    ],
)
def test_format_size(nbytes: int, text: str) -> None:
    """The largest binary unit that divides the size exactly."""
    assert format_size(nbytes) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1 << 62))
def test_format_parse_round_trip(nbytes: int) -> None:
    assert parse_size(format_size(nbytes)) == nbytes


# --- constants ------------------------------------------------------------------------


def test_x86_64_constants() -> None:
    """4 KiB pages, 64-byte struct page, 128 MiB sections, 512-pfn pageblocks/subsections;
    one section's memmap is exactly one 2 MiB PMD."""
    assert PAGE_SIZE == 4096
    assert STRUCT_PAGE_SIZE == 64
    assert PAGES_PER_SECTION == 32768
    assert SECTION_SIZE == 128 * MiB == PAGES_PER_SECTION * PAGE_SIZE
    assert PAGEBLOCK_NR_PAGES == 512
    assert PAGES_PER_SUBSECTION == 512
    assert PAGES_PER_SECTION * STRUCT_PAGE_SIZE == PMD_SIZE == 2 * MiB


def test_pfn_conversions() -> None:
    assert PHYS_PFN(GiB) == 262144
    assert PHYS_PFN(GiB + PAGE_SIZE - 1) == 262144
    assert PFN_PHYS(262144) == GiB
    assert pfn_to_section_nr(PHYS_PFN(GiB)) == 8
    assert pfn_to_section_nr(32767) == 0 and pfn_to_section_nr(32768) == 1
    assert section_nr_to_pfn(8) == 262144
    assert pageblock_nr(511) == 0 and pageblock_nr(512) == 1 and pageblock_nr(1024) == 2


@pytest.mark.parametrize(
    ("pfn", "down", "up"),
    [
        (0, 0, 0),
        (1, 0, 32768),
        (32767, 0, 32768),
        (32768, 32768, 32768),
        (32769, 32768, 65536),
        (PHYS_PFN(GiB) + 2, PHYS_PFN(GiB), PHYS_PFN(GiB) + 32768),
    ],
)
def test_section_align(pfn: int, down: int, up: int) -> None:
    assert SECTION_ALIGN_DOWN(pfn) == down
    assert SECTION_ALIGN_UP(pfn) == up


@pytest.mark.parametrize(
    ("x", "a", "up", "down"),
    [(0, 512, 0, 0), (1, 512, 512, 0), (512, 512, 512, 512), (513, 512, 1024, 512), (7, 1, 7, 7)],
)
def test_align(x: int, a: int, up: int, down: int) -> None:
    assert ALIGN(x, a) == up
    assert ALIGN_DOWN(x, a) == down
    assert IS_ALIGNED(x, a) is (x == down)


# --- %pr / %pR ------------------------------------------------------------------------


def test_resource_str_matches_kernel_pr() -> None:
    """%pr: at least 8 hex digits (field width 10 with 0x), inclusive end, flags in hex."""
    assert resource_str(0x40000000, 0x4C7FFFFF) == "[mem 0x40000000-0x4c7fffff flags 0x200]"
    assert resource_str(0xA0000, 0xBFFFF) == "[mem 0x000a0000-0x000bffff flags 0x200]"
    assert (
        resource_str(0x10_0000_0000, 0x10_BFFF_FFFF, 0x80000200)
        == "[mem 0x1000000000-0x10bfffffff flags 0x80000200]"
    )


def test_resource_str_R_matches_kernel_pR() -> None:
    assert resource_str_R(0xA0000, 0xBFFFF) == "[mem 0x000a0000-0x000bffff]"
    assert resource_str_R(0x40000000, 0x4C7FFFFF) == "[mem 0x40000000-0x4c7fffff]"


# --- regressions found by review ------------------------------------------------------
@pytest.mark.parametrize("text", ["0x_", "3iB", "iB"])
def test_malformed_sizes_raise_size_error(text: str) -> None:
    with pytest.raises(SizeError):
        parse_size(text)


@pytest.mark.parametrize(("text", "value"), [("128m", 128 << 20), ("3t", 3 << 40), ("12B", 12)])
def test_lowercase_suffixes_as_memparse(text: str, value: int) -> None:
    assert parse_size(text) == value
