"""The scenario of the machine a kernel log came from.

From :class:`~memmapsim.io.extract.Machine`:

- **nodes**: one per node of "Early memory node ranges" (memblock memory, so holes are
  kept), with the CPUs the log brought up shared evenly ("smp: Brought up N nodes, M
  CPUs"; the log does not say which CPU is on which node);
- **devices**: one fsdax namespace per persistent-memory range of the firmware map
  (e820 types 7 and 12), memmap on the device (ndctl's default), on the node whose DRAM
  comes last below it (the log has no SRAT lines for them) — named ``pmem0``, ``pmem1``…
  in address order, which is how the nd bus names them;
- **kernel**: the newest modelled release not newer than the log's ``Linux version``;
- **boot**: when the log timed a node's deferred struct page init, a ``[boot]`` table
  (deferred init on), priced by ``modern-x86``, the profile with boot costs. The log's
  ``Memory:`` line gives only the sum of the early reservations, not where they are, so
  none are placed: the simulated nodes then have slightly more pages to initialise than
  the logged ones (the kernel image and initrd, tens of MiB).

What the log does not say is left at the scenario defaults, and listed in
:attr:`FromLog.assumed` so a user can check it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memmapsim.config.scenario import Scenario, parse_scenario
from memmapsim.errors import InputError
from memmapsim.io.extract import Extracted
from memmapsim.model.pageflags import release_key

SECTION = 128 << 20


@dataclass
class FromLog:
    data: dict[str, Any]
    """The scenario as TOML-ready data."""
    assumed: list[str] = field(default_factory=list)


def nearest_release(version: str, releases: list[str]) -> str | None:
    """The newest of ``releases`` not newer than ``version`` (``5.6.0-rc7+`` → 5.5)."""
    try:
        major, minor = version.split(".")[:2]
        want = (int(major), int("".join(c for c in minor if c.isdigit()) or 0))
    except ValueError:
        return None
    older = [r for r in releases if release_key(r) <= want]
    return max(older, key=release_key) if older else None


def _size(n: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return hex(n)


def scenario_from_log(ex: Extracted, name: str, releases: list[str], source: str) -> FromLog:
    m = ex.machine
    out = FromLog({"name": name, "description": f"the machine of {source}"})
    if not m.node_ranges:
        raise InputError(source, None, 'no "Early memory node ranges" in the log: no machine')
    nodes = sorted(m.node_ranges)
    if m.cpus:
        per_node = max(1, m.cpus // len(nodes))
        if m.cpus % len(nodes):
            out.assumed.append(f"{m.cpus} CPUs do not divide over {len(nodes)} nodes")
    else:
        per_node = 1
        out.assumed.append("no CPU count in the log: one CPU per node")
    out.data["machine"] = {
        "nodes": [
            {
                "id": n,
                "cpus": per_node,
                "dram": [{"start": hex(a), "size": _size(b - a)} for a, b in m.node_ranges[n]],
            }
            for n in nodes
        ]
    }
    devices = []
    for i, (a, b) in enumerate(sorted(m.pmem)):
        below = [(hi, n) for n in nodes for _lo, hi in m.node_ranges[n] if hi <= a]
        node = max(below)[1] if below else nodes[0]
        devices.append(
            {
                "name": f"pmem{i}",
                "kind": "fsdax",
                "node": node,
                "start": hex(a),
                "size": _size(b - a),
            }
        )
    if devices:
        out.assumed.append(
            "each pmem range is an fsdax namespace on the node whose DRAM precedes it"
        )
    out.data["devices"] = devices
    if any(x.kind == "deferred" for x in ex.measurements):
        out.data["boot"] = {"deferred": True}
        out.data["knobs"] = {"cost_profile": "modern-x86"}
        out.assumed.append(
            "the early memblock reservations (kernel image, initrd, firmware) are not placed: "
            "the log gives only their sum"
        )
    kernel = nearest_release(m.kernel, releases) if m.kernel else None
    if kernel is None:
        out.assumed.append(f"kernel {m.kernel or '(not in the log)'}: no modelled release; 4.20")
        kernel = "4.20"
    out.data["kernel"] = kernel
    if m.kernel and kernel.split(".")[:2] != m.kernel.split(".")[:2]:
        out.assumed.append(f"kernel {m.kernel} is modelled by release {kernel}")
    return out


def to_scenario(fl: FromLog, source: str) -> Scenario:
    import tomli_w

    return parse_scenario(tomli_w.dumps(fl.data), source)
