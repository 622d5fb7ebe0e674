"""Boot and System RAM on the command line: the boot section of run/compare JSON, the boot
phase of the timing trace, boot pfns in ``page``, the releases without changes."""

from __future__ import annotations

import json
from pathlib import Path

from memmapsim.cli import main
from tests.clirunner import CliRunner, Result
from tests.scenario_text import NODE0, dev

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(main, list(args))


def test_compare_shows_each_nodes_deferred_init_per_kernel() -> None:
    res = invoke("compare", "boot-768g", "--kernel", "5.7", "--kernel", "5.8", "--json")
    assert res.exit_code == 0, res.output
    runs = {r["kernel"]: r for r in json.loads(res.stdout)["runs"]}
    for kernel, threads in (("5.7", 1), ("5.8", 52)):
        boot = runs[kernel]["boot"]
        assert [n["node"] for n in boot["nodes"]] == [0, 1]
        assert {n["threads"] for n in boot["nodes"]} == {threads}
        assert boot["total_s"] == max(n["finish_s"] for n in boot["nodes"])
        for n in boot["nodes"]:
            assert 0 < n["init_s"] == n["finish_s"] - n["start_s"]
            assert n["init_s"] <= n["work_s"] <= threads * n["init_s"] + 1e-6
    # the same pfns are deferred; 5.8's line drops the page count
    for i in (0, 1):
        a, b = runs["5.7"]["boot"]["nodes"][i], runs["5.8"]["boot"]["nodes"][i]
        assert a["deferred_pages"] == b["deferred_pages"] == a["log_pages"]
        assert b["log_pages"] is None
        assert a["line"].startswith(f"node {i} initialised, {a['deferred_pages']} pages in ")
        assert b["line"].startswith(f"node {i} deferred pages initialised in ")
        assert b["init_s"] < a["init_s"]
    assert runs["5.8"]["devices"] == []


def test_compare_text_of_a_boot_only_scenario_has_no_device_table() -> None:
    res = invoke("compare", "boot-768g", "--kernel", "5.7", "--kernel", "5.8")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "boot-768g: deferred struct page init per kernel (s; ratio to 5.7)"
    assert "boot-768g: 5.7 vs 5.8" not in lines  # the device table's header, with no device


def test_timing_trace_shows_the_pgdatinit_threads_and_their_padata_helpers() -> None:
    res = invoke("trace", "boot-768g", "--kernel", "5.8", "--engine", "timing", "--json")
    assert res.exit_code == 0, res.output
    ivs = json.loads(res.stdout)["intervals"]
    assert {iv["phase"] for iv in ivs} == {"boot"}
    deferred = [iv for iv in ivs if iv["detail"] == "deferred_init_pages"]
    threads = {iv["thread"] for iv in deferred}
    assert {"pgdatinit0", "pgdatinit1"} <= threads
    helpers = {t for t in threads if t.startswith("kworker/u:padata")}
    assert len(helpers) == 2 * 51
    for iv in deferred:
        # every helper runs on the node its pgdatinit thread queued it from, on memory there
        node = 0 if iv["thread"] in ("pgdatinit0",) or "padata0." in iv["thread"] else 1
        assert (iv["node"], iv["mem_node"]) == (node, node), iv
        assert 0 <= iv["cpu"] - 52 * node < 52
    text = invoke("trace", "boot-768g", "--kernel", "5.8", "--engine", "timing").stdout
    assert "-- boot (times from the start of boot) --" in text


def test_page_shows_a_boot_pfn_after_boot() -> None:
    res = invoke("page", "boot-768g", "0x108000", "--kernel", "6.12", "--after", "boot")
    assert res.exit_code == 0, res.output
    assert "page_type: f0(buddy)" in res.stdout
    assert "written by deferred_init_pages (unlocked), then deferred_free_pages" in res.stdout
    # a scenario without [boot] does not model boot pfns
    res = invoke("page", "tiny-pmem", "0x100", "--json")
    assert "not modelled without a [boot] table" in json.loads(res.stdout)["state"]
    res = invoke("page", "tiny-pmem", "0x100", "--after", "boot")
    assert res.exit_code == 2 and "no step 'boot'" in res.stderr


def test_page_after_boot_is_the_state_before_the_first_step(tmp_path: Path) -> None:
    path = tmp_path / "bootdev.toml"
    boot = '\n[boot]\n\n[knobs]\ncost_profile = "modern-x86"\n'
    path.write_text(
        'name = "bootdev"\nkernel = "6.6"\n' + NODE0 + boot + dev("p0", "1G", "128M", memmap="ram")
    )
    states = []
    for after in ("boot", "add"):
        res = invoke("page", str(path), "0x40000", "--after", after, "--json")
        assert res.exit_code == 0, res.output
        page = json.loads(res.stdout)
        states.append((page["state"], page["history"]))
    assert states == [("absent", []), ("written", ["memmap_init_zone_device (unlocked)"])]


def test_run_reports_boot_and_hotplug() -> None:
    res = invoke("run", "hotplug-256g", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    (dev,) = data["devices"]
    assert (dev["kind"], dev["dev_name"]) == ("system-ram", "PNP0C80:00")
    assert dev["present"] is True and "boot" not in data
    assert dev["memory_blocks"] == {"online": 2048}
    assert dev["memmap_bytes"] == {"ram": 4 << 30, "device": 0}
    res = invoke("run", "hotplug-256g-mom", "--json")
    (dev,) = json.loads(res.stdout)["devices"]
    assert dev["memmap_bytes"] == {"ram": 0, "device": 4 << 30}
    text = invoke("run", "boot-768g", "--kernel", "5.8").stdout
    assert "boot on 5.8 (cost profile modern-x86): deferred struct page init" in text


def test_kernels_lists_the_boot_releases() -> None:
    data = json.loads(invoke("kernels", "--json").stdout)
    releases = {d["name"]: d for d in data if d["kind"] == "release"}
    assert next(iter(releases)) == "4.14"
    assert [c["name"] for c in releases["5.2"]["new"]] == [
        "mm-zero-struct-page",
        "drop-meminit-pfn-in-nid",
        "zone-memblock-iterator",
        "deferred-init-maxorder",
    ]
    assert releases["5.5"]["new"] == []
    assert "(no change modelled)" in invoke("kernels").stdout


def test_a_device_on_a_boot_only_release_is_one_line() -> None:
    res = invoke("run", "tiny-pmem", "--kernel", "4.14")
    assert res.exit_code == 2 and res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line.startswith("memmapsim: error: tiny-pmem (built-in): devices[0].kind: kernel 4.14")
    assert "modelled for boot memory only" in line
