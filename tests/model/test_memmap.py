"""Memmap backends: RunsMemmap must be observably identical to the DenseMemmap oracle, and
stay a handful of runs over terabyte ranges."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memmapsim.model.dense import DenseMemmap
from memmapsim.model.memmap import PFN_LIMIT, Memmap, RunsMemmap
from memmapsim.model.page import ABSENT_RECORD, PageRecord, PassKind, PassRecord
from memmapsim.model.pageflags import PAGEFLAGS_V4_20, PageFlagsLayout, ZoneType
from memmapsim.model.structpage import (
    ABSENT,
    HMM_DATA,
    LIST_POISON1,
    LIST_POISON2,
    NR_WORDS,
    PAGE_POISON_PATTERN,
    PGMAP,
    SELF_LRU,
    STALE,
    WORD_MASK,
    Word,
    Write,
    clear_bits,
    fill,
    pgmap_token,
    set_bits,
    set_field,
    store,
)
from memmapsim.units import PAGE_SIZE, PHYS_PFN, GiB, parse_size

WINDOWS = ((1000, 1300), (2048, 2600))
SPAN = (0, 3000)  # both windows, the gap between them, and pfns past the last one
EDGES = (0, 999, 1000, 1001, 1299, 1300, 1301, 2047, 2048, 2599, 2600, 2999)

LAYOUT = PageFlagsLayout(PAGEFLAGS_V4_20)

# --- strategies -----------------------------------------------------------------------

special_words = st.sampled_from(
    [
        0,
        1,
        SELF_LRU,
        STALE,
        ABSENT,
        pgmap_token(0),
        pgmap_token(1),
        pgmap_token(7),
        PAGE_POISON_PATTERN,
        LIST_POISON1,
        LIST_POISON2,
        1 << 63,
        LAYOUT.flag("PG_reserved"),
    ]
)
values = st.one_of(special_words, st.integers(0, WORD_MASK))
word_index = st.sampled_from(list(Word))


@st.composite
def field_writes(draw: st.DrawFn) -> tuple[Write, ...]:
    shift = draw(st.integers(0, 63))
    width = draw(st.integers(1, 64 - shift))
    return (set_field(draw(word_index), shift, width, draw(st.integers(0, (1 << width) - 1))),)


write_groups = st.one_of(
    st.builds(lambda w, v: (store(w, v),), word_index, values),
    st.builds(lambda w, v: (set_bits(w, v),), word_index, values),
    st.builds(lambda w, v: (clear_bits(w, v),), word_index, values),
    field_writes(),
    st.builds(fill, values),
)
writes_lists = st.lists(write_groups, max_size=4).map(lambda gs: tuple(itertools.chain(*gs)))

records = st.none() | st.builds(
    PassRecord,
    kind=st.sampled_from(list(PassKind)),
    by=st.sampled_from(["memmap_init_zone", "sparse_add_one_section", "memmap_init_zone_device"]),
    locked=st.booleans(),
    who=st.sampled_from(["", "pmem0", "pmem1"]),
)


@st.composite
def window_ranges(draw: st.DrawFn) -> tuple[int, int]:
    """A range inside one dense window; small ranges and window edges are likely."""
    wlo, whi = draw(st.sampled_from(WINDOWS))
    a = draw(st.integers(wlo, whi))
    b = draw(st.one_of(st.integers(wlo, whi), st.integers(a, min(whi, a + 8))))
    return min(a, b), max(a, b)


ops = st.lists(st.tuples(window_ranges(), writes_lists, records), min_size=1, max_size=12)
queries = st.lists(
    st.tuples(st.integers(*SPAN), st.integers(*SPAN)).map(lambda t: (min(t), max(t))),
    max_size=6,
)


# --- helpers --------------------------------------------------------------------------


def check_runs_shape(runs: list[tuple[int, int, PageRecord]], lo: int, hi: int) -> None:
    """runs() covers [lo, hi) exactly, with non-empty maximal runs."""
    if lo == hi:
        assert runs == []
        return
    assert runs[0][0] == lo and runs[-1][1] == hi
    for s, e, _r in runs:
        assert s < e
    for (_s1, e1, r1), (s2, _e2, r2) in itertools.pairwise(runs):
        assert e1 == s2
        assert r1 != r2, f"runs at {e1} not coalesced"


def pages(m: Memmap, lo: int, hi: int) -> list[PageRecord]:
    """The per-pfn expansion of runs()."""
    return [r for s, e, r in m.runs(lo, hi) for _ in range(s, e)]


# --- the core property ----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(seq=ops, qs=queries, probe=st.lists(st.integers(*SPAN), max_size=6))
def test_runs_backend_matches_dense_oracle(
    seq: list[tuple[tuple[int, int], tuple[Write, ...], PassRecord | None]],
    qs: list[tuple[int, int]],
    probe: list[int],
) -> None:
    """Same operations on both backends give identical runs everywhere, after every step;
    pfns outside the dense windows read ABSENT in both."""
    dense, runs = DenseMemmap(WINDOWS), RunsMemmap()
    for (lo, hi), writes, record in seq:
        dense.apply(lo, hi, writes, record)
        runs.apply(lo, hi, writes, record)
        got_d, got_r = list(dense.runs(*SPAN)), list(runs.runs(*SPAN))
        assert got_d == got_r
        check_runs_shape(got_r, *SPAN)
    for wlo, whi in WINDOWS:
        assert list(dense.runs(wlo, whi)) == list(runs.runs(wlo, whi))
    # outside the windows: nothing was ever written
    for lo, hi in ((0, 1000), (1300, 2048), (2600, 3000), (2600, PFN_LIMIT)):
        assert list(dense.runs(lo, hi)) == list(runs.runs(lo, hi)) == [(lo, hi, ABSENT_RECORD)]
    for lo, hi in qs:
        if lo == hi:
            continue  # empty queries: DenseMemmap.runs(x, x) inside a window raises
        got = list(runs.runs(lo, hi))
        assert list(dense.runs(lo, hi)) == got
        check_runs_shape(got, lo, hi)
    for pfn in (*EDGES, *probe):
        assert dense.record(pfn) == runs.record(pfn)

    def poisoned(r: PageRecord) -> bool:
        return r.poisonings > 0 or r.words[0] == PAGE_POISON_PATTERN

    for pred in (poisoned, lambda r: r == ABSENT_RECORD, lambda r: bool(r.init_passes)):
        assert dense.count(*SPAN, pred) == runs.count(*SPAN, pred)


@settings(max_examples=60, deadline=None)
@given(seq=ops)
def test_runs_agree_with_per_pfn_replay(
    seq: list[tuple[tuple[int, int], tuple[Write, ...], PassRecord | None]],
) -> None:
    """Both backends equal a plain per-pfn replay of PageRecord.with_writes/with_pass."""
    oracle = {pfn: ABSENT_RECORD for lo, hi in WINDOWS for pfn in range(lo, hi)}
    dense, runs = DenseMemmap(WINDOWS), RunsMemmap()
    for (lo, hi), writes, record in seq:
        dense.apply(lo, hi, writes, record)
        runs.apply(lo, hi, writes, record)
        for pfn in range(lo, hi):
            rec = oracle[pfn].with_writes(writes)
            oracle[pfn] = rec.with_pass(record) if record is not None else rec
    for lo, hi in WINDOWS:
        expected = [oracle[pfn] for pfn in range(lo, hi)]
        assert pages(dense, lo, hi) == expected
        assert pages(runs, lo, hi) == expected


# --- deterministic behaviour ----------------------------------------------------------

BACKENDS: dict[str, Callable[[], Memmap]] = {
    "dense": lambda: DenseMemmap(WINDOWS),
    "runs": RunsMemmap,
}
INIT = PassRecord(PassKind.INIT, "memmap_init_zone", True, "pmem0")
POISON = PassRecord(PassKind.POISON, "sparse_add_one_section", True, "pmem0")


def init_single_page(zone: int, nid: int) -> tuple[Write, ...]:
    """__init_single_page for a ZONE_DEVICE page in v4.20, field by field (spec §2.1)."""
    return (
        *fill(0),
        set_field(Word.FLAGS, LAYOUT.zones_pgshift, LAYOUT.zones_width, zone),
        set_field(Word.FLAGS, LAYOUT.nodes_pgshift, LAYOUT.nodes_width, nid),
        set_field(Word.COUNTS, 32, 32, 1),
        set_field(Word.COUNTS, 0, 32, 0xFFFF_FFFF),
        set_bits(Word.FLAGS, ((1 << LAYOUT.last_cpupid_width) - 1) << LAYOUT.last_cpupid_pgshift),
        store(Word.LRU_NEXT, SELF_LRU),
        store(Word.LRU_PREV, SELF_LRU),
    )


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_fresh_memmap_is_absent_everywhere(backend: str) -> None:
    """Before any write every pfn, in a window or not, reads the ABSENT record."""
    m = BACKENDS[backend]()
    assert list(m.runs(*SPAN)) == [(*SPAN, ABSENT_RECORD)]
    assert ABSENT_RECORD.words == (ABSENT,) * NR_WORDS and ABSENT_RECORD.history == ()
    for pfn in EDGES:
        assert m.record(pfn) == ABSENT_RECORD


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_writes_apply_in_order_then_record(backend: str) -> None:
    """Writes are applied in the order given; the pass record is appended after them."""
    m = BACKENDS[backend]()
    m.apply(1000, 1010, (*fill(PAGE_POISON_PATTERN),), POISON)
    m.apply(1000, 1010, init_single_page(ZoneType.ZONE_DEVICE, 1), INIT)
    m.apply(1000, 1010, (set_bits(Word.FLAGS, LAYOUT.flag("PG_reserved")),))
    m.apply(1000, 1010, (store(PGMAP, pgmap_token(2)), store(HMM_DATA, 0)))
    rec = m.record(1005)
    flags = rec.words[Word.FLAGS]
    assert LAYOUT.zone(flags) == ZoneType.ZONE_DEVICE and LAYOUT.nid(flags) == 1
    assert LAYOUT.set_names(flags) == ["PG_reserved"]
    assert rec.words[1:] == (pgmap_token(2), 0, 0, 0, 0, (1 << 32) | 0xFFFF_FFFF, 0)
    assert rec.history == (POISON, INIT)
    assert rec.poisonings == 1 and rec.init_passes == (INIT,)
    # order matters: a store then a set_bits differs from the reverse
    m.apply(1010, 1011, (store(Word.INDEX, 0), set_bits(Word.INDEX, 4)))
    m.apply(1011, 1012, (set_bits(Word.INDEX, 4), store(Word.INDEX, 0)))
    assert m.record(1010).words[Word.INDEX] == 4
    assert m.record(1011).words[Word.INDEX] == 0
    assert list(m.runs(990, 1012))[:2] == [(990, 1000, ABSENT_RECORD), (1000, 1010, rec)]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_history_accumulates_per_pfn(backend: str) -> None:
    """Overlapping passes give overlapping pfns both records, in application order, and a
    record-only apply leaves the words alone."""
    m = BACKENDS[backend]()
    a = PassRecord(PassKind.INIT, "memmap_init_zone", False, "pmem0")
    b = PassRecord(PassKind.INIT, "memmap_init_zone_device", True, "pmem1")
    m.apply(2048, 2148, (), a)
    m.apply(2098, 2198, (), b)
    m.apply(2098, 2099, (), a)
    assert [(s, e, r.history) for s, e, r in m.runs(2048, 2198)] == [
        (2048, 2098, (a,)),
        (2098, 2099, (a, b, a)),
        (2099, 2148, (a, b)),
        (2148, 2198, (b,)),
    ]
    assert all(r.words == ABSENT_RECORD.words for _s, _e, r in m.runs(2048, 2198))
    assert m.count(2048, 2600, lambda r: len(r.init_passes) >= 2) == 50
    assert m.count(2048, 2600, lambda r: a in r.history) == 100
    assert m.count(0, 3000, lambda r: r == ABSENT_RECORD) == 3000 - 150


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_writing_back_the_old_state_coalesces(backend: str) -> None:
    """Restoring a sub-range to its neighbours' state merges the runs again."""
    m = BACKENDS[backend]()
    m.apply(1000, 1300, fill(STALE))
    m.apply(1100, 1200, (store(Word.MAPPING, 1),))
    assert len(list(m.runs(1000, 1300))) == 3
    m.apply(1100, 1200, (store(Word.MAPPING, STALE),))
    assert list(m.runs(1000, 1300)) == [(1000, 1300, PageRecord((STALE,) * NR_WORDS))]
    m.apply(1000, 1300, fill(ABSENT))  # back to "no memmap": merges with the gap around it
    assert list(m.runs(*SPAN)) == [(*SPAN, ABSENT_RECORD)]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_empty_apply_is_a_no_op(backend: str) -> None:
    m = BACKENDS[backend]()
    m.apply(1100, 1100, fill(0), INIT)
    assert list(m.runs(*SPAN)) == [(*SPAN, ABSENT_RECORD)]


