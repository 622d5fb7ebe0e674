"""The SPEC file of a sweep, and the grid of points it stands for.

A SPEC is a TOML file::

    name = "tiny-pmem-scaling"        # optional; default: the file's name without .toml
    description = "..."               # optional
    base = "tiny-pmem"                # a built-in scenario or a scenario file; a relative
                                      # path is taken from the SPEC file's directory

    [axes]                            # each axis: an array of values; the grid is every
    kernel = ["4.18", "4.20"]         # combination, the last axis varying fastest
    nodes = [1, 2, 4]                 # copies of the base's first node (sweep.shape)
    cpus_per_node = [4, 16]
    device_memory_per_node = ["64M", "1G"]   # the base's devices, scaled per node
    dram_per_node = ["2G", "8G"]
    profile = ["xeon-2018-pmem", "modern-x86"]   # cost profile: built-in name or file
    "costs.init_single_page" = [20.0, 28.762]    # a profile entry, ns per page
    "factors.remote" = [1.0, 1.42]               # factors.remote / factors.memmap_in_ram
    "bandwidth.pmem_gbps" = [10.0]               # bandwidth.dram_gbps / .pmem_gbps
    "fixed_ns.section_add" = [50000.0]           # a fixed cost, ns
    "knobs.debug_vm" = [false, true]             # any scenario knob

Dotted axis names may also be written as tables (``[axes.costs]`` then
``init_single_page = [...]``). An axis left out keeps the base's value; kernels default
to the base's ``kernel``, the cost profile to its ``knobs.cost_profile``. Kernel change
files (``6.6+./my_change.py``) are found from the current directory, as ``--kernel``
finds them.

Every point is built and checked before anything runs, so a bad axis value is one error
naming the SPEC file and the axis (and, for a machine that cannot exist, the point).
Each point has a *key*: a hash of everything that decides its result — the point's
scenario, kernel (and the text of any change file), cost profile with its overrides, and
memmapsim's version — and nothing else, so a result is reused exactly when it would be
the same.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from msgspec import Meta, field

from memmapsim import __version__
from memmapsim.config.files import loads_toml, read_input, stat_input
from memmapsim.config.scenario import (
    Knobs,
    Scenario,
    builtin_names,
    load_scenario,
    scenario_from_data,
)
from memmapsim.config.schema import Strict, convert, to_data
from memmapsim.engine.costs import (
    FIXED_COSTS,
    PAGE_COSTS,
    CostProfile,
    builtin_profiles,
    load_profile,
)
from memmapsim.errors import InputError, cut, toml_value
from memmapsim.kernel.kernel import BootConfig
from memmapsim.kernel.user_change import is_user_change
from memmapsim.kernel.versions import KernelSpecError, parse_kernel
from memmapsim.sweep.shape import MachineAxes, shape
from memmapsim.units import SizeError, format_size, parse_size

MAX_POINTS = 1_000_000
"""A grid larger than this is refused (a typo in an axis, not a sweep)."""

MACHINE_AXES = ("nodes", "cpus_per_node", "dram_per_node", "device_memory_per_node")
SIZE_AXES = ("dram_per_node", "device_memory_per_node")
PROFILE_GROUPS: dict[str, tuple[str, ...]] = {
    "costs": PAGE_COSTS,
    "factors": ("remote", "memmap_in_ram"),
    "bandwidth": ("dram_gbps", "pmem_gbps"),
    "fixed_ns": FIXED_COSTS,
}
AXES_HELP = (
    "kernel, nodes, cpus_per_node, dram_per_node, device_memory_per_node, profile, "
    "costs.<entry>, factors.<name>, bandwidth.<name>, fixed_ns.<entry>, knobs.<knob>"
)


class _SpecFile(Strict, frozen=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    description: str = ""
    base: Annotated[str, Meta(min_length=1)]
    axes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[Any, ...]
    """As they go into the Parquet file: sizes in bytes, profile overrides as floats."""
    kind: str
    """The Parquet type of the values: string, int64, float64 or bool."""


@dataclass(frozen=True)
class Point:
    index: int
    params: dict[str, Any]
    """The point's value on each axis."""
    scenario: Scenario
    kernel: str
    profile: CostProfile
    key: str


@dataclass(frozen=True)
class SweepSpec:
    source: str
    name: str
    description: str
    base: Scenario
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]


def _show(v: Any) -> str:
    return toml_value(v, 40)


def describe(params: dict[str, Any]) -> str:
    """``kernel="4.20", nodes=2, device_memory_per_node=1G``: a point, for messages."""
    return ", ".join(
        f"{k}={format_size(v) if k in SIZE_AXES else _show(v)}" for k, v in params.items()
    )


