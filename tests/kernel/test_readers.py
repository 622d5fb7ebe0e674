"""The kernel's readers, release by release: which gate lets them at a never-initialized
struct page (the altmap reserve, after the add) and which does not — each as the release
trees have it (kernel/readers/, versions_readers.py)."""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import load_scenario
from memmapsim.kernel.readers import READERS
from memmapsim.kernel.versions import device_releases
from memmapsim.model.pageflags import release_key
from memmapsim.races import Request, explore

DEVICE_RELEASES = device_releases()  # the explorer's releases: 4.14 has no devices


def reserve(scenario: str = "tiny-pmem") -> int:
    return load_scenario(scenario).devices[0].start >> 12


def sees_reserve(reader: str, release: str) -> bool:
    """Whether ``reader`` reads the never-initialized reserve page once the add is done (no
    preemption needed)."""
    run = explore(Request("tiny-pmem", release, (reader,), (reserve(),), preemptions=0))
    assert run.complete
    return any(f.hit.state == "never written" and f.hit.preemptions == 0 for f in run.findings)


def since(release: str, first: str | None, until: str | None = None) -> bool:
    k = release_key(release)
    return (first is None or k >= release_key(first)) and (until is None or k <= release_key(until))


CASES = [
    # reader, first release that reads the reserve, last (None: still in 7.1)
    ("kpageflags", "4.18", "5.3"),  # pfn_valid until aad5f69bc161 (v5.4)
    ("memory_failure", "4.18", "5.10"),  # pfn_valid, then get_dev_pagemap; pgmap_pfn_valid in 5.12
    ("hwpoison_inject", "4.18", None),  # pfn_valid in every release
    ("soft_offline_page", "4.18", "5.3"),  # pfn_to_online_page from v5.4
    ("kmemleak", "4.18", "4.20"),  # pfn_to_online_page from v5.0 (9f1eb38e0e11)
    ("page_owner", "4.18", "5.3"),  # pfn_to_online_page from v5.4
    ("compaction", None, "0"),  # pfn_to_online_page in every release: never
    ("get_user_pages", None, "0"),  # only mapped data pfns of a bound driver: never
]


@pytest.mark.parametrize(("reader", "first", "last"), CASES, ids=[c[0] for c in CASES])
def test_who_reads_the_altmap_reserve_after_the_add(
    reader: str, first: str | None, last: str | None
) -> None:
    for release in DEVICE_RELEASES:
        expected = first is not None and since(release, first, last)
        assert sees_reserve(reader, release) == expected, release


def test_get_user_pages_never_sees_an_uninitialized_page() -> None:
    """A DAX fault needs a mapping, which exists only once the probe has bound the driver:
    safe by construction, whatever the schedule."""
    for release in ("4.18", "4.20", "5.10", "7.1"):
        run = explore(Request("tiny-pmem", release, ("get_user_pages",), preemptions=2))
        assert run.complete and run.findings == []


def test_get_user_pages_reads_the_page_once_the_driver_is_bound() -> None:
    """The gate opens: after the probe has bound the driver, the fault takes the page."""
    from memmapsim.effects import ReadPage
    from memmapsim.engine import explore as ex
    from memmapsim.races import Item, context, setup_for

    ctx = context("tiny-pmem", "4.20")
    pfn = next(c.ranges[0][0] for _d, c in ctx.classes if c.key == "data")
    run = ex.Execution(setup_for(ctx, Item(0, "get_user_pages", pfn, "pmem0", "data")), True)
    reader = run.reader_x
    assert reader is not None
    while (x := next((x for x in run.enabled() if not x.reader), None)) is not None:
        run.choose(x)  # the writers to the end, then the fault
    run.finish()
    reads = [e for e in run.events if e.thread == reader.key and isinstance(e.eff, ReadPage)]
    assert [e.eff.pfn for e in reads] == [pfn] and not run.hits


def test_the_teardown_reads_and_span_shrinking_are_readers_of_the_removing_thread() -> None:
    for release, found in (("4.20", True), ("5.3", True), ("5.4", False)):
        run = explore(Request("tiny-pmem-remove", release, ("shrink_zone_span",)))
        hits = [(f.hit.invariant, f.hit.pfn_class) for f in run.findings]
        assert (("I8", "altmap_reserve") in hits) == found, release


def test_pfn_valid_before_the_memmap_is_mapped_breaks_i6_and_reaches_no_memmap() -> None:
    """v5.3+: a second device in a section that already has a memmap sets its sub-section
    bits before its memmap exists (spec §7 S1', §10 question 4)."""
    pfn = load_scenario("tiny-pmem-shared").devices[1].start >> 12
    run = explore(Request("tiny-pmem-shared", "5.10", ("hwpoison_inject",), (pfn,), preemptions=1))
    by = {(f.hit.invariant, f.hit.state): f for f in run.findings}
    i6 = by[("I6", "pfn_valid without memmap")]
    assert i6.hit.preemptions == 0 and i6.hit.writer_step == "add#2: sparse_add_section"
    gap = by[("I1", "no memmap")]
    assert gap.hit.preemptions == 1 and gap.hit.next_write is not None
    assert gap.hit.next_write.fn == "populate_section_memmap"


def test_every_reader_runs_on_every_release() -> None:
    for release in DEVICE_RELEASES:
        run = explore(Request("tiny-pmem-remove", release, (), (reserve(),), budget=1))
        assert {it.reader for it in run.items} == {r.name for r in READERS}
        assert run.schedules == len(run.items)


@pytest.mark.parametrize(("release", "reads"), [("6.4", 3), ("6.12", 2)])
def test_the_compaction_gate_reads_the_first_pfn_s_section_until_6_12(
    release: str, reads: int
) -> None:
    """``pfn_valid`` of the block's first and last pfn, then ``pfn_to_online_page`` of the
    first (6.4.0); the 6.12.0 tree drops the first ``pfn_valid``."""
    from memmapsim.effects import ReadSections
    from memmapsim.kernel.readers.compaction import isolate_migratepages_block
    from memmapsim.kernel.versions import parse_kernel
    from memmapsim.model.section import SectionFlag, SectionState

    valid = SectionState(
        SectionFlag.MARKED_PRESENT | SectionFlag.HAS_MEM_MAP, 0, (1 << 64) - 1, True
    )
    gen = isolate_migratepages_block(parse_kernel(release), 0x48000)
    seen, reply = 0, None
    while True:
        eff = gen.send(reply)
        if not isinstance(eff, ReadSections):
            break
        seen += 1
        reply = [(eff.lo, eff.hi, valid)]
    assert seen == reads  # not online: no struct page is read
