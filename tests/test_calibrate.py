"""calibrate, scenario-from-log and predict: the round trip from a simulated log back to
the costs that produced it, and the command line."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from memmapsim.calibrate import calibrate, scaled
from memmapsim.cli import main
from memmapsim.config.scenario import Scenario, load_scenario
from memmapsim.engine.costs import load_profile
from memmapsim.errors import InputError
from memmapsim.report.data import dmesg_lines
from memmapsim.simulate import simulate
from tests.clirunner import CliRunner
from tests.io.test_dmesg import BROADWELL, XEON_8180, XEON_FIGURES, shapes

runner = CliRunner()


def simulated_log(tmp_path: Path, scenario: str, kernel: str, factor: float) -> Path:
    """The dmesg a machine prints when its per-page costs are modern-x86's × ``factor``."""
    sc = load_scenario(scenario)
    prof = scaled(load_profile("modern-x86"), factor)
    r = simulate(sc, kernel, profile=prof)
    path = tmp_path / f"{scenario}-{kernel}-{factor}.log"
    path.write_text("\n".join(dmesg_lines(r)) + "\n")
    return path


@settings(max_examples=15, deadline=None)
@given(
    factor=st.floats(0.5, 2.0),
    kernel=st.sampled_from(["4.20", "5.4", "6.6", "7.1"]),
)
def test_a_simulated_log_calibrates_back_to_its_costs(
    tmp_path_factory: pytest.TempPathFactory, factor: float, kernel: str
) -> None:
    """Round trip: the log memmapsim emits for a machine whose costs are the base's times
    ``factor`` is fitted back to that factor, within the jiffies quantization."""
    tmp = tmp_path_factory.mktemp("rt")
    log = simulated_log(tmp, "duyck-2018", kernel, factor)
    cal = calibrate([str(log)], load_scenario("duyck-2018"), "modern-x86", hz=1000, kernel=kernel)
    assert len(cal.matches) == 4 and cal.unused == []
    assert abs(cal.scale - factor) <= 3 * cal.sigma + 1e-4 * factor


def invoke(*args: str) -> object:
    return runner.invoke(main, list(args))


def test_calibrate_writes_a_profile_predict_uses(tmp_path: Path) -> None:
    log = simulated_log(tmp_path, "duyck-2018", "6.6", 1.3)
    out = tmp_path / "mine.toml"
    r = runner.invoke(
        main, ["calibrate", str(log), "--scenario", "duyck-2018", "-k", "6.6", "--hz", "250",
              "-o", str(out), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["scale"] == pytest.approx(1.3, rel=1e-3) and len(data["lines"]) == 4
    for line in data["lines"]:
        assert line["fitted_ms"] == pytest.approx(line["measured_ms"], abs=4)
        assert line["simulated_ms"] == pytest.approx(line["measured_ms"] / 1.3, abs=4)
    prof = tomllib.loads(out.read_text())
    assert prof["calibration"]["base"] == "modern-x86"
    assert prof["costs"]["reserved_nonatomic"]["kind"] == "fitted"  # assumed in the base
    assert prof["costs"]["init_single_page"]["figure"] == f"log:{log}:1"
    p = runner.invoke(main, ["predict", "duyck-2018", "-k", "6.6", "--profile", str(out), "--json"])
    assert p.exit_code == 0, p.output
    pred = json.loads(p.stdout)
    lo, hi = pred["interval_s"]
    assert lo < pred["total_s"] < hi
    direct = simulate(load_scenario("duyck-2018"), "6.6", profile=str(out)).timing
    assert direct is not None and pred["total_s"] == round(direct.total_s, 6)


def test_lines_that_cannot_be_used_are_listed(tmp_path: Path) -> None:
    log = simulated_log(tmp_path, "duyck-2018", "4.20", 1.0)
    text = log.read_text() + "[   40.0] pfn9.0 initialised, 5 pages in 1ms\n"
    text += "[   41.0] node 0 initialised, 77 pag\n"
    log.write_text(text)
    cal = calibrate([str(log)], load_scenario("duyck-2018"), "modern-x86", kernel="4.20")
    reasons = {(n, why.split(":")[0]) for _f, n, why in cal.unused}
    assert (5, "the simulated machine has no pfn9.0") in reasons
    assert (6, "no known format") in reasons


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00" * 5000, "not a kernel log: binary data (NUL bytes)"),
        (b"[ 1.0] usb 1-1: new device\n", "no measurement line to fit to"),
    ],
)
def test_garbled_logs_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    log = tmp_path / "bad.log"
    log.write_bytes(content)
    r = runner.invoke(
        main, ["calibrate", str(log), "--scenario", "tiny-pmem", "-o", str(tmp_path / "p.toml")]
    )
    assert r.exit_code == 2 and "Traceback" not in r.output
    (line,) = r.stderr.splitlines()
    assert line == f"memmapsim: error: {log}: {message}"
    assert not (tmp_path / "p.toml").exists()


