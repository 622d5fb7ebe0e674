"""A sweep point's machine, derived from the base scenario by the machine axes.

- ``nodes = N``: N copies of the base's first node, each with that node's devices, at a
  stride of the copy's footprint rounded up to 1 GiB; the base's other nodes are dropped.
  The copy on node k>0 of device ``pmem0`` is named ``pmem0-node{k}`` (and an explicit
  nvdimm region ``r`` becomes ``r-node{k}``), so every copy is its own namespace.
- ``cpus_per_node``: every node gets that many CPUs.
- ``dram_per_node`` / ``device_memory_per_node``: each node's DRAM ranges / devices are
  scaled, in the base's proportions, to that total. DRAM is kept in whole pages; a device
  is rounded down to its alignment (and must keep at least one alignment unit).

When a size changes, everything above it in the physical address space moves by the
change rounded to whole GiB (up when it grows, down when it shrinks), so every gap of the
base (a DRAM hole, a PCI hole) is kept or widened and every start keeps its alignment
(device alignments are at most 1 GiB). A machine that then ends above the 4-level paging
limit (64 TiB) gets ``five_level_paging``, as such a machine would need it.

Nothing here knows a kernel: the point is an ordinary scenario, checked like one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memmapsim.config.scenario import Scenario
from memmapsim.errors import InputError
from memmapsim.units import MAX_PHYSMEM_BITS_4LEVEL, PAGE_SIZE, GiB, format_size

MOVE_UNIT = GiB
"""Moves of the address map are whole multiples of this (the largest device alignment)."""


@dataclass(frozen=True)
class MachineAxes:
    """The machine axes of one point (None: as in the base)."""

    nodes: int | None = None
    cpus_per_node: int | None = None
    dram_per_node: int | None = None
    device_memory_per_node: int | None = None


def _round_move(delta: int) -> int:
    """``delta`` as a whole number of :data:`MOVE_UNIT`: up when positive, down (towards
    zero) when negative, so a gap never shrinks."""
    if delta >= 0:
        return -(-delta // MOVE_UNIT) * MOVE_UNIT
    return -((-delta) // MOVE_UNIT) * MOVE_UNIT


def _scaled(sizes: list[int], total: int, unit: list[int]) -> list[int]:
    """``sizes`` scaled to sum to ``total`` in the same proportions, each rounded down to a
    multiple of its ``unit``."""
    base = sum(sizes)
    return [(total * s // base) // u * u for s, u in zip(sizes, unit, strict=True)]


def shape(base: Scenario, axes: MachineAxes, where: str) -> dict[str, Any]:
    """The scenario of a point, as the data of a scenario file (to be validated as one).
    ``where`` names the axis values for errors of the sizes."""
    data = base.data()
    nodes: list[dict[str, Any]] = data["machine"]["nodes"]
    devices: list[dict[str, Any]] = data["devices"]
    steps: list[dict[str, Any]] = data["steps"]
    if axes.nodes is not None:
        first = nodes[0]
        devices = [d for d in devices if d["node"] == first["id"]]
        kept = {d["name"] for d in devices}
        steps = [
            s | {"devices": [n for n in s["devices"] if n in kept]}
            if s.get("devices") is not None
            else s
            for s in steps
        ]
        nodes = [first]
    _resize(nodes, devices, axes, where)
    if axes.nodes is not None:
        nodes, devices, steps = _replicate(nodes[0], devices, steps, axes.nodes)
        if data["knobs"]["registration_node"] >= axes.nodes:
            data["knobs"]["registration_node"] = 0
    if axes.cpus_per_node is not None:
        for n in nodes:
            n["cpus"] = axes.cpus_per_node
    top = max(
        [r["start"] + r["size"] for n in nodes for r in n["dram"]]
        + [d["start"] + d["size"] for d in devices]
    )
    if top > 1 << MAX_PHYSMEM_BITS_4LEVEL:
        data["machine"]["five_level_paging"] = True
    data["machine"]["nodes"], data["devices"], data["steps"] = nodes, devices, steps
    return data


def _resize(
    nodes: list[dict[str, Any]], devices: list[dict[str, Any]], axes: MachineAxes, where: str
) -> None:
    """Set the per-node DRAM and device totals, then move what lies above each change."""
    # items: (start, old size, the dict holding start and size)
    items: list[tuple[int, int, dict[str, Any]]] = []
    for n in nodes:
        ranges = n["dram"]
        items += [(r["start"], r["size"], r) for r in ranges]
        if axes.dram_per_node is not None and ranges:
            sizes = _scaled(
                [r["size"] for r in ranges], axes.dram_per_node, [PAGE_SIZE] * len(ranges)
            )
            if any(s == 0 for s in sizes):
                raise InputError(
                    where,
                    "dram_per_node",
                    f"{format_size(axes.dram_per_node)} leaves a DRAM range of node "
                    f"{n['id']} empty",
                )
            sizes[-1] += (axes.dram_per_node - sum(sizes)) // PAGE_SIZE * PAGE_SIZE
            for r, s in zip(ranges, sizes, strict=True):
                r["size"] = s
    items += [(d["start"], d["size"], d) for d in devices]
    if axes.device_memory_per_node is not None:
        for n in nodes:
            mine = [d for d in devices if d["node"] == n["id"]]
            if not mine:
                continue
            total = axes.device_memory_per_node
            sizes = _scaled([d["size"] for d in mine], total, [d["align"] for d in mine])
            for d, s in zip(mine, sizes, strict=True):
                if s == 0:
                    raise InputError(
                        where,
                        "device_memory_per_node",
                        f"{format_size(total)} leaves {d['name']} smaller than its alignment "
                        f"({format_size(d['align'])})",
                    )
                d["size"] = s
    move = 0
    for start, old, item in sorted(items, key=lambda x: (x[0], x[1])):
        item["start"] = start + move
        move += _round_move(item["size"] - old)


def _replicate(
    node: dict[str, Any],
    devices: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    count: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` copies of ``node`` and its devices, node ids 0..count-1."""
    top = max(
        [r["start"] + r["size"] for r in node["dram"]] + [d["start"] + d["size"] for d in devices]
    )
    stride = _round_move(top)
    nodes, out = [], []
    for k in range(count):
        shift = k * stride
        nodes.append(
            node
            | {
                "id": k,
                "dram": [r | {"start": r["start"] + shift} for r in node["dram"]],
            }
        )
        for d in devices:
            copy = d | {"node": k, "start": d["start"] + shift, "name": _copy_name(d["name"], k)}
            if k and d.get("region") is not None:
                copy["region"] = f"{d['region']}-node{k}"
            out.append(copy)
    new_steps = []
    for s in steps:
        if s.get("devices") is None:
            new_steps.append(s)
            continue
        names = [_copy_name(n, k) for n in s["devices"] for k in range(count)]
        new_steps.append(s | {"devices": names})
    return nodes, out, new_steps


def _copy_name(name: str, k: int) -> str:
    return name if k == 0 else f"{name}-node{k}"
