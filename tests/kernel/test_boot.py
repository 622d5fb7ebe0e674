"""Boot memory, version by version, on two small machines: where memmap_init stops and
deferred init begins, which thread initialises which pfns, what goes to the buddy allocator,
what the holes hold, and each version's lines.

Machine ONE: one node, 2 CPUs, memory in three ranges, three early reservations::

    pfn 0    0x1000   0x1800  0x8000        0x100000  0x108000            0x140000 0x140400
        |DMA  |DMA32: kernel | DMA32 | (no memory) |Normal: |    ...        | hole   |  ...
        |resv 0|resv 16-24M  |       |             |1 section              | 4 MiB  |
        0x150000 0x150100                       0x199600        0x19c000   0x1a0000
        |resv 1M|            ...                | the node's    | past the |
        |       |                               | memmap (resv) | node end |

The kernel puts the node's memmap (21 sections x 2 MiB) at the top of its memory. Machine
TWO: node 0 (2 CPUs) with 128 MiB + 1 GiB, node 1 (4 CPUs) with 1 GiB at 8 GiB, each with its
memmap at its top, to see padata's helpers claim a node's sections.
"""

from __future__ import annotations

import re

import pytest

from memmapsim.config.scenario import parse_scenario
from memmapsim.model.page import PageView, PassKind
from memmapsim.model.pageflags import ZoneType
from memmapsim.simulate import RunResult, simulate

ONE = """
name = "one"
[[machine.nodes]]
id = 0
cpus = 2
dram = [{ start = "0", size = "128M" }, { start = "4G", size = "1G" },
        { start = "0x140400000", size = "0x5BC00000" }]
[boot]
reserved = [{ start = "0", size = "4K" }, { start = "16M", size = "8M" },
            { start = "0x150000000", size = "1M" }]
[knobs]
cost_profile = "modern-x86"
"""
TWO = """
name = "two"
[[machine.nodes]]
id = 0
cpus = 2
dram = [{ start = "0", size = "128M" }, { start = "4G", size = "1G" }]
[[machine.nodes]]
id = 1
cpus = 4
dram = [{ start = "8G", size = "1G" }]
[boot]
reserved = [{ start = "0", size = "4K" }, { start = "16M", size = "8M" }]
[knobs]
cost_profile = "modern-x86"
"""
NORMAL, DMA32 = int(ZoneType.ZONE_NORMAL), int(ZoneType.ZONE_DMA32)
HOLE, TAIL = (0x140000, 0x140400), (0x19C000, 0x1A0000)
MEMMAP = (0x199600, 0x19C000)
RESV_1M = (0x150000, 0x150100)


def boot(text: str, kernel: str, backend: str = "runs") -> RunResult:
    return simulate(parse_scenario(text, "t.toml"), kernel, backend)


def writers(r: RunResult, lo: int, hi: int) -> list[tuple[int, int, str]]:
    """Maximal runs of ``[lo, hi)`` with the thread of their init pass (or a state)."""
    out: list[tuple[int, int, str]] = []
    for a, b, rec in r.mem.memmap.runs(lo, hi):
        inits = [p.who for p in rec.history if p.kind is PassKind.INIT]
        who = inits[-1] if inits else PageView(a, rec, r.mem.layout).fields()["state"]
        if out and out[-1][2] == who and out[-1][1] == a:
            out[-1] = (out[-1][0], b, who)
        else:
            out.append((a, b, str(who)))
    return out


def passes(r: RunResult, pfn: int) -> list[tuple[str, str]]:
    return [(p.kind.value, p.by) for p in r.mem.page(pfn).record.history]


# --- machine ONE: the first deferred pfn, the deferred pages, the line ------------------------
FIRST_DEFERRED = {
    # 4.14: 2 GiB of the zone plus the reservations reset_deferred_meminit finds, counted in
    # bytes: the 4 KiB at pfn 0 adds 4096 pages (H14@mm/page_alloc.c:293-316)
    "4.14": (0x188000, MEMMAP[0] - 0x188000),
    # 4.17+: one section (static_init_pgcnt, then PAGES_PER_SECTION)
    "4.18": (0x108000, 594176),
    "4.20": (0x108000, 594176),
    "5.3": (0x108000, 594176),
    "5.5": (0x108000, 594176),
    "5.7": (0x108000, 594176),
    # 5.8-5.11: defer_init gets the memblock range's end: only the node's last range can be
    # deferred, so [4G, 5G) is initialised early and the deferral starts a section into the
    # last range
    "5.8": (0x150000, MEMMAP[0] - RESV_1M[1]),
    "6.1": (0x108000, 594176),
    "6.6": (0x108000, 594176),
    "6.12": (0x108000, 594176),
    "7.1": (0x108000, 594176),
}
LINE = {
    "4.14": "node 0 initialised, {pages} pages in {ms}ms",
    "4.18": "node 0 initialised, {pages} pages in {ms}ms",
    "5.7": "node 0 initialised, {pages} pages in {ms}ms",
    "5.8": "node 0 deferred pages initialised in {ms}ms",
}