def test_scenario_from_log(tmp_path: Path) -> None:
    log = tmp_path / "bw.log"
    log.write_text(shapes(BROADWELL)["syslog"])
    r = runner.invoke(main, ["scenario-from-log", str(log), "--name", "bw"])
    assert r.exit_code == 0, r.output
    # 5.5 is a modelled release (boot memory): no assumption about the kernel, only the one
    # about the reservations the log does not place
    assumed, rest = r.stdout.split("\n", 1)
    assert assumed.startswith("# assumed: the early memblock reservations")
    assert rest.startswith('name = "bw"\n')
    data = tomllib.loads(r.stdout)
    assert data["kernel"] == "5.5" and data["name"] == "bw"
    # the log timed deferred init: the scenario boots, priced by the profile with boot costs
    assert data["boot"] == {"deferred": True}
    assert data["knobs"] == {"cost_profile": "modern-x86"}
    nodes = data["machine"]["nodes"]
    assert [(n["id"], n["cpus"]) for n in nodes] == [(0, 44), (1, 44)]
    assert nodes[1]["dram"] == [{"start": "0x880000000", "size": "32G"}]


def test_scenario_from_log_places_pmem_on_the_node_below_it(tmp_path: Path) -> None:
    lines = [
        *BROADWELL,
        (0.0, "BIOS-e820: [mem 0x0000001080000000-0x000000307fffffff] persistent (type 7)"),
    ]
    log = tmp_path / "pmem.log"
    log.write_text(shapes(lines)["dmesg"])
    data = tomllib.loads(runner.invoke(main, ["scenario-from-log", str(log)]).stdout)
    (d,) = data["devices"]
    assert (d["kind"], d["node"], d["start"], d["size"]) == ("fsdax", 1, "0x1080000000", "128G")


def test_scaling_keeps_where_each_cost_was_priced() -> None:
    """A boot cost is priced with the memmap in DRAM (``memmap = "ram"``); the scaled
    profile must keep that, or the memmap_in_ram factor would wrongly apply to it."""
    base = load_profile("modern-x86")
    assert base.costs["buddy_free"].memmap == "ram"
    same = scaled(base, 1.0)
    assert {n: c.memmap for n, c in same.costs.items()} == {
        n: c.memmap for n, c in base.costs.items()
    }
    sc = load_scenario("e5-2699v4-64g")
    a, b = simulate(sc, "5.5", profile=base).boot, simulate(sc, "5.5", profile=same).boot
    assert a is not None and b is not None and a.total_s == b.total_s


# The Xeon Platinum 8180 log of published-numbers §1a (Xiongfeng Wang's, quoted by Feng
# Tang, LKML 2022-09-30) with the machine lines a boot log has; its kernel is not stated.
XEON_8180_LOG = [
    (0.0, "Early memory node ranges"),
    (0.0, "  node   0: [mem 0x0000000000001000-0x000000007fffffff]"),
    (0.0, "  node   0: [mem 0x0000000100000000-0x000000607fffffff]"),
    (0.0, "  node   1: [mem 0x0000006080000000-0x000000c07fffffff]"),
    (0.0, "  node   2: [mem 0x000000c080000000-0x000001207fffffff]"),
    (0.0, "  node   3: [mem 0x0000012080000000-0x000001807fffffff]"),
    (0.9, "smp: Brought up 4 nodes, 224 CPUs"),
    *XEON_8180,
]
XEON_PUBLISHED_S = sum(ms for _p, ms in XEON_FIGURES) / 4 / 1000  # 4.052 s per node
E5_PUBLISHED_S = (149 + 160) / 2 / 1000


