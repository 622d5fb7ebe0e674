"""``memmapsim sweep``: the grid a SPEC stands for, the machines it derives, and results
that survive a kill — the same rows (the same bytes) whether the sweep ran in this
process, on a local pool, on a Dask cluster, or was killed and started again."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from memmapsim.cli import main
from memmapsim.config.scenario import load_scenario
from memmapsim.engine.costs import load_profile
from memmapsim.report.progress import Progress
from memmapsim.report.sweepfile import read_sweep
from memmapsim.simulate import simulate
from memmapsim.sweep.run import run_point, task_of
from memmapsim.sweep.shape import MachineAxes, shape
from memmapsim.sweep.spec import load_spec
from memmapsim.sweep.store import Store
from memmapsim.units import GiB, MiB
from tests.clirunner import CliRunner, Result
from tests.test_cli import assert_one_line_error

runner = CliRunner()

KERNELS = ["4.18", "4.20", "5.10", "6.6", "7.1"]
SIZES = ["64M", "128M", "200M", "256M", "512M", "1G", "2G", "4G", "8G", "16G"]
GRID = f"""
name = "grid"
base = "tiny-pmem"
[axes]
kernel = {KERNELS!r}
nodes = [1, 2, 3, 4]
device_memory_per_node = {SIZES!r}
""".replace("'", '"')
POINTS = len(KERNELS) * 4 * len(SIZES)


def invoke(*args: str) -> Result:
    return runner.invoke(main, list(args))


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def ran(result_stdout: str) -> int:
    m = re.search(r"([\d,]+) points, ([\d,]+) run", result_stdout)
    assert m, result_stdout
    return int(m.group(2).replace(",", ""))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """The grid run in this process, one point after another."""
    tmp = tmp_path_factory.mktemp("reference")
    spec = write(tmp / "grid.toml", GRID)
    out = tmp / "grid.parquet"
    result = invoke("sweep", spec, "-o", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert ran(result.stdout) == POINTS
    return Path(spec), out.read_bytes()


# --- the grid --------------------------------------------------------------------------------


def test_the_grid_is_every_combination_last_axis_fastest(reference: tuple[Path, bytes]) -> None:
    spec = load_spec(str(reference[0]))
    assert len(spec.points) == POINTS >= 200
    assert [p.params["device_memory_per_node"] for p in spec.points[:2]] == [64 * MiB, 128 * MiB]
    assert spec.points[len(SIZES)].params["nodes"] == 2
    assert spec.points[-1].params == {
        "kernel": "7.1",
        "nodes": 4,
        "device_memory_per_node": 16 * GiB,
    }
    assert len({p.key for p in spec.points}) == POINTS


def test_a_key_changes_with_the_configuration_only(tmp_path: Path) -> None:
    """Loaded twice, the same keys; a base with one CPU more, other keys."""
    text = 'base = "b.toml"\n[axes]\nkernel = ["4.20", "5.10"]\n'
    base = (Path(__file__).parents[2] / "src/memmapsim/config/scenarios/tiny-pmem.toml").read_text()
    write(tmp_path / "b.toml", base)
    spec = write(tmp_path / "s.toml", text)
    keys = [p.key for p in load_spec(spec).points]
    assert keys == [p.key for p in load_spec(spec).points]
    write(tmp_path / "b.toml", base.replace("cpus = 4", "cpus = 5"))
    assert not set(keys) & {p.key for p in load_spec(spec).points}


def test_nodes_are_copies_of_the_first_node_with_its_devices() -> None:
    base = load_scenario("tiny-pmem")
    data = shape(base, MachineAxes(nodes=3), "here")
    assert [n["id"] for n in data["machine"]["nodes"]] == [0, 1, 2]
    assert [(d["name"], d["node"]) for d in data["devices"]] == [
        ("pmem0", 0),
        ("pmem0-node1", 1),
        ("pmem0-node2", 2),
    ]
    # each copy is the template moved by its footprint (3 GiB), rounded up to a GiB
    starts = [d["start"] for d in data["devices"]]
    assert starts == [1 * GiB, 4 * GiB, 7 * GiB]
    assert data["machine"]["nodes"][2]["dram"][1]["start"] == 2 * GiB + 6 * GiB


def test_a_bigger_device_moves_what_lies_above_it_by_whole_gib() -> None:
    """tiny-pmem's namespace (1 GiB + 200 MiB) grown to 2 GiB: the DRAM at 2 GiB above it
    moves up 2 GiB (1,848 MiB rounded up), so its gap and its alignment stay."""
    data = shape(load_scenario("tiny-pmem"), MachineAxes(device_memory_per_node=2 * GiB), "x")
    assert data["devices"][0]["size"] == 2 * GiB
    assert data["machine"]["nodes"][0]["dram"] == [
        {"start": 0, "size": GiB},
        {"start": 4 * GiB, "size": GiB},
    ]


def test_dram_per_node_scales_every_range_in_proportion() -> None:
    data = shape(load_scenario("tiny-pmem"), MachineAxes(dram_per_node=4 * GiB), "x")
    dram = data["machine"]["nodes"][0]["dram"]
    assert [r["size"] for r in dram] == [2 * GiB, 2 * GiB]
    # the first range grew by a GiB: the namespace above it moved a GiB up
    assert data["devices"][0]["start"] == 2 * GiB


def test_profile_entries_are_overridden_per_point(tmp_path: Path) -> None:
    text = 'base = "tiny-pmem"\n[axes]\n"costs.init_single_page" = [10.0, 40]\n'
    spec = load_spec(write(tmp_path / "s.toml", text))
    assert [p.profile.costs["init_single_page"].ns for p in spec.points] == [10.0, 40.0]
    assert spec.points[0].profile.costs["poison"] == load_profile().costs["poison"]
    fast, slow = (simulate(p.scenario, p.kernel, profile=p.profile).timing for p in spec.points)
    assert fast is not None and slow is not None and fast.total_s < slow.total_s


# --- the file --------------------------------------------------------------------------------


def test_rows_have_the_points_parameters_and_flat_results(reference: tuple[Path, bytes]) -> None:
    rows = pq.read_table(pa.BufferReader(reference[1])).to_pylist()
    assert [r["point"] for r in rows] == list(range(POINTS))
    last = rows[-1]
    assert (last["kernel"], last["nodes"], last["device_memory_per_node"]) == ("7.1", 4, 16 * GiB)
    assert last["machine_device_bytes"] == 4 * 16 * GiB
    assert last["error"] is None and last["findings"] > 0
    # per node and per device, flat; absent for points without that node or device
    assert last["node3_init_s"] > 0 and rows[0]["node3_init_s"] is None
    assert last["dev_pmem0-node3_pages_initialised"] == 16 * GiB // 4096 - 2
    assert last["total_s"] >= last["node3_finish_s"] > 0
    # 16 GiB takes longer than 64 MiB on the same kernel and nodes
    assert rows[-1]["total_s"] > rows[-len(SIZES)]["total_s"]


def test_a_finished_sweep_runs_nothing_again(tmp_path: Path, reference: tuple[Path, bytes]) -> None:
    out = tmp_path / "grid.parquet"
    out.write_bytes(reference[1])
    result = invoke("sweep", str(reference[0]), "-o", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert ran(result.stdout) == 0
    assert out.read_bytes() == reference[1]
    assert not Path(str(out) + ".journal").exists()


def test_points_of_one_configuration_run_once(tmp_path: Path) -> None:
    """A profile named and the same profile as a file: one configuration, one run."""
    write(
        tmp_path / "p.toml",
        (
            Path(__file__).parents[2] / "src/memmapsim/engine/profiles/xeon-2018-pmem.toml"
        ).read_text(),
    )
    text = 'base = "tiny-pmem"\n[axes]\nprofile = ["xeon-2018-pmem", "p.toml"]\n'
    spec = write(tmp_path / "s.toml", text)
    result = invoke("sweep", spec, "-o", str(tmp_path / "o.parquet"), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert ran(result.stdout) == 1
    rows = read_sweep(str(tmp_path / "o.parquet")).rows()
    assert len(rows) == 2 and rows[0]["total_s"] == rows[1]["total_s"]


def test_a_point_the_kernel_refuses_is_a_row_with_its_reason(tmp_path: Path) -> None:
    """device-coherent memory came in 6.1: on 5.10 the point is refused, not the sweep."""
    base = (
        'name = "gpu"\n[[machine.nodes]]\nid = 0\ncpus = 2\n'
        'dram = [{ start = "0", size = "1G" }]\n'
        '[[devices]]\nname = "gpu0"\nkind = "device-coherent"\nnode = 0\n'
        'start = "16G"\nsize = "256M"\n'
    )
    write(tmp_path / "gpu.toml", base)
    spec = write(tmp_path / "s.toml", 'base = "gpu.toml"\n[axes]\nkernel = ["5.10", "6.6"]\n')
    result = invoke("sweep", spec, "-o", str(tmp_path / "o.parquet"), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "1 refused by the kernel" in result.stdout
    old, new = read_sweep(str(tmp_path / "o.parquet")).rows()
    assert "has no device-coherent memory: it came in 6.1" in old["error"]
    assert old["total_s"] is None
    assert new["error"] is None and new["total_s"] > 0


# --- killed, resumed; other executors --------------------------------------------------------


def test_killed_midway_then_resumed_gives_the_same_file(
    tmp_path: Path, reference: tuple[Path, bytes]
) -> None:
    """SIGKILL to the sweep's process while a local pool runs it: the workers leave, the
    journal and the last checkpoint keep every result it had, and the resumed sweep runs
    exactly the points that were missing and writes the same bytes."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "grid.parquet"
    journal = Path(str(out) + ".journal")
    cmd = [sys.executable, "-m", "memmapsim.cli", "sweep", str(reference[0]), "-o", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--jobs", "2", "--checkpoint", "0.2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = journal.read_bytes().count(b"\n") if journal.exists() else 0
        if lines >= POINTS // 3:
            break
        time.sleep(0.01)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert workers
    _gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive, "pool workers outlived the sweep"
    done = journal.read_bytes().count(b"\n")
    assert POINTS // 3 <= done < POINTS, "the kill came too late to test a resume"
    checkpoint = read_sweep(str(out)).rows()  # a complete file, fewer rows
    assert 0 < len(checkpoint) <= done
    result = invoke("sweep", str(reference[0]), "-o", str(out), "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert ran(result.stdout) == POINTS - done
    assert out.read_bytes() == reference[1]
    assert not journal.exists()


def test_a_line_cut_by_a_kill_is_dropped_and_its_point_runs_again(tmp_path: Path) -> None:
    """A journal of two results and a third cut mid-line: the two are kept, the third
    point runs again, and the file is the one an uninterrupted sweep writes."""
    spec = write(tmp_path / "s.toml", GRID.replace("[1, 2, 3, 4]", "[1]"))
    out = tmp_path / "s.parquet"
    assert invoke("sweep", spec, "-o", str(out), "--jobs", "1").exit_code == 0
    whole = out.read_bytes()
    out.unlink()
    points = load_spec(spec).points
    lines = [
        json.dumps(dict(zip(("key", "row"), run_point(task_of(p)), strict=True)))
        for p in points[:3]
    ]
    journal = Path(str(out) + ".journal")
    journal.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:40])
    result = invoke("sweep", spec, "-o", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert ran(result.stdout) == len(points) - 2
    assert out.read_bytes() == whole


def test_the_cut_line_is_cut_off_before_anything_is_appended(tmp_path: Path) -> None:
    """Else the next result would be glued to it, and lost at the next start."""
    spec = load_spec(write(tmp_path / "s.toml", 'base = "tiny-pmem"\n[axes]\nnodes = [1, 2, 3]\n'))
    out = tmp_path / "s.parquet"
    first, second, third = (run_point(task_of(p)) for p in spec.points)
    line = json.dumps({"key": first[0], "row": first[1]})
    Path(str(out) + ".journal").write_text(line + "\n" + line[:30])
    store = Store(spec, out)
    store.open()
    store.add(*second)
    store.close()
    again = Store(spec, out)
    again.open()
    assert (again.from_journal, again.damaged) == (2, 0)
    assert [p.key for p in again.pending()] == [third[0]]
    again.close()


def test_a_result_is_on_disk_before_add_returns(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path / "s.toml", 'base = "tiny-pmem"\n'))
    store = Store(spec, tmp_path / "s.parquet")
    store.open()
    key, row = run_point(task_of(spec.points[0]))
    store.add(key, row)
    on_disk = Path(str(tmp_path / "s.parquet") + ".journal").read_text()
    store.close()
    assert json.loads(on_disk) == {"key": key, "row": row}


