"""Scenarios: a machine, its ZONE_DEVICE devices, a kernel and knobs, as TOML.

A scenario file looks like this (sizes as ``3T``, ``128M``, ``0x1_0000_0000`` or ints)::

    name = "tiny-pmem"
    kernel = "4.20"

    [[machine.nodes]]
    id = 0
    cpus = 4
    dram = [{ start = "0", size = "1G" }, { start = "2G", size = "1G" }]

    [[devices]]
    name = "pmem0"
    kind = "fsdax"        # fsdax | devdax | device-private | device-coherent | p2pdma
    node = 0
    start = "1G"
    size = "200M"
    memmap = "device"     # device (altmap on the media) | ram

    [knobs]
    debug_vm = false      # CONFIG_DEBUG_VM: poison hot-added memmaps

Loading checks the schema (unknown keys, types, sizes) and the machine's physical
consistency; what the *kernel* would refuse is found by running the kernel's own checks
(see :mod:`memmapsim.engine.preflight`).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from memmapsim.config.files import decode, loads_toml, read_input, stat_input
from memmapsim.config.schema import Name, Size, Strict, convert, to_data
from memmapsim.errors import InputError, cut, toml_value
from memmapsim.units import (
    MAX_PHYSMEM_BITS_4LEVEL,
    MAX_PHYSMEM_BITS_5LEVEL,
    PAGE_SIZE,
    format_size,
)


class DramRange(Strict, frozen=True, kw_only=True):
    start: Size
    size: Size

    @property
    def end(self) -> int:
        return self.start + self.size


class Node(Strict, frozen=True, kw_only=True):
    id: Annotated[int, Meta(ge=0, lt=1024)]
    cpus: Annotated[int, Meta(ge=0, le=8192)]
    dram: list[DramRange] = msgspec.field(default_factory=list)

    @property
    def dram_bytes(self) -> int:
        return sum(r.size for r in self.dram)


class Machine(Strict, frozen=True, kw_only=True):
    description: str = ""
    five_level_paging: bool = False
    hypervisor: bool = False
    """A virtual machine (X86_FEATURE_HYPERVISOR): the memory block size of v6.1+ follows."""
    nodes: Annotated[list[Node], Meta(min_length=1)]

    @property
    def max_physmem_bits(self) -> int:
        return MAX_PHYSMEM_BITS_5LEVEL if self.five_level_paging else MAX_PHYSMEM_BITS_4LEVEL

    def node(self, nid: int) -> Node:
        for n in self.nodes:
            if n.id == nid:
                return n
        raise KeyError(nid)

    @property
    def nr_cpus(self) -> int:
        return sum(n.cpus for n in self.nodes)


DeviceKind = Literal["fsdax", "devdax", "device-private", "device-coherent", "p2pdma", "system-ram"]


class KindRule(msgspec.Struct, frozen=True):
    """What a kind of ZONE_DEVICE memory allows in a scenario."""

    memmaps: tuple[Literal["ram", "device"], ...]
    """Where its memmap may go; the first is the default."""
    nvdimm: bool
    """On an nvdimm region (a namespace), listed in iomem at boot as Persistent Memory."""
    why_ram: str = ""
    """Why its memmap can only be in ram."""


KINDS: dict[str, KindRule] = {
    "fsdax": KindRule(("device", "ram"), True),
    "devdax": KindRule(("device", "ram"), True),
    "device-private": KindRule(
        ("ram",), False, "device-private memory is not CPU-addressable: its memmap must be in ram"
    ),
    "device-coherent": KindRule(
        ("ram",), False, "the GPU driver maps device-coherent memory with no altmap: use ram"
    ),
    "p2pdma": KindRule(
        ("ram",), False, "pci_p2pdma_add_resource maps a BAR with no altmap: use ram"
    ),
    "system-ram": KindRule(("ram", "device"), False),
}
"""Per kind: device-private memory is not CPU-addressable, and neither GPU drivers nor
p2pdma pass an altmap, so ram is the only legal place for their memmaps. System RAM
(hot-plugged with ``add_memory``) has its memmap in node RAM, or on the memory itself with
``memory_hotplug.memmap_on_memory`` (``memmap = "device"``), where the kernel allows it."""

OnlineType = Literal["offline", "online", "online_kernel", "online_movable"]
"""``memhp_default_state=`` / the sysfs ``state`` values: how hot-added memory is onlined."""

MAX_ALIGN = 1 << 30


class Device(Strict, frozen=True, kw_only=True):
    name: Name
    kind: DeviceKind
    node: Annotated[int, Meta(ge=0)]
    start: Size
    size: Size
    memmap: Literal["ram", "device"]
    align: Size = 2 << 20
    """The pfn device's alignment (nd_pfn->align); 2 MiB is ndctl's default."""
    region: Annotated[str, Meta(min_length=1)] | None = None
    """The nvdimm region (interleave set) holding the namespace; by default one region per
    node, as a socket's interleaved DIMMs give. Not for device-private memory."""
    online: OnlineType | None = None
    """System RAM only: how an add onlines it (``memhp_default_state``; default "online"),
    or "offline" to leave it to an ``online`` step."""

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def region_name(self) -> str:
        return self.region if self.region is not None else f"region{self.node}"


