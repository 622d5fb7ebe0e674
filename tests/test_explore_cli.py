"""``memmapsim explore``, ``replay`` and ``readers`` end to end: the races of issue #9 found
where the kernel had them and not where it fixed them, schedule files that replay exactly,
the same results on one process, several and a Dask cluster."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from memmapsim.cli import main
from memmapsim.config.scenario import load_scenario
from memmapsim.kernel.versions import device_releases
from memmapsim.model.pageflags import release_key
from tests.clirunner import CliRunner, Result
from tests.scenario_text import vm_ram

runner = CliRunner()
PREFIX = "memmapsim: error: "
WINDOW = {"stale", "half initialized"}
UNINITIALIZED = {"never written", "poisoned"}

DEVICE_RELEASES = device_releases()  # the explorer's releases: 4.14 has no devices


def invoke(*args: str) -> Result:
    return runner.invoke(main, list(args))


def explore(tmp_path: Path, *args: str) -> dict[str, Any]:
    r = invoke("explore", *args, "--out", str(tmp_path / "schedules"), "--json")
    assert r.exit_code == 0, r.output
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(PREFIX)
    return line


def reserve_pfn(scenario: str) -> int:
    """The first pfn of the scenario's first device: its altmap reserve."""
    return load_scenario(scenario).devices[0].start >> 12


def between(release: str, lo: str, hi: str) -> bool:
    return release_key(lo) <= release_key(release) <= release_key(hi)


@pytest.mark.parametrize("release", [r for r in DEVICE_RELEASES if between(r, "4.18", "5.3")])
def test_kpageflags_reads_a_never_initialized_zone_device_page_up_to_5_3(
    tmp_path: Path, release: str
) -> None:
    pfn = hex(reserve_pfn("tiny-pmem"))
    data = explore(tmp_path, "tiny-pmem", "-k", release, "-r", "kpageflags", "--pfn", pfn)
    found = {(f["reader"], f["pfn"], f["state_seen"]) for f in data["findings"]}
    assert ("kpageflags", pfn, "never written") in found
    assert data["complete"] is True


@pytest.mark.parametrize("release", [r for r in DEVICE_RELEASES if not between(r, "4.18", "5.3")])
def test_kpageflags_finds_nothing_from_5_4(tmp_path: Path, release: str) -> None:
    data = explore(tmp_path, "tiny-pmem", "-k", release, "-r", "kpageflags")
    assert data["complete"] is True and data["findings"] == []
    assert data["work_items"] >= 3  # every pfn class was looked at


def test_a_change_file_that_puts_pfn_valid_back_finds_it_again_on_5_4(tmp_path: Path) -> None:
    change = tmp_path / "old_gate.py"
    change.write_text(
        "from memmapsim.kernel.readers.mmzone import pfn_valid\n\n"
        "SUBJECT = 'fs/proc/page.c: pfn_valid() again'\n\n"
        "def old_gate(k, pfn):\n"
        "    ok = yield from pfn_valid(k, pfn)\n"
        "    return ok\n\n"
        "PATHS = {'proc_page_pfn_to_page': old_gate}\n"
    )
    data = explore(tmp_path, "tiny-pmem", "-k", f"5.4+{change}", "-r", "kpageflags")
    states = {(f["pfn_class"], f["state_seen"]) for f in data["findings"]}
    assert ("altmap_reserve", "never written") in states
    assert {s for _c, s in states} & WINDOW


@pytest.mark.parametrize("release", list(DEVICE_RELEASES))
def test_memunmap_pages_reads_the_altmap_reserve_from_5_0_to_5_3(
    tmp_path: Path, release: str
) -> None:
    data = explore(tmp_path, "tiny-pmem-remove", "-k", release, "-r", "memunmap_pages")
    found = [
        f
        for f in data["findings"]
        if f["reader"] == "memunmap_pages" and f["pfn_class"] == "altmap_reserve"
    ]
    assert data["complete"] is True
    if between(release, "5.0", "5.3"):
        (f,) = found
        assert f["state_seen"] in UNINITIALIZED and f["preemptions"] == 0
    else:
        assert found == []


