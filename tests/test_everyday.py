"""Issue 10, everyday use: listings as JSON, help that reads like a kernel tool's, page and
trace text, per-node tables with several devices per node, the timeline's rows, the
progress bar, unwrapped titles, and a README that stays inside the repository."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from memmapsim.cli import main
from memmapsim.config.scenario import builtin_names, parse_scenario
from memmapsim.engine.costs import PAGE_COSTS, builtin_profiles
from memmapsim.kernel.versions import CHANGES, RELEASES
from memmapsim.report.plot import MAX_ROWS, rows
from memmapsim.report.progress import Progress
from memmapsim.simulate import simulate
from tests.clirunner import CliRunner, Result
from tests.scenario_text import dev
from tests.test_cli import scenario

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str) -> Result:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def many_devices(n: int, cpus: int = 4) -> str:
    """``n`` 256 MiB fsdax devices on node 0, from 4 GiB up."""
    devices = [dev(f"pmem{i}", f"{4 + i}G", "256M") for i in range(n)]
    return scenario(*devices).replace("cpus = 4", f"cpus = {cpus}")


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return str(path)


# --- listings as JSON ---------------------------------------------------------------------------


def test_kernels_json_lists_every_release_and_selectable_change() -> None:
    data = json.loads(invoke("kernels", "--json").stdout)
    releases = {d["name"]: d["changes"] for d in data if d["kind"] == "release"}
    assert releases == {r: list(c) for r, c in RELEASES.items()}
    changes = {d["name"]: d for d in data if d["kind"] == "change"}
    assert set(changes) == {n for n, c in CHANGES.items() if c.selectable}
    dzd = changes["defer-zone-device"]
    assert (dzd["commit"], dzd["needs"]) == ("966cf44f637e", ["nonatomic-reserved"])
    assert dzd["origin"] == CHANGES["defer-zone-device"].origin


def test_scenarios_json() -> None:
    data = json.loads(invoke("scenarios", "--json").stdout)
    assert [d["name"] for d in data] == builtin_names()
    assert all(d["description"] for d in data)
    assert {d["name"]: d["kernel"] for d in data}["tiny-pmem"] == "4.20"


def test_profiles_json_has_every_entry_with_its_provenance() -> None:
    data = json.loads(invoke("profiles", "--json").stdout)
    assert [p["name"] for p in data] == builtin_profiles()
    assert {"xeon-2018-pmem", "modern-x86"} <= set(builtin_profiles())
    (xeon,) = [p for p in data if p["name"] == "xeon-2018-pmem"]
    entries = {e["entry"]: e for e in xeon["entries"]}
    assert set(PAGE_COSTS) <= set(entries)
    assert entries["init_single_page"]["value"] == 28.762
    assert entries["init_single_page"]["unit"] == "ns/page"
    assert entries["init_single_page"]["figure"] == "duyck-reserved-nonatomic"
    assert entries["factor remote"]["value"] == 1.419
    assert entries["bandwidth pmem"]["value"] == 10.0
    (modern,) = [p for p in data if p["name"] == "modern-x86"]
    m = {e["entry"]: e for e in modern["entries"]}
    assert set(PAGE_COSTS) <= set(m)
    assert (m["init_single_page"]["value"], m["init_single_page"]["kind"]) == (21.975, "fitted")
    assert m["init_single_page"]["figure"] == "duyck-deferred-improvements-pmem"
    assert m["factor memmap_in_ram"]["kind"] == "assumed" and m["factor memmap_in_ram"]["note"]


# --- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "compare", "trace", "page", "kernels"])
def test_help_shows_flags_as_flags_and_names_the_output(command: str) -> None:
    text = invoke(command, "--help").stdout
    (json_line,) = [ln for ln in text.splitlines() if ln.strip().startswith("--json")]
    assert "<bool>" not in json_line and "BOOLEAN" not in json_line
    assert "JSON" in json_line
    options = [ln for ln in text.splitlines() if ln.strip().startswith("-")]
    assert not [ln for ln in options if "<str>" in ln or "<bool>" in ln]
    assert "--json prints" in " ".join(text.split())


def test_help_lists_every_command_with_its_summary() -> None:
    from memmapsim.cli import COMMANDS

    lines = invoke("--help").stdout.splitlines()
    listed = lines[lines.index("commands:") + 1 :]
    assert [ln.split()[0] for ln in listed] == list(COMMANDS)
    for ln, (_func, summary, _args) in zip(listed, COMMANDS.values(), strict=True):
        assert ln.endswith(summary), ln


def test_help_says_what_kernel_defaults_to() -> None:
    text = " ".join(invoke("run", "--help").stdout.split())
    assert "-k, --kernel KERNEL" in text
    assert "Default: the scenario's `kernel`" in text


# --- page and trace text ------------------------------------------------------------------------


def test_page_names_the_migratetype_in_text_and_json() -> None:
    text = invoke("page", "tiny-pmem", "0x40600").stdout
    assert re.search(r"memmapsim: pageblock migratetype MIGRATE_MOVABLE$", text, re.M), text
    data = json.loads(invoke("page", "tiny-pmem", "0x40600", "--json").stdout)
    assert data["pageblock_migratetype"] == "MIGRATE_MOVABLE"


@pytest.mark.parametrize(
    ("kernel", "first"),
    [
        # v4.18-v4.20: %px addresses, "count:"
        ("4.20", "page:ffffea0001018000 count:1 mapcount:0 mapping:0000000000000000 index:0x0"),
        # v5.3: "refcount:"; v5.4 one line, no flags line for ZONE_DEVICE pages
        ("5.4", "page:ffffea0001010000 refcount:1 mapcount:0 mapping:0000000000000000 index:0x0"),
        # v6.12+: from a snapshot of the folio, no address
        ("6.12", "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40400"),
    ],
)
def test_page_prints_that_kernels_dump_page(kernel: str, first: str) -> None:
    pfn = "0x40600" if kernel == "4.20" else "0x40400"  # the first data pfn
    lines = invoke("page", "tiny-pmem", pfn, "-k", kernel).stdout.splitlines()
    assert lines[1].strip() == first
    assert any(ln.strip().startswith("raw: ") for ln in lines)
    assert lines[-2].strip() == "memmapsim: pageblock migratetype MIGRATE_MOVABLE"


def test_page_after_a_step() -> None:
    """tiny-hmm adds then removes its GPU memory: after the last step the pfn has no
    memmap; after "add" it is a device-private page (refcount 0 from v6.1)."""
    end = invoke("page", "tiny-hmm", "0x400000", "-k", "6.6").stdout
    assert "has no memmap" in end
    added = invoke("page", "tiny-hmm", "0x400000", "-k", "6.6", "--after", "add").stdout
    assert "after step add" in added and "refcount:0" in added
    data = json.loads(invoke("page", "tiny-hmm", "0x400000", "--after", "add", "--json").stdout)
    assert data["zone"] == 4


def test_page_after_an_unknown_step_lists_the_steps() -> None:
    r = runner.invoke(main, ["page", "tiny-hmm", "0x400000", "--after", "nope"])
    assert r.exit_code == 2 and "no step 'nope' (steps: add, remove)" in r.stderr


@pytest.mark.parametrize(
    ("engine", "header"),
    [("inorder", ["seq", "thread", "effect"]), ("timing", ["start (s)", "end (s)", "thread"])],
)
def test_trace_text_has_column_headers(engine: str, header: list[str]) -> None:
    lines = invoke("trace", "tiny-pmem", "--engine", engine).stdout.splitlines()
    assert all(h in lines[0] for h in header), lines[0]
    assert not lines[1].lstrip().startswith(header[0])


# --- several devices per node ---------------------------------------------------------------------


def test_per_node_table_tells_wall_time_from_sums(tmp_path: Path) -> None:
    path = write(tmp_path, many_devices(3))
    text = invoke("run", path).stdout
    assert "summed over each node's threads" in text
    header = next(ln for ln in text.splitlines() if "threads" in ln and "wall" in ln)
    assert "init (ms, sum)" in header
    row = next(ln for ln in text.splitlines() if re.match(r"^│\s+0 │\s+3 │", ln))
    cells = [float(c) for c in row.strip("│ ").split("│")[2:]]
    init_sum, wall = cells[0], cells[-1]
    assert init_sum > wall  # three threads' work in parallel: the sum exceeds the wall time
    compare = invoke("compare", path, "-k", "4.18", "-k", "4.20").stdout
    assert "node 0 init (sum of 3 threads)" in compare
    assert "node 0 wall" in compare


def test_one_device_per_node_keeps_the_plain_table() -> None:
    text = invoke("run", "tiny-pmem").stdout
    assert "wall" not in text and "sum" not in text


def test_timeline_groups_cpus_per_node_when_there_are_many() -> None:
    many = simulate(parse_scenario(many_devices(16, cpus=32), "m"), "4.20")
    cpu_of, labels = rows(many)
    assert len(set(many.cpus.values())) > MAX_ROWS
    assert labels == ["node 0: 16 threads on 16 CPUs"]
    assert set(cpu_of.values()) == {0}
    few = simulate(parse_scenario(many_devices(2, cpus=32), "f"), "4.20")
    assert [lbl.split(":")[0] for lbl in rows(few)[1]] == ["cpu0 (node 0)", "cpu1 (node 0)"]


# --- progress bar ---------------------------------------------------------------------------------


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=80), buf


def test_progress_bar_is_drawn_on_a_terminal_once_the_delay_passed() -> None:
    console, buf = _console(terminal=True)
    with Progress("duyck-2018: simulating", total=2, console=console, delay_s=0) as bar:
        bar.step("4.20")
        bar.advance()
    assert "duyck-2018: simulating 4.20" in buf.getvalue()


def test_no_progress_bar_off_a_terminal_or_before_the_delay() -> None:
    console, buf = _console(terminal=False)
    with Progress("x", console=console, delay_s=0) as bar:
        bar.step("4.20")
    assert buf.getvalue() == ""
    console, buf = _console(terminal=True)
    with Progress("x", console=console, delay_s=3600) as bar:
        bar.step("4.20")
    assert buf.getvalue() == ""


# --- titles ---------------------------------------------------------------------------------------


def test_table_titles_do_not_wrap(tmp_path: Path) -> None:
    """The timing title was cut into two lines at the table's width."""
    text = invoke("run", "tiny-pmem").stdout
    assert re.search(r"^time on 4\.20 .*mem_hotplug_lock held [\d.]+ ms$", text, re.M), text
    long_name = "pmem-" + "x" * 150
    path = write(tmp_path, scenario(dev(long_name, "1G", "200M")))
    out = invoke("run", path).stdout
    assert any(ln.startswith(f"{long_name}: fsdax, node 0") for ln in out.splitlines())


