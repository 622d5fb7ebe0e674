"""Era D, v5.17-v7.1: compound devmaps and vmemmap deduplication, field by field.

A device-dax namespace of 18 MiB at 8 GiB with 2 MiB alignment and its memmap in RAM. The
pgmap covers the whole namespace (the info block's 2 MiB included, as ``__dax_pmem_probe``
passes it), so it is nine compound pages of 512 pfns::

    pfn   +0     +1      +2      +3 .. +63      +64 .. +127    +128 .. +511    (from 0x200000)
        | head | tail 1 | tail 2 | other tails  | tails 64-127 | tails 128-511 |
        |<-- vmemmap page 0 (own) ------------>|<- page 1 --->|<- page 1 again|
                                   (v5.19+: tails 128-511 deduplicated, never visited)

The stores into page[1] and page[2] are read back with the release's own field layout
(:mod:`memmapsim.kernel.compound`).
"""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import parse_scenario
from memmapsim.kernel.compound import COMPOUND_LAYOUT_BY_RELEASE, COMPOUND_PAGE_DTOR
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.structpage import TAIL_MAPPING, Word, compound_mask_token
from memmapsim.simulate import RunResult, simulate
from tests.scenario_text import NODE0, dev

DAX2M = 'name = "dax"\n' + NODE0 + dev("dax0", "8G", "18M", kind="devdax", memmap="ram", align="2M")
H = 0x200000
NR = 9  # compound pages
ERA_D = ["5.17", "5.18", "5.19", "6.1", "6.4", "6.6", "6.12", "7.0", "7.1"]
DEDUP = {"5.19", "6.1", "6.4", "6.6", "6.12", "7.0", "7.1"}


def dax2m(kernel: str, backend: str = "runs") -> RunResult:
    return simulate(parse_scenario(DAX2M, "dax.toml"), kernel, backend)


@pytest.mark.parametrize("backend", ["runs", "dense"])
@pytest.mark.parametrize("kernel", ERA_D)
def test_compound_devdax_2m(kernel: str, backend: str) -> None:
    r = dax2m(kernel, backend)
    mem, d = r.mem, r.devices[0]
    layout = COMPOUND_LAYOUT_BY_RELEASE[kernel]
    assert d.pgmap is not None and d.pgmap.cfg.vmemmap_shift == 9
    for head in (H, H + 8 * 512):
        page = mem.page(head)
        assert page.head and not page.tail
        assert (page.zone, page.nid, page.reserved, page.pgmap) == (
            ZoneType.ZONE_DEVICE,
            0,
            True,
            d.pgmap.id,
        )
        assert page.refcount == 1  # MEMORY_DEVICE_GENERIC keeps its head reference
        # every tail: zone, node, Reserved, refcount 0, compound head of order 9
        for off in (1, 2, 3, 63, 64, 127, 128, 200, 511):
            tail = mem.page(head + off)
            assert tail.tail and tail.compound_order == 9 and not tail.head
            assert (tail.zone, tail.reserved, tail.refcount) == (ZoneType.ZONE_DEVICE, True, 0)
            assert tail.compound_head_pfn == head
        # page[1]: the compound fields prep_compound_head stored
        words = mem.page(head + 1).words
        assert layout.order.read(words) == 9
        assert layout.mapcount.read_signed(words) == -1
        if layout.dtor is not None:
            assert layout.dtor.read(words) == COMPOUND_PAGE_DTOR
        if layout.pincount is not None:
            assert layout.pincount.read(mem.page(head + layout.pincount.tail).words) == 0
        if layout.nr_pages is not None:
            assert layout.nr_pages.read(mem.page(head + layout.nr_pages.tail).words) == 512
        # the other tails keep TAIL_MAPPING in ->mapping
        assert mem.page(head + 3).words[Word.MAPPING] == TAIL_MAPPING
    # 7.1 stores a mask, not the head, in every tail's word 1
    word1 = mem.page(H + 3).words[Word.LRU_NEXT]
    assert (word1 == compound_mask_token(9)) is (kernel == "7.1")
    # the head's pageblock of every compound page is MIGRATE_MOVABLE
    assert all(
        mem.pageblocks.get_pfn(H + i * 512) == MigrateType.MIGRATE_MOVABLE for i in range(NR)
    )
    visited = 128 if kernel in DEDUP else 512
    assert d.pages_initialised == NR * visited == d.struct_pages_written
    assert d.memmap_bytes == {"ram": NR * visited * 64, "device": 0}
    assert d.log_pages == NR * 512
    assert d.refs_taken == NR == d.refs_put_at_release  # one reference per compound page
    assert r.findings == []


