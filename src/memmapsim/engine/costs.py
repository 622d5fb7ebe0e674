"""Cost profiles: what each kind of work costs on a machine, with provenance.

A profile is a TOML data file (see ``profiles/xeon-2018-pmem.toml``): nanoseconds per page
for each kind of per-page work (the ``cost`` names of :class:`~memmapsim.effects.PageOp`),
a factor for a CPU remote from the memmap's memory and for a memmap in DRAM rather than on
the device, per-node write-bandwidth ceilings, and fixed costs of steps that do not scale
with pages. Every entry is marked ``fitted`` (to a named published figure) or
``assumed``.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memmapsim.errors import InputError

PROFILE_PACKAGE = "memmapsim.engine.profiles"
DEFAULT_PROFILE = "xeon-2018-pmem"

PAGE_COSTS = (
    "init_single_page",
    "reserved_atomic",
    "reserved_nonatomic",
    "set_pgmap",
    "list_del",
    "percpu_ref_get",
    "poison",
)
FIXED_COSTS = ("section_add", "index_entry", "step", "lookup", "printk", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class PageCost(_Strict):
    ns: NonNegative
    kind: Literal["fitted", "assumed"]
    figure: str = ""
    note: str = ""


class Factor(_Strict):
    value: float = Field(gt=0)
    kind: Literal["fitted", "assumed"]
    figure: str = ""
    note: str = ""


class Factors(_Strict):
    remote: Factor
    memmap_in_ram: Factor


class Bandwidth(_Strict):
    dram_gbps: float = Field(gt=0)
    pmem_gbps: float = Field(gt=0)
    kind: Literal["fitted", "assumed"]
    note: str = ""


class CostProfile(_Strict):
    name: str
    description: str = ""
    costs: dict[str, PageCost]
    factors: Factors
    bandwidth: Bandwidth
    fixed_ns: dict[str, NonNegative]

    def page_ns(self, cost: str) -> float:
        return self.costs[cost].ns

    def fixed(self, what: str) -> float:
        return self.fixed_ns[what]

    def ceiling(self, medium: str) -> float:
        """Write ceiling in bytes per nanosecond (1 GB/s = 1 byte/ns)."""
        return self.bandwidth.pmem_gbps if medium == "pmem" else self.bandwidth.dram_gbps


def builtin_profiles() -> list[str]:
    files = resources.files(PROFILE_PACKAGE)
    return sorted(p.name.removesuffix(".toml") for p in files.iterdir() if p.name.endswith(".toml"))


def load_profile(spec: str = DEFAULT_PROFILE) -> CostProfile:
    """A built-in profile by name, or a TOML file; InputError names the file and field."""
    path = Path(spec)
    if spec in builtin_profiles() and not path.exists():
        text = (resources.files(PROFILE_PACKAGE) / f"{spec}.toml").read_text()
        source = f"{spec} (built-in profile)"
    elif path.is_file():
        text, source = path.read_text(), spec
    else:
        known = ", ".join(builtin_profiles())
        raise InputError(spec, None, f"no such cost profile (built-ins: {known})")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(source, None, f"not valid TOML: {e}") from None
    try:
        prof = CostProfile.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise InputError(source, loc, msg) from None
    for key in PAGE_COSTS:
        if key not in prof.costs:
            raise InputError(source, f"costs.{key}", "required cost is missing")
    for key in prof.costs:
        if key not in PAGE_COSTS:
            known = ", ".join(PAGE_COSTS)
            raise InputError(source, f"costs.{key}", f"unknown cost (known: {known})")
    for key in FIXED_COSTS:
        if key not in prof.fixed_ns:
            raise InputError(source, f"fixed_ns.{key}", "required cost is missing")
    return prof
