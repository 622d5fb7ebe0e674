"""Hot-plugged System RAM, version by version: a VM (4 GiB of boot memory, so 128 MiB memory
blocks) gets an ACPI memory device at 8 GiB, which is added, onlined, offlined and removed::

    pfn 0x200000           0x200200                       0x208000 (block 65)   0x210000
        | block 64: its own memmap (memmap_on_memory) | ... | block 65 ...        |
        |<- 512 pfns: 2 MiB of struct pages  ->|

Without memmap_on_memory the 2 or 4 MiB of struct pages come from the VM's RAM.
"""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import parse_scenario
from memmapsim.errors import InputError
from memmapsim.model.memory_block import BlockState
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.pageflags import ZoneType
from memmapsim.model.section import SectionFlag
from memmapsim.simulate import RunResult, simulate
from tests.scenario_text import vm_ram

LO = 0x200000
BLOCK = 0x8000


def vm(
    kernel: str,
    steps: tuple[str, ...] = ("add",),
    size: str = "256M",
    memmap: str = "ram",
    online: str = "online_movable",
    start: str = "8G",
    engine: str = "timing",
) -> RunResult:
    text = vm_ram(start, size, memmap, online)
    text += "".join(f'\n[[steps]]\naction = "{a}"\n' for a in steps)
    return simulate(parse_scenario(text, "vm.toml"), kernel, engine=engine)


BUDDY = {"4.18": 0xFFFF_FF7F, "5.4": 0xFFFF_FF7F, "5.10": 0xFFFF_FF7F, "6.12": 0xF000_0000}
ZONE = {
    # memhp_auto_online (a bool) onlines in the default zone up to v5.6; from v5.7 the
    # default online type may be online_movable
    "4.18": ZoneType.ZONE_NORMAL,
    "5.4": ZoneType.ZONE_NORMAL,
    "5.10": ZoneType.ZONE_MOVABLE,
    "6.12": ZoneType.ZONE_MOVABLE,
}
FREE_FN = {
    "4.18": "__free_reserved_page",
    "5.4": "generic_online_page",
    "5.10": "generic_online_page",
    "6.12": "generic_online_page",
}


@pytest.mark.parametrize("kernel", list(ZONE))
def test_add_onlines_every_page_to_the_buddy_allocator(kernel: str) -> None:
    r = vm(kernel)
    mem = r.mem
    (d,) = r.devices
    assert (d.pages_initialised, d.memmap_bytes) == (0x10000, {"ram": 4 << 20, "device": 0})
    for head in (LO, LO + 0x400, LO + BLOCK):
        page = mem.page(head)
        assert (page.zone, page.reserved, page.refcount) == (ZONE[kernel], False, 0)
        assert (page.words[6] & 0xFFFF_FFFF, page.words[5]) == (BUDDY[kernel], 10)
        hist = [(p.kind.value, p.by) for p in page.record.history]
        assert hist == [("init", "memmap_init_zone"), ("free", FREE_FN[kernel])]
    tail = mem.page(LO + 1)
    assert (tail.mapcount, tail.refcount, tail.reserved, tail.zone) == (-1, 0, False, ZONE[kernel])
    assert mem.pageblocks.get_pfn(LO) == MigrateType.MIGRATE_MOVABLE
    ((_a, _b, sec),) = mem.sections.runs(64, 66)
    assert sec.flags & SectionFlag.IS_ONLINE
    ((a, b, blk),) = mem.memory_blocks.runs(64, 66)
    assert (a, b, blk and blk.state, blk and blk.zone) == (64, 66, BlockState.ONLINE, ZONE[kernel])
    zone = mem.zone(0, ZONE[kernel])
    assert (zone.managed_pages, zone.present_pages) == (0x10000, 0x10000)
    assert not r.log


# one 128 MiB block with memory_hotplug.memmap_on_memory
MOM = {
    "5.12": None,  # no memmap_on_memory yet
    "5.16": ("reserved",),  # PG_reserved, MIGRATE_UNMOVABLE, never freed
    "6.1": ("owner_priv_1", "reserved"),  # + SetPageVmemmapSelfHosted
    "6.6": ("owner_priv_1", "reserved"),
    "6.12": ("owner_priv_1",),  # PageOffline, cleared again
    "7.1": ("owner_priv_1",),
}


@pytest.mark.parametrize("kernel", list(MOM))
def test_memmap_on_memory_one_block(kernel: str) -> None:
    r = vm(kernel, size="128M", memmap="device", online="online")
    mem = r.mem
    (d,) = r.devices
    flags = MOM[kernel]
    if flags is None:
        assert d.memmap_bytes == {"ram": 2 << 20, "device": 0}
        assert mem.page(LO).refcount == 0
        return
    assert d.memmap_bytes == {"ram": 0, "device": 2 << 20}
    for pfn in (LO, LO + 0x1FF):
        host = mem.page(pfn)
        names = tuple(sorted(n.removeprefix("PG_") for n in host.layout.set_names(host.flags)))
        assert names == flags
        assert (host.refcount, host.mapcount, host.zone) == (1, -1, ZoneType.ZONE_NORMAL)
        assert [p.by for p in host.record.history] == ["mhp_init_memmap_on_memory"]
    assert mem.pageblocks.get_pfn(LO) == MigrateType.MIGRATE_UNMOVABLE
    first = mem.page(LO + 0x200)  # the first free block: order 9 up to the next 1024
    assert (first.words[5], first.refcount, first.reserved) == (9, 0, False)
    assert mem.pageblocks.get_pfn(LO + 0x200) == MigrateType.MIGRATE_MOVABLE
    ((_a, _b, blk),) = mem.memory_blocks.runs(64, 65)
    assert blk is not None and blk.vmemmap_pages == 0x200
    assert mem.zone(0, ZoneType.ZONE_NORMAL).managed_pages >= BLOCK - 0x200


