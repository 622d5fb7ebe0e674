"""Era C, v5.0-v5.16, on tiny-pmem and a machine with every device kind, field by field.

tiny-pmem (200 MiB fsdax at 1 GiB, memmap on the device). Up to v5.2 the add covers
whole sections, as in v4.20 but without the section-tail loop (reverted by 4aa9fc2a435a
for v5.0)::

    pfn  0x40000  0x40002             0x40600                         0x4c800    0x50000
         |reserve |free: memmap host  | data                          | padding  |
         |<----------- section 0x8 ------------>|<------- section 0x9 ---------->|

Since v5.3 the pfn block is laid out on 2 MiB sub-sections (npfns no longer rounded up
to a section, so the memmap needs 4 MiB less) and only ``res`` is added: the tail of
section 0x9 has no memmap, and section 0x9 — a partial-section add — gets its memmap
from RAM in 4 KiB pages (x86 ``vmemmap_populate`` ignores the altmap below a section)::

    pfn  0x40000  0x40002     0x40400                   0x48000           0x4c800    0x50000
         |reserve |free (1022)| data, memmap on device   | data, memmap RAM | no memmap|
                                                         sub-sections 0-35 of 0x9 valid
"""

from __future__ import annotations

import re

import pytest

from memmapsim.config.scenario import load_scenario, parse_scenario
from memmapsim.errors import InputError
from memmapsim.model.memmap import ABSENT_RECORD
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.pgmap import MemoryType
from memmapsim.model.section import Medium, MemmapBacking, SectionFlag
from memmapsim.model.structpage import Word
from memmapsim.simulate import RunResult, simulate
from tests.scenario_text import NODE0, dev

ERA_C = ["5.0", "5.1", "5.3", "5.4", "5.10", "5.12", "5.16"]
WHOLE_SECTIONS = {"5.0", "5.1"}
RESERVE, FREE, PAD = 0x40000, 0x40002, 0x4C800
SEC8, SEC9 = 0x8, 0x9


def tiny(kernel: str, backend: str = "runs", engine: str = "timing") -> RunResult:
    return simulate(load_scenario("tiny-pmem"), kernel, backend, engine)


def passes(r: RunResult, pfn: int) -> list[tuple[str, bool]]:
    return [(p.by, p.locked) for p in r.mem.page(pfn).record.init_passes]


@pytest.mark.parametrize("backend", ["runs", "dense"])
@pytest.mark.parametrize("kernel", ERA_C)
def test_tiny_pmem(kernel: str, backend: str) -> None:
    r = tiny(kernel, backend)
    mem, d = r.mem, r.devices[0]
    whole = kernel in WHOLE_SECTIONS
    data = 0x40600 if whole else 0x40400
    assert d.pgmap is not None and d.pgmap.altmap is not None
    assert (d.pgmap.altmap.cfg.reserve, d.pgmap.altmap.cfg.free) == (2, data - FREE)
    # the reserve is never written; the memmap host is initialised under the lock only
    assert mem.page(RESERVE).stale and passes(r, RESERVE) == []
    assert passes(r, FREE) == passes(r, data - 1) == [("memmap_init_zone", True)]
    free = mem.page(FREE)
    assert (free.zone, free.nid, free.reserved, free.pgmap) == (ZoneType.ZONE_DEVICE, 0, True, None)
    # the data: one unlocked pass each (no section-tail loop since v5.0)
    for pfn in (data, PAD - 1):
        page = mem.page(pfn)
        assert passes(r, pfn) == [("memmap_init_zone_device", False)]
        assert (page.zone, page.nid, page.refcount, page.reserved) == (4, 0, 1, True)
        assert page.pgmap == d.pgmap.id and page.words[Word.LRU_PREV] == 0
    if whole:
        # the section padding is initialised too, and counted by the log line
        assert passes(r, PAD) == [("memmap_init_zone_device", False)]
        log_pages = 0x50000 - data
    else:
        # nothing of section 0x9 beyond res exists: no memmap, invalid sub-sections
        assert mem.memmap.record(PAD) == ABSENT_RECORD
        ((_lo, _hi, sec9),) = mem.sections.runs(SEC9, SEC9 + 1)
        assert sec9.subsection_map == (1 << 36) - 1
        assert mem.vmemmap.backing(0x48000) == MemmapBacking(Medium.RAM, 0)
        log_pages = PAD - data
    assert mem.vmemmap.backing(data) == MemmapBacking(Medium.DEVICE, 0, d.pgmap.id)
    assert (d.pages_locked, d.pages_unlocked) == (data - FREE, log_pages)
    assert d.refs_taken == PAD - data == d.refs_put_at_release
    # v5.0-v5.3 print the device name, v5.4+ __func__ and no comma (pgmap->dev is gone)
    if kernel in ("5.0", "5.1", "5.3"):
        pattern = rf"pfn0\.0 initialised, {log_pages} pages in \d+ms"
    else:
        pattern = rf"memmap_init_zone_device initialised {log_pages} pages in \d+ms"
    assert [ln.level for ln in r.log] == ["info"]
    assert re.fullmatch(pattern, r.log[0].text), r.log[0].text


