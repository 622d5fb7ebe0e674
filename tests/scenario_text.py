"""Scenario TOML snippets shared by the tests."""

from __future__ import annotations

import json

NODE0 = """
[[machine.nodes]]
id = 0
cpus = 4
dram = [{ start = "0", size = "1G" }, { start = "2G", size = "1G" }]
"""


def dev(name: str, start: str, size: str, **extra: object) -> str:
    """A [[devices]] table (fsdax on node 0 unless overridden)."""
    fields: dict[str, object] = {"name": name, "kind": "fsdax", "node": 0}
    fields |= {"start": start, "size": size, **extra}
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())
    return f"\n[[devices]]\n{body}"


_VM_RAM = """
name = "vm"
[machine]
hypervisor = true
[[machine.nodes]]
id = 0
cpus = 2
dram = [{{ start = "0", size = "2G" }}, {{ start = "4G", size = "2G" }}]
[[devices]]
name = "dimm0"
kind = "system-ram"
node = 0
start = "{start}"
size = "{size}"
memmap = "{memmap}"
online = "{online}"
[knobs]
cost_profile = "modern-x86"
"""


def vm_ram(start: str, size: str, memmap: str, online: str) -> str:
    """A virtual machine (2 CPUs, 4 GiB of boot DRAM) hot-adding one System RAM device."""
    return _VM_RAM.format(start=start, size=size, memmap=memmap, online=online)