# --- README ---------------------------------------------------------------------------------------


def test_readme_links_stay_in_the_repository_and_say_how_to_run() -> None:
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert links
    for target in links:
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target
    assert ".venv/bin/memmapsim" in text and "source .venv/bin/activate" in text


def test_trace_names_threads_and_compound_steps() -> None:
    lines = invoke("trace", "tiny-pmem", "-k", "6.6").stdout.splitlines()
    (queued,) = [ln for ln in lines if "AsyncSchedule" in ln]
    assert "thread=pmem0 node=0" in queued and "Kernel(" not in queued
    # a compound devmap's init is one effect, its program listed by offsets
    lines = invoke("trace", "devdax-128g-2m", "-k", "7.1").stdout.splitlines()
    (program,) = [ln for ln in lines if "InitPagesPeriodic" in ln]
    assert "period=512 steps=[+0..0 memmap_init_zone_device, +1..127 memmap_init_compound," in (
        program
    )


def test_kernels_lists_each_release_with_what_it_brought() -> None:
    data = json.loads(invoke("kernels", "--json").stdout)
    releases = {d["name"]: d for d in data if d["kind"] == "release"}
    assert list(releases)[-1] == "7.1" and "5.19" in releases
    dedup = releases["5.19"]["new"][0]
    assert (dedup["name"], dedup["commit"]) == ("vmemmap-dedup", "6fd3620b3428")
    revert = releases["5.0"]["new"][0]
    assert revert["reverts"] == "memmap-section-tail"
    assert "memmap-section-tail" not in releases["5.0"]["changes"]
    assert all(d["tree"] for d in releases.values())
    text = invoke("kernels").stdout
    assert "vmemmap-dedup: 6fd3620b3428" in text