def test_5_3_usage_is_zeroed_so_the_unvisited_pageblock_reads_unmovable() -> None:
    """v4.18-v5.2 kmalloc the usemap (stale bits); v5.3's ``section_activate`` kzallocs
    ``ms->usage``, so the first pageblock, which no init loop visits (it starts at the
    reserve's end), reads MIGRATE_UNMOVABLE (0)."""
    r = tiny("5.3")
    assert r.mem.pageblocks.get_pfn(RESERVE) == 0
    (i4,) = [f for f in r.findings if f.invariant == "I4"]
    assert i4.ranges == ((RESERVE, RESERVE + 512),)
    assert "MIGRATE_UNMOVABLE" in i4.message


@pytest.mark.parametrize(("kernel", "tainted"), [("5.10", False), ("5.12", True), ("5.16", True)])
def test_5_12_taints_the_section_of_an_unaligned_end(kernel: str, tainted: bool) -> None:
    """``move_pfn_range_to_zone`` (v5.12) sets SECTION_TAINT_ZONE_DEVICE on the section of a
    start or end that is not section aligned: here the end (0x4c800), not the start."""
    r = tiny(kernel)
    ((_a, _b, sec8),) = r.mem.sections.runs(SEC8, SEC8 + 1)
    ((_c, _d, sec9),) = r.mem.sections.runs(SEC9, SEC9 + 1)
    assert not sec8.flags & SectionFlag.TAINT_ZONE_DEVICE
    assert bool(sec9.flags & SectionFlag.TAINT_ZONE_DEVICE) is tainted


def _locks_at(r: RunResult, effect: str) -> tuple[str, ...]:
    (rec,) = [t for t in r.trace if type(t.effect).__name__ == effect]
    return rec.locks


HOTPLUG = ("cpu_hotplug_lock", "mem_hotplug_lock")
RESIZE = (*HOTPLUG, "pgdat_resize_lock:0", "zone_span_seqlock:0:ZONE_DEVICE")


@pytest.mark.parametrize(
    ("kernel", "empty_zone", "resize"),
    [
        # v4.20: init_currently_empty_zone before the resize locks, the spans under them
        ("4.20", HOTPLUG, RESIZE),
        # v5.0: the empty-zone init moves inside them
        ("5.0", RESIZE, RESIZE),
        ("5.12", RESIZE, RESIZE),
        # by v5.16 the resize locks are gone: mem_hotplug_lock alone
        ("5.16", HOTPLUG, HOTPLUG),
    ],
)
def test_zone_init_and_resize_locks(
    kernel: str, empty_zone: tuple[str, ...], resize: tuple[str, ...]
) -> None:
    r = tiny(kernel, engine="inorder")
    assert _locks_at(r, "InitCurrentlyEmptyZone") == empty_zone
    assert _locks_at(r, "ResizeZoneRange") == resize


KINDS = (
    f'name = "kinds"\nkernel = "5.3"\n{NODE0}'
    + dev("dax0", "1G", "256M", kind="devdax")
    + dev("gpu0", "16G", "512M", kind="device-private")
    + dev("cmb0", "32G", "64M", kind="p2pdma")
)
DAX, GPU, CMB = 0x40000, 0x400000, 0x800000


def kinds(kernel: str) -> RunResult:
    return simulate(parse_scenario(KINDS, "kinds.toml"), kernel)


@pytest.mark.parametrize(
    ("kernel", "dax_type", "gpu_refs"),
    [
        ("4.20", MemoryType.UNSET, 0),  # HMM's own hotplug takes no pgmap references
        ("5.0", MemoryType.UNSET, 0x20000),  # devm_memremap_pages: one per page
        ("5.3", MemoryType.MEMORY_DEVICE_DEVDAX, 0x20000),
        ("5.10", MemoryType.MEMORY_DEVICE_GENERIC, 0x20000),
    ],
)
def test_device_kinds_per_release(kernel: str, dax_type: MemoryType, gpu_refs: int) -> None:
    r = kinds(kernel)
    dax, gpu, cmb = r.devices
    assert dax.pgmap is not None and dax.pgmap.cfg.type == dax_type
    assert gpu.pgmap is not None and gpu.pgmap.cfg.type == MemoryType.MEMORY_DEVICE_PRIVATE
    assert gpu.refs_taken == gpu_refs == gpu.refs_put_at_release
    assert cmb.pgmap is not None and cmb.pgmap.cfg.type == MemoryType.MEMORY_DEVICE_PCI_P2PDMA
    # p2pdma: memmap in RAM, one reference per page of the BAR
    assert r.mem.vmemmap.backing(CMB) == MemmapBacking(Medium.RAM, 0)
    assert cmb.refs_taken == 0x4000
    page = r.mem.page(GPU)
    assert (page.zone, page.reserved, page.pgmap) == (4, True, gpu.pgmap.id)
    assert r.findings == [f for f in r.findings if f.device == "dax0"]


