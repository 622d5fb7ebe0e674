"""The JSON report: its schema, backend independence and determinism."""

from __future__ import annotations

import json
import subprocess
import sys

from memmapsim.config.scenario import load_scenario
from memmapsim.report.data import run_data
from memmapsim.simulate import simulate


def cli_json(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "memmapsim.cli", *args], capture_output=True, text=True, check=True
    )
    return out.stdout


def test_duyck_2018_json_schema() -> None:
    data = json.loads(cli_json("run", "duyck-2018", "--kernel", "4.20", "--json"))
    assert data["kernel"] == "4.20"
    assert isinstance(data["findings"], list)
    assert data["pgmap_refs"] == 4 * 792_722_944
    assert [d["name"] for d in data["devices"]] == ["pmem0", "pmem1", "pmem2", "pmem3"]
    for node, dev in enumerate(data["devices"]):
        assert dev["node"] == node
        # the memmap host, then v4.20's section-tail loop up to that section's end
        assert dev["pages_initialised_locked"] == 12_583_422 + (32_768 - 512)
        assert dev["pages_initialised_unlocked"] == 792_722_944
        classes = {c["class"]: c for c in dev["pfn_classes"]}
        assert classes["altmap_reserve"]["init_passes"] == 0
        assert classes["altmap_free"]["init_passes"] == 1
        assert classes["data"]["histories"][0]["passes"] == [
            {"by": "memmap_init_zone_device", "thread": dev["name"], "locked": False}
        ]
        assert sum(c["pages"] for c in dev["pfn_classes"]) == 3 * 2**40 // 4096


def test_dense_and_runs_give_byte_identical_json() -> None:
    for kernel in ("4.18", "4.20"):
        dense = cli_json("run", "tiny-pmem", "--kernel", kernel, "--backend", "dense", "--json")
        runs = cli_json("run", "tiny-pmem", "--kernel", kernel, "--backend", "runs", "--json")
        assert dense == runs


def test_same_inputs_same_json() -> None:
    sc = load_scenario("duyck-2018")
    a = json.dumps(run_data(simulate(sc, "4.18")))
    b = json.dumps(run_data(simulate(sc, "4.18")))
    assert a == b