def window(data: dict[str, Any]) -> list[dict[str, Any]]:
    """memory_failure reading a data page memmap_init_zone_device has not finished."""
    return [
        f
        for f in data["findings"]
        if f["reader"] == "memory_failure"
        and f["writer_step"] == "add: memmap_init_zone_device"
        and f["state_seen"] in WINDOW
        and f["pfn_class"] == "data"
    ]


@pytest.mark.parametrize("release", ["4.20", "7.1"])
def test_memory_failure_through_get_dev_pagemap_needs_exactly_one_preemption(
    tmp_path: Path, release: str
) -> None:
    none = explore(
        tmp_path, "tiny-pmem", "-k", release, "-r", "memory_failure", "--preemptions", "0"
    )
    assert none["complete"] is True and window(none) == []
    one = explore(
        tmp_path, "tiny-pmem", "-k", release, "-r", "memory_failure", "--preemptions", "1"
    )
    found = window(one)
    assert found and all(f["preemptions"] == 1 for f in found)
    functions = found[0]["reader_functions"]
    assert "memory_failure_dev_pagemap" in functions


@pytest.mark.parametrize(
    ("kernel", "underflow"),
    [
        ("4.18+nonatomic-reserved+defer-zone-device-v5", True),
        ("4.18+nonatomic-reserved+defer-zone-device", False),
        ("4.20", False),
    ],
)
def test_the_pgmap_reference_underflow_at_release_is_a_finding(
    tmp_path: Path, kernel: str, underflow: bool
) -> None:
    data = explore(tmp_path, "tiny-pmem-remove", "-k", kernel, "-r", "memunmap_pages")
    i2 = [f for f in data["findings"] if f["invariant"] == "I2"]
    assert bool(i2) == underflow
    if underflow:
        (f,) = i2
        assert f["writer_step"].startswith("remove: ") and f["device"] == "pmem0"
        assert f["state_seen"] == "reference underflow"


