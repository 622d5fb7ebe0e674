"""Shared struct-page storage and per-compound-page programs: the runs backend (periodic
runs, aliases resolved on read) against the dense oracle (a slot index per pfn).

The sharing under test is v5.19's vmemmap deduplication scaled down: compound pages of 16
pfns whose offsets 0-7 have their own struct pages and whose offsets 8-15 alias offsets
4-7 (in the kernel: 512 or 262,144 pfns, own 128, aliasing 64-127)::

    pfn  h+0 .. h+3 | h+4 .. h+7 | h+8 .. h+11 | h+12 .. h+15
         own        | own (base) | -> h+4..h+7 | -> h+4..h+7
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from memmapsim.model.dense import DenseMemmap
from memmapsim.model.memmap import STALE_RECORD, Memmap, RunsMemmap, Spread, Step
from memmapsim.model.page import ABSENT_RECORD, PageRecord, PassKind, PassRecord
from memmapsim.model.periodic import Sharing
from memmapsim.model.structpage import Word, set_bits, store
from tests.model.test_memmap import records, writes_lists

P = 16
SH = Sharing(P, own=8, base=4, length=4)
WINDOWS = ((64, 256), (512, 640))
SPAN = (0, 700)


@st.composite
def ranges(draw: st.DrawFn, align: int = 1) -> tuple[int, int]:
    wlo, whi = draw(st.sampled_from(WINDOWS))
    a = draw(st.integers(wlo // align, whi // align)) * align
    b = draw(st.integers(wlo // align, whi // align)) * align
    return min(a, b), max(a, b)


steps = st.lists(
    st.builds(
        lambda w, wr, r: Step(min(w), max(w), wr, r),
        st.tuples(st.integers(0, P), st.integers(0, P)),
        writes_lists,
        records,
    ),
    min_size=1,
    max_size=4,
)
op = st.one_of(
    st.tuples(st.just("populate"), ranges(4), st.sampled_from([None, SH, SH])),
    st.tuples(st.just("apply"), ranges(), writes_lists, records),
    st.tuples(st.just("periodic"), ranges(P), steps),
)


def run(m: Memmap, seq: list[tuple]) -> None:  # type: ignore[type-arg]
    for o in seq:
        if o[0] == "populate":
            m.populate(*o[1], o[2])
        elif o[0] == "apply":
            m.apply(*o[1], o[2], o[3])
        else:
            m.apply_periodic(*o[1], P, o[2])


def passes(r: PageRecord) -> int | None:
    return len(r.init_passes) if r != ABSENT_RECORD else None


@settings(max_examples=200, deadline=None)
@given(seq=st.lists(op, min_size=1, max_size=10), q=ranges(), pfns=st.lists(st.integers(*SPAN)))
def test_runs_backend_matches_dense_oracle_with_sharing(
    seq: list[tuple],
    q: tuple[int, int],
    pfns: list[int],  # type: ignore[type-arg]
) -> None:
    dense, runs = DenseMemmap(WINDOWS), RunsMemmap()
    run(dense, seq)
    run(runs, seq)
    assert list(runs.runs(*SPAN)) == list(dense.runs(*SPAN))
    for pfn in pfns:
        assert runs.record(pfn) == dense.record(pfn)
    for lo, hi in (SPAN, q):
        assert runs.histogram(lo, hi) == dense.histogram(lo, hi)
        assert runs.storage_histogram(lo, hi) == dense.storage_histogram(lo, hi)
        sr, sd = runs.spread(lo, hi, passes), dense.spread(lo, hi, passes)
        assert {k: (v.ranges, v.nranges, v.pages) for k, v in sr.items()} == {
            k: (v.ranges, v.nranges, v.pages) for k, v in sd.items()
        }
        # the same restricted to the offsets [a, b) of every compound page (the pfn
        # classes of compound heads and tails); the runs backend answers in closed form
        for a, b in WINDOW_CLASSES:
            assert runs.histogram_window(lo, hi, P, a, b) == dense.histogram_window(lo, hi, P, a, b)
            sr = runs.spread_window(lo, hi, P, a, b, passes)
            sd = dense.spread_window(lo, hi, P, a, b, passes)
            assert {k: (v.ranges, v.nranges, v.pages) for k, v in sr.items()} == {
                k: (v.ranges, v.nranges, v.pages) for k, v in sd.items()
            }


WINDOW_CLASSES = ((0, 1), (1, 2), (2, 3), (3, 8), (8, P), (0, P), (5, 11))
"""Head, first tail, second tail, other own tails, aliased tails, everything, a mix."""


INIT = PassRecord(PassKind.INIT, "memmap_init_zone_device", False, "dax0")
POISON = PassRecord(PassKind.POISON, "sparse_add_section", True, "dax0")
HEAD = (store(Word.MAPPING, 1),)
TAIL = (store(Word.MAPPING, 2),)


def test_a_write_through_an_alias_is_seen_through_all_its_aliases() -> None:
    for m in (DenseMemmap(WINDOWS), RunsMemmap()):
        m.populate(64, 96, SH)
        m.apply(64 + 9, 64 + 10, (set_bits(Word.INDEX, 1),), INIT)  # offset 9 -> slot 5
        for pfn in (64 + 5, 64 + 9, 64 + 13):
            assert m.record(pfn).words[Word.INDEX] & 1 and m.record(pfn).history == (INIT,)
        assert m.record(64 + 6) == STALE_RECORD
        assert m.record(80 + 9) == STALE_RECORD  # the next compound page is untouched


def test_one_slot_is_written_once_per_pass_whatever_aliases_it() -> None:
    """Poisoning a whole compound through its aliased vmemmap writes each shared slot
    once: the pass record appears once."""
    for m in (DenseMemmap(WINDOWS), RunsMemmap()):
        m.populate(64, 96, SH)
        m.apply(64, 96, (), POISON)
        assert m.record(64 + 13).history == (POISON,)
        assert m.storage_histogram(64, 96) == {STALE_RECORD.with_pass(POISON): 16}
        assert m.histogram(64, 96) == {STALE_RECORD.with_pass(POISON): 32}


def test_a_section_of_a_large_compound_shares_the_first_sections_tail_slots() -> None:
    """A compound page spanning several populate calls (a 1 GiB compound over eight
    sections): the later ones alias slots the first one populated, and populating them
    leaves those slots alone."""
    big = Sharing(64, own=8, base=4, length=4)
    for m in (DenseMemmap(WINDOWS), RunsMemmap()):
        m.populate(128, 144, big)
        m.apply(128, 144, TAIL, INIT)
        m.populate(144, 192, big)  # the rest of the compound: only aliases
        assert m.record(150) == m.record(128 + 4 + 150 % 4)
        assert m.record(150).history == (INIT,)
        m.apply(160, 192, (store(Word.INDEX, 7),))  # writes the slots at 132..135
        assert m.record(133).words[Word.INDEX] == 7


def test_a_program_per_compound_page_keeps_terabytes_to_a_few_runs() -> None:
    """2 MiB compound pages with shared tails over 1 TiB: populate, poison and a head /
    tail / head-fields program leave a handful of runs, and the census is exact."""
    n = 1 << 28  # 1 TiB of pfns
    lo = 1 << 30
    sh = Sharing(512)
    m = RunsMemmap()
    m.populate(lo, lo + n, sh)
    m.apply(lo, lo + n, (), POISON)
    prog = [
        Step(0, 1, HEAD, INIT),
        Step(1, 128, TAIL, INIT),
        Step(1, 2, (store(Word.INDEX, 9),)),
    ]
    m.apply_periodic(lo, lo + n, 512, prog)
    assert m.nruns() <= 3
    hist = m.histogram(lo, lo + n)
    assert sum(hist.values()) == n
    compounds = n // 512
    heads = [r for r in hist if r.words[Word.MAPPING] == 1]
    assert [hist[r] for r in heads] == [compounds]
    store_hist = m.storage_histogram(lo, lo + n)
    assert sum(store_hist.values()) == compounds * 128
    spread = m.spread(lo, lo + n, lambda r: r.words[Word.MAPPING])
    assert spread[1].nranges == compounds and spread[1].ranges[:2] == [
        (lo, lo + 1),
        (lo + 512, lo + 513),
    ]
    assert spread[2].pages == n - compounds


@st.composite
def offsets(draw: st.DrawFn) -> list[tuple[int, int]]:
    cuts = sorted(set(draw(st.lists(st.integers(0, P), min_size=2, max_size=6))))
    return [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]


@given(
    offs=offsets(),
    before=st.sampled_from([None, (0, 3), (5, 16), (0, 16)]),
    n=st.integers(1, 12),
    keep=st.integers(0, 9),
)
def test_spread_in_closed_form_equals_adding_each_range(
    offs: list[tuple[int, int]], before: tuple[int, int] | None, n: int, keep: int
) -> None:
    """Spread.add_repeated (periodic runs of terabytes) counts ranges and pages exactly as
    adding every range would, including joins with what came before and across periods."""
    first = 64
    a, b = Spread(keep), Spread(keep)
    for s in (a, b):
        if before is not None:
            s.add(first - before[1] + before[0], first)
    a.add_repeated(offs, first, P, n)
    for i in range(n):
        for x, y in offs:
            b.add(first + i * P + x, first + i * P + y)
    assert (a.ranges, a.nranges, a.pages) == (b.ranges, b.nranges, b.pages)


def test_regression_shared_run_across_two_partial_compound_pages() -> None:
    """A shared run that starts and ends inside neighbouring compound pages, with no whole
    page between, is two partial periods; a step writing offset 8 (an alias of offset 4)
    must write pfn 580 through it. Found by hypothesis: ``_cut`` returned one piece::

        pfn  560      564          576      580  584 588      592
             | stale  | shared ... | shared | 4 | 8 |   stale |
    """
    for m in (DenseMemmap(WINDOWS), RunsMemmap()):
        m.populate(564, 588, SH)
        m.apply_periodic(560, 592, P, [Step(8, 9, (store(Word.FLAGS, 0),), None)])
        assert m.record(580).words[Word.FLAGS] == 0, m.name
        assert m.record(584) == m.record(580), m.name
        assert m.record(581) == STALE_RECORD, m.name
