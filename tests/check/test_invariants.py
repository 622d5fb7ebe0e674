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


def test_v4_18_second_device_in_a_section_reinitializes_the_first() -> None:
    """4.18 has no conflict probes and __add_pages ignores -EEXIST, so a second namespace
    in an already-added section still runs memmap_init_zone over the whole section —
    over the first namespace's struct pages. v4.19's "Conflicting mapping in same
    section" check refuses it instead.

        pfn 0x40000                 0x46400   0x46800             0x48000
            | low (100 MiB)         | high's reserve+free | high data |
            probed second           probed first
    """
    text = NODE + dev("high", "1124M", "28M") + dev("low", "1G", "100M")
    sc = parse_scenario(text, "t.toml")
    r = simulate(sc, "4.18")
    passes = [f for f in by_inv(r.findings, "PASSES") if f.device == "high"]
    assert passes, r.findings
    assert any("memmap_init_zone [low]" in f.message for f in passes)
    with pytest.raises(InputError) as e:
        simulate(sc, "4.20")
    assert e.value.field == "devices[1]"
    assert "Conflicting mapping in same section" in e.value.message


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