def line_format(kernel: str) -> str:
    key = max((k for k in LINE if _v(k) <= _v(kernel)), key=_v)
    return LINE[key]


def _v(release: str) -> tuple[int, int]:
    a, b = release.split(".")
    return int(a), int(b)


@pytest.mark.parametrize("kernel", list(FIRST_DEFERRED))
def test_one_first_deferred_pfn_pages_and_line(kernel: str) -> None:
    r = boot(ONE, kernel)
    assert r.boot is not None
    (node,) = r.boot.nodes
    first, pages = FIRST_DEFERRED[kernel]
    assert (node.first_deferred_pfn, node.pages) == (first, pages)
    # memmap_init_zone initialised up to the first deferred pfn, the pgdatinit threads from it
    # (5.8's first deferred pfn is the 1 MiB reservation: reserve_bootmem_region's)
    start = RESV_1M[1] if first == RESV_1M[0] else first
    below, above = writers(r, first - 1, first), writers(r, start, start + 1)
    assert below == [(first - 1, first, "swapper/0")]
    assert above == [(start, start + 1, "pgdatinit0")]
    # the node's own line, in its version's format; its ms are the node's wall time
    ms = int(node.init_s * 1000) if node.init_s is not None else 0
    text = line_format(kernel).format(pages=pages, ms=r"(\d+)")
    (line,) = [ln for ln in r.log if ln.thread == "pgdatinit0"]
    m = re.fullmatch(text, line.text)
    assert m, line.text
    assert abs(int(m.group(1)) - ms) <= 1
    assert line.level == "info"


# --- machine ONE: the holes -------------------------------------------------------------------
def state(r: RunResult, pfn: int) -> tuple[object, ...]:
    v = r.mem.page(pfn)
    if v.stale or v.absent:
        return ("stale" if v.stale else "absent",)
    return (v.zone, v.nid, v.reserved, v.refcount, tuple(p.by for p in v.record.init_passes))


HOLES = {
    # 4.14: the memmap was zeroed when allocated; memmap_init_zone initialises the hole (below
    # the first deferred pfn); the section's tail past the node keeps the zeros
    "4.14": ((NORMAL, 0, False, 1, ("memmap_init_zone",)), (0, 0, False, 0, ())),
    # 4.18: raw memmap; zero_resv_unavail only zeroes reserved-but-not-memory pfns: both stale
    "4.18": (("stale",), ("stale",)),
    # 4.20: every gap up to max_pfn zeroed; the section-tail loop initialises the tail with
    # the zone (2830bf6f05fb)
    "4.20": ((0, 0, False, 0, ()), (NORMAL, 0, False, 1, ("memmap_init_zone (section tail)",))),
    # 5.3 (5.0 reverted the tail loop): the hole zeroed, the tail stale again
    "5.3": ((0, 0, False, 0, ()), ("stale",)),
    # 5.7 init_unavailable_mem: PG_reserved, zone 0 and node 0, up to the section's end
    "5.7": (
        (0, 0, True, 1, ("init_unavailable_mem",)),
        (0, 0, True, 1, ("init_unavailable_mem",)),
    ),
    "5.8": (
        (0, 0, True, 1, ("init_unavailable_mem",)),
        (0, 0, True, 1, ("init_unavailable_mem",)),
    ),
    # 5.12+ init_unavailable_range: the zone and node of the range after the hole
    "6.1": (
        (NORMAL, 0, True, 1, ("init_unavailable_range",)),
        (NORMAL, 0, True, 1, ("init_unavailable_range",)),
    ),
}
HOLE_LINES = {
    "4.14": [],
    "4.18": [],
    "4.20": ["Zeroed struct page in unavailable ranges: 1024 pages"],
    "5.3": ["Zeroed struct page in unavailable ranges: 1024 pages"],
    "5.7": ["Zeroed struct page in unavailable ranges: 17408 pages"],
    "5.8": ["Zeroed struct page in unavailable ranges: 17408 pages"],
    "6.1": [
        "On node 0, zone Normal: 1024 pages in unavailable ranges",
        "On node 0, zone Normal: 16384 pages in unavailable ranges",
    ],
}