@pytest.mark.parametrize(
    ("kernel", "on_memory"),
    # an add of two blocks: refused as memmap_on_memory before 6.12 (6.6 falls back to RAM
    # without a word), one altmap per block from 6.12
    [("6.1", False), ("6.6", False), ("6.12", True), ("7.1", True)],
)
def test_memmap_on_memory_of_a_two_block_add(kernel: str, on_memory: bool) -> None:
    r = vm(kernel, size="256M", memmap="device")
    (d,) = r.devices
    expect = {"ram": 0, "device": 4 << 20} if on_memory else {"ram": 4 << 20, "device": 0}
    assert d.memmap_bytes == expect
    for blk in (LO, LO + BLOCK):
        assert (r.mem.page(blk).refcount == 1) is on_memory


OFFLINED = {"4.18": ("info", True), "5.12": ("debug", True), "6.1": ("debug", False)}


@pytest.mark.parametrize("kernel", list(OFFLINED))
def test_offline_takes_the_blocks_off_the_free_lists(kernel: str) -> None:
    level, reserved = OFFLINED[kernel]
    r = vm(kernel, steps=("add", "offline"))
    mem = r.mem
    head, tail = mem.page(LO), mem.page(LO + 1)
    assert head.fields()["lru_next/pgmap"] == "LIST_POISON1"
    assert (head.mapcount, head.words[5]) == (-1, 0)
    # PG_reserved again on every offlined page, up to v6.0
    assert (head.reserved, tail.reserved) == (reserved, reserved)
    ((_a, _b, sec),) = r.mem.sections.runs(64, 66)
    assert not sec.flags & SectionFlag.IS_ONLINE
    assert [(ln.level, ln.text) for ln in r.log] == [(level, "Offlined Pages 65536")]
    ((_a, _b, blk),) = mem.memory_blocks.runs(64, 66)
    assert blk is not None and blk.state is BlockState.OFFLINE


@pytest.mark.parametrize("kernel", ["4.18", "6.12"])
def test_remove_unmaps_the_memmap(kernel: str) -> None:
    r = vm(kernel, steps=("add", "offline", "online", "remove"))
    mem = r.mem
    assert mem.page(LO).absent and mem.page(LO + 0xFFFF).absent
    assert list(mem.memory_blocks.runs(64, 66)) == [(64, 66, None)]
    ((_a, _b, sec),) = mem.sections.runs(64, 66)
    assert not sec.present
    assert not [res for res in mem.iomem if res.start == 8 << 30]
    assert [ln.text for ln in r.log] == ["Offlined Pages 65536"] * 2


LOCKS = {
    # v4.18: add_memory_resource holds mem_hotplug_lock while it onlines
    "4.18": ("cpu_hotplug_lock", "mem_hotplug_lock"),
    # v4.20: lock_device_hotplug around add_memory; online_pages takes mem_hotplug_lock
    "4.20": ("cpu_hotplug_lock", "device_hotplug_lock", "mem_hotplug_lock"),
    "6.12": ("cpu_hotplug_lock", "device_hotplug_lock", "mem_hotplug_lock"),
}


@pytest.mark.parametrize("kernel", list(LOCKS))
def test_locks_held_while_the_memmap_is_initialised(kernel: str) -> None:
    r = vm(kernel, engine="inorder")
    recs = [t for t in r.trace if type(t.effect).__name__ == "InitPages"
            and t.effect.work.fn == "memmap_init_zone"]  # fmt: skip
    assert recs and {t.locks for t in recs} == {LOCKS[kernel]}


def test_an_unaligned_add_is_refused_in_the_kernels_words() -> None:
    with pytest.raises(InputError) as e:
        vm("6.6", start="0x204000000")
    assert e.value.field == "devices[0]"
    assert (
        '"Block size [0x8000000] unaligned hotplug range: start 0x204000000, size 0x10000000"'
        in e.value.message
    )


def test_an_add_over_boot_memory_is_refused() -> None:
    with pytest.raises(InputError) as e:
        vm("6.6", start="4G")
    assert "Unable to reserve System RAM region: 0000000100000000->000000010fffffff" in str(e.value)
    with pytest.raises(InputError) as e:
        vm("4.20", start="4G")
    assert "System RAM resource [mem 0x100000000-0x10fffffff] cannot be added" in str(e.value)


def test_4_14_has_no_device_kind() -> None:
    with pytest.raises(InputError) as e:
        vm("4.14")
    assert e.value.field == "devices[0].kind"
    assert "kernel 4.14 (--kernel) is modelled for boot memory only" in e.value.message
    assert "they are from 4.18" in e.value.message