@pytest.mark.parametrize(
    ("kernel", "text"),
    [
        ("4.20", "nvme 0000:03:00.0: added peer-to-peer DMA memory [mem 0x800000000-0x803ffffff]"),
        ("5.10", "nvme 0000:03:00.0: added peer-to-peer DMA memory 0x800000000-0x803ffffff"),
    ],
)
def test_p2pdma_message(kernel: str, text: str) -> None:
    assert text in [ln.text for ln in kinds(kernel).log]


def test_a_kind_the_kernel_lacks_is_refused_naming_the_release_that_brought_it() -> None:
    with pytest.raises(InputError) as e:
        kinds("4.18")
    assert (e.value.source, e.value.field) == ("kinds.toml", "devices[2].kind")
    assert e.value.message == "kernel 4.18 (--kernel) has no p2pdma memory: it came in 4.20"


MISALIGNED = f'name = "mis"\n{NODE0}' + dev("pmem0", "1025M", "200M")


@pytest.mark.parametrize(
    ("kernel", "said"),
    [
        # v5.3-v5.9: the altmap is based at the 2 MiB sub-section, res 1 MiB into it:
        # __add_pages' altmap check refuses before check_pfn_span
        ("5.4", '"memory add fail, invalid altmap"; '
                '"WARNING: at arch/x86/mm/init_64.c add_pages()"; '
                '"nd_pmem: probe of pfn0.0 failed with error -22"'),
        # v5.10: nd_pfn_init refuses a start not aligned to memremap_compat_align()
        ("5.10", '"nd_pmem pfn0.0: namespace0.0: start 0x0000000040100000 misaligned to '
                 '0x200000"; "nd_pmem: probe of pfn0.0 failed with error -22"'),
    ],
)  # fmt: skip
def test_misaligned_namespace_start(kernel: str, said: str) -> None:
    with pytest.raises(InputError) as e:
        simulate(parse_scenario(MISALIGNED, "mis.toml"), kernel)
    assert e.value.message == f"kernel {kernel} refuses pmem0 (-EINVAL): {said}"


def test_misaligned_namespace_start_is_trimmed_before_5_3() -> None:
    """v4.20-v5.2 pad and truncate to sections instead: the end (1225 MiB) is not 2 MiB
    aligned, so it is truncated down to the section (73 MiB)."""
    r = simulate(parse_scenario(MISALIGNED, "mis.toml"), "5.1")
    assert "nd_pmem pfn0.0: namespace0.0 alignment collision, truncate 76546048 bytes" in [
        ln.text for ln in r.log
    ]


@pytest.mark.parametrize("kernel", ["4.20", "5.0", "5.3"])
def test_device_private_memory_gets_a_memmap_but_no_direct_map(kernel: str) -> None:
    """HMM's own code (v4.18-v4.20) and devm_memremap_pages since 69324b8f4833 (v5.0) add
    DEVICE_PRIVATE memory with ``add_pages``: no ``init_memory_mapping``, no kasan shadow
    (the memory is not CPU-addressable)."""
    r = simulate(parse_scenario(KINDS, "kinds.toml"), kernel, engine="inorder")
    steps = {(t.thread, t.effect.name) for t in r.trace if type(t.effect).__name__ == "Step"}
    assert ("gpu0", "init_memory_mapping") not in steps
    assert ("gpu0", "kasan_add_zero_shadow") not in steps
    assert ("dax0", "init_memory_mapping") in steps


OVERLAP = f'name = "o"\n{NODE0}' + dev("pmem0", "1G", "200M") + dev("pmem1", "1100M", "200M")


@pytest.mark.parametrize(("kernel", "errno"), [("5.4", "-ENXIO"), ("5.10", "-EBUSY")])
def test_a_claimed_namespace_is_refused_before_its_info_block(kernel: str, errno: str) -> None:
    """``devm_nsio_enable`` claims the namespace before ``nd_pfn_init`` and nd_pmem_probe
    returns -ENXIO (a silent "rejects match"); ``devm_namespace_enable`` (v5.10) -EBUSY."""
    with pytest.raises(InputError) as e:
        simulate(parse_scenario(OVERLAP, "o.toml"), kernel)
    assert e.value.message.startswith(
        f'kernel {kernel} refuses pmem1 ({errno}): "nd_pmem pfn1.0: could not reserve region'
    )