@pytest.mark.parametrize("kernel", list(HOLES))
def test_one_holes_per_version(kernel: str) -> None:
    r = boot(ONE, kernel)
    hole, tail = HOLES[kernel]
    assert {state(r, p) for p in range(*HOLE, 0x100)} == {hole}
    assert {state(r, p) for p in range(*TAIL, 0x1000)} == {tail}
    said = [ln.text for ln in r.log if "unavailable" in ln.text]
    assert said == HOLE_LINES[kernel]


def test_one_4_18_leaves_struct_pages_of_valid_pfns_stale() -> None:
    """4.18's holes inside a present section keep whatever the raw memmap held (finding)."""
    r = boot(ONE, "4.18")
    (b1,) = [f for f in r.findings if f.invariant == "B1"]
    assert b1.ranges == (HOLE, TAIL) and b1.pages == 1024 + 16384


# --- machine ONE: reserved pages and the buddy allocator --------------------------------------
BUDDY_TYPE = {"4.14": 0xFFFF_FF80, "4.18": 0xFFFF_FF7F, "6.6": 0xFFFF_FF7F, "6.12": 0xF000_0000}


@pytest.mark.parametrize("kernel", list(BUDDY_TYPE))
def test_one_free_blocks_and_reserved_pages(kernel: str) -> None:
    r = boot(ONE, kernel)
    mem = r.mem
    first = FIRST_DEFERRED[kernel][0]
    # a free range starting past a reservation ends as the greedy aligned blocks: 0x150100
    # (order 8), 0x150200 (order 9), then order-10 blocks; so does the low memory that
    # memblock_free_all frees early (0x1 order 0, 0x2 order 1, ...; 0x1800 after the kernel)
    heads = ((0x2, 1), (0x1800, 10), (0x150100, 8), (0x150200, 9), (0x150400, 10), (first, 10))
    for pfn, order in heads:
        head = mem.page(pfn)
        assert head.words[6] & 0xFFFF_FFFF == BUDDY_TYPE[kernel], hex(pfn)
        assert (head.words[5], head.refcount, head.reserved) == (order, 0, False)
        assert head.fields()["lru_next/pgmap"] == "free list"
        tail = mem.page(pfn + 1)
        assert (tail.mapcount, tail.refcount, tail.words[5]) == (-1, 0, 0)
        assert passes(r, pfn)[-1][0] == "free"
    # reserved pages: initialised (deferred ones by reserve_bootmem_region), PG_reserved,
    # refcount 1, never freed
    for lo, hi in (RESV_1M, MEMMAP):
        for pfn in (lo, hi - 1):
            page = mem.page(pfn)
            assert (page.zone, page.reserved, page.refcount) == (NORMAL, True, 1)
            assert "free" not in [k for k, _by in passes(r, pfn)]
    kernel_image = mem.page(0x1000)
    assert (kernel_image.zone, kernel_image.reserved) == (DMA32, True)
    # every page of the node's memory that is not reserved was freed once
    freed = sum(
        n
        for rec, n in mem.memmap.histogram(0, 0x1A0000).items()
        if [p.kind for p in rec.history].count(PassKind.FREE) == 1
    )
    memory = 0x8000 + 0x40000 + (0x19C000 - 0x140400)
    reserved = 1 + 0x800 + 0x100 + (MEMMAP[1] - MEMMAP[0])
    assert freed == memory - reserved


# --- machine ONE: both backends ---------------------------------------------------------------
@pytest.mark.parametrize("kernel", ["4.14", "5.7", "6.12"])
def test_one_dense_and_runs_agree(kernel: str) -> None:
    runs, dense = boot(ONE, kernel, "runs"), boot(ONE, kernel, "dense")
    assert list(runs.mem.memmap.runs(0, 0x1A0000)) == list(dense.mem.memmap.runs(0, 0x1A0000))
    blocks = 0x1A0000 >> 9
    assert list(runs.mem.pageblocks.runs(0, blocks)) == list(dense.mem.pageblocks.runs(0, blocks))
    assert [ln.text for ln in runs.log] == [ln.text for ln in dense.log]


