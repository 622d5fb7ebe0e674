"""Invariant findings on faithful models: named regressions for kernel behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from memmapsim.config.scenario import load_scenario, parse_scenario
from memmapsim.errors import InputError
from memmapsim.simulate import simulate
from tests.scenario_text import NODE0, dev

NODE = 'name = "t"\n' + NODE0


def by_inv(findings: list, inv: str) -> list:  # type: ignore[type-arg]
    return [f for f in findings if f.invariant == inv]


def test_tiny_pmem_has_only_the_expected_findings() -> None:
    """Both versions leave the first pageblock's usemap bits unwritten (I4) and the
    memmap-hosting pfns without a pgmap (I5); nothing is initialized more than intended."""
    for kernel in ("4.18", "4.20"):
        r = simulate(load_scenario("tiny-pmem"), kernel)
        assert sorted(f.invariant for f in r.findings) == ["I4", "I5"]
        (i4,) = by_inv(r.findings, "I4")
        assert i4.ranges == ((0x40000, 0x40200),) and "stale" in i4.message
        (i5,) = by_inv(r.findings, "I5")
        assert i5.ranges == ((0x40002, 0x40600),) and "&page->lru" in i5.message


def test_defer_v5_without_the_refcount_fix_underflows_the_pgmap_ref() -> None:
    """Duyck's v5 4/4 (2018-09-25) dropped the per-page percpu_ref_get; release still puts
    one reference per page — Dan Williams's 2018-10-08 report. The fix folded into
    966cf44f637e takes them back with one percpu_ref_get_many."""
    sc = load_scenario("tiny-pmem")
    v5 = simulate(sc, "4.18+nonatomic-reserved+defer-zone-device-v5")
    (f,) = by_inv(v5.findings, "I2")
    assert "underflows by 49664" in f.message
    fixed = simulate(sc, "4.18+nonatomic-reserved+defer-zone-device")
    assert by_inv(fixed.findings, "I2") == []
    assert fixed.mem.pgmaps[0].ref.gets == 49664


@pytest.mark.parametrize("kernel", ["4.18", "4.19", "4.20"])
def test_second_device_covering_an_aligned_end_of_the_first_is_refused(kernel: str) -> None:
    """get_dev_pagemap at the first and last pfn of the aligned range (kernel/memremap.c
    186-197 of v4.18.0, 161-173 of v4.20.0): "low" is probed second and its aligned range
    ends in "high", so every version refuses it with -ENOMEM.

        pfn 0x40000                 0x46400   0x46800             0x48000
            | low (100 MiB)         | high's reserve+free | high data |
            probed second           probed first
    """
    text = NODE + dev("high", "1124M", "28M") + dev("low", "1G", "100M")
    with pytest.raises(InputError) as e:
        simulate(parse_scenario(text, "t.toml"), kernel)
    assert e.value.field == "devices[1]"
    assert f"kernel {kernel} refuses low (-ENOMEM)" in e.value.message
    assert '"nd_pmem pfn1.0: Conflicting mapping in same section"' in e.value.message


# Two namespaces with their memmap in RAM, in one section whose first and last pfn
# neither covers, so no probe refuses pmem1 (names: r0 probed first, r1 second):
#
#   pfn 0x40000  0x41000      0x43000  0x44000      0x46000          0x48000
#       | (hole)  | r0 [1G+16M, |       | r1 [1G+64M, |     (hole)     |
#       |         |  1G+48M)    |       |  1G+96M)    |                |
#       |<------------------- one 128 MiB section ------------------->|
OVERWRITE = NODE + dev("r0", "1040M", "32M", memmap="ram") + dev("r1", "1088M", "32M", memmap="ram")
R0_DATA = (1040 << 8) + 512  # dataoff 2 MiB: the info block padded to the 2 MiB align


@pytest.mark.parametrize(
    ("kernel", "r0_passes", "pgmap_after"),
    [
        # v4.18: r1's memmap_init_zone (locked) runs over the whole section, after r0's
        # pgmap loop: r0's data pages lose page->pgmap (INIT_LIST_HEAD's self pointer).
        (
            "4.18",
            [
                ("memmap_init_zone", "r0", True),
                ("devm_memremap_pages", "r0", False),
                ("memmap_init_zone", "r1", True),
            ],
            None,
        ),
        # v4.20: memmap_init_zone_device of r1 (unlocked) covers the whole section: r0's
        # data pages now point at r1's pgmap.
        (
            "4.20",
            [("memmap_init_zone_device", "r0", False), ("memmap_init_zone_device", "r1", False)],
            1,
        ),
    ],
)
def test_second_device_in_a_section_reinitializes_the_first(
    kernel: str, r0_passes: list[tuple[str, str, bool]], pgmap_after: int | None
) -> None:
    """The overwrite the conflict probes miss: __add_pages ignores -EEXIST for the shared
    section, and the init of the second device covers its whole section-aligned span."""
    r = simulate(parse_scenario(OVERWRITE, "t.toml"), kernel)
    page = r.mem.page(R0_DATA)
    assert [(p.by, p.who, p.locked) for p in page.record.init_passes] == r0_passes
    assert page.pgmap == pgmap_after
    passes = [f for f in by_inv(r.findings, "PASSES") if f.device == "r0"]
    assert passes and any("[r1]" in f.message for f in passes)
    i5 = [f for f in by_inv(r.findings, "I5") if f.device == "r0"]
    assert i5 and i5[0].ranges[0][0] <= R0_DATA < i5[0].ranges[0][1]


def test_v4_18_mid_section_start_skips_first_data_pages() -> None:
    """pfn_first() adds vmem_altmap_offset() (counted from the section-aligned base) to
    res.start (not aligned): the pgmap loop starts past the first data pfns, which keep
    a self-pointer in page->pgmap. Derived from the source; no report is known."""
    sc = parse_scenario(NODE + dev("mid", "1088M", "64M"), "t.toml")
    r = simulate(sc, "4.18")
    pg = r.mem.pgmaps[0]
    assert pg.altmap is not None
    true_first = pg.altmap.cfg.base_pfn + pg.altmap.cfg.offset()
    assert pg.cfg.pfn_first() - true_first == (1088 - 1024) * 256
    page = r.mem.page(true_first)
    assert page.pgmap is None and page.reserved
    assert any(f.device == "mid" and f.ranges[-1][1] > true_first for f in by_inv(r.findings, "I5"))


def test_example_scenario_files_are_valid(tmp_path: Path) -> None:
    sc = parse_scenario(NODE + dev("a", "1G", "128M"), str(tmp_path / "x.toml"))
    r = simulate(sc, "4.20")
    assert r.devices[0].pages_unlocked == 32768 - 1024


TEARDOWN = (
    NODE
    + dev("pmem0", "1G", "200M")
    + ('\n[[steps]]\naction = "add"\n\n[[steps]]\naction = "remove"\n')
)


def test_defer_v5_underflow_shows_at_the_teardown_too() -> None:
    """The same v5 posting, added and removed: the release puts 49,664 references that
    were never taken (I2 now counts the puts made)."""
    r = simulate(parse_scenario(TEARDOWN, "t.toml"), "4.18+nonatomic-reserved+defer-zone-device-v5")
    (f,) = by_inv(r.findings, "I2")
    assert f.message.startswith("0 pgmap references taken, 49664 pages put at release")


def test_i2_after_a_teardown_counts_the_puts_made_not_the_puts_intended() -> None:
    """A teardown that puts fewer references than it took (e.g. a change file that skips
    put_page) leaks them: I2 compares with what was put, not with what the version
    intends to put."""
    from msgspec.structs import replace

    from memmapsim.check.invariants import check_refs

    r = simulate(parse_scenario(TEARDOWN, "t.toml"), "5.16")
    (d,) = r.devices
    assert d.pgmap is not None and d.expected is not None
    d.pgmap.ref.puts -= 100  # as if 100 put_page calls had been skipped
    (f,) = check_refs(d.pgmap, d.expected, "pmem0")
    assert "100 references leak" in f.message
    assert check_refs(d.pgmap, replace(d.expected, removed=False), "pmem0") == []


def test_i6_a_memmap_left_behind_after_removal() -> None:
    """I6: after a teardown no struct page of the span may remain mapped."""
    from memmapsim.check.invariants import check_removed

    r = simulate(parse_scenario(TEARDOWN, "t.toml"), "6.6")
    (d,) = r.devices
    assert d.expected is not None and check_removed(r.mem, d.expected, "pmem0") == []
    r.mem.memmap.populate(0x48000, 0x48200)  # as if one 2 MiB sub-section were left
    (f,) = check_removed(r.mem, d.expected, "pmem0")
    assert (f.invariant, f.ranges, f.pages) == ("I6", ((0x48000, 0x48200),), 512)


def test_a_device_added_and_removed_twice_tears_down_each_pgmap_once() -> None:
    text = TEARDOWN + '\n[[steps]]\naction = "add"\n\n[[steps]]\naction = "remove"\n'
    r = simulate(parse_scenario(text, "t.toml"), "6.6")
    first, second = r.mem.all_pgmaps()
    assert first.freed and second.freed
    assert first.ref.puts == first.ref.gets == second.ref.puts == second.ref.gets > 0
    assert not by_inv(r.findings, "I2")