def test_runs_stay_few_over_three_tib() -> None:
    """A 3 TiB range written whole by three different operations stays three runs
    (absent | written | absent), and restoring a split range coalesces it again."""
    n = parse_size("3T") // PAGE_SIZE
    assert n == 805_306_368
    lo = PHYS_PFN(64 * GiB)
    hi = lo + n
    m = RunsMemmap()
    m.apply(lo, hi, fill(PAGE_POISON_PATTERN), POISON)
    assert m.nruns() == 3
    m.apply(lo, hi, init_single_page(ZoneType.ZONE_DEVICE, 0), INIT)
    assert m.nruns() == 3
    m.apply(
        lo, hi, (set_bits(Word.FLAGS, LAYOUT.flag("PG_reserved")), store(PGMAP, pgmap_token(0)))
    )
    assert m.nruns() == 3
    runs = list(m.runs(0, PFN_LIMIT))
    assert [(s, e) for s, e, _r in runs] == [(0, lo), (lo, hi), (hi, PFN_LIMIT)]
    rec = runs[1][2]
    assert rec.history == (POISON, INIT)
    assert rec.words[PGMAP] == pgmap_token(0)
    assert m.count(lo, hi, lambda r: r.poisonings == 1 and len(r.init_passes) == 1) == n
    assert m.count(0, PFN_LIMIT, lambda r: r == ABSENT_RECORD) == PFN_LIMIT - n

    # a second, unlocked init pass over the data part only (as in era B): one more run
    free = 12_582_912  # ~1.56 % of the namespace holds the memmap
    again = PassRecord(PassKind.INIT, "memmap_init_zone", False, "pmem0")
    m.apply(lo + free, hi, (), again)
    assert m.nruns() == 4
    assert m.count(lo, hi, lambda r: len(r.init_passes) == 2) == n - free
    # ... and the same pass over the rest makes the range uniform again
    m.apply(lo, lo + free, (), again)
    assert m.nruns() == 3
    assert m.record(lo) == m.record(hi - 1) == m.record(lo + free)


