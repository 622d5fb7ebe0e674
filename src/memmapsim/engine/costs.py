"""Cost profiles: what each kind of work costs on a machine, with provenance.

A profile is a TOML data file (see ``profiles/xeon-2018-pmem.toml``): nanoseconds per page
for each kind of per-page work (the ``cost`` names of :class:`~memmapsim.effects.PageOp`),
a factor for a CPU remote from the memmap's memory and for a memmap in DRAM rather than on
the device, per-node write-bandwidth ceilings, and fixed costs of steps that do not scale
with pages. Every entry is marked ``fitted`` (to a named published figure) or
``assumed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta, field

from memmapsim.config.files import decode, loads_toml, read_input, stat_input
from memmapsim.config.schema import FLOAT_MAX, Finite, Strict, convert
from memmapsim.errors import InputError

PROFILE_DIR = Path(__file__).parent / "profiles"
"""Found from this file, not with ``importlib.resources`` (see ``config.scenario.BUILTIN_DIR``)."""
DEFAULT_PROFILE = "xeon-2018-pmem"

PAGE_COSTS = (
    "init_single_page",
    "reserved_atomic",
    "reserved_nonatomic",
    "set_pgmap",
    "list_del",
    "percpu_ref_get",
    "poison",
    "set_page_head",
    "compound_tail",
    "set_refcount",
    "compound_head",
    "put_page",
)
BOOT_COSTS = (
    "memmap_zero",
    "zero_struct_page_memset",
    "zero_struct_page_stores",
    "init_page_fields",
    "init_list_head",
    "meminit_pfn_in_nid",
    "buddy_free",
    "buddy_free_cold",
    "free_one_page",
)
"""Costs of the boot and System RAM hotplug paths, all priced with the memmap in node DRAM
(``memmap = "ram"``). A profile without them prices only ZONE_DEVICE scenarios."""
FIXED_COSTS = ("section_add", "index_entry", "step", "lookup", "printk", "other")


# Bounds far outside any real machine that keep every simulated time finite (a 1e308 ns
# cost or a 1e-300 GB/s ceiling made the engine's clock infinite).
MAX_PAGE_NS = 1e6
"""A millisecond per struct page: some 30,000 times the measured cost."""
MAX_FIXED_NS = 1e12
"""A thousand seconds for one step that does not scale with pages."""
FACTOR_RANGE = (1e-3, 1e3)
BANDWIDTH_RANGE_GBPS = (1e-3, 1e6)

PageNs = Annotated[float, Meta(ge=0, le=MAX_PAGE_NS)]
FixedNs = Annotated[float, Meta(ge=0, le=MAX_FIXED_NS)]
Multiplier = Annotated[float, Meta(ge=FACTOR_RANGE[0], le=FACTOR_RANGE[1])]
Gbps = Annotated[float, Meta(ge=BANDWIDTH_RANGE_GBPS[0], le=BANDWIDTH_RANGE_GBPS[1])]


class PageCost(Strict, frozen=True, kw_only=True):
    ns: PageNs
    kind: Literal["fitted", "assumed"]
    figure: str = ""
    note: str = ""
    memmap: Literal["device", "ram"] = "device"
    """Where the memmap was in what this cost is priced on: on the device (the
    ``memmap_in_ram`` factor applies when it is in DRAM instead), or in node DRAM (it
    does not)."""


class Factor(Strict, frozen=True, kw_only=True):
    value: Multiplier
    kind: Literal["fitted", "assumed"]
    figure: str = ""
    note: str = ""


class Factors(Strict, frozen=True, kw_only=True):
    remote: Factor
    memmap_in_ram: Factor


class Bandwidth(Strict, frozen=True, kw_only=True):
    dram_gbps: Gbps
    pmem_gbps: Gbps
    kind: Literal["fitted", "assumed"]
    note: str = ""


class CalibrationLine(Strict, frozen=True, kw_only=True):
    line: str
    """``file:line`` of the log line."""
    text: str
    measured_ms: int
    simulated_ms: int
    fitted_ms: Finite
    """The line's time at the fitted factor."""


class Calibration(Strict, frozen=True, kw_only=True):
    """How a profile written by ``memmapsim calibrate`` was fitted: one factor on the
    base profile's per-page costs, its relative standard error, and the lines."""

    base: str
    scale: Annotated[float, Meta(gt=0, le=FLOAT_MAX)]
    rel_sigma: Annotated[float, Meta(ge=0, le=10)]
    hz: Annotated[int, Meta(gt=0)]
    lines: list[CalibrationLine] = field(default_factory=list)


class CostProfile(Strict, frozen=True, kw_only=True):
    name: str
    description: str = ""
    costs: dict[str, PageCost]
    factors: Factors
    bandwidth: Bandwidth
    fixed_ns: dict[str, FixedNs]
    calibration: Calibration | None = None

    def page_ns(self, cost: str) -> float:
        return self.costs[cost].ns

    def fixed(self, what: str) -> float:
        return self.fixed_ns[what]

    def ceiling(self, medium: str) -> float:
        """Write ceiling in bytes per nanosecond (1 GB/s = 1 byte/ns)."""
        return self.bandwidth.pmem_gbps if medium == "pmem" else self.bandwidth.dram_gbps


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.iterdir() if p.suffix == ".toml")


def load_profile(spec: str = DEFAULT_PROFILE) -> CostProfile:
    """A built-in profile by name, or a TOML file; InputError names the file and field."""
    st = stat_input(spec)
    if st is None and spec in builtin_profiles():
        source = f"{spec} (built-in profile)"
        text = decode((PROFILE_DIR / f"{spec}.toml").read_bytes(), source)
    elif st is None:
        known = ", ".join(builtin_profiles())
        raise InputError(spec, None, f"no such cost profile (built-ins: {known})")
    else:
        text, source = read_input(spec, st), spec
    prof = convert(loads_toml(text, source), CostProfile, source)
    for key in PAGE_COSTS:
        if key not in prof.costs:
            raise InputError(source, f"costs.{key}", "required cost is missing")
    for key in prof.costs:
        if key not in PAGE_COSTS and key not in BOOT_COSTS:
            known = ", ".join((*PAGE_COSTS, *BOOT_COSTS))
            raise InputError(source, f"costs.{key}", f"unknown cost (known: {known})")
    for key in FIXED_COSTS:
        if key not in prof.fixed_ns:
            raise InputError(source, f"fixed_ns.{key}", "required cost is missing")
    return prof
