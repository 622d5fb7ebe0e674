"""memmapsim benchmarks: `make bench` runs this and records the results in BENCHMARKS.md.

What is measured (median of several repetitions, wall clock):

1. interpreter start-up (``python -c pass``) and ``import memmapsim.cli`` on top of it;
2. the command line end to end: ``memmapsim run duyck-2018 --kernel 4.20 --json`` (≈3.2 G
   pfns, runs backend), with the process's peak RSS;
3. inside one process: duyck-2018 simulated on 4.18 and on 4.20 — time, final state and
   invariants — with the timing engine;
4. the same machine at 12 GB, 12 TB and 1 PB of persistent memory: the simulation cost
   should not grow with memory size;
5. every built-in terabyte-scale scenario (duyck-2018, devdax-128g-{4k,2m,1g}) on every
   release, in one process (the slowest release each), and end to end on the command
   line for a few releases, against the target of 0.5 s end to end;
6. every built-in boot and System RAM hotplug scenario on 6.6 and on every release that
   runs it (the slowest), in one process with the timing engine and the runs backend, and
   end to end on 6.6: boot-12t (8 nodes x 1.5 TB, 448 padata helpers) should take well
   under a second.
7. the race explorer: schedules per second, exhaustive (dfs) and PCT, on tiny-pmem with
   memory_failure at every pfn class, and the time to the first finding of each race the
   issue names (each explored alone: one reader at one pfn, in one process);
8. sweep points per second: a 200-point grid over tiny-pmem (5 kernels x 1-4 nodes x 10
   sizes) from the SPEC to the Parquet file, in one process and on a local pool of one
   process per CPU (its start included);
9. reading a large kernel log: ``calibrate``'s streaming read and extraction of a 256 MiB
   log (a boot log's lines around unrelated ones), in MB per second.

Bytecode caching is turned on for the measured processes (PYTHONDONTWRITEBYTECODE is
cleared): a user's installation has compiled modules, and without them every run
recompiles memmapsim's sources.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from msgspec.structs import replace

from memmapsim.config.scenario import Scenario, load_scenario
from memmapsim.engine import explore as ex
from memmapsim.errors import InputError
from memmapsim.kernel.versions import RELEASES
from memmapsim.races import Item, Request, context, setup_for, work_items
from memmapsim.simulate import simulate
from memmapsim.units import GiB, PiB, TiB, format_size

ROOT = Path(__file__).resolve().parent.parent
REPS = 5


def median_time(fn: object, reps: int = REPS) -> float:
    assert callable(fn)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
LARGE = ("duyck-2018", "devdax-128g-4k", "devdax-128g-2m", "devdax-128g-1g")
END_TO_END = ("4.20", "5.16", "6.6", "7.1")
TARGET_S = 0.5
BOOT = (
    "boot-768g",
    "boot-12t",
    "xeon8180-1.5t",
    "e5-2699v4-64g",
    "hotplug-256g",
    "hotplug-256g-mom",
)
BOOT_KERNEL = "6.6"
BOOT_TARGET_S = 1.0


def py(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV
    )


def cli_time(*args: str) -> float:
    cmd = [sys.executable, "-m", "memmapsim.cli", *args]
    subprocess.run(cmd, capture_output=True, check=True, env=ENV)  # compile once
    return median_time(lambda: subprocess.run(cmd, capture_output=True, check=True, env=ENV), 3)


def scaled(pmem_per_node: int) -> Scenario:
    """duyck-2018 with ``pmem_per_node`` bytes of pmem per node, placed after all DRAM."""
    base = load_scenario("duyck-2018")
    dram_end = max(r.end for n in base.machine.nodes for r in n.dram)
    devices = []
    start = dram_end
    for d in base.devices:
        devices.append(replace(d, start=start, size=pmem_per_node))
        start += pmem_per_node
    five = start > 64 * TiB
    machine = replace(base.machine, five_level_paging=five)
    return replace(
        base,
        name=f"duyck-2018 x {format_size(4 * pmem_per_node)}",
        devices=devices,
        machine=machine,
    )


def slowest(sc: Scenario) -> tuple[tuple[float, str], int]:
    """The slowest release of those that run ``sc`` in one process (a release without one
    of its device kinds refuses it: 4.14 has none), and how many ran it."""
    times = []
    for k in RELEASES:
        try:
            simulate(sc, k)
        except InputError:
            continue
        times.append((median_time(lambda k=k: simulate(sc, k), 3), k))
    return max(times, key=lambda x: x[0]), len(times)


RATE_SCENARIO = ("tiny-pmem", "4.20", "memory_failure")

GATE_CHANGE = """from memmapsim.kernel.readers.mmzone import pfn_valid