def _flatten(axes: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"costs": {"x": [..]}}`` as ``{"costs.x": [..]}``."""
    out: dict[str, Any] = {}
    for k, v in axes.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, name + ".")
        else:
            out[name] = v
    return out


def _near(source: str, text: str) -> str:
    """``text`` as a path from the SPEC file's directory, if such a file exists there."""
    if "\0" in text or text == "":
        return text
    near = Path(source).parent / text
    try:
        return str(near) if not Path(text).is_absolute() and near.is_file() else text
    except OSError:
        return text


def _found(source: str, where: str, text: str, builtins: list[str]) -> str:
    """A file or built-in the SPEC names, as a path or name to load; InputError naming the
    SPEC's field when there is neither."""
    near = _near(source, text)
    if near != text or text in builtins or stat_input(text) is not None:
        return near
    known = ", ".join(builtins)
    raise InputError(source, where, f"no such file or built-in {text!r} (built-ins: {known})")


def load_spec(path: str) -> SweepSpec:
    """Read and check a SPEC file and build every point of its grid."""
    st = stat_input(path)
    if st is None:
        raise InputError(path, None, "no such file")
    data = loads_toml(read_input(path, st), path)
    spec = convert(data, _SpecFile, path)
    base = load_scenario(_found(path, "base", spec.base, builtin_names()))
    if not base.devices:
        raise InputError(path, "base", f"{base.source} has no devices to probe")
    axes = [_axis(path, name, values, base) for name, values in _flatten(spec.axes).items()]
    if "kernel" not in spec.axes:
        _check_kernel(base.source, "kernel", base.kernel, base)
    count = math.prod(len(a.values) for a in axes)
    if count > MAX_POINTS:
        raise InputError(path, "axes", f"{count:,} points: at most {MAX_POINTS:,} in one sweep")
    name = spec.name if spec.name is not None else Path(path).name.removesuffix(".toml")
    points = _points(path, base, axes)
    return SweepSpec(path, name, spec.description, base, tuple(axes), tuple(points))


def _axis(source: str, name: str, values: Any, base: Scenario) -> Axis:
    where = f"axes.{name}"
    if not isinstance(values, list):
        raise InputError(source, where, f"expected an array of values, got {toml_value(values)}")
    if not values:
        raise InputError(source, where, "an axis needs at least one value")
    group, _, entry = name.partition(".")
    out: list[Any]
    if name in ("kernel", "profile"):
        kind = "string"
        out = [_string(source, where, i, v) for i, v in enumerate(values)]
        for i, v in enumerate(out):
            if name == "kernel":
                _check_kernel(source, f"{where}[{i}]", v, base)
            else:
                load_profile(_found(source, f"{where}[{i}]", v, builtin_profiles()))
    elif name == "nodes":
        kind, out = "int64", [_int(source, where, i, v, 1, 1024) for i, v in enumerate(values)]
    elif name == "cpus_per_node":
        kind, out = "int64", [_int(source, where, i, v, 1, 8192) for i, v in enumerate(values)]
    elif name in SIZE_AXES:
        kind, out = "int64", [_size(source, where, i, v) for i, v in enumerate(values)]
    elif group in PROFILE_GROUPS and entry:
        if entry not in PROFILE_GROUPS[group]:
            known = ", ".join(PROFILE_GROUPS[group])
            raise InputError(source, where, f"unknown {group} entry {entry!r} (known: {known})")
        kind, out = "float64", [_number(source, where, i, v) for i, v in enumerate(values)]
    elif group == "knobs" and entry:
        if entry not in Knobs.__struct_fields__:
            known = ", ".join(Knobs.__struct_fields__)
            raise InputError(source, where, f"unknown knob {entry!r} (knobs: {known})")
        kind, out = _knob_values(source, where, entry, values)
    else:
        raise InputError(source, where, f"unknown axis (axes: {AXES_HELP})")
    for i, v in enumerate(out):
        if out.index(v) != i:
            raise InputError(source, f"{where}[{i}]", f"{_show(values[i])} is given twice")
    return Axis(name, tuple(out), kind)


