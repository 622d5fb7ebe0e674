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