def test_a_dask_cluster_gives_the_same_file(tmp_path: Path, reference: tuple[Path, bytes]) -> None:
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "grid.parquet"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = invoke(
            "sweep", str(reference[0]), "-o", str(out), "--scheduler", cluster.scheduler_address
        )
    assert result.exit_code == 0, result.output
    assert "Dask scheduler" in result.stdout and ran(result.stdout) == POINTS
    assert out.read_bytes() == reference[1]


def test_the_scheduler_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from memmapsim.sweep.command import executor_for

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    assert executor_for(None, None).scheduler == "tcp://127.0.0.1:1"
    assert executor_for(3, None).scheduler is None  # --jobs wins over the environment
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    assert executor_for(None, None).jobs == os.cpu_count()


# --- bad input: one line, exit 2 -------------------------------------------------------------

BAD_SPECS = [
    ("toml", "base = \n", None, "not valid TOML"),
    ("no base", "[axes]\nnodes = [1]\n", "base", "required key is missing"),
    ("unknown key", 'base = "tiny-pmem"\nbases = 1\n', "bases", "unknown key"),
    ("unknown axis", 'base = "tiny-pmem"\n[axes]\nsockets = [1]\n', "axes.sockets", "unknown axis"),
    ("not an array", 'base = "tiny-pmem"\n[axes]\nnodes = 2\n', "axes.nodes", "expected an array"),
    ("empty axis", 'base = "tiny-pmem"\n[axes]\nnodes = []\n', "axes.nodes", "at least one value"),
    (
        "bad size",
        'base = "tiny-pmem"\n[axes]\ndram_per_node = ["1Q"]\n',
        "axes.dram_per_node[0]",
        "cannot parse size",
    ),
    (
        "kernel",
        'base = "tiny-pmem"\n[axes]\nkernel = ["4.20", "9.9"]\n',
        "axes.kernel[1]",
        "unknown kernel",
    ),
    ("twice", 'base = "tiny-pmem"\n[axes]\nnodes = [1, 1]\n', "axes.nodes[1]", "given twice"),
    (
        "cost entry",
        'base = "tiny-pmem"\n[axes.costs]\nfoo = [1.0]\n',
        "axes.costs.foo",
        "unknown costs entry",
    ),
    (
        "cost bound",
        'base = "tiny-pmem"\n[axes]\n"costs.poison" = [1e9]\n',
        "axes.costs.poison",
        "at most",
    ),
    (
        "knob",
        'base = "tiny-pmem"\n[axes]\n"knobs.hz" = [999]\n',
        "axes.knobs.hz[0]",
        "expected 100, 250",
    ),
    (
        "too small",
        'base = "tiny-pmem"\n[axes]\ndevice_memory_per_node = ["1M"]\n',
        None,
        "smaller than its alignment",
    ),
    (
        "machine",
        'base = "tiny-pmem"\n[axes]\n"knobs.registration_node" = [3]\n',
        "point (knobs.registration_node=3)",
        "node 3 is not in machine.nodes",
    ),
    ("no base file", 'base = "nowhere.toml"\n', "base", "no such file or built-in"),
    (
        "no profile",
        'base = "tiny-pmem"\n[axes]\nprofile = ["x.toml"]\n',
        "axes.profile[0]",
        "no such file",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "words"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS]
)
def test_a_bad_spec_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, field: str | None, words: str
) -> None:
    spec = write(tmp_path / "s.toml", text)
    result = invoke("sweep", spec, "-o", str(tmp_path / "o.parquet"), "--jobs", "1")
    line = assert_one_line_error(result, f"{spec}: {field}" if field else spec)
    assert words in line
    assert not list(tmp_path.glob("o.parquet*")), "nothing is written for a bad spec"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"PAR1 and then nothing", "not a readable Parquet file"),
        (None, "not a memmapsim sweep file (no memmapsim.sweep metadata)"),
    ],
    ids=["truncated", "not a sweep"],
)
def test_an_output_that_is_not_a_sweep_file_is_left_alone(
    tmp_path: Path, reference: tuple[Path, bytes], content: bytes | None, words: str
) -> None:
    out = tmp_path / "o.parquet"
    if content is None:
        import pyarrow as pa

        pq.write_table(pa.table({"x": [1, 2]}), out)
        content = out.read_bytes()
    out.write_bytes(content)
    result = invoke("sweep", str(reference[0]), "-o", str(out), "--jobs", "1")
    assert words in assert_one_line_error(result, str(out))
    assert out.read_bytes() == content
    assert not Path(str(out) + ".journal").exists()


