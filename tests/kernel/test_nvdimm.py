"""The nvdimm pfn-device layout (drivers/nvdimm/pfn_devs.c of v4.18.0 and v4.20.0)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from msgspec.structs import replace

from memmapsim.config.scenario import load_scenario
from memmapsim.effects import RegionIntersects
from memmapsim.kernel.errno import ENXIO
from memmapsim.kernel.nvdimm import (
    DeviceKind,
    Namespace,
    NdRegion,
    PfnSb,
    nd_pfn_init,
    nd_region_conflict,
    nvdimm_setup_pfn,
)
from memmapsim.kernel.versions import parse_kernel
from memmapsim.model.pgmap import MemoryType
from memmapsim.model.resource import Region
from memmapsim.simulate import simulate
from memmapsim.units import GiB, KiB, MiB, TiB


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


def drive_nd_pfn_init(
    ns: Namespace, kernel: str = "4.18", bus: tuple[NdRegion, ...] = ()
) -> PfnSb | int:
    """Run nd_pfn_init with no System RAM anywhere near (every region_intersects DISJOINT)."""
    gen = nd_pfn_init(parse_kernel(kernel), ns, bus)
    reply = None
    try:
        while True:
            eff = gen.send(reply)
            reply = Region.REGION_DISJOINT if isinstance(eff, RegionIntersects) else None
    except StopIteration as stop:
        result: PfnSb | int = stop.value
        return result


def ns(kind: DeviceKind, memmap: Literal["device", "ram"], align: int, **kw: Any) -> Namespace:
    fields: dict[str, Any] = {"start": 1 * GiB, "size": 200 * MiB} | kw
    return Namespace(0, kind, kind, 0, fields["start"], fields["size"], memmap, align, "region0")


@pytest.mark.parametrize("kernel", ["4.18", "4.20"])
@pytest.mark.parametrize("align", [4 * KiB, 2 * MiB])
def test_pmem_mode_pads_the_memmap_to_a_pmd_whatever_the_alignment(kernel: str, align: int) -> None:
    """PMEM mode: dataoff = ALIGN(start + 8K + 64 * npfns + label, max(align, PMD_SIZE))
    (pfn_devs.c:745-746 of v4.20.0, the same in v4.18.0): 6 MiB for 200 MiB at 1 GiB, at a
    4 KiB alignment too; device-dax's 128 KiB label reserve is absorbed by the padding."""
    fs = drive_nd_pfn_init(ns("fsdax", "device", align), kernel)
    dax = drive_nd_pfn_init(ns("devdax", "device", align), kernel)
    assert isinstance(fs, PfnSb) and isinstance(dax, PfnSb)
    assert fs.dataoff == dax.dataoff == 6 * MiB
    assert fs.npfns == (200 - 6) * MiB // 4096
    cfg = nvdimm_setup_pfn(ns("devdax", "device", align), dax, MemoryType.UNSET, "r")
    assert cfg.altmap is not None and cfg.altmap.free == (6 * MiB - 8192) // 4096 == 1534


@pytest.mark.parametrize(("align", "extra"), [(4 * KiB, 128 * KiB), (2 * MiB, 0)])
def test_device_dax_adds_the_label_reserve_in_ram_mode(align: int, extra: int) -> None:
    """RAM mode: dataoff = ALIGN(start + 8K + label, align): at a 4 KiB alignment the 128 KiB
    label reserve moves dataoff by exactly 128 KiB; at 2 MiB it is absorbed by rounding."""
    fs = drive_nd_pfn_init(ns("fsdax", "ram", align))
    dax = drive_nd_pfn_init(ns("devdax", "ram", align))
    assert isinstance(fs, PfnSb) and isinstance(dax, PfnSb)
    assert dax.dataoff - fs.dataoff == extra
    assert fs.dataoff == (2 * MiB if align == 2 * MiB else 8 * KiB)
    cfg = nvdimm_setup_pfn(ns("devdax", "ram", align), dax, MemoryType.UNSET, "r")
    assert cfg.altmap is None and cfg.dev_name == "dax0.0"


