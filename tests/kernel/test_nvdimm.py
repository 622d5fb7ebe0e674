"""The nvdimm pfn-device layout (pfn_devs.c, v4.15-v5.0 form) and what it implies."""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import load_scenario
from memmapsim.kernel.nvdimm import Namespace, PfnSb, nvdimm_setup_pfn
from memmapsim.model.pgmap import MemoryType
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


def test_device_dax_adds_the_label_reserve() -> None:
    ns = Namespace(0, "d", "devdax", 0, 1 * GiB, 200 * MiB, "device")
    fs = Namespace(0, "f", "fsdax", 0, 1 * GiB, 200 * MiB, "device")
    sb_dax = PfnSb("pmem", 6 * MiB + 2 * MiB, 0, 0, 0, 2 * MiB)  # 128K label → next 2M
    cfg = nvdimm_setup_pfn(ns, sb_dax, MemoryType.UNSET, "ref")
    assert cfg.altmap is not None and cfg.altmap.free == (8 * MiB - 8192) // 4096
    assert ns.device.name == "dax0.0" and fs.device.name == "pfn0.0"


def test_mid_section_start_has_reserve_include_the_offset() -> None:
    """reserve = 2 + the start's offset into its section; free = (dataoff - 8K) pages."""
    ns = Namespace(0, "m", "fsdax", 0, 1 * GiB + 100 * MiB, 28 * MiB, "device")
    cfg = nvdimm_setup_pfn(ns, PfnSb("pmem", 4 * MiB, 6656, 0, 0, 2 * MiB), MemoryType.UNSET, "r")
    assert cfg.altmap is not None
    assert cfg.altmap.base_pfn == (1 * GiB) // 4096
    assert cfg.altmap.reserve == 2 + 100 * MiB // 4096
    assert cfg.altmap.free == 1022
