"""The nvdimm pfn-device layout (pfn_devs.c, v4.15-v5.0 form) and what it implies."""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import load_scenario
from memmapsim.effects import RegionIntersects
from memmapsim.kernel.nvdimm import Namespace, PfnSb, nd_pfn_init, nvdimm_setup_pfn
from memmapsim.kernel.versions import parse_kernel
from memmapsim.model.pgmap import MemoryType
from memmapsim.model.resource import Region
from memmapsim.simulate import simulate
from memmapsim.units import GiB, MiB, TiB


def layout(kernel: str, scenario: str) -> list[dict[str, int]]:
    r = simulate(load_scenario(scenario), kernel)
    out = []
    for pg in r.mem.all_pgmaps():
        assert pg.altmap is not None
        a = pg.altmap
        out.append(
            {
                "reserve": a.cfg.reserve,
                "free": a.cfg.free,
                "alloc": a.alloc,
                "align": a.align,
                "first": pg.cfg.pfn_first() - a.cfg.base_pfn,
                "data": pg.cfg.pfn_end() - pg.cfg.pfn_first(),
            }
        )
    return out


@pytest.mark.parametrize("kernel", ["4.18", "4.20"])
def test_3tib_namespace_memmap_fills_free_exactly(kernel: str) -> None:
    """A 3 TiB namespace: dataoff = 48 GiB + 2 MiB; free = 12,583,422 pfns, exactly the
    24,576 2 MiB memmap blocks plus the 510 pfns that align the first one."""
    for dev in layout(kernel, "duyck-2018"):
        assert dev["reserve"] == 2
        assert dev["free"] == 12_583_422 == (48 * GiB + 2 * MiB) // 4096 - 2
        assert dev["alloc"] == 24_576 * 512 and dev["align"] == 510
        assert dev["alloc"] + dev["align"] == dev["free"]
        assert dev["data"] == 792_722_944 == 3 * TiB // 4096 - 12_583_424


def test_200mib_namespace_in_a_hole() -> None:
    """200 MiB at 1 GiB, nothing else in its sections: no trimming; npfns rounds up to
    two sections, so dataoff is 6 MiB (not 4 MiB) and free is 1534."""
    (dev,) = layout("4.20", "tiny-pmem")
    assert (dev["reserve"], dev["free"], dev["alloc"], dev["align"]) == (2, 1534, 1024, 510)
    assert dev["data"] == 49_664


def drive_nd_pfn_init(ns: Namespace) -> PfnSb | int:
    """Run nd_pfn_init with no System RAM anywhere near (every region_intersects DISJOINT)."""
    gen = nd_pfn_init(parse_kernel("4.18"), ns)
    reply = None
    try:
        while True:
            eff = gen.send(reply)
            reply = Region.REGION_DISJOINT if isinstance(eff, RegionIntersects) else None
    except StopIteration as stop:
        result: PfnSb | int = stop.value
        return result


@pytest.mark.parametrize(("align", "extra"), [(4096, 128 * 1024), (2 * MiB, 0)])
def test_device_dax_adds_the_label_reserve(align: int, extra: int) -> None:
    """device-dax reserves 128 KiB for labels after the memmap; with a 4 KiB alignment that
    moves dataoff by exactly 128 KiB, with the default 2 MiB it is absorbed by rounding."""
    fs = drive_nd_pfn_init(Namespace(0, "f", "fsdax", 0, 1 * GiB, 200 * MiB, "device", align))
    dax = drive_nd_pfn_init(Namespace(0, "d", "devdax", 0, 1 * GiB, 200 * MiB, "device", align))
    assert isinstance(fs, PfnSb) and isinstance(dax, PfnSb)
    assert dax.dataoff - fs.dataoff == extra
    assert fs.dataoff == (6 * MiB if align == 2 * MiB else 8192 + 4 * MiB)
    cfg = nvdimm_setup_pfn(
        Namespace(0, "d", "devdax", 0, 1 * GiB, 200 * MiB, "device", align),
        dax,
        MemoryType.UNSET,
        "r",
    )
    assert cfg.altmap is not None and cfg.altmap.free == (dax.dataoff - 8192) // 4096
    assert Namespace(0, "d", "devdax", 0, 0, 0, "device").device.name == "dax0.0"


def test_mid_section_start_has_reserve_include_the_offset() -> None:
    """reserve = 2 + the start's offset into its section; free = (dataoff - 8K) pages."""
    ns = Namespace(0, "m", "fsdax", 0, 1 * GiB + 100 * MiB, 28 * MiB, "device")
    cfg = nvdimm_setup_pfn(ns, PfnSb("pmem", 4 * MiB, 6656, 0, 0, 2 * MiB), MemoryType.UNSET, "r")
    assert cfg.altmap is not None
    assert cfg.altmap.base_pfn == (1 * GiB) // 4096
    assert cfg.altmap.reserve == 2 + 100 * MiB // 4096
    assert cfg.altmap.free == 1022