class Boot(Strict, frozen=True, kw_only=True):
    """The scenario boots: the boot memmap, deferred struct page init and its timing."""

    reserved: list[DramRange] = msgspec.field(default_factory=list)
    """Early ``memblock_reserve``s (firmware, kernel image, initrd, crash kernel): not freed
    to the buddy allocator, their struct pages marked PG_reserved."""
    deferred: bool = True
    """CONFIG_DEFERRED_STRUCT_PAGE_INIT: initialise most of each node's memmap in the
    pgdatinit threads (otherwise all of it early, on the boot CPU)."""


class Knobs(Strict, frozen=True, kw_only=True):
    debug_vm: bool = False
    """CONFIG_DEBUG_VM: hot-added memmaps are poisoned (memset 0xFF) before init."""
    vm_debug: str | None = None
    """The ``vm_debug=`` boot parameter (kernels with page-init-poison-off), e.g. "-"."""
    hz: Literal[100, 250, 300, 1000] = 1000
    """CONFIG_HZ: the jiffies granularity of the kernel's own timers."""
    registration_node: Annotated[int, Meta(ge=0)] = 0
    """The node whose CPU ran the NFIT region registration: before node-local probing every
    nvdimm probe runs there (the node is not fixed between boots; 0 is assumed)."""
    cost_profile: str = "xeon-2018-pmem"
    """A built-in cost profile or a TOML file (``memmapsim profiles`` lists them)."""
    probe_start_s: Annotated[float, Meta(ge=0, le=1e6)] = 0.0
    """Boot time (dmesg timestamp) at which the device probes start (at most 1e6 s, some
    eleven days of uptime)."""


Action = Literal["add", "remove", "online", "offline"]


class ScenarioStep(Strict, frozen=True, kw_only=True):
    """One step of a scenario, run after the previous one has finished: ``add`` probes
    devices (their drivers bind and map their memory; System RAM is hot-added with
    ``add_memory`` and onlined as its ``online`` says), ``remove`` unbinds them (the
    teardown: ``devm_memremap_pages_release`` / ``memunmap_pages``; System RAM is offlined
    and removed), ``online`` / ``offline`` write a System RAM device's memory blocks' sysfs
    ``state``."""

    action: Action
    devices: list[Name] | None = None
    """The devices, by name; all of them by default."""
    label: Name | None = None
    """How reports and ``page --after`` name the step; by default the action, numbered
    when it occurs more than once (``add#1``, ``remove``, ``add#2``)."""


class PlannedStep(msgspec.Struct, frozen=True):
    label: str
    action: Action
    devices: tuple[int, ...]
    """Indices into ``Scenario.devices``."""
    index: int
    """Position in ``steps`` (0 for the implicit add of a scenario without steps)."""


class Scenario(Strict, frozen=True, kw_only=True):
    name: Name
    description: str = ""
    kernel: str = "4.20"
    machine: Machine
    devices: list[Device] = msgspec.field(default_factory=list)
    steps: list[ScenarioStep] = msgspec.field(default_factory=list)
    """What happens, in order; without steps, every device is added once."""
    boot: Boot | None = None
    """With a ``[boot]`` table the machine boots first: its boot memmap and deferred init."""
    knobs: Knobs = msgspec.field(default_factory=Knobs)

    source: str = "<scenario>"
    """The file (or built-in) the scenario came from, for error messages; not part of
    the scenario's data (:meth:`data` leaves it out)."""

    def data(self, *, drop_none: bool = False) -> dict[str, Any]:
        """The scenario as the plain data of its TOML file (``source`` left out; with
        ``drop_none``, as TOML can write it)."""
        out: dict[str, Any] = to_data(self, drop_none=drop_none)
        del out["source"]
        return out

    def plan(self) -> list[PlannedStep]:
        """The steps with defaults filled in (see :class:`ScenarioStep`)."""
        steps = self.steps or ([ScenarioStep(action="add")] if self.devices else [])
        index = {d.name: i for i, d in enumerate(self.devices)}
        actions = ("add", "remove", "online", "offline")
        counts = {a: sum(s.action == a for s in steps) for a in actions}
        seen = dict.fromkeys(actions, 0)
        out = []
        for i, s in enumerate(steps):
            seen[s.action] += 1
            label = s.label or (
                f"{s.action}#{seen[s.action]}" if counts[s.action] > 1 else s.action
            )
            names = s.devices if s.devices is not None else [d.name for d in self.devices]
            out.append(PlannedStep(label, s.action, tuple(index[n] for n in names), i))
        return out


