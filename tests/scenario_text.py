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
