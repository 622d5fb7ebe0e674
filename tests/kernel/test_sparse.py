"""Adding sections (mm/sparse.c, mm/sparse-vmemmap.c, x86 vmemmap_populate), v4.18-v5.2."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from memmapsim.kernel.sparse import altmap_alloc_blocks
from memmapsim.model.pgmap import AltmapConfig


def one_block_at_a_time(
    cfg: AltmapConfig, alloc: int, align: int, nr_pfns: int, count: int
) -> tuple[int, int, int]:
    """altmap_alloc_block_buf as the kernel runs it: one call per block."""
    got = 0
    for _ in range(count):
        pfn = cfg.base_pfn + cfg.reserve + alloc + align
        unit = nr_pfns & -nr_pfns
        nr_align = -pfn % unit
        nr_free = max(cfg.free - (alloc + align), 0)
        if nr_pfns + nr_align > nr_free:
            break
        alloc, align, got = alloc + nr_pfns, align + nr_align, got + 1
    return got, alloc, align


@given(
    base=st.integers(0, 1 << 30).map(lambda x: x << 15),
    reserve=st.integers(0, 40_000),
    free=st.integers(0, 1 << 16),
    alloc=st.integers(0, 5000),
    align=st.integers(0, 600),
    shift=st.integers(0, 10),
    count=st.integers(0, 200),
)
def test_closed_form_matches_one_call_per_block(
    base: int, reserve: int, free: int, alloc: int, align: int, shift: int, count: int
) -> None:
    cfg = AltmapConfig(base, reserve, free)
    nr_pfns = 1 << shift
    assert altmap_alloc_blocks(cfg, alloc, align, nr_pfns, count) == one_block_at_a_time(
        cfg, alloc, align, nr_pfns, count
    )


def test_a_3tib_namespace_takes_exactly_its_free_pfns() -> None:
    """reserve 2, free 12,583,422: 510 pfns align the first 2 MiB block, then 24,576
    blocks of 512 fill it to the last pfn."""
    cfg = AltmapConfig(0, 2, 12_583_422)
    assert altmap_alloc_blocks(cfg, 0, 0, 512, 24_576) == (24_576, 24_576 * 512, 510)
    assert altmap_alloc_blocks(cfg, 24_576 * 512, 510, 512, 1) == (0, 24_576 * 512, 510)