# --- loading --------------------------------------------------------------------------------
BUILTIN_DIR = Path(__file__).parent / "scenarios"
"""The package's data directory, found from this file: ``importlib.resources`` would do
the same for an installed package but imports tempfile, shutil, bz2 and lzma on the way,
some 10 ms of every start-up (issue 7)."""


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.iterdir() if p.suffix == ".toml")


def load_scenario(spec: str) -> Scenario:
    """Load a scenario by built-in name or path; raise InputError naming file and field."""
    st = stat_input(spec)
    if st is None and spec in builtin_names():
        data = (BUILTIN_DIR / f"{spec}.toml").read_bytes()
        source = f"{spec} (built-in)"
        return parse_scenario(decode(data, source), source)
    if st is None:
        names = ", ".join(builtin_names())
        raise InputError(spec, None, f"no such file or built-in scenario (built-ins: {names})")
    return parse_scenario(read_input(spec, st), spec)


def parse_scenario(text: str, source: str) -> Scenario:
    return scenario_from_data(loads_toml(text, source), source)


def scenario_from_data(data: dict[str, Any], source: str) -> Scenario:
    """The scenario of a parsed TOML document: its schema, then :func:`check_machine` and
    :func:`check_steps`; InputError names ``source`` and the key."""
    if "source" in data:
        raise InputError(source, "source", "unknown key")
    devices = _default_memmaps(data.get("devices"))
    sc = convert({**data, "devices": devices, "source": source}, Scenario, source)
    check_machine(sc)
    check_steps(sc)
    return sc


def _default_memmaps(devices: Any) -> Any:
    """Each device table with its kind's default ``memmap`` filled in (see KINDS)."""
    if not isinstance(devices, list):
        return [] if devices is None else devices
    out = []
    for d in devices:
        if isinstance(d, dict) and "memmap" not in d:
            rule = KINDS.get(str(d.get("kind")))
            d = {**d, "memmap": rule.memmaps[0] if rule else "device"}
        out.append(d)
    return out


def check_steps(sc: Scenario) -> None:
    """Steps name known devices, add only what is not present, remove only what is, and
    have distinct labels."""
    names = {d.name for d in sc.devices}
    present: set[str] = set()
    for i, s in enumerate(sc.steps):
        fld = f"steps[{i}]"
        listed = s.devices if s.devices is not None else [d.name for d in sc.devices]
        if len(set(listed)) != len(listed):
            raise InputError(sc.source, f"{fld}.devices", "a device is listed twice")
        kinds = {d.name: d.kind for d in sc.devices}
        for n in listed:
            if n not in names:
                raise InputError(sc.source, f"{fld}.devices", f"no device named {toml_value(n)}")
            if s.action == "add" and n in present:
                raise InputError(sc.source, f"{fld}.devices", f"{n} is present already")
            if s.action != "add" and n not in present:
                raise InputError(sc.source, f"{fld}.devices", f"{n} is not present")
            if s.action in ("online", "offline") and kinds[n] != "system-ram":
                raise InputError(
                    sc.source, f"{fld}.devices", f"{n} is not System RAM: only memory blocks "
                    f"go {s.action}"
                )  # fmt: skip
        if s.action == "add":
            present = present | set(listed)
        elif s.action == "remove":
            present = present - set(listed)
    labels = [p.label for p in sc.plan()]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            raise InputError(sc.source, f"steps[{i}].label", f"label {label!r} is used twice")