@pytest.mark.parametrize("kernel", sorted(DEDUP))
def test_deduplicated_tails_read_the_struct_pages_of_tails_64_to_127(kernel: str) -> None:
    """``vmemmap_populate_compound_pages`` maps every vmemmap page after the second to the
    second: tail 64 + i % 64 is the struct page of tail 128 + i. Only 128 are visited."""
    mem = dax2m(kernel).mem
    for off in (128, 129, 200, 511):
        assert mem.memmap.record(H + off) == mem.memmap.record(H + 64 + off % 64)
    census = {c.cls.key: c for c in dax2m(kernel).devices[0].census}
    assert census["compound_dedup"].cls.pages == NR * 384
    assert census["compound_tails"].cls.pages == NR * 125


@pytest.mark.parametrize(
    ("kernel", "after"),
    [("5.17", 2), ("6.1", 2), ("6.4", 1), ("6.12", 1), ("7.0", None), ("7.1", None)],
)
def test_prep_compound_head_runs_where_the_release_calls_it(kernel: str, after: int | None) -> None:
    """``prep_compound_head`` after tail 2 (v5.17-v6.1), after tail 1 (v6.2-v6.12), once
    after the loop (v7.0+): the pass records of the first tails show when it ran, and in
    6.12 tail 2's own init wipes the ``_deferred_list`` it had just set up (NULL,
    TAIL_MAPPING), where 7.0 leaves it pointing at itself."""
    r = simulate(parse_scenario(DAX2M, "dax.toml"), kernel, engine="inorder")
    (periodic,) = [t.effect for t in r.trace if type(t.effect).__name__ == "InitPagesPeriodic"]
    order = [(s.lo, s.hi, s.work.fn) for s in periodic.steps]
    prep = [i for i, (_lo, _hi, fn) in enumerate(order) if fn == "prep_compound_head"]
    tails_before = [hi for lo, hi, fn in order[: prep[0]] if fn == "memmap_init_compound"]
    assert tails_before == [128 if after is None else after + 1]
    layout = COMPOUND_LAYOUT_BY_RELEASE[kernel]
    if layout.deferred_list:
        nxt, prv = (f.read(r.mem.page(H + 2).words) for f in layout.deferred_list)
        if kernel == "6.12":
            assert (nxt, prv) == (0, TAIL_MAPPING)
        else:
            assert nxt == prv != 0


DAX1G = (
    'name = "dax1g"\n' + NODE0 + dev("dax0", "8G", "2G", kind="devdax", memmap="ram", align="1G")
)


@pytest.mark.parametrize(
    ("kernel", "unmovable"),
    [
        ("5.17", 0),
        ("5.19", 511),
        ("6.6", 511),
        ("7.1", 511),
        ("7.1+pageblock-migratetype-init-range", 0),
    ],
)
def test_1g_compound_pages_leave_pageblocks_unmovable_with_dedup(
    kernel: str, unmovable: int
) -> None:
    """A 1 GiB compound page spans 512 pageblocks. The migratetype is set by the per-page
    init at pageblock-aligned pfns it visits: all of them in v5.17, only the head's with
    dedup (v5.19+: 128 pfns visited), so 511 pageblocks per compound page keep the
    kzalloc'ed usage's 0, MIGRATE_UNMOVABLE — until 7.1.5's separate pageblock pass."""
    r = simulate(parse_scenario(DAX1G, "dax1g.toml"), kernel)
    d = r.devices[0]
    assert d.pgmap is not None and d.pgmap.cfg.vmemmap_shift == 18
    i4 = [f for f in r.findings if f.invariant == "I4"]
    # the namespace is two compound pages: the info block's 1 GiB and the data's
    assert sum(f.pages for f in i4) == 2 * unmovable * 512
    if unmovable:
        assert "MIGRATE_UNMOVABLE" in i4[0].message
    assert d.refs_taken == 2


