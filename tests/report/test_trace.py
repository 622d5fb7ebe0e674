"""The trace command: effect order with locks (in-order), intervals and holds (timing)."""

from __future__ import annotations

import itertools
import json

from memmapsim.cli import main
from tests.clirunner import CliRunner

runner = CliRunner()


def test_inorder_trace_shows_what_ran_under_the_lock() -> None:
    """4.20 on tiny-pmem: the memmap host and the section tail are initialized holding
    mem_hotplug_lock, the data pages after it is released (966cf44f637e)."""
    res = runner.invoke(main, ["trace", "tiny-pmem", "--kernel", "4.20", "--json"])
    assert res.exit_code == 0, res.output
    effects = json.loads(res.stdout)["effects"]
    inits = [e for e in effects if e["effect"].startswith("InitPages")]
    locked = ["cpu_hotplug_lock", "mem_hotplug_lock"]
    assert [(e["effect"].split("work=")[1].split("[")[0], e["locks"]) for e in inits] == [
        ("memmap_init_zone", locked),
        ("memmap_init_zone (section tail)", locked),
        ("memmap_init_zone_device", []),
    ]
    assert [e["seq"] for e in effects] == list(range(len(effects)))


def test_timing_trace_intervals_and_holds() -> None:
    res = runner.invoke(
        main, ["trace", "duyck-2018", "--kernel", "4.18", "--engine", "timing", "--json"]
    )
    data = json.loads(res.stdout)
    holds = [h for h in data["lock_holds"] if h["lock"] == "mem_hotplug_lock"]
    assert len(holds) == 4
    for a, b in itertools.pairwise(holds):
        assert a["end_s"] <= b["start_s"]  # nodes follow one another
    locked = [iv for iv in data["intervals"] if iv["locked"] and iv["kind"] == "struct page init"]
    assert {iv["thread"] for iv in locked} == {"pmem0", "pmem1", "pmem2", "pmem3"}
    text = runner.invoke(main, ["trace", "duyck-2018", "--kernel", "4.18", "--engine", "timing"])
    assert "holds mem_hotplug_lock" in text.stdout
