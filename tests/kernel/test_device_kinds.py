"""devdax, fsdax with the memmap in RAM, and HMM device-private, on 4.18 and 4.20.

pfn 0x40000        0x50000            0x60000                 0x400000     0x420000
    | dax0 (devdax) | ramcap (fsdax,    |   ...  DRAM 2-3 GiB  ... | gpu0 (device-private,
    | memmap on dev | memmap in RAM)    |                          | hmm_devmem_add)
"""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import parse_scenario
from memmapsim.model.section import Medium, MemmapBacking
from memmapsim.model.structpage import LIST_POISON2, SELF_LRU, Word
from memmapsim.simulate import RunResult, simulate
from tests.scenario_text import NODE0, dev

TEXT = (
    'name = "kinds"\n'
    + NODE0
    + dev("dax0", "1G", "256M", kind="devdax")
    + dev("ramcap", "1280M", "256M", memmap="ram")
    + dev("gpu0", "16G", "512M", kind="device-private", memmap="ram")
)
DAX, RAMCAP, GPU = 0x40000, 0x50000, 0x400000


def run(kernel: str) -> RunResult:
    return simulate(parse_scenario(TEXT, "kinds.toml"), kernel)


@pytest.mark.parametrize("kernel", ["4.18", "4.20"])
def test_device_names_types_and_indexes(kernel: str) -> None:
    r = run(kernel)
    # pgmap ids are allocated by the model in creation order: the GPU's probe (PCI
    # context, no info block to lay out) creates its pgmap first.
    ids = {pg.cfg.dev_name: pg.id for pg in r.mem.all_pgmaps()}
    assert ids == {"gpu0": 0, "dax0.0": 1, "pfn1.0": 2}
    pgmap_index, hmm_index = r.mem.indexes["pgmap"], r.mem.indexes["hmm_devmem"]
    # device-private memory is published only in HMM's own radix, which get_dev_pagemap
    # never reads; the pmem devices only in the pgmap index.
    assert pgmap_index.lookup(GPU) is None and hmm_index.lookup(GPU) == ids["gpu0"]
    assert pgmap_index.lookup(DAX) == ids["dax0.0"] and hmm_index.lookup(DAX) is None


@pytest.mark.parametrize("kernel", ["4.18", "4.20"])
def test_memmap_in_ram_has_no_altmap_and_refs_cover_all_of_res(kernel: str) -> None:
    """PFN_MODE_RAM: altmap_valid is false, so pfn_first is res.start and the info-block
    pfns get struct pages and references like data pages."""
    r = run(kernel)
    cap = r.devices[1]
    assert cap.pgmap is not None and cap.pgmap.altmap is None
    assert cap.refs_taken == 0x10000 == cap.refs_put_at_release
    assert r.mem.vmemmap.backing(RAMCAP) == MemmapBacking(Medium.RAM, 0)
    assert r.mem.page(RAMCAP).pgmap == cap.pgmap.id


def test_hmm_data_inconsistency_of_4_18_is_gone_in_4_20() -> None:
    """Spec §8 (12): in 4.18 devm_memremap_pages leaves LIST_POISON2 in hmm_data (list_del)
    while hmm_devmem_pages_create leaves INIT_LIST_HEAD's self pointer; 4.20's
    memmap_init_zone_device sets it to 0 for both (Duyck, 966cf44f637e)."""
    old, new = run("4.18"), run("4.20")
    assert old.mem.page(DAX + 0x600).words[Word.LRU_PREV] == LIST_POISON2
    assert old.mem.page(GPU).words[Word.LRU_PREV] == SELF_LRU
    assert new.mem.page(DAX + 0x600).words[Word.LRU_PREV] == 0
    assert new.mem.page(GPU).words[Word.LRU_PREV] == 0


def test_hmm_takes_no_per_page_references() -> None:
    for kernel in ("4.18", "4.20"):
        gpu = run(kernel).devices[2]
        assert gpu.refs_taken == 0 == gpu.refs_put_at_release


def test_4_20_initializes_nothing_under_the_lock_without_an_altmap() -> None:
    """memmap_init_zone returns at once for ZONE_DEVICE without an altmap (966cf44f637e);
    with one, it does the memmap host and (v4.20's section-tail loop) the data up to that
    section's end."""
    r = run("4.20")
    assert [d.pages_locked for d in r.devices] == [32_766, 0, 0]
    assert [d.pages_locked for d in run("4.18").devices] == [65534, 65536, 131072]