def test_json_names_what_conflicts_and_every_finding_replays_byte_for_byte(tmp_path: Path) -> None:
    r = invoke(
        "explore", "tiny-pmem", "-k", "4.20", "-r", "memory_failure", "-r", "kpageflags",
        "--pfn", "0x40000", "--pfn", "0x48000", "--out", str(tmp_path / "s"),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    data = explore(tmp_path, "tiny-pmem", "-k", "4.20", "-r", "memory_failure", "-r", "kpageflags",
                   "--pfn", "0x40000", "--pfn", "0x48000")  # fmt: skip
    assert data["schedules_explored"] > 0 and data["findings"]
    text = r.stdout
    for f in data["findings"]:
        for key in ("reader", "writer_step", "reader_step", "pfn", "pfn_class", "state_seen",
                    "preemptions", "schedule_file"):  # fmt: skip
            assert f[key] is not None, key
        assert Path(f["schedule_file"]).exists()
        rj = invoke("replay", f["schedule_file"], "--json")
        assert rj.exit_code == 0, rj.output
        assert json.loads(rj.stdout) == f
        rt = invoke("replay", f["schedule_file"])
        block = "".join("   " + ln + "\n" if ln else "\n" for ln in rt.stdout.splitlines())
        assert block in text.replace(str(tmp_path / "s"), str(tmp_path / "schedules"))


def test_the_same_seed_and_budget_print_the_same(tmp_path: Path) -> None:
    args = ["explore", "tiny-pmem", "-k", "4.20", "-r", "memory_failure", "--pfn", "0x48000",
            "--strategy", "pct", "--budget", "60", "--seed", "7",
            "--out", str(tmp_path)]  # fmt: skip
    a, b = invoke(*args), invoke(*args)
    assert a.exit_code == 0 and a.stdout == b.stdout
    assert "seed 7" in a.stdout
    c = invoke(*args[:-4], "--seed", "8", "--out", str(tmp_path))
    assert c.stdout.replace("seed 8", "seed 7") != a.stdout  # other schedules
    assert "schedules in" in a.stderr and "schedules in" not in a.stdout


def test_jobs_give_the_same_findings_as_one_process(tmp_path: Path) -> None:
    args = ["tiny-pmem", "-k", "4.20", "-r", "memory_failure", "--preemptions", "1"]
    assert explore(tmp_path, *args, "--jobs", "2") == explore(tmp_path, *args, "--jobs", "1")
    rnd = [*args, "--pfn", "0x48000", "--strategy", "random", "--budget", "150"]
    assert explore(tmp_path, *rnd, "--jobs", "2") == explore(tmp_path, *rnd, "--jobs", "1")


def test_explore_runs_one_process_per_cpu_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import memmapsim.races

    seen: list[int] = []
    real = memmapsim.races.explore

    def spy(req: Any, jobs: int = 1, *rest: Any) -> Any:
        seen.append(jobs)
        return real(req, 1, *rest)

    monkeypatch.setattr(memmapsim.races, "explore", spy)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    args = ["tiny-pmem", "-k", "4.20", "-r", "memory_failure", "--preemptions", "0"]
    explore(tmp_path, *args)
    explore(tmp_path, *args, "--jobs", "1")
    assert seen == [3, 1]


def test_a_dask_cluster_gives_the_same_findings(tmp_path: Path) -> None:
    if os.environ.get("CI"):
        import dask.distributed  # noqa: F401  (CI installs the dask extra: the test must run)
    distributed = pytest.importorskip("dask.distributed")
    args = ["tiny-pmem", "-k", "4.20", "-r", "memory_failure", "--preemptions", "1",
            "--pfn", "0x40000", "--pfn", "0x48000"]  # fmt: skip
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        on_dask = explore(tmp_path, *args, "--scheduler", cluster.scheduler_address)
        ran = cluster.scheduler.task_prefixes
        assert "run_task" in ran  # the tasks ran on the cluster
    assert on_dask == explore(tmp_path, *args)


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["-r", "nope"], "--reader: unknown reader 'nope'"),
        (["-r", "kpageflags", "-r", "kpageflags"], "--reader: a reader is named twice"),
        (["--pfn", "12x"], "--pfn: not a number"),
        (["--pfn", str(1 << 60)], "--pfn: "),
        (["--strategy", "bfs"], "--strategy: unknown strategy 'bfs'"),
        (["--preemptions", "-1"], "--preemptions: must be 0 or more"),
        (["--budget", "0"], "--budget: must be at least 1"),
        (["--jobs", "0"], "--jobs: must be at least 1"),
        (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler: cannot reach"),
        (["--seconds", "0"], "--seconds: must be more than 0"),
    ],
)
def test_bad_options_are_one_line(tmp_path: Path, args: list[str], where: str) -> None:
    line = one_line(invoke("explore", "tiny-pmem", "--out", str(tmp_path), *args))
    assert line.startswith(PREFIX + where), line


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (None, "no such file"),
        ("{", "not JSON"),
        ('{"memmapsim": "run"}', "not a memmapsim schedule file"),
        ('{"memmapsim": "schedule", "format": 9}', "format: format 9"),
    ],
)
def test_bad_schedule_files_are_one_line(tmp_path: Path, content: str | None, where: str) -> None:
    path = tmp_path / "s.json"
    if content is not None:
        path.write_text(content)
    line = one_line(invoke("replay", str(path)))
    assert where in line