def test_runs_memmap_covers_all_pfns() -> None:
    """The runs backend has no windows: any pfn below PFN_LIMIT can be written and read."""
    m = RunsMemmap()
    top = PFN_LIMIT - 1
    m.apply(top, PFN_LIMIT, fill(STALE))
    assert m.record(top) == PageRecord((STALE,) * NR_WORDS)
    assert m.record(top - 1) == ABSENT_RECORD
    with pytest.raises(IndexError):
        m.apply(top, PFN_LIMIT + 1, fill(STALE))


# --- DenseMemmap windows --------------------------------------------------------------


def test_dense_windows_are_sorted_and_merged() -> None:
    """Overlapping and touching windows merge; empty windows are dropped."""
    m = DenseMemmap([(40, 50), (10, 20), (15, 30), (30, 35), (60, 60), (70, 65)])
    assert m.windows == [(10, 35), (40, 50)]
    m.apply(12, 33, (store(Word.INDEX, 9),))  # spans the merged windows: allowed
    assert m.record(32).words[Word.INDEX] == 9


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(990, 1010), (1290, 1310), (1200, 2100), (1300, 1301), (2599, 2601), (0, 5), (5000, 6000)],
)
def test_dense_rejects_ranges_outside_one_window(lo: int, hi: int) -> None:
    """An apply not inside a single window raises IndexError naming the pfns and the windows,
    and changes nothing."""
    m = DenseMemmap(WINDOWS)
    m.apply(1000, 1300, fill(STALE))
    before = list(m.runs(*SPAN))
    with pytest.raises(IndexError) as exc:
        m.apply(lo, hi, fill(0), INIT)
    msg = str(exc.value)
    assert f"[{lo:#x}, {hi:#x})" in msg
    assert re.search(r"\[0x3e8, 0x514\).*\[0x800, 0xa28\)", msg)
    assert list(m.runs(*SPAN)) == before


def test_empty_query_inside_a_dense_window() -> None:
    """Was a numpy IndexError; the I5 check asks for empty ranges when the reserve covers res."""
    assert list(DenseMemmap([(1000, 1300)]).runs(1100, 1100)) == []
    assert list(RunsMemmap().runs(1100, 1100)) == []


def test_reversed_range_is_an_error_in_both_backends() -> None:
    for mm in (DenseMemmap([(1000, 1300)]), RunsMemmap()):
        with pytest.raises(IndexError):
            mm.apply(1200, 1100)