@pytest.mark.parametrize("kernel", ERA_D)
def test_the_init_line_is_pr_debug_from_6_4(kernel: str) -> None:
    """ "mm: Be less noisy during memory hotplug" (v6.4): the line is pr_debug; the simulated
    log shows it as dynamic debug would, at level debug."""
    (line,) = dax2m(kernel).log
    assert line.text.startswith("memmap_init_zone_device initialised 4608 pages in ")
    assert line.level == ("info" if kernel in ("5.17", "5.18", "5.19", "6.1") else "debug")


@pytest.mark.parametrize(("kernel", "refcount"), [("6.1", 1), ("6.12", 1), ("7.0", 0), ("7.1", 0)])
def test_fsdax_pages_start_free_by_7_0(kernel: str, refcount: int) -> None:
    """v7.0's __init_zone_device_page leaves FS_DAX (and P2PDMA) pages at refcount 0, as
    v6.1 did for DEVICE_PRIVATE/COHERENT; they still hold one pgmap reference each."""
    r = simulate(
        parse_scenario('name = "t"\n' + NODE0 + dev("pmem0", "1G", "200M"), "t.toml"), kernel
    )
    d = r.devices[0]
    assert d.pgmap is not None
    assert r.mem.page(d.pgmap.cfg.pfn_first()).refcount == refcount
    assert d.refs_taken == d.refs_put_at_release > 0


GPU = 'name = "gpu"\n' + NODE0 + dev("gpu0", "16G", "512M", kind="device-private")


@pytest.mark.parametrize(("kernel", "refcount", "refs"), [("5.19", 1, 0x20000), ("6.1", 0, 0)])
def test_device_private_pages_are_free_and_unreferenced_from_6_1(
    kernel: str, refcount: int, refs: int
) -> None:
    r = simulate(parse_scenario(GPU, "gpu.toml"), kernel)
    d = r.devices[0]
    assert r.mem.page(0x400000).refcount == refcount
    assert d.refs_taken == refs == d.refs_put_at_release
    assert r.findings == []


@pytest.mark.parametrize(("kernel", "free"), [("5.19", 1022), ("6.1", 2046), ("6.6", 1022)])
def test_6_1_0_reserves_128_bytes_a_page_for_the_memmap_on_the_device(
    kernel: str, free: int
) -> None:
    """MAX_STRUCT_PAGE_SIZE is 128 in 6.1.0 (KMSAN room), 64 before and again in 6.6."""
    r = simulate(
        parse_scenario('name = "t"\n' + NODE0 + dev("pmem0", "1G", "200M"), "t.toml"), kernel
    )
    d = r.devices[0]
    assert d.pgmap is not None and d.pgmap.altmap is not None
    assert d.pgmap.altmap.cfg.free == free


CMB = 'name = "cmb"\n' + NODE0 + dev("cmb0", "32G", "1M", kind="p2pdma")


@pytest.mark.parametrize(
    ("kernel", "said"),
    [
        ("6.1", '"Misaligned __add_pages start: 0x800000 end: #0x8000ff"'),
        ("6.6", '"Misaligned __add_pages start: 0x800000 end: 0x8000ff"'),
    ],
)
def test_a_bar_smaller_than_a_subsection_is_refused(kernel: str, said: str) -> None:
    from memmapsim.errors import InputError

    with pytest.raises(InputError) as e:
        simulate(parse_scenario(CMB, "cmb.toml"), kernel)
    assert said in e.value.message


def test_6_12_reports_probe_failures_with_dev_err() -> None:
    from memmapsim.errors import InputError

    text = 'name = "t"\n' + NODE0 + dev("pmem0", "1025M", "200M")
    with pytest.raises(InputError) as e:
        simulate(parse_scenario(text, "t.toml"), "6.12")
    assert e.value.message.endswith(
        '"nd_pmem pfn0.0: probe with driver nd_pmem failed with error -22"'
    )


@pytest.mark.parametrize(("kernel", "raised"), [("6.12", True), ("7.0", False)])
def test_7_0_add_pages_leaves_max_pfn_alone(kernel: str, raised: bool) -> None:
    r = dax2m(kernel)
    assert (r.mem.max_pfn == H + 0x1200) is raised


