"""The command line end to end: bad input is one line naming the file and field, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from memmapsim.cli import main
from memmapsim.kernel.versions import CHANGES
from tests.clirunner import CliRunner, Result
from tests.scenario_text import NODE0, dev

PREFIX = "memmapsim: error: "


def scenario(*parts: str, machine: str = NODE0, head: str = "") -> str:
    return f'name = "t"\nkernel = "4.20"\n{head}{machine}{"".join(parts)}'


# Two 64 MiB devices in one 128 MiB section: the conflict probes of v4.18-rc7 onwards ("mm:
# disallow mappings that conflict for devm_memremap_pages()") refuse the second.
SAME_SECTION = scenario(dev("pmem0", "1G", "64M"), dev("pmem1", "1088M", "64M"))
FIVE_LEVEL = scenario(dev("pmem0", "64T", "1G"), head="[machine]\nfive_level_paging = true\n")

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(main, list(args))


def write(tmp_path: Path, text: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def assert_one_line_error(result: Result, where: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr starting with the prefix and ``where``."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{PREFIX}{where}: "), lines[0]
    return lines[0]


# (id, scenario text or None for a missing file, extra args, field or None, fragments)
FILE_CASES = [
    (
        "range-over-dram",
        scenario(dev("pmem0", "512M", "1G")),
        ["--kernel", "4.18"],
        "devices[0]",
        [
            'kernel 4.18 refuses pmem0 (-ENXIO): "nd_pmem pfn0.0: could not reserve region '
            '[mem 0x20000000-0x5fffffff]"'
        ],
    ),
    (
        "overlapping-devices",
        scenario(dev("pmem0", "1G", "200M"), dev("pmem1", "1100M", "200M")),
        ["--kernel", "4.18"],
        "devices[1]",
        ["kernel 4.18 refuses pmem1 (-ENXIO)", '"nd_pmem pfn1.0: could not reserve region'],
    ),
    (
        "same-section-4.18",
        SAME_SECTION,
        ["--kernel", "4.18"],
        "devices[1]",
        [
            "kernel 4.18 refuses pmem1 (-ENOMEM)",
            '"nd_pmem pfn1.0: Conflicting mapping in same section"',
            '"nd_pmem: probe of pfn1.0 failed with error -12"',
        ],
    ),
    (
        "same-section-4.19",
        SAME_SECTION,
        ["--kernel", "4.19"],
        "devices[1]",
        ["kernel 4.19 refuses pmem1", '"nd_pmem pfn1.0: Conflicting mapping in same section"'],
    ),
    (
        "same-section-4.20",
        SAME_SECTION,
        ["--kernel", "4.20"],
        "devices[1]",
        ["kernel 4.20 refuses pmem1", '"nd_pmem pfn1.0: Conflicting mapping in same section"'],
    ),
    (
        "size-0",
        scenario(dev("pmem0", "1G", "0")),
        ["--kernel", "4.18"],
        "devices[0]",
        ["kernel 4.18 refuses pmem0 (-ENODEV)", "too small must be at least 0x1000"],
    ),
    (
        "beyond-4-level-paging",
        scenario(dev("pmem0", "64T", "1G")),
        ["--kernel", "4.18"],
        "devices[0]",
        ["MAX_PHYSMEM_BITS=46", "machine.five_level_paging = true"],
    ),
    (
        "unknown-key",
        scenario(dev("pmem0", "1G", "200M", colour="red")),
        [],
        "devices[0].colour",
        ["unknown key"],
    ),
    ("not-toml", 'name = "t\n', [], None, ["not valid TOML"]),
    (
        "unknown-kernel-in-file",
        scenario(dev("pmem0", "1G", "200M")).replace('"4.20"', '"4.21"'),
        [],
        "kernel",
        ["unknown kernel '4.21' (known releases: 4.14, 4.18, 4.19, 4.20, 5.0"],
    ),
    (
        "duplicate-node",
        scenario(machine=NODE0 + NODE0.replace('"0"', '"4G"').replace('"2G"', '"6G"')),
        [],
        "machine.nodes[1].id",
        ["node 0 is defined twice"],
    ),
    (
        "overlapping-dram",
        scenario(machine=NODE0.replace('"2G"', '"512M"')),
        [],
        "machine.nodes[0].dram[1]",
        ["overlaps machine.nodes[0].dram[0]"],
    ),
    (
        "no-such-node",
        scenario(dev("pmem0", "1G", "200M", node=3)),
        [],
        "devices[0].node",
        ["node 3 is not in machine.nodes"],
    ),
    (
        "unaligned-start",
        scenario(dev("pmem0", "0x40000100", "200M")),
        [],
        "devices[0].start",
        ["not 4 KiB aligned"],
    ),
    (
        "device-private-memmap-on-device",
        scenario(dev("gpu0", "1G", "200M", kind="device-private", memmap="device")),
        [],
        "devices[0].memmap",
        ["memmap must be in ram"],
    ),
    (
        "no-cpus",
        scenario(machine=NODE0.replace("cpus = 4", "cpus = 0")),
        [],
        "machine.nodes",
        ["the machine has no CPUs"],
    ),
    (
        "devdax-region-busy",
        scenario(dev("pmem0", "1G", "200M"), dev("dax1", "1100M", "200M", kind="devdax")),
        ["--kernel", "4.20"],
        "devices[1]",
        # dax_pmem_probe: nvdimm_setup_pfn, then "could not reserve region %pR" (pmem.c:97)
        [
            "kernel 4.20 refuses dax1 (-EBUSY)",
            '"dax_pmem dax1.0: could not reserve region [mem 0x44c00000-0x513fffff]"',
        ],
    ),
    (
        # regionA's namespace at 1 GiB, regionB's in the same section: v4.20 pads b0 to the
        # next section (nd_region_conflict), which leaves nothing of it.
        "other-region-in-section-4.20",
        scenario(
            dev("a0", "1G", "64M", region="regionA"), dev("b0", "1088M", "64M", region="regionB")
        ),
        ["--kernel", "4.20"],
        "devices[1]",
        [
            "kernel 4.20 refuses b0 (-ENXIO)",
            '"nd_pmem pfn1.0: namespace1.0 alignment collision, truncate 67108864 bytes"',
            '"nd_pmem pfn1.0: namespace1.0 unable to satisfy requested alignment"',
        ],
    ),
    (
        "other-region-in-section-4.18",
        scenario(
            dev("a0", "1G", "64M", region="regionA"), dev("b0", "1088M", "64M", region="regionB")
        ),
        ["--kernel", "4.18"],
        "devices[1]",
        ["kernel 4.18 refuses b0 (-ENOMEM)", "Conflicting mapping in same section"],
    ),
    (
        "overlapping-regions",
        scenario(
            dev("a0", "1G", "64M", region="regionA"),
            dev("b0", "1088M", "64M", region="regionB"),
            dev("a1", "1152M", "64M", region="regionA"),
        ),
        [],
        "devices[1].region",
        ["region regionB overlaps region regionA"],
    ),
    (
        "device-private-in-a-region",
        scenario(dev("gpu0", "16G", "1G", kind="device-private", memmap="ram", region="r")),
        [],
        "devices[0].region",
        ["device-private memory is not on an nvdimm region"],
    ),
    ("missing-file", None, [], None, ["no such file or built-in scenario"]),
]

# (id, extra args, where, fragments): errors in an option, for a good scenario file
OPTION_CASES = [
    ("kernel-unknown", ["--kernel", "9.9"], "--kernel", ["unknown kernel '9.9'"]),
    ("kernel-unknown-change", ["--kernel", "4.18+nope"], "--kernel", ["unknown change 'nope'"]),
    (
        "kernel-change-needs",
        ["--kernel", "4.18+defer-zone-device"],
        "--kernel",
        ["defer-zone-device needs nonatomic-reserved"],
    ),
    ("backend", ["--backend", "bogus"], "--backend", ["unknown backend 'bogus'"]),
]


@pytest.mark.parametrize(
    ("text", "args", "field", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in FILE_CASES],
)
def test_bad_scenario_is_one_line_exit_2(
    tmp_path: Path, text: str | None, args: list[str], field: str | None, fragments: list[str]
) -> None:
    path = str(tmp_path / "s.toml") if text is None else write(tmp_path, text)
    line = assert_one_line_error(invoke("run", path, *args), f"{path}: {field}" if field else path)
    for fragment in fragments:
        assert fragment in line


@pytest.mark.parametrize(
    ("args", "where", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in OPTION_CASES],
)
def test_bad_option_is_one_line_exit_2(
    tmp_path: Path, args: list[str], where: str, fragments: list[str]
) -> None:
    path = write(tmp_path, scenario(dev("pmem0", "1G", "200M")))
    line = assert_one_line_error(invoke("run", path, *args), where)
    for fragment in fragments:
        assert fragment in line


def test_refusal_is_reported_by_page_and_compare_too(tmp_path: Path) -> None:
    """Every command that runs a scenario rejects it the same way."""
    path = write(tmp_path, SAME_SECTION)
    where = f"{path}: devices[1]"
    line = assert_one_line_error(invoke("page", path, "0x40000", "--kernel", "4.20"), where)
    assert "Conflicting mapping in same section" in line
    line = assert_one_line_error(invoke("compare", path, "-k", "4.19", "-k", "4.20"), where)
    assert "kernel 4.19 refuses pmem1" in line


def test_page_rejects_a_pfn_that_is_not_a_number() -> None:
    line = assert_one_line_error(invoke("page", "tiny-pmem", "zz"), "PFN")
    assert "'zz'" in line


def test_compare_needs_two_kernels() -> None:
    assert_one_line_error(invoke("compare", "tiny-pmem", "--kernel", "4.18"), "--kernel")


def test_five_level_paging_runs_beyond_64_tib(tmp_path: Path) -> None:
    result = invoke("run", write(tmp_path, FIVE_LEVEL), "--kernel", "4.18", "--json")
    assert result.exit_code == 0, result.output
    (device,) = json.loads(result.stdout)["devices"]
    assert device["start"] == hex(64 << 40)


# --- good input ------------------------------------------------------------------------------


def test_scenarios_lists_the_builtins() -> None:
    result = invoke("scenarios")
    assert result.exit_code == 0, result.output
    assert "duyck-2018" in result.stdout
    assert "tiny-pmem" in result.stdout


def test_kernels_lists_releases_and_selectable_changes() -> None:
    result = invoke("kernels")
    assert result.exit_code == 0, result.output
    for release in ("4.18", "4.19", "4.20"):
        assert release in result.stdout
    selectable = [c.name for c in CHANGES.values() if c.selectable]
    assert "defer-zone-device-v5" in selectable
    for name in selectable:
        assert name in result.stdout


def test_run_tiny_pmem() -> None:
    result = invoke("run", "tiny-pmem")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "pmem0" in result.stdout


def test_run_tiny_pmem_json() -> None:
    result = invoke("run", "tiny-pmem", "--kernel", "4.18", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["scenario"], data["kernel"]) == ("tiny-pmem", "4.18")
    assert [(d["name"], d["start"], d["size"]) for d in data["devices"]] == [
        ("pmem0", "0x40000000", "0xc800000")
    ]


def test_page_shows_a_zone_device_page() -> None:
    """pfn 0x40600 is a data page of pmem0 (past its altmap): ZONE_DEVICE is zone 4."""
    result = invoke("page", "tiny-pmem", "0x40600", "--kernel", "4.20", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["pfn"] == 0x40600
    assert data["zone"] == 4
    assert data["node"] == 0
    assert "PG_reserved" in data["pageflags"]


# --- as a process: what a user's shell sees ---------------------------------------------------


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "memmapsim.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_process_refusal_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, scenario(dev("pmem0", "1G", "0")))
    proc = run_module("run", path, "--kernel", "4.18")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"{PREFIX}{path}: devices[0]: kernel 4.18 refuses pmem0 (-ENODEV): ")
    # nvdimm_namespace_common_probe's dev_dbg on the namespace, which no driver is bound
    # to (it is claimed by pfn0.0): dev_driver_string() falls back to the bus name, "nd".
    assert '"nd namespace0.0: 0x0000000000000000, too small must be at least 0x1000"' in line


def test_process_run_exits_0() -> None:
    proc = run_module("run", "tiny-pmem", "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert json.loads(proc.stdout)["kernel"] == "4.20"


# --- regressions for inputs that once crashed or misled -------------------------------
def test_dense_backend_refuses_a_machine_it_cannot_hold() -> None:
    """Was a MemoryError traceback (216 GiB of arrays for duyck-2018)."""
    msg = assert_one_line_error(invoke("run", "duyck-2018", "--backend", "dense"), "--backend")
    assert "use --backend runs" in msg


@pytest.mark.parametrize("pfn", ["0x1000000000000000", "0x400000000", "-1"])
def test_page_rejects_a_pfn_outside_the_machine(pfn: str) -> None:
    """Was an IndexError traceback (or a silent "absent" for pfns beyond MAX_PHYSMEM_BITS)."""
    msg = assert_one_line_error(invoke("page", "tiny-pmem", "--", pfn), "PFN")
    assert "outside the machine's pfns" in msg


def test_page_says_boot_memory_is_not_modelled() -> None:
    result = invoke("page", "tiny-pmem", "0x100", "--json")
    assert result.exit_code == 0
    assert "not modelled" in json.loads(result.stdout)["state"]


def test_machine_without_dram_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\n[[machine.nodes]]\nid = 0\ncpus = 4\n')
    msg = assert_one_line_error(invoke("run", path), f"{path}: machine.nodes")
    assert "no DRAM" in msg


def test_validator_wording_is_not_shown(tmp_path: Path) -> None:
    path = write(tmp_path, scenario(dev("pmem0", "1G", "200Q")))
    msg = assert_one_line_error(invoke("run", path), f"{path}: devices[0].size")
    assert "Value error" not in msg and "cannot parse size" in msg


DAX = 'name = "dax"\n' + NODE0 + dev("dax0", "8G", "18M", kind="devdax", memmap="ram", align="2M")


def test_run_json_has_the_per_device_counts(tmp_path: Path) -> None:
    """pages_initialised counts distinct struct pages written (128 of every 512 with the
    6.6 dedup), memmap_bytes what they occupy, log_pages what the line printed."""
    data = json.loads(invoke("run", write(tmp_path, DAX), "-k", "6.6", "--json").stdout)
    (d,) = data["devices"]
    assert (d["pages_initialised"], d["struct_pages_written"]) == (9 * 128, 9 * 128)
    assert (d["pages_initialised_locked"], d["pages_initialised_unlocked"]) == (0, 9 * 128)
    assert d["memmap_bytes"] == {"ram": 9 * 128 * 64, "device": 0}
    assert d["log_pages"] == 9 * 512 and d["present"] is True
    classes = {c["class"]: c for c in d["pfn_classes"]}
    assert classes["compound_head"]["compound_pages_of"] == 512
    assert classes["compound_dedup"]["offsets"] == [128, 512]
    assert classes["compound_dedup"]["pages"] == 9 * 384
    assert data["total_s"] > 0 and "nodes" in data


def test_compare_several_scenarios_json(tmp_path: Path) -> None:
    a = write(tmp_path, DAX, "a.toml")
    b = write(tmp_path, DAX.replace('align = "2M"', 'align = "4K"'), "b.toml")
    data = json.loads(invoke("compare", a, b, "-k", "5.16", "-k", "6.6", "--json").stdout)
    assert "scenario" not in data and len(data["scenarios"]) == 2
    runs = [
        (r["scenario"], r["kernel"], r["devices"][0]["struct_pages_written"]) for r in data["runs"]
    ]
    assert [k for _s, k, _w in runs] == ["5.16", "6.6", "5.16", "6.6"]
    assert [w for _s, _k, w in runs] == [4608, 9 * 128, 4608, 4608]
    for r in data["runs"]:
        assert {"total_s", "lock_hold_s"} <= set(r) and all("init_s" in n for n in r["nodes"])


def test_compare_several_scenarios_text_ends_with_one_row_per_run(tmp_path: Path) -> None:
    a = write(tmp_path, DAX, "a.toml")
    b = write(tmp_path, DAX.replace('align = "2M"', 'align = "4K"'), "b.toml")
    out = invoke("compare", a, b, "-k", "6.6").stdout
    rows = [ln for ln in out.splitlines() if ln.startswith("│ ") and " 6.6 " in ln]
    assert len(rows) == 2 and "72.0 KiB" not in out
    assert "every run" in out


def test_compare_needs_two_runs(tmp_path: Path) -> None:
    line = assert_one_line_error(invoke("compare", write(tmp_path, DAX), "-k", "6.6"), "--kernel")
    assert "at least two runs" in line
