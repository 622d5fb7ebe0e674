"""calibrate, scenario-from-log and predict: the round trip from a simulated log back to
the costs that produced it, and the command line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from memmapsim.calibrate import calibrate, scaled
from memmapsim.cli import app
from memmapsim.config.scenario import load_scenario
from memmapsim.engine.costs import load_profile
from memmapsim.report.data import dmesg_lines
from memmapsim.simulate import simulate
from tests.io.test_dmesg import BROADWELL, shapes

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
    return runner.invoke(app, list(args))


def test_calibrate_writes_a_profile_predict_uses(tmp_path: Path) -> None:
    log = simulated_log(tmp_path, "duyck-2018", "6.6", 1.3)
    out = tmp_path / "mine.toml"
    r = runner.invoke(
        app, ["calibrate", str(log), "--scenario", "duyck-2018", "-k", "6.6", "--hz", "250",
              "-o", str(out), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["scale"] == pytest.approx(1.3, rel=1e-3) and len(data["lines"]) == 4
    prof = tomllib.loads(out.read_text())
    assert prof["calibration"]["base"] == "modern-x86"
    assert prof["costs"]["reserved_nonatomic"]["kind"] == "fitted"  # assumed in the base
    assert prof["costs"]["init_single_page"]["figure"] == f"log:{log}:1"
    p = runner.invoke(app, ["predict", "duyck-2018", "-k", "6.6", "--profile", str(out), "--json"])
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
        app, ["calibrate", str(log), "--scenario", "tiny-pmem", "-o", str(tmp_path / "p.toml")]
    )
    assert r.exit_code == 2 and "Traceback" not in r.output
    (line,) = r.stderr.splitlines()
    assert line == f"memmapsim: error: {log}: {message}"
    assert not (tmp_path / "p.toml").exists()


def test_scenario_from_log(tmp_path: Path) -> None:
    log = tmp_path / "bw.log"
    log.write_text(shapes(BROADWELL)["syslog"])
    r = runner.invoke(app, ["scenario-from-log", str(log), "--name", "bw"])
    assert r.exit_code == 0, r.output
    # 5.5 is a modelled release (boot memory): no assumption about the kernel
    assert r.stdout.startswith('name = "bw"\n')
    data = tomllib.loads(r.stdout)
    assert data["kernel"] == "5.5" and data["name"] == "bw"
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
    data = tomllib.loads(runner.invoke(app, ["scenario-from-log", str(log)]).stdout)
    (d,) = data["devices"]
    assert (d["kind"], d["node"], d["start"], d["size"]) == ("fsdax", 1, "0x1080000000", "128G")