def check_machine(sc: Scenario) -> None:
    """Physical consistency of the machine and device placement (not kernel policy)."""
    src = sc.source
    seen: dict[int, int] = {}
    ranges: list[tuple[int, int, str]] = []
    for i, node in enumerate(sc.machine.nodes):
        if node.id in seen:
            raise InputError(src, f"machine.nodes[{i}].id", f"node {node.id} is defined twice")
        seen[node.id] = i
        for j, r in enumerate(node.dram):
            fld = f"machine.nodes[{i}].dram[{j}]"
            if r.size == 0:
                raise InputError(src, f"{fld}.size", "a DRAM range must not be empty")
            if r.start % PAGE_SIZE or r.size % PAGE_SIZE:
                raise InputError(src, fld, "DRAM ranges must be 4 KiB aligned")
            ranges.append((r.start, r.end, fld))
    if sc.machine.nr_cpus == 0:
        raise InputError(src, "machine.nodes", "the machine has no CPUs")
    if sc.knobs.registration_node not in seen:
        raise InputError(
            src,
            "knobs.registration_node",
            f"node {sc.knobs.registration_node} is not in machine.nodes",
        )
    if not any(n.dram for n in sc.machine.nodes):
        raise InputError(src, "machine.nodes", "the machine has no DRAM (no node lists dram)")
    if sc.boot is not None:
        for j, r in enumerate(sc.boot.reserved):
            if r.size == 0:
                raise InputError(src, f"boot.reserved[{j}].size", "a reservation must not be empty")
            ranges.append((r.start, r.end, f"boot.reserved[{j}]"))
    limit = 1 << sc.machine.max_physmem_bits
    names: set[str] = set()
    for i, d in enumerate(sc.devices):
        fld = f"devices[{i}]"
        if d.name in names:
            raise InputError(src, f"{fld}.name", f"device name {toml_value(d.name)} is used twice")
        names.add(d.name)
        if d.node not in seen:
            raise InputError(src, f"{fld}.node", f"node {d.node} is not in machine.nodes")
        if d.start % PAGE_SIZE:
            raise InputError(src, f"{fld}.start", f"{cut(hex(d.start))} is not 4 KiB aligned")
        if d.size % PAGE_SIZE:
            raise InputError(src, f"{fld}.size", f"{cut(hex(d.size))} is not a multiple of 4 KiB")
        if d.align < PAGE_SIZE or d.align > MAX_ALIGN or d.align & (d.align - 1):
            raise InputError(
                src, f"{fld}.align", f"{toml_value(d.align)} is not a power of two from 4K to 1G"
            )
        rule = KINDS[d.kind]
        if d.memmap not in rule.memmaps:
            raise InputError(src, f"{fld}.memmap", rule.why_ram)
        if d.online is not None and d.kind != "system-ram":
            raise InputError(
                src, f"{fld}.online", f"{d.kind} memory is not onlined: only System RAM"
            )
        if not rule.nvdimm and d.region is not None:
            raise InputError(src, f"{fld}.region", f"{d.kind} memory is not on an nvdimm region")
        ranges.append((d.start, d.end, fld))
    check_regions(sc)
    for _start, end, fld in ranges:
        if end > limit:
            paging = "5-level" if sc.machine.five_level_paging else "4-level"
            hint = "" if sc.machine.five_level_paging else "; set machine.five_level_paging = true"
            raise InputError(
                src,
                fld,
                f"ends at {cut(hex(end))}, beyond the {format_size(limit)} of physical address "
                f"space that {paging} paging maps "
                f"(MAX_PHYSMEM_BITS={sc.machine.max_physmem_bits}){hint}",
            )
    dram = sorted((s, e, f) for s, e, f in ranges if f.startswith("machine"))
    for (_s1, e1, f1), (s2, _e2, f2) in itertools.pairwise(dram):
        if s2 < e1:
            raise InputError(src, f2, f"overlaps {f1}")


def nd_regions(sc: Scenario) -> dict[str, tuple[int, int, int]]:
    """Each nvdimm region's span ``(start, end, index of its first device)``: the hull of
    its namespaces (fsdax and devdax devices)."""
    out: dict[str, tuple[int, int, int]] = {}
    for i, d in enumerate(sc.devices):
        if not KINDS[d.kind].nvdimm:
            continue
        lo, hi, first = out.get(d.region_name, (d.start, d.end, i))
        out[d.region_name] = (min(lo, d.start), max(hi, d.end), first)
    return out


def check_regions(sc: Scenario) -> None:
    """Regions are disjoint (firmware describes each interleave set once)."""
    spans = sorted((lo, hi, name, i) for name, (lo, hi, i) in nd_regions(sc).items())
    for (_lo1, hi1, n1, _i1), (lo2, _hi2, n2, i2) in itertools.pairwise(spans):
        if lo2 < hi1:
            raise InputError(
                sc.source, f"devices[{i2}].region", f"region {n2} overlaps region {n1}"
            )
