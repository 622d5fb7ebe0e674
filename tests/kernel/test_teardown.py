"""Teardown on every version: tiny-pmem added and removed, tiny-hmm, and a section two
devices share.

tiny-pmem's removal (``devm_memremap_pages_release`` / ``memunmap_pages``)::

    pfn  0x40000 0x40002        data start                  0x4c800    0x50000
         |reserve|free (memmap) | data ...                    | padding |
          ^ v5.0-v5.3 read the zone here (never initialized; 77e080e7680e reads data start)
          ^ v4.18-v5.3 shrink_zone_span reads the first pfn of the first valid section
"""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import load_scenario, parse_scenario
from memmapsim.kernel.versions import RELEASES, release_params
from memmapsim.model.memmap import ABSENT_RECORD
from memmapsim.model.section import SectionFlag
from memmapsim.simulate import RunResult, simulate
from tests.scenario_text import NODE0, dev

ADD_REMOVE = '\n[[steps]]\naction = "add"\n\n[[steps]]\naction = "remove"\n'
TINY = 'name = "t"\n' + NODE0 + dev("pmem0", "1G", "200M") + ADD_REMOVE
ALL = [r for r in RELEASES if release_params(r).device_kinds]
"""Every release whose ZONE_DEVICE paths are modelled (4.14 is boot-only)."""


def removed(kernel: str, text: str = TINY, engine: str = "timing") -> RunResult:
    return simulate(parse_scenario(text, "t.toml"), kernel, engine=engine)


def readers(r: RunResult) -> set[tuple[str, str, int]]:
    return {(f.invariant, f.message.split(" read ")[0], f.ranges[0][0]) for f in r.findings}


@pytest.mark.parametrize("kernel", ALL)
def test_removal_leaves_no_memmap_and_puts_every_reference(kernel: str) -> None:
    r = removed(kernel)
    (d,) = r.devices
    assert d.removed and d.pgmap is not None
    assert d.refs_taken == d.refs_put == d.pgmap.ref.puts > 0
    assert not d.pgmap.ref.live
    lo, hi = d.expected.span if d.expected else (0, 0)
    assert r.mem.memmap.histogram(lo, hi) == {ABSENT_RECORD: hi - lo}
    for _a, _b, state in r.mem.sections.runs(lo >> 15, hi >> 15):
        assert not state.flags & SectionFlag.MARKED_PRESENT
    assert r.mem.indexes["pgmap"].lookup(0x40800) is None
    assert r.mem.claims == []
    assert r.mem.pgmap(d.pgmap.id).altmap is not None
    assert r.mem.pgmap(d.pgmap.id).altmap.alloc == 0  # type: ignore[union-attr]
    assert not [f for f in r.findings if f.invariant in ("I2", "I6")]


@pytest.mark.parametrize(
    ("kernel", "reads"),
    [
        # x86 arch_remove_memory reads the first data page (initialized), but
        # __remove_zone's shrink_zone_span reads the reserve pfn
        ("4.18", {("I8", "shrink_zone_span", 0x40000)}),
        ("4.20", {("I8", "shrink_zone_span", 0x40000)}),
        # v5.0: the release reads the node from the aligned start: the reserve
        ("5.0", {("I8", "shrink_zone_span", 0x40000),
                 ("I1", "devm_memremap_pages_release", 0x40000)}),
        ("5.3", {("I8", "shrink_zone_span", 0x40000), ("I1", "memunmap_pages", 0x40000)}),
        # 77e080e7680e and "don't shrink the spans of ZONE_DEVICE" (v5.4)
        ("5.4", set()),
        ("7.1", set()),
    ],
)  # fmt: skip
def test_teardown_reads_of_uninitialized_struct_pages(
    kernel: str, reads: set[tuple[str, str, int]]
) -> None:
    assert readers(removed(kernel)) == reads