@pytest.mark.parametrize("shape", list(shapes(BROADWELL)))
def test_a_boot_log_in_any_shape_calibrates_to_the_same_factor(tmp_path: Path, shape: str) -> None:
    """Lianbo Jiang's 5.5-rc7 log (§1a) in every shape: both nodes' lines are matched with
    the simulated machine's, and the fit does not depend on the shape."""
    log = tmp_path / f"e5-{shape}.log"
    log.write_text(shapes(BROADWELL)[shape])
    cal = calibrate([str(log)])
    assert [(m.key, m.measured.ms) for m in cal.matches] == [("node 0", 149), ("node 1", 160)]
    assert cal.unused == []
    # at the fitted factor each line is within a jiffy (4 ms at HZ=250) of the log
    assert [round(m.fitted_ms) for m in cal.matches] == [150, 160]
    # modern-x86 prices the 5.5 code on Duyck's 2018 Xeon: this Broadwell is 1.39x slower
    assert cal.scale == pytest.approx(1.39, abs=0.01)
    # ±1 jiffy of 4 ms (HZ=250) measured and ±1 ms simulated, triangular: σ² = (16 + 1) / 6
    # ms² a line, over slopes of about 107 and 115 ms per unit of the factor
    assert cal.sigma == pytest.approx(math.sqrt(17 / 6 / (107**2 + 115**2)), rel=0.05)


def predicted_node_s(
    tmp_path: Path,
    log_lines: list[tuple[float, str]],
    kernel: str | None,
    target: str,
    target_kernel: str,
) -> tuple[float, float, float]:
    """Calibrate on one machine's log and predict another's mean node init, by the CLI."""
    log = tmp_path / "from.log"
    log.write_text(shapes(log_lines)["dmesg"])
    prof = tmp_path / "fitted.toml"
    args = ["calibrate", str(log), "-o", str(prof)] + (["-k", kernel] if kernel else [])
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    p = runner.invoke(main, ["predict", target, "-k", target_kernel, "--profile", str(prof),
                            "--json"])  # fmt: skip
    assert p.exit_code == 0, p.output
    nodes = json.loads(p.stdout)["boot"]["nodes"]
    mean = sum(n["init_s"] for n in nodes) / len(nodes)
    lo = sum(n["interval_s"][0] for n in nodes) / len(nodes)
    hi = sum(n["interval_s"][1] for n in nodes) / len(nodes)
    return mean, lo, hi


def test_the_broadwell_log_predicts_the_xeon_8180_within_2x(tmp_path: Path) -> None:
    """Calibrated on the 2-node E5-2699 v4 (5.5-rc7), predicting the 4-socket Xeon 8180 of
    the same table (2016 and 2017 Xeons) on 4.19, as xeon8180-1.5t assumes: 5.2 s per node
    against the published 4.05 s. The interval is the fit's (the log's jiffies), so it does
    not cover the difference between the machines."""
    mean, lo, hi = predicted_node_s(tmp_path, BROADWELL, None, "xeon8180-1.5t", "4.19")
    assert lo < mean < hi and (hi - lo) / mean < 0.05
    assert XEON_PUBLISHED_S / 2 < mean < XEON_PUBLISHED_S * 2
    assert mean == pytest.approx(5.2, rel=0.05)


def test_the_xeon_8180_log_predicts_the_broadwell_within_2x(tmp_path: Path) -> None:
    mean, lo, hi = predicted_node_s(tmp_path, XEON_8180_LOG, "4.19", "e5-2699v4-64g", "5.5")
    assert lo < mean < hi
    assert E5_PUBLISHED_S / 2 < mean < E5_PUBLISHED_S * 2
    assert mean == pytest.approx(0.12, rel=0.08)