# --- machine TWO: padata's helpers ------------------------------------------------------------
def test_two_before_5_8_one_thread_per_node() -> None:
    r = boot(TWO, "5.7")
    assert r.boot is not None
    assert [(n.nid, n.threads) for n in r.boot.nodes] == [(0, ["pgdatinit0"]), (1, ["pgdatinit1"])]
    assert writers(r, 0x208000, 0x23F000) == [(0x208000, 0x23F000, "pgdatinit1")]


NODE1 = [
    # one job, [0x208000, 0x240000): 7 sections; nworks = min(7, 4 CPUs) = 4; chunk =
    # max(7 sections / (4 * 4), a section) = a section; the caller claims first, its 3
    # helpers (kworkers on the unbound workqueue) next, then whoever is free
    (0x208000, 0x210000, "pgdatinit1"),
    (0x210000, 0x218000, "kworker/u:padata1.0.1"),
    (0x218000, 0x220000, "kworker/u:padata1.0.2"),
    (0x220000, 0x228000, "kworker/u:padata1.0.3"),
    (0x228000, 0x230000, "pgdatinit1"),
    (0x230000, 0x238000, "kworker/u:padata1.0.1"),
    (0x238000, 0x23F000, "kworker/u:padata1.0.2"),
]


@pytest.mark.parametrize("kernel", ["5.8", "6.6", "7.1"])
def test_two_padata_helpers_claim_sections(kernel: str) -> None:
    r = boot(TWO, kernel)
    assert r.boot is not None
    n0, n1 = r.boot.nodes
    assert writers(r, 0x208000, 0x23F000) == NODE1
    assert sorted(n1.threads) == sorted({w for _a, _b, w in NODE1})
    # node 0: 2 CPUs, one helper; its sections alternate
    expect0 = [(a, min(a + 0x8000, 0x13EE00)) for a in range(0x108000, 0x13EE00, 0x8000)]
    got0 = writers(r, 0x108000, 0x13EE00)
    assert [(a, b) for a, b, _w in got0] == expect0
    assert [w for _a, _b, w in got0] == ["pgdatinit0", "kworker/u:padata0.0.1"] * 3 + ["pgdatinit0"]
    assert len(n0.threads) == 2
    # more threads, sooner done: node 1 ends before node 0 (its line comes first)
    lines = [ln.text for ln in r.log if "deferred pages initialised" in ln.text]
    assert [ln.split()[1] for ln in lines] == ["1", "0"]
    assert n1.finish_s is not None and n0.finish_s is not None and n1.finish_s < n0.finish_s


def test_two_4_14_defers_no_node_smaller_than_2_gib() -> None:
    """4.14 initialises at least 2 GiB of a node's last zone early: nothing is left to defer on
    1 GiB nodes, and the threads end without a line."""
    r = boot(TWO, "4.14")
    assert r.boot is not None
    assert [n.first_deferred_pfn for n in r.boot.nodes] == [None, None]
    assert not [ln for ln in r.log if ln.thread.startswith("pgdatinit")]
    assert writers(r, 0x200000, 0x23F000) == [(0x200000, 0x23F000, "swapper/0")]


# --- the memory block size (drivers/base/memory.c, arch/x86/mm/init_64.c) ---------------------
BLOCK_MB = {
    # boot memory ending at 65 GiB: 4.14 takes 2 GiB above 64 GiB; 4.18-6.0 the largest power
    # of two that aligns the end (1 GiB); 6.1+ 2 GiB on bare metal, the search under a
    # hypervisor; below 64 GiB always one section
    ("4.14", False): 2048,
    ("4.18", False): 1024,
    ("5.16", False): 1024,
    ("6.1", False): 2048,
    ("6.1", True): 1024,
    ("7.1", False): 2048,
    ("7.1", True): 1024,
}


@pytest.mark.parametrize(("kernel", "hypervisor"), list(BLOCK_MB))
def test_memory_block_size_per_version(kernel: str, hypervisor: bool) -> None:
    text = ONE.replace("[[machine.nodes]]", f"[machine]\nhypervisor = {str(hypervisor).lower()}\n"
                       "[[machine.nodes]]")  # fmt: skip
    small = boot(text, kernel)
    large = boot(text.replace('size = "0x5BC00000"', 'size = "0xEFFC00000"'), kernel)
    said = [[ln.text for ln in r.log if "Memory block size" in ln.text] for r in (small, large)]
    assert said == [
        ["x86/mm: Memory block size: 128MB"],
        [f"x86/mm: Memory block size: {BLOCK_MB[kernel, hypervisor]}MB"],
    ]