def old_gate(k, pfn):
    ok = yield from pfn_valid(k, pfn)
    return ok

PATHS = {"proc_page_pfn_to_page": old_gate}
"""


def rates() -> list[tuple[str, int, float]]:
    """Schedules per second of exploration (shrinking not included) over every work item of
    RATE_SCENARIO: dfs within 2 preemptions, and PCT of depth 3 (200 schedules an item)."""
    sc, k, reader = RATE_SCENARIO
    ctx = context(sc, k)
    items = work_items(Request(sc, k, (reader,)), ctx)
    out = []
    for name in ("dfs", "pct"):
        n, t0 = 0, time.perf_counter()
        for it in items:
            setup = setup_for(ctx, it)
            if name == "dfs":
                n += ex.explore_dfs(setup, 2, 100_000).schedules
            else:
                length = ex.schedule_length(setup)
                n += ex.explore_pct(setup, 3, 0, 200, 0, it.index, length).schedules
        out.append((name, n, time.perf_counter() - t0))
    return out


def first_finding(
    scenario: str, kernel: str, reader: str, cls: str | None, bound: int, want: str
) -> tuple[float, int, bool]:
    """Seconds to the first schedule with a finding whose state is ``want`` (dfs within
    ``bound``), the schedules explored until then, and whether it was found."""
    ctx = context(scenario, kernel)
    pfn = None
    if cls is not None:
        pfn = next(c.ranges[0][0] for _d, c in ctx.classes if c.key == cls)
    setup = setup_for(ctx, Item(0, reader, pfn, None, cls))

    def found(o: ex.Outcome) -> bool:
        return any(g.hit.state == want for g in o.groups.values())

    t0 = time.perf_counter()
    o = ex.explore_dfs(setup, bound, 100_000, stop=found)
    return time.perf_counter() - t0, o.schedules, found(o)


def explorer_rows(tmp: Path) -> list[str]:
    change = tmp / "old_gate.py"
    change.write_text(GATE_CHANGE)
    cases = [
        ("kpageflags reads the never-initialized altmap reserve", "tiny-pmem", "4.18",
         "kpageflags", "altmap_reserve", 2, "never written"),
        ("the same", "tiny-pmem", "5.3", "kpageflags", "altmap_reserve", 2, "never written"),
        ("the same with the 5.4 gate taken out by a change file", "tiny-pmem",
         f"5.4+{change}", "kpageflags", "altmap_reserve", 2, "never written"),
        ("memunmap_pages reads an altmap reserve page", "tiny-pmem-remove", "5.0",
         "memunmap_pages", None, 2, "never written"),
        ("memory_failure through get_dev_pagemap before memmap_init_zone_device", "tiny-pmem",
         "4.20", "memory_failure", "data", 1, "stale"),
        ("the same", "tiny-pmem", "7.1", "memory_failure", "data", 1, "stale"),
        ("the pgmap reference underflow at release", "tiny-pmem-remove",
         "4.18+nonatomic-reserved+defer-zone-device-v5", "memunmap_pages", None, 2,
         "reference underflow"),
    ]  # fmt: skip
    rows = []
    for what, sc, k, reader, cls, bound, want in cases:
        runs = [first_finding(sc, k, reader, cls, bound, want) for _ in range(3)]
        t = statistics.median(r[0] for r in runs)
        n, found = runs[0][1], runs[0][2]
        shown = k if "/" not in k else "5.4+./old_gate.py"
        where = f"{reader}" + (f" at the first {cls} pfn" if cls else "")
        result = f"{t * 1000:.0f} ms, {n} schedules" if found else "not found"
        rows.append(f"| {what} | {sc} on {shown}: {where}, dfs ≤{bound} | {result} |")
    return rows


SWEEP_SPEC = """
base = "tiny-pmem"
[axes]
kernel = ["4.18", "4.20", "5.10", "6.6", "7.1"]
nodes = [1, 2, 3, 4]
device_memory_per_node = ["64M", "128M", "200M", "256M", "512M", "1G", "2G", "4G", "8G", "16G"]
"""


def sweep_rates() -> list[tuple[int, int, float]]:
    """(jobs, points, seconds) for the sweep grid, in one process and on the local pool."""
    from memmapsim.sweep.run import Executor, run_sweep
    from memmapsim.sweep.spec import SweepSpec, load_spec

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "grid.toml"
        spec_path.write_text(SWEEP_SPEC)
        for jobs in (1, os.cpu_count() or 1):
            spec = load_spec(str(spec_path))

            def once(jobs: int = jobs, spec: SweepSpec = spec) -> None:
                target = Path(tmp) / f"grid-{jobs}-{time.monotonic_ns()}.parquet"
                run_sweep(spec, target, Executor(jobs=jobs))

            out.append((jobs, len(spec.points), median_time(once, 3)))
    return out


LOG_MIB = 256


def log_rate(tmp: Path) -> tuple[int, float]:
    """(bytes, seconds) to read and extract a LOG_MIB log: the E5-2699 v4 boot log of
    examples/logs with unrelated lines between its machine and its measurement lines."""
    from memmapsim.io.dmesg import read_log
    from memmapsim.io.extract import WANTED, extract

    lines = (ROOT / "examples/logs/e5-2699v4-5.5-rc7.dmesg").read_text().splitlines()
    noise = "[   12.345678] usb 1-1: new high-speed USB device number 2 using xhci_hcd\n" * 10_000
    path = tmp / "big.log"
    with path.open("w") as f:
        f.write("\n".join(lines[:13]) + "\n")
        while f.tell() < LOG_MIB << 20:
            f.write(noise)
        f.write("\n".join(lines[13:]) + "\n")

    def once() -> None:
        ex = extract(read_log(str(path), keep=WANTED))
        assert [m.ms for m in ex.measurements] == [149, 160]

    return path.stat().st_size, median_time(once, 3)


def machine_info() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", type=Path, help="write the results as markdown to this file")
    args = ap.parse_args()

    py("import memmapsim.cli")  # write the bytecode once
    startup = median_time(lambda: py("pass"))
    imports = median_time(lambda: py("import memmapsim.cli")) - startup

    cli_cmd = [
        sys.executable,
        "-m",
        "memmapsim.cli",
        "run",
        "duyck-2018",
        "--kernel",
        "4.20",
        "--json",
    ]
    subprocess.run(cli_cmd, capture_output=True, check=True, env=ENV)
    cli = median_time(lambda: subprocess.run(cli_cmd, capture_output=True, check=True, env=ENV))
    rss = json.loads(
        py(
            "import resource, runpy, sys, io, contextlib, json\n"
            "sys.argv = ['memmapsim', 'run', 'duyck-2018', '--kernel', '4.20', '--json']\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            "    try:\n"
            "        runpy.run_module('memmapsim.cli', run_name='__main__')\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
        )
        .stdout.strip()
        .splitlines()[-1]
    )

    duyck = load_scenario("duyck-2018")
    simulate(duyck, "4.20")  # warm caches (profile, scenario parsing)

    def two_kernels() -> None:
        for k in ("4.18", "4.20"):
            r = simulate(duyck, k)
            assert r.timing is not None and r.findings is not None

    both = median_time(two_kernels)
    scales = []
    for size in (3 * GiB, 3 * TiB, PiB // 4):
        sc = scaled(size)
        simulate(sc, "4.20")
        t = median_time(lambda sc=sc: simulate(sc, "4.20"))
        r = simulate(sc, "4.20")
        assert r.timing is not None
        scales.append((sc.name, 4 * size, t, r.timing.total_s, len(r.intervals)))

    per_scenario = []
    for name in LARGE:
        sc = load_scenario(name)
        worst, _n = slowest(sc)
        ends = [(k, cli_time("run", name, "--kernel", k, "--json")) for k in END_TO_END]
        per_scenario.append((name, worst, ends))

    boots = []
    for name in BOOT:
        sc = load_scenario(name)
        simulate(sc, BOOT_KERNEL)  # warm caches
        at = median_time(lambda sc=sc: simulate(sc, BOOT_KERNEL), 3)
        worst, n = slowest(sc)
        end = cli_time("run", name, "--kernel", BOOT_KERNEL, "--json")
        boots.append((name, sc.description, at, worst, n, end))
    rate = rates()
    with tempfile.TemporaryDirectory() as tmp:
        first = explorer_rows(Path(tmp))
        log_bytes, log_s = log_rate(Path(tmp))
    sweeps = sweep_rates()

    date = dt.date.today().isoformat()
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (bench/run.py) on {date}: {machine_info()}.",
        f"Wall-clock medians of {REPS} runs.",
        "",
        "| what | time | notes |",
        "|---|---|---|",
        f"| interpreter start-up (`python -c pass`) | {startup * 1000:.0f} ms | |",
        f"| `import memmapsim.cli` on top of it | {imports * 1000:.0f} ms | |",
        f"| `memmapsim run duyck-2018 --kernel 4.20 --json` end to end | {cli * 1000:.0f} ms | "
        f"≈3.2 G pfns, runs backend; peak RSS {rss / 1024:.0f} MiB |",
        f"| duyck-2018 on 4.18 and on 4.20 in one process (time, final state, invariants) | "
        f"{both * 1000:.1f} ms | timing engine, both kernels together |",
        *(
            f"| `memmapsim sweep` of {n} tiny-pmem points (5 kernels x 1-4 nodes x 10 sizes), "
            f"{'one process' if jobs == 1 else f'{jobs} local processes'} | {t:.2f} s | "
            f"{n / t:.0f} points/s, SPEC to Parquet"
            + (", pool start included |" if jobs > 1 else " |")
            for jobs, n, t in sweeps
        ),
        f"| `calibrate`'s read of a {log_bytes >> 20} MiB kernel log (stream, extract) | "
        f"{log_s:.1f} s | {log_bytes / log_s / 1e6:.0f} MB/s, a boot log around unrelated "
        "lines (median of 3) |",
        "",
        "The same machine at other sizes (4.20, in one process):",
        "",
        "| scenario | pmem | simulation | simulated boot time | trace intervals |",
        "|---|---|---|---|---|",
    ]
    for name, size, t, total, n in scales:
        lines.append(f"| {name} | {format_size(size)} | {t * 1000:.1f} ms | {total:,.3f} s | {n} |")
    lines += [
        "",
        f"Every release that runs the scenario (of {len(RELEASES)}: {', '.join(RELEASES)}), in "
        f"one process, and end to end "
        f"(`memmapsim run SCENARIO --kernel K --json`; target {TARGET_S} s):",
        "",
        "| scenario | slowest release in one process | "
        + " | ".join(f"end to end, {k}" for k in END_TO_END)
        + " |",
        "|---|---|" + "---|" * len(END_TO_END),
    ]
    for name, (t, k), ends in per_scenario:
        cells = " | ".join(
            f"{e * 1000:.0f} ms" + (" (over)" if e > TARGET_S else "") for _k, e in ends
        )
        lines.append(f"| {name} | {t * 1000:.1f} ms ({k}) | {cells} |")
    lines += [
        "",
        f"Boot and System RAM hotplug (timing engine, runs backend), in one process on "
        f"{BOOT_KERNEL} and on every release that runs the scenario, and end to end "
        f"(`memmapsim run SCENARIO --kernel {BOOT_KERNEL} --json`; target in one process "
        f"{BOOT_TARGET_S} s):",
        "",
        f"| scenario | machine | {BOOT_KERNEL} in one process | slowest release in one process | "
        f"end to end, {BOOT_KERNEL} |",
        "|---|---|---|---|---|",
    ]
    for name, what, at, (t, k), n, end in boots:
        over = " (over)" if at > BOOT_TARGET_S else ""
        lines.append(
            f"| {name} | {what} | {at * 1000:.0f} ms{over} | {t * 1000:.0f} ms ({k}, of {n}) | "
            f"{end * 1000:.0f} ms |"
        )
    sc, k, reader = RATE_SCENARIO
    lines += [
        "",
        f"The race explorer on {sc} on {k} with {reader} at one pfn of every pfn class "
        "(exploration only, one process; shrinking not included):",
        "",
        "| strategy | schedules | time | schedules per second |",
        "|---|---|---|---|",
    ]
    for name, n, t in rate:
        how = "dfs, at most 2 preemptions, complete" if name == "dfs" else "pct, depth 3"
        lines.append(f"| {how} | {n:,} | {t:.2f} s | {n / t:,.0f} |")
    lines += [
        "",
        "Time to the first finding of each race of issue #9 (median of 3; the reader explored "
        "alone at one pfn):",
        "",
        "| race | explored | first finding |",
        "|---|---|---|",
        *first,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
