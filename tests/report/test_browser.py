"""The report in a real browser: headless Chromium (Debian's ``chromium``) renders the page
of ``make demo``'s kind — it draws something, says nothing on its console, runs its
script, zooms from the address, and prints. ``make browser-test`` installs Chromium and
runs this; ``make test`` leaves it out (``-m "not browser"``), as a fresh machine has no
Chromium, and without one it fails.

Chromium's own command line does the work: ``--screenshot``, ``--dump-dom`` (the DOM after
the page's script ran), ``--print-to-pdf``, and ``--enable-logging=stderr``, which writes
every console message, and every uncaught error, as a ``CONSOLE`` line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import pytest

from memmapsim.cli import main
from tests.clirunner import CliRunner

pytestmark = pytest.mark.browser

CHROMIUM = next(
    (
        p
        for p in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser")
        if p and shutil.which(p)
    ),
    None,
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
TIMEOUT_S = 60
runner = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if CHROMIUM is None:
        pytest.fail("no chromium on PATH: `make browser-test` installs it")
    tmp = tmp_path_factory.mktemp("browser")
    saved = tmp / "duyck.json"
    r = runner.invoke(
        main, ["compare", "duyck-2018", "-k", "4.18", "-k", "4.20", "--save", str(saved)]
    )
    assert r.exit_code == 0, r.output
    (tmp / "s.toml").write_text(
        'base = "tiny-pmem"\n[axes]\nkernel = ["4.18", "4.20"]\nnodes = [1, 2, 4]\n'
    )
    r = runner.invoke(main, ["sweep", str(tmp / "s.toml"), "-o", str(tmp / "s.parquet"), "-j", "1"])
    assert r.exit_code == 0, r.output
    out = tmp / "report.html"
    r = runner.invoke(main, ["report", str(saved), str(tmp / "s.parquet"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_page_draws_and_logs_nothing(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    run = chromium(f"--screenshot={png}", "--window-size=1280,2000", report.as_uri())
    assert png.exists(), run.stderr[-2000:]
    assert console(run.stderr) == []
    pixels = matplotlib.image.imread(png)[:, :, :3]
    inked = (pixels.min(axis=2) < 0.9).mean()
    colours = len({tuple(p) for p in (pixels[::7, ::7] * 255).astype(int).reshape(-1, 3).tolist()})
    assert inked > 0.03, f"only {inked:.1%} of the page is drawn"
    assert colours > 20


def test_the_script_runs_and_zooms_from_the_address(report: Path) -> None:
    """``#zoom=10,20`` sets every timeline to 10-20 s: the first bar of the 4.18 timeline
    (it starts near 0 s) moves left of the plot, and the range reads 10.00 s - 20.00 s."""
    plain = chromium("--dump-dom", report.as_uri())
    zoomed = chromium("--dump-dom", report.as_uri() + "#zoom=10,20")
    assert console(plain.stderr) == [] and console(zoomed.stderr) == []
    assert 'data-ready="2"' in plain.stdout  # two timelines set up
    assert "10.00 s – 20.00 s" in zoomed.stdout and "10.00 s – 20.00 s" not in plain.stdout

    def first_x(dom: str) -> float:
        m = re.search(r'<rect data-s="[^"]+" data-e="[^"]+" x="([-0-9.]+)"', dom)
        assert m, dom[:500]
        return float(m.group(1))

    left = int(re.search(r'data-left="(\d+)"', plain.stdout).group(1))  # type: ignore[union-attr]
    assert first_x(plain.stdout) >= left
    assert first_x(zoomed.stdout) < left


def test_it_prints_without_its_controls(report: Path, tmp_path: Path) -> None:
    """Printed (print CSS): the zoom buttons and the section links are left out, the
    charts and tables are there, and long log lines wrap instead of being cut. Read back
    with pdftotext (poppler-utils, which make browser-test installs too)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("no pdftotext: `make browser-test` installs poppler-utils")
    pdf = tmp_path / "report.pdf"
    run = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    assert pdf.exists(), run.stderr[-2000:]
    assert console(run.stderr) == []
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Per-CPU timelines" in text and "cpu3 (node 0): pmem3" in text
    assert "Scaling" in text and "total time against nodes" in text
    words = " ".join(text.split())
    assert "zoom in zoom out whole run" not in words  # the buttons
    assert "Inputs Scenarios Kernels" not in words  # the section links
