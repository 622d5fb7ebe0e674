"""Start-up discipline (issue 7): ``memmapsim run SCENARIO --json`` imports what a run
needs and nothing else. Each subcommand imports its own modules inside its function, so the
run path must not load the sweep, the reports, the explorer, calibration, log reading, or
the heavy libraries behind them. Speed itself is measured in bench/, not here: this test
fails when someone moves one of those imports back to module level."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

FORBIDDEN = (
    "numpy",
    "pyarrow",
    "matplotlib",
    "dask",
    "rich",
    "tomli_w",
    "tempfile",
    "hashlib",
    "pydantic",
    "typer",
    "click",
    "memmapsim.sweep",
    "memmapsim.races",
    "memmapsim.calibrate",
    "memmapsim.validate",
    "memmapsim.io",
    "memmapsim.engine.explore",
    "memmapsim.engine.workers",
    "memmapsim.report.html",
    "memmapsim.report.inputs",
    "memmapsim.report.plot",
    "memmapsim.report.text",
    "memmapsim.report.timing_text",
    "memmapsim.report.trace_text",
    "memmapsim.report.explore_text",
)
"""Modules (and their submodules) that ``run --json`` has no use for."""

# Runs the command in a fresh interpreter and writes the names of the modules it imported
# to the file given as the first argument, once the command has exited.
PROBE = """
import atexit, json, sys
out, argv = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["memmapsim", *argv]
from memmapsim.cli import main
main()
"""


def imported(tmp_path: Path, *argv: str) -> list[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    modules: list[str] = json.loads(out.read_text())
    return modules


def offending(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "duyck-2018", "--kernel", "4.20", "--json"),
        ("run", "devdax-128g-2m", "--kernel", "6.6", "--json"),
    ],
    ids=["duyck-2018", "devdax-128g-2m"],
)
def test_run_json_imports_only_what_a_run_needs(tmp_path: Path, argv: tuple[str, ...]) -> None:
    modules = imported(tmp_path, *argv)
    assert "memmapsim.simulate" in modules  # the probe did run the command
    assert offending(modules) == []


def test_importing_the_cli_loads_no_subcommand_modules(tmp_path: Path) -> None:
    modules = imported(tmp_path, "--version")
    assert offending(modules) == []