@pytest.mark.parametrize("kernel", ["4.18", "4.20"])
def test_tiny_pmem_at_4k_alignment_has_the_2m_altmap(kernel: str) -> None:
    """nd_pfn->align = 4 KiB: the altmap is the 2 MiB run's (reserve 2, free 1534, and the
    same alloc and align), since dataoff is padded to PMD_SIZE."""
    sc = load_scenario("tiny-pmem")
    dev4k = replace(sc.devices[0], align=4 * KiB)
    four_k = simulate(replace(sc, devices=[dev4k]), kernel)
    two_m = simulate(sc, kernel)
    (a4,) = [pg.altmap for pg in four_k.mem.all_pgmaps()]
    (a2,) = [pg.altmap for pg in two_m.mem.all_pgmaps()]
    assert a4 is not None and a2 is not None
    assert (a4.cfg, a4.alloc, a4.align) == (a2.cfg, a2.alloc, a2.align)
    assert (a4.cfg.reserve, a4.cfg.free, a4.alloc, a4.align) == (2, 1534, 1024, 510)


# Two regions sharing a section (v4.20's trim_pfn_device pads away from the other one):
#
#   1 GiB         1 GiB + 64 MiB      1 GiB + 128 MiB
#   | regionA: a0  | regionB: b0       |
OTHER = NdRegion("regionA", 1 * GiB, 64 * MiB)


@pytest.mark.parametrize(("kernel", "pad"), [("4.18", 0), ("4.20", 64 * MiB)])
def test_v4_20_pads_a_namespace_away_from_another_region(kernel: str, pad: int) -> None:
    """b0's section-aligned-down start lies in regionA: v4.20 (nd_region_conflict) pads the
    start to the next section, so the whole 64 MiB is padded away and b0 cannot be laid
    out; v4.18 checks System RAM only and lays b0 out untrimmed."""
    b0 = Namespace(1, "b0", "fsdax", 0, 1 * GiB + 64 * MiB, 64 * MiB, "device", 2 * MiB, "regionB")
    bus = (OTHER, NdRegion("regionB", b0.start, b0.size))
    sb = drive_nd_pfn_init(b0, kernel, bus)
    if pad:
        assert sb == -ENXIO
    else:
        assert isinstance(sb, PfnSb) and (sb.start_pad, sb.end_trunc) == (0, 0)


def test_nd_region_conflict_skips_the_own_region_and_tests_both_ends() -> None:
    bus = (OTHER, NdRegion("regionB", 1 * GiB + 64 * MiB, 64 * MiB))
    assert not nd_region_conflict(bus, "regionA", 1 * GiB, 64 * MiB)
    assert nd_region_conflict(bus, "regionB", 1 * GiB, 128 * MiB)  # starts inside regionA
    assert nd_region_conflict(bus, "regionB", 1 * GiB - 4 * KiB, 8 * KiB)  # ends inside it
    assert not nd_region_conflict(bus, "regionB", 1 * GiB - 4 * KiB, 4 * KiB)  # ends at its start
    assert not nd_region_conflict(bus, "regionB", 1 * GiB + 64 * MiB, 4 * KiB)  # starts at its end


def test_mid_section_start_has_reserve_include_the_offset() -> None:
    """reserve = 2 + the start's offset into its section; free = (dataoff - 8K) pages."""
    ns = Namespace(0, "m", "fsdax", 0, 1 * GiB + 100 * MiB, 28 * MiB, "device")
    cfg = nvdimm_setup_pfn(ns, PfnSb("pmem", 4 * MiB, 6656, 0, 0, 2 * MiB), MemoryType.UNSET, "r")
    assert cfg.altmap is not None
    assert cfg.altmap.base_pfn == (1 * GiB) // 4096
    assert cfg.altmap.reserve == 2 + 100 * MiB // 4096
    assert cfg.altmap.free == 1022