TWO_NODES = (
    """
name = "two"

[[machine.nodes]]
id = 0
cpus = 4
dram = [{ start = "0", size = "4G" }]

[[machine.nodes]]
id = 1
cpus = 4
dram = [{ start = "4G", size = "4G" }]
"""
    + dev("dax0", "16G", "8G", kind="devdax", memmap="ram", align="4K", node=0)
    + dev("dax1", "32G", "8G", kind="devdax", memmap="ram", align="4K", node=1, region="r1")
)


def test_6_12_serialises_device_dax_creation_system_wide() -> None:
    """v6.12 creates every dev_dax — and so maps its pages — under the global
    dax_region_rwsem: two namespaces on two nodes no longer initialise in parallel."""
    sc = parse_scenario(TWO_NODES, "two.toml")
    t66, t612 = (simulate(sc, k).timing for k in ("6.6", "6.12"))
    assert t66 is not None and t612 is not None
    assert t612.total_s > 1.8 * t66.total_s


@pytest.mark.parametrize(
    ("scenario", "kernel", "written", "ram_mib"),
    [
        ("devdax-128g-4k", "5.16", 1 << 25, 2048),
        ("devdax-128g-2m", "5.16", 1 << 25, 2048),
        ("devdax-128g-2m", "5.17", 1 << 25, 2048),
        ("devdax-128g-2m", "6.6", 1 << 23, 512),
        ("devdax-128g-1g", "5.17", 1 << 25, 2048),
        ("devdax-128g-1g", "6.6", 128 * 128, 1),
    ],
)
def test_devdax_128g_struct_pages_and_memmap(
    scenario: str, kernel: str, written: int, ram_mib: int
) -> None:
    """The built-in 128 GB device-dax namespaces: 32 Mi pfns; with dedup (6.6) 128 struct
    pages of each 2 MiB compound page (a quarter) and of each 1 GiB one (1 MiB of memmap
    for 128 compound pages)."""
    from memmapsim.config.scenario import load_scenario

    r = simulate(load_scenario(scenario), kernel)
    (d,) = r.devices
    assert d.struct_pages_written == written == d.pages_initialised
    assert d.memmap_bytes == {"ram": ram_mib << 20, "device": 0}
    assert d.log_pages == 1 << 25


GPUS = (
    'name = "gpus"\n'
    + NODE0
    + dev("gpu0", "16G", "512M", kind="device-coherent")
    + dev("cmb0", "32G", "64M", kind="p2pdma")
)


@pytest.mark.parametrize(("kernel", "cmb_refcount"), [("6.1", 1), ("6.12", 1), ("7.0", 0)])
def test_device_coherent_and_p2pdma(kernel: str, cmb_refcount: int) -> None:
    """MEMORY_DEVICE_COHERENT (6.1): the GPU's own range, mapped like RAM (direct map,
    memmap in RAM), pages free (refcount 0) and no pgmap references; P2PDMA pages start
    free too from 7.0, still holding one reference each."""
    from memmapsim.model.pgmap import MemoryType

    r = simulate(parse_scenario(GPUS, "gpus.toml"), kernel, engine="inorder")
    gpu, cmb = r.devices
    assert gpu.pgmap is not None and gpu.pgmap.cfg.type == MemoryType.MEMORY_DEVICE_COHERENT
    assert r.mem.page(0x400000).refcount == 0 and gpu.refs_taken == 0
    steps = {(t.thread, t.effect.name) for t in r.trace if type(t.effect).__name__ == "Step"}
    assert ("gpu0", "init_memory_mapping") in steps  # CPU-addressable: a direct map
    assert r.mem.page(0x800000).refcount == cmb_refcount and cmb.refs_taken == 0x4000


def test_device_coherent_before_6_1_is_refused() -> None:
    from memmapsim.errors import InputError

    with pytest.raises(InputError) as e:
        simulate(parse_scenario(GPUS, "gpus.toml"), "5.19")
    assert e.value.message == (
        "kernel 5.19 (--kernel) has no device-coherent memory: it came in 6.1"
    )