def _string(source: str, where: str, i: int, v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise InputError(source, f"{where}[{i}]", f"expected a non-empty string, got {_show(v)}")
    return v


def _int(source: str, where: str, i: int, v: Any, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise InputError(source, f"{where}[{i}]", f"expected an integer, got {_show(v)}")
    if not lo <= v <= hi:
        raise InputError(source, f"{where}[{i}]", f"must be from {lo} to {hi}, got {_show(v)}")
    return v


def _size(source: str, where: str, i: int, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise InputError(source, f"{where}[{i}]", f"expected a size such as 3T, got {_show(v)}")
    try:
        n = parse_size(v)
    except SizeError as e:
        raise InputError(source, f"{where}[{i}]", str(e)) from None
    if n <= 0 or n >= 1 << 62:
        raise InputError(source, f"{where}[{i}]", f"must be above 0 and below 4E, got {_show(v)}")
    return n


def _number(source: str, where: str, i: int, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InputError(source, f"{where}[{i}]", f"expected a number, got {_show(v)}")
    f = float(v) if abs(v) < 1e308 else math.inf
    if not math.isfinite(f):
        raise InputError(source, f"{where}[{i}]", f"must be a finite number, got {_show(v)}")
    return f


def _knob_values(source: str, where: str, knob: str, values: list[Any]) -> tuple[str, list[Any]]:
    types = {type(v) for v in values}
    if len(types) != 1 or not types <= {bool, int, float, str}:
        raise InputError(source, where, "the values of a knob axis must be of one type")
    for i, v in enumerate(values):
        try:
            convert({knob: v}, Knobs, source)
        except InputError as e:
            raise InputError(source, f"{where}[{i}]", e.message) from None
    kind = {bool: "bool", int: "int64", float: "float64", str: "string"}[types.pop()]
    return kind, list(values)


def _check_kernel(source: str, where: str, spec: str, base: Scenario) -> None:
    cfg = BootConfig(base.knobs.debug_vm, base.knobs.vm_debug, base.knobs.hz)
    try:
        parse_kernel(spec, cfg)
    except KernelSpecError as e:
        raise InputError(source, where, str(e)) from None


def _points(source: str, base: Scenario, axes: list[Axis]) -> list[Point]:
    names = [a.name for a in axes]
    machines: dict[tuple[Any, ...], Scenario] = {}
    profiles: dict[tuple[Any, ...], CostProfile] = {}
    change_files: dict[str, str] = {}
    out = []
    for index, combo in enumerate(itertools.product(*(a.values for a in axes))):
        params = dict(zip(names, combo, strict=True))
        desc = describe(params)
        mkey = tuple((k, v) for k, v in params.items() if k in MACHINE_AXES or "knobs." in k)
        if mkey not in machines:
            machines[mkey] = _scenario(source, base, params, desc)
        sc = machines[mkey]
        kernel = params.get("kernel", base.kernel)
        pkey = tuple(
            (k, v) for k, v in params.items() if k == "profile" or k.split(".")[0] in PROFILE_GROUPS
        )
        if pkey not in profiles:
            profiles[pkey] = _profile(source, sc, params)
        prof = profiles[pkey]
        key = point_key(sc, kernel, prof, change_files)
        out.append(Point(index, params, sc, kernel, prof, key))
    return out


def _scenario(source: str, base: Scenario, params: dict[str, Any], desc: str) -> Scenario:
    """The point's scenario, checked as a scenario file is."""
    axes = MachineAxes(**{k: v for k, v in params.items() if k in MACHINE_AXES})
    where = f"{source}: point ({desc})"
    try:
        data = shape(base, axes, where)
    except InputError as e:
        raise InputError(source, f"point ({desc})", f"{e.field}: {e.message}") from None
    for k, v in params.items():
        if k.startswith("knobs."):
            data["knobs"][k.removeprefix("knobs.")] = v
    try:
        return scenario_from_data(data, where)  # the same checks as a scenario file
    except InputError as e:
        what = f"{e.field}: {e.message}" if e.field else e.message
        raise InputError(source, f"point ({desc})", what) from None


def _profile(source: str, sc: Scenario, params: dict[str, Any]) -> CostProfile:
    name = params.get("profile", sc.knobs.cost_profile)
    prof = load_profile(_near(source, name))
    data = to_data(prof)
    overrides = {k: v for k, v in params.items() if k.split(".")[0] in PROFILE_GROUPS}
    for k, v in overrides.items():
        group, entry = k.split(".", 1)
        if group == "costs":
            data["costs"][entry]["ns"] = v
        elif group == "factors":
            data["factors"][entry]["value"] = v
        else:
            data[group][entry] = v
    if not overrides:
        return prof
    try:
        return convert(data, CostProfile, source)
    except InputError as err:
        axis = next(k for k in overrides if (err.field or "").startswith(k.split(".")[0]))
        raise InputError(source, f"axes.{axis}", cut(err.message, 200)) from None


def point_key(sc: Scenario, kernel: str, prof: CostProfile, files: dict[str, str]) -> str:
    """The hash of everything that decides a point's result (module docstring)."""
    texts = {}
    for part in kernel.split("+")[1:]:
        part = part.strip()
        if is_user_change(part):
            if part not in files:
                try:
                    files[part] = hashlib.sha256(Path(part).read_bytes()).hexdigest()
                except OSError:
                    files[part] = ""
            texts[part] = files[part]
    doc = {
        "memmapsim": __version__,
        "scenario": sc.data(),
        "kernel": kernel,
        "change_files": texts,
        "profile": to_data(prof),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