def test_a_schedule_that_cannot_run_is_one_line(tmp_path: Path) -> None:
    data = explore(tmp_path, "tiny-pmem", "-k", "4.20", "-r", "kpageflags", "--pfn", "0x48000")
    doc = json.loads(Path(data["findings"][0]["schedule_file"]).read_text())
    doc["schedule"] = [["no-such-thread", 1]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert "schedule: thread no-such-thread cannot run" in one_line(invoke("replay", str(bad)))


def test_readers_lists_each_gate_by_release() -> None:
    data = json.loads(invoke("readers", "--json").stdout)
    by = {d["reader"]: d for d in data}
    gates = [(g["first"], g["last"], g["gate"]) for g in by["kpageflags"]["gates"]]
    assert gates[0][:2] == ("4.18", "5.3") and "pfn_valid" in gates[0][2]
    assert gates[1][0] == "5.4" and "pfn_to_online_page" in gates[1][2]
    assert by["memunmap_pages"]["thread"] is False
    text = invoke("readers").stdout
    assert "kpageflags: fs/proc/page.c kpageflags_read" in text


def test_a_device_first_added_in_a_later_step_has_its_probe_cpu() -> None:
    """Its probe thread is ``pmem1@add#2``: the device's CPU is that thread's."""
    r = invoke("run", "tiny-pmem-shared", "--json")
    assert r.exit_code == 0, r.output
    devices = json.loads(r.stdout)["devices"]
    assert [d["name"] for d in devices] == ["pmem0", "pmem1"]
    assert all(isinstance(d["cpu"], int) for d in devices)


def test_a_time_budget_stops_before_the_space_is_exhausted(tmp_path: Path) -> None:
    data = explore(tmp_path, "tiny-pmem", "-k", "4.20", "-r", "kpageflags", "--seconds", "0.001")
    assert data["complete"] is False
    assert data["schedules_explored"] >= data["work_items"]  # each item ran one schedule


@pytest.mark.parametrize(("release", "states"), [("4.18", {"stale", "half initialized"}),
                                                 ("6.6", set())])  # fmt: skip
def test_a_hot_added_system_ram_page_read_before_online(
    tmp_path: Path, release: str, states: set[str]
) -> None:
    """System RAM steps are writers: kpageflags aimed at the first hot-added pfn of
    hotplug-256g reads its struct page before memmap_init_zone at online on 4.18 (a
    pfn_valid gate); 6.6's pfn_to_online_page gate keeps it out. Reading it while online
    frees it to the buddy allocator is no finding: the page was initialised by then (only
    an init pass leaves a page half initialized)."""
    data = explore(tmp_path, "hotplug-256g", "-k", release, "-r", "kpageflags", "--pfn",
                   "0x200000", "--preemptions", "1")  # fmt: skip
    assert data["complete"]
    assert {f["state_seen"] for f in data["findings"]} == states
    assert all(f["preemptions"] == 1 for f in data["findings"])
    assert {f["writer_step"] for f in data["findings"]} <= {"add: memmap_init_zone"}


def test_system_ram_has_default_pfn_classes_and_hwpoison_inject_reads_them(
    tmp_path: Path,
) -> None:
    """256 MiB of System RAM hot-added with memmap_on_memory on 6.12: by default each reader
    looks at a page hosting the memmap and at a data page. hwpoison_inject gates on
    pfn_valid alone, then page_folio (shilei-massclouds/linux-6.12@mm/hwpoison-inject.c:24-28
    (6.12.0); rikudousennin22/linux-7.1.3@mm/hwpoison-inject.c:112-116 (7.1.3)), so it reads
    both struct pages before they are initialised; kpageflags's pfn_to_online_page keeps
    out."""
    (tmp_path / "vm.toml").write_text(vm_ram("8G", "256M", "device", "online_movable"))
    data = explore(tmp_path, str(tmp_path / "vm.toml"), "-k", "6.12", "-r", "kpageflags",
                   "-r", "hwpoison_inject", "--preemptions", "1")  # fmt: skip
    assert data["complete"] and data["work_items"] == 4
    seen = {(f["reader"], f["pfn_class"], f["writer_step"], f["state_seen"])
            for f in data["findings"]}  # fmt: skip
    assert seen == {
        ("hwpoison_inject", "vmemmap", "add: mhp_init_memmap_on_memory", "stale"),
        ("hwpoison_inject", "vmemmap", "add: mhp_init_memmap_on_memory", "half initialized"),
        ("hwpoison_inject", "ram", "add: memmap_init_zone", "stale"),
        ("hwpoison_inject", "ram", "add: memmap_init_zone", "half initialized"),
    }