def test_a_truncated_sweep_file_is_refused(tmp_path: Path, reference: tuple[Path, bytes]) -> None:
    out = tmp_path / "o.parquet"
    out.write_bytes(reference[1][: len(reference[1]) // 2])
    result = invoke("sweep", str(reference[0]), "-o", str(out), "--jobs", "1")
    assert "not a readable Parquet file" in assert_one_line_error(result, str(out))


def test_two_sweeps_into_one_file_are_refused(
    tmp_path: Path, reference: tuple[Path, bytes]
) -> None:
    out = tmp_path / "o.parquet"
    with open(str(out) + ".journal", "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        result = invoke("sweep", str(reference[0]), "-o", str(out), "--jobs", "1")
    assert "another memmapsim sweep is writing it" in assert_one_line_error(result, str(out))


@pytest.mark.parametrize(
    ("args", "where", "words"),
    [
        (["-o", "out.csv"], "--output", "must end in .parquet"),
        (["-o", "nowhere/o.parquet"], "--output", "no such directory"),
        (["--jobs", "0"], "sweep", "--jobs"),
        (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs", "give --jobs"),
    ],
)
def test_bad_options_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: tuple[Path, bytes],
    args: list[str],
    where: str,
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("sweep", str(reference[0]), *args)
    assert words in assert_one_line_error(result, where)


def test_an_unreachable_scheduler_is_one_line(
    reference: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr("memmapsim.sweep.run.CONNECT_TIMEOUT_S", 1)
    out = str(tmp_path / "o.parquet")
    result = invoke("sweep", str(reference[0]), "-o", out, "--scheduler", "tcp://127.0.0.1:9")
    assert "cannot reach the Dask scheduler" in assert_one_line_error(result, "--scheduler")


def test_a_sweep_that_could_not_start_leaves_no_journal(
    reference: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr("memmapsim.sweep.run.CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "o.parquet"
    invoke("sweep", str(reference[0]), "-o", str(out), "--scheduler", "tcp://127.0.0.1:9")
    assert list(tmp_path.iterdir()) == []


def test_the_sweep_bar_says_how_long_is_left() -> None:
    """The time left appears once a step is done (rich estimates it from the rate)."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with Progress("grid: sweeping", total=4, console=console, delay_s=0, eta=True) as bar:
        bar.advance()
        time.sleep(0.1)
        bar.advance()
    assert "ETA" in buf.getvalue()
    plain = io.StringIO()
    console = Console(file=plain, force_terminal=True, width=120)
    with Progress("x", total=4, console=console, delay_s=0) as bar:
        bar.advance()
    assert "ETA" not in plain.getvalue()


def test_the_sweep_command_asks_for_the_time_left(
    reference: tuple[Path, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[dict[str, object]] = []

    class Spy(Progress):
        def __init__(self, *args: object, **kw: object) -> None:
            made.append(kw)
            super().__init__(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("memmapsim.sweep.command.Progress", Spy)
    assert (
        invoke("sweep", str(reference[0]), "-o", str(tmp_path / "o.parquet"), "-j", "1").exit_code
        == 0
    )
    assert made and made[0]["eta"] is True and made[0]["total"] == POINTS