def test_predict_prints_the_boot_and_each_node_with_its_interval(tmp_path: Path) -> None:
    log = tmp_path / "e5.log"
    log.write_text(shapes(BROADWELL)["dmesg"])
    prof = tmp_path / "e5.toml"
    assert runner.invoke(main, ["calibrate", str(log), "-o", str(prof)]).exit_code == 0
    r = runner.invoke(main, ["predict", "e5-2699v4-64g", "-k", "5.5", "--profile", str(prof)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("e5-2699v4-64g on 5.5: boot (deferred init) ")
    assert [ln.split(" init ")[0].strip() for ln in lines[1:3]] == ["node 0", "node 1"]
    assert all("±2σ of the fitted factor" in ln for ln in lines[:3])


def boot_768g(cpus: int) -> Scenario:
    sc = load_scenario("boot-768g")
    nodes = [replace(n, cpus=cpus) for n in sc.machine.nodes]
    return replace(sc, machine=replace(sc.machine, nodes=nodes))


@settings(max_examples=10, deadline=None)
@given(
    factor=st.floats(0.5, 2.0),
    kernel=st.sampled_from(["4.14", "4.18", "5.5", "5.8", "6.6", "7.1"]),
)
def test_a_simulated_boot_log_calibrates_back_to_its_costs(
    tmp_path_factory: pytest.TempPathFactory, factor: float, kernel: str
) -> None:
    """Round trip over boot: the per-node deferred init lines of each version's format
    (node N initialised / deferred pages initialised) fit back to the factor. Four CPUs a
    node, so that 5.8's padata helpers do not reach the model's bandwidth ceiling."""
    tmp = tmp_path_factory.mktemp("rtb")
    sc = boot_768g(4)
    prof = scaled(load_profile("modern-x86"), factor)
    log = tmp / "boot.log"
    log.write_text("\n".join(dmesg_lines(simulate(sc, kernel, profile=prof))) + "\n")
    cal = calibrate([str(log)], sc, "modern-x86", hz=1000, kernel=kernel)
    assert [m.key for m in cal.matches] == ["node 0", "node 1"] and cal.unused == []
    # the lines of both nodes round alike (the nodes are the same), so their errors do not
    # average out: the bound is one jiffy on each side over the shortest line
    assert abs(cal.scale - factor) <= 2 / min(m.simulated_ms for m in cal.matches)


def test_lines_bound_by_bandwidth_are_not_fitted_to(tmp_path: Path) -> None:
    """boot-768g on 5.8: 52 padata helpers a node reach the model's DRAM write ceiling, so
    the node lines do not follow the per-page costs; the fit refuses them, naming why."""
    log = simulated_log(tmp_path, "boot-768g", "5.8", 1.5)
    with pytest.raises(InputError) as e:
        calibrate([str(log)], load_scenario("boot-768g"), "modern-x86", kernel="5.8")
    first = next(i for i, ln in enumerate(log.read_text().splitlines(), 1) if "node 0 def" in ln)
    assert e.value.field == f"line {first}"
    assert "bound by the model's memory bandwidth" in str(e.value) and "1 more" in str(e.value)


def test_a_line_past_the_bandwidth_knee_is_fitted_by_re_linearising(tmp_path: Path) -> None:
    """boot-768g with 16 CPUs a node on 5.8: at the base costs the padata helpers are
    bound by the DRAM write ceiling (126 ms whatever the factor below 1.4); a machine twice
    as slow per page is not (172 ms). The slope taken at the first estimate is wrong; the
    fit recovers the factor only by linearising again around its answer."""
    sc = boot_768g(16)
    log = tmp_path / "knee.log"
    r = simulate(sc, "5.8", profile=scaled(load_profile("modern-x86"), 2.0))
    log.write_text("\n".join(dmesg_lines(r)) + "\n")
    cal = calibrate([str(log)], sc, "modern-x86", hz=1000, kernel="5.8")
    assert [m.simulated_ms for m in cal.matches] == [126, 127]  # bound at the base
    assert cal.scale == pytest.approx(2.0, abs=0.02)