@pytest.mark.parametrize(("kernel", "bulk"), [("5.17", False), ("5.18", True)])
def test_5_18_puts_the_references_in_bulk(kernel: str, bulk: bool) -> None:
    """memunmap_pages: put_page per (compound head) pfn in v5.17; one
    percpu_ref_put_many per range from v5.18."""
    r = removed(kernel, engine="inorder")
    puts = [t.effect for t in r.trace if type(t.effect).__name__ == "InitPages"
            and t.effect.work.fn == "memunmap_pages"]  # fmt: skip
    assert bool(puts) is not bulk


@pytest.mark.parametrize("kernel", ["4.18", "4.20", "5.0", "5.3", "6.1", "7.1"])
def test_tiny_hmm_added_and_removed(kernel: str) -> None:
    r = simulate(load_scenario("tiny-hmm"), kernel)
    (d,) = r.devices
    assert d.removed and d.pgmap is not None and not d.pgmap.ref.live
    assert d.refs_taken == d.refs_put
    assert r.mem.memmap.record(0x400000) == ABSENT_RECORD
    assert r.findings == []
    # HMM's own radix (4.18-4.20) or the pgmap index: empty again
    assert r.mem.indexes["hmm_devmem"].lookup(0x400000) is None
    assert r.mem.indexes["pgmap"].lookup(0x400000) is None


SHARED = (
    'name = "shared"\n'
    + NODE0
    + dev("pmem0", "1G", "64M")
    + dev("pmem1", "1088M", "64M")
    + '\n[[steps]]\naction = "add"\n\n[[steps]]\naction = "remove"\ndevices = ["pmem0"]\n'
)


def test_two_devices_in_one_section_are_refused_before_5_3() -> None:
    """Up to v5.2 memory is added by whole sections: the second device's conflict probe
    finds the first's pgmap in the section and the probe fails."""
    from memmapsim.errors import InputError

    with pytest.raises(InputError) as e:
        simulate(parse_scenario(SHARED, "shared.toml"), "4.20")
    assert "Conflicting mapping in same section" in e.value.message


@pytest.mark.parametrize("kernel", ["5.4", "6.6", "7.1"])
def test_removing_one_device_of_a_shared_section(kernel: str) -> None:
    """Two 64 MiB namespaces in one 128 MiB section (sub-section hotplug, v5.3+; from v5.4,
    where the removal reads no uninitialized page): removing
    pmem0 clears its sub-sections and memmap only; pmem1 stays whole."""
    r = simulate(parse_scenario(SHARED, "shared.toml"), kernel)
    pmem0, pmem1 = r.devices
    assert pmem0.removed and not pmem1.removed
    assert pmem0.pgmap is not None and pmem1.pgmap is not None
    assert r.mem.memmap.record(pmem0.pgmap.cfg.pfn_first()) == ABSENT_RECORD
    assert r.mem.page(pmem1.pgmap.cfg.pfn_first()).pgmap == pmem1.pgmap.id
    ((_lo, _hi, sec),) = r.mem.sections.runs(0x8, 0x9)
    assert sec.subsection_map == ((1 << 32) - 1) << 32  # pmem1's half of the section
    assert sec.flags & SectionFlag.MARKED_PRESENT
    # only what the add leaves on any tiny fsdax (first pageblock, memmap host's pgmap)
    assert {f.invariant for f in r.findings} <= {"I4", "I5"}
    assert not [f for f in r.findings if "no memmap" in f.message]


def test_a_device_removed_and_added_again() -> None:
    """add, remove, add: the second probe maps the device afresh (a new pgmap; the
    report shows the newest) on a memmap populated again."""
    text = TINY + '\n[[steps]]\naction = "add"\n'
    r = removed("6.6", text)
    (d,) = r.devices
    assert not d.removed and d.pgmap is not None and d.pgmap.id == 1
    assert r.mem.pgmap(0).freed
    assert d.pages_initialised == 1022 + (d.log_pages or 0)  # the memmap host, then the rest
    assert {f.invariant for f in r.findings} <= {"I4", "I5"}
