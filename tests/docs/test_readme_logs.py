"""The README's "Real logs in" example is what the example log gives today."""

from __future__ import annotations

from pathlib import Path

from memmapsim.cli import main
from tests.clirunner import CliRunner

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_the_readme_calibration_and_prediction_are_current(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    log = ROOT / "examples/logs/e5-2699v4-5.5-rc7.dmesg"
    prof = tmp_path / "e5.toml"
    r = runner.invoke(main, ["calibrate", str(log), "-o", str(prof)])
    assert r.exit_code == 0, r.output
    (factor,) = [ln for ln in r.stdout.splitlines() if ln.startswith("factor ")]
    assert factor in readme
    p = runner.invoke(main, ["predict", "xeon8180-1.5t", "-k", "4.19", "--profile", str(prof)])
    assert p.exit_code == 0, p.output
    for line in p.stdout.splitlines():
        assert line in readme, line
