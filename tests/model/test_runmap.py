"""RunMap: run splitting, coalescing and range updates, against a dict oracle."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from memmapsim.model.runmap import RunMap

LIMIT = 64


def test_assign_splits_and_coalesces() -> None:
    m: RunMap[int] = RunMap(0, LIMIT)
    m.assign(10, 20, 1)
    assert list(m.runs()) == [(0, 10, 0), (10, 20, 1), (20, LIMIT, 0)]
    m.assign(20, 30, 1)  # extends the run: no new boundary at 20
    assert list(m.runs()) == [(0, 10, 0), (10, 30, 1), (30, LIMIT, 0)]
    m.assign(10, 30, 0)  # back to one run
    assert list(m.runs()) == [(0, LIMIT, 0)]
    assert m.nruns() == 1


def test_runs_are_clipped_to_the_query() -> None:
    m: RunMap[str] = RunMap("a", LIMIT)
    m.assign(8, 16, "b")
    assert list(m.runs(12, 40)) == [(12, 16, "b"), (16, 40, "a")]
    assert m.count(0, LIMIT, lambda v: v == "b") == 8
    assert m.first_match(0, LIMIT, lambda v: v == "b") == 8


ops = st.lists(
    st.tuples(
        st.sampled_from(["assign", "update"]),
        st.integers(0, LIMIT),
        st.integers(0, LIMIT),
        st.integers(0, 3),
    ),
    max_size=30,
)


@given(ops)
def test_matches_a_dict_and_stays_canonical(seq: list[tuple[str, int, int, int]]) -> None:
    m: RunMap[int] = RunMap(0, LIMIT)
    oracle = [0] * LIMIT
    for op, a, b, v in seq:
        lo, hi = min(a, b), max(a, b)
        if op == "assign":
            m.assign(lo, hi, v)
            oracle[lo:hi] = [v] * (hi - lo)
        else:
            m.update(lo, hi, lambda x, v=v: (x + v) % 4)
            oracle[lo:hi] = [(x + v) % 4 for x in oracle[lo:hi]]
    assert [m.get(i) for i in range(LIMIT)] == oracle
    runs = list(m.runs())
    assert runs[0][0] == 0 and runs[-1][1] == LIMIT
    for (_s1, e1, v1), (s2, _e2, v2) in itertools.pairwise(runs):
        assert e1 == s2 and v1 != v2  # contiguous and maximal


def test_assign_periodic_sets_one_window_per_period() -> None:
    """Periods of 8 from 16 to 48, window [2, 5):

    key   0      16 18  21     24 26  29 ...      48        64
          |  0   |0 | 7 |  0   |0 | 7 | ...  0    |    0    |
    """
    m: RunMap[int] = RunMap(0, LIMIT)
    m.assign_periodic(16, 48, 8, 2, 5, 7)
    assert list(m.runs()) == [
        (0, 18, 0), (18, 21, 7), (21, 26, 0), (26, 29, 7), (29, 34, 0), (34, 37, 7),
        (37, 42, 0), (42, 45, 7), (45, LIMIT, 0),
    ]  # fmt: skip
    m.assign_periodic(16, 48, 8, 0, 8, 0)  # the whole range back to the default
    assert list(m.runs()) == [(0, LIMIT, 0)]


@given(
    ops,
    st.integers(0, 3).flatmap(
        lambda v: st.tuples(st.integers(1, 16), st.integers(0, 16), st.just(v))
    ),
    st.integers(0, LIMIT),
    st.integers(0, 8),
    st.data(),
)
def test_assign_periodic_is_one_assign_per_period(
    seq: list[tuple[str, int, int, int]],
    shape: tuple[int, int, int],
    lo: int,
    periods: int,
    data: st.DataObject,
) -> None:
    period, _, v = shape
    a = data.draw(st.integers(0, period))
    b = data.draw(st.integers(a, period))
    hi = min(lo + periods * period, LIMIT)
    hi -= (hi - lo) % period
    m: RunMap[int] = RunMap(0, LIMIT)
    ref: RunMap[int] = RunMap(0, LIMIT)
    for op, x, y, w in seq:
        if op == "assign":
            m.assign(min(x, y), max(x, y), w)
            ref.assign(min(x, y), max(x, y), w)
    m.assign_periodic(lo, hi, period, a, b, v)
    for p in range(lo, hi, period):
        ref.assign(p + a, p + b, v)
    assert list(m.runs()) == list(ref.runs())  # same values, and maximal runs
