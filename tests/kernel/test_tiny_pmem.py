"""tiny-pmem walked field by field, per version, against spec §1.2, §2.1, §4.1, §4.4.

The layout under test (200 MiB fsdax namespace at 1 GiB, memmap on the device;
reserve 2, free 1534 = two 2 MiB memmap blocks + 510 pfns aligning the first)::

    pfn  0x40000   0x40002            0x40600               0x48000        0x4c800    0x50000
         |reserve  | free: memmap host | data (section tail) | data          | padding |
         |<------------------ section 0x8 ---------------->|<---------- section 0x9 ------->|
         pageblock 0x200 = [0x40000, 0x40200): the loop starts at 0x40002, never visits it
"""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from memmapsim.config.scenario import Knobs, load_scenario
from memmapsim.model.pageblock import STALE_USEMAP, MigrateType
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.structpage import (
    LIST_POISON2,
    SELF_LRU,
    Word,
)
from memmapsim.simulate import RunResult, simulate

RESERVE, FREE, DATA, BLOCK, LAST_DATA, PAD = 0x40000, 0x40002, 0x40600, 0x40800, 0x4C7FF, 0x4C800
SECTION_END = 0x48000


def run(kernel: str, backend: str = "runs", **knobs: object) -> RunResult:
    sc = load_scenario("tiny-pmem")
    if knobs:
        sc = replace(sc, knobs=Knobs(**knobs))  # type: ignore[arg-type]
    return simulate(sc, kernel, backend)


def passes(r: RunResult, pfn: int) -> list[tuple[str, bool]]:
    return [(p.by, p.locked) for p in r.mem.page(pfn).record.init_passes]


@pytest.mark.parametrize("backend", ["runs", "dense"])
def test_v4_18(backend: str) -> None:
    r = run("4.18", backend)
    mem = r.mem
    # The altmap reserve is never written: stale media contents (no DEBUG_VM).
    assert mem.page(RESERVE).stale and mem.page(FREE - 1).stale
    assert passes(r, RESERVE) == []

    # altmap free: memmap_init_zone under the lock, atomic SetPageReserved (bit 11 in
    # 4.18), no pgmap: word 1 still holds INIT_LIST_HEAD's self pointer.
    free = mem.page(FREE)
    assert (free.zone, free.nid, free.refcount, free.mapcount) == (ZoneType.ZONE_DEVICE, 0, 1, -1)
    assert free.flags >> 11 & 1 and free.reserved
    assert free.words[Word.LRU_NEXT] == SELF_LRU == free.words[Word.LRU_PREV]
    assert free.pgmap is None and not free.page_tail
    assert mem.layout.last_cpupid(free.flags) == (1 << 21) - 1
    assert passes(r, FREE) == [("memmap_init_zone", True)]

    # data: initialized under the lock, then the unlocked pgmap loop: list_del leaves
    # LIST_POISON2 in lru.prev (hmm_data) and page->pgmap overwrites LIST_POISON1.
    for pfn in (DATA, LAST_DATA):
        page = mem.page(pfn)
        assert (page.zone, page.nid, page.refcount, page.reserved) == (4, 0, 1, True)
        assert page.pgmap == 0
        assert page.words[Word.LRU_PREV] == LIST_POISON2
        assert passes(r, pfn) == [("memmap_init_zone", True), ("devm_memremap_pages", False)]

    # section padding beyond res: initialized under the lock only, no pgmap, and not in
    # the pgmap index (get_dev_pagemap finds nothing there).
    pad = mem.page(PAD)
    assert (pad.zone, pad.reserved, pad.pgmap) == (4, True, None)
    assert passes(r, PAD) == [("memmap_init_zone", True)]
    assert mem.indexes["pgmap"].lookup(PAD) is None
    assert mem.indexes["pgmap"].lookup(DATA) == 0 == mem.indexes["pgmap"].lookup(RESERVE)

    # Pageblocks: the first one is never visited (kmalloc'ed usemap, stale bits); every
    # pageblock-aligned pfn the loop visits is MIGRATE_MOVABLE.
    assert mem.pageblocks.get_pfn(RESERVE) == STALE_USEMAP
    for pfn in (DATA, BLOCK, PAD):
        assert mem.pageblocks.get_pfn(pfn) == MigrateType.MIGRATE_MOVABLE
    assert mem.indexes["pgmap"].kind == "radix"


@pytest.mark.parametrize("backend", ["runs", "dense"])
def test_v4_20(backend: str) -> None:
    r = run("4.20", backend)
    mem = r.mem
    assert mem.page(RESERVE).stale
    # altmap free: still under the lock (966cf44f637e keeps the memmap host there),
    # non-atomic __SetPageReserved, PG_reserved is bit 12 now (PG_workingset).
    free = mem.page(FREE)
    assert (free.zone, free.reserved, free.pgmap) == (4, True, None)
    assert free.flags >> 12 & 1
    assert passes(r, FREE) == [("memmap_init_zone", True)]
    # data and padding: memmap_init_zone_device, outside the lock; pgmap set, hmm_data = 0.
    # The data from the altmap's end to that section's end had a plain locked init first:
    # v4.20.0's section-tail loop (mm/page_alloc.c:5545-5555, 2830bf6f05fb).
    for pfn in (DATA, LAST_DATA, PAD):
        page = mem.page(pfn)
        assert (page.zone, page.nid, page.refcount, page.reserved) == (4, 0, 1, True)
        assert page.pgmap == 0 and page.words[Word.LRU_PREV] == 0
    device = [("memmap_init_zone_device", False)]
    assert passes(r, DATA) == [("memmap_init_zone (section tail)", True), *device]
    assert passes(r, SECTION_END - 1) == [("memmap_init_zone (section tail)", True), *device]
    assert passes(r, SECTION_END) == passes(r, LAST_DATA) == passes(r, PAD) == device
    # 1,534 memmap-host pfns + 31,232 section-tail data pfns under the lock.
    assert r.devices[0].pages_locked == 1534 + (SECTION_END - DATA) == 32_766
    assert r.devices[0].pages_unlocked == 64_000
    assert mem.indexes["pgmap"].lookup(PAD) is None
    assert mem.indexes["pgmap"].kind == "xarray"
    assert mem.pageblocks.get_pfn(RESERVE) == STALE_USEMAP
    assert mem.pageblocks.get_pfn(BLOCK) == MigrateType.MIGRATE_MOVABLE
    # The printk counts the post-altmap span incl. padding; the refs only res's data.
    # 64000 pages at 30.9 ns (xeon-2018-pmem, node-local) is 2 ms.
    assert [ln.text for ln in r.log] == ["pfn0.0 initialised, 64000 pages in 2ms"]
    assert r.mem.pgmaps[0].ref.gets == 49664 == 0x4C800 - DATA


def test_section_tail_change_is_selectable_on_4_18() -> None:
    """2830bf6f05fb (in v4.20, reverted during v5.0-rc) on top of 4.18: the section-aligned
    span already ends on a section boundary, so the loop adds nothing there."""
    plain, tail = run("4.18"), run("4.18+memmap-section-tail")
    assert passes(tail, DATA) == passes(plain, DATA)
    assert tail.devices[0].pages_locked == plain.devices[0].pages_locked


def test_debug_vm_poisons_the_reserve_in_4_18() -> None:
    """CONFIG_DEBUG_VM memsets every hot-added section's memmap to 0xFF; the reserve is
    never initialized afterwards, so it reads as a poisoned page: flags == -1, zone 7,
    node 1023, PageTail (compound_head bit 0)."""
    r = run("4.18", debug_vm=True)
    page = r.mem.page(RESERVE)
    assert page.poisoned and page.zone == 7 and page.nid == 1023 and page.page_tail
    assert r.mem.page(DATA).record.poisonings == 1 and not r.mem.page(DATA).poisoned
    assert r.devices[0].poisoned_pages == 65536


@pytest.mark.parametrize(
    ("vm_debug", "poisoned", "log"),
    [
        (None, True, []),
        ("", True, []),
        ("-", False, ["Page struct poisoning disabled by kernel command line option 'vm_debug'"]),
        ("p", True, []),
        (
            "x",
            False,
            [
                "vm_debug option 'x' unknown. skipped",
                "Page struct poisoning disabled by kernel command line option 'vm_debug'",
            ],
        ),
    ],
)
def test_vm_debug_parameter_in_4_20(vm_debug: str | None, poisoned: bool, log: list[str]) -> None:
    from memmapsim.kernel.vm_debug import boot_messages, page_init_poisoning

    r = run("4.20", debug_vm=True, vm_debug=vm_debug)
    assert r.mem.page(RESERVE).poisoned is poisoned
    assert page_init_poisoning(r.kernel) is poisoned
    assert [text for _lvl, text in boot_messages(r.kernel)] == log
    # the messages reach the run's kernel log, before any probe's line
    assert [ln.text for ln in r.log][: len(log)] == log


def test_vm_debug_does_not_exist_in_4_18() -> None:
    r = run("4.18", debug_vm=True, vm_debug="-")
    assert r.mem.page(RESERVE).poisoned
