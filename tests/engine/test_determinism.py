"""Same inputs, byte-identical outputs: `memmapsim compare --json --dmesg --plot` twice gives
the same JSON text, dmesg files and PNG bytes; the PNG carries no metadata text; the dmesg
lines are in the kernel's format."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from memmapsim.cli import main
from tests.clirunner import CliRunner

ARGS = ("compare", "duyck-2018", "--kernel", "4.18", "--kernel", "4.20", "--json")
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d{6}\] ")
PFN_LINE = re.compile(r"^\[\s*(\d+\.\d{6})\] pfn(\d)\.0 initialised, 792722944 pages in (\d{5})ms$")


Outputs = tuple[str, dict[str, str], bytes]


def compare_into(root: Path) -> Outputs:
    """Run the comparison writing into ``root``: stdout, dmesg files by name, PNG bytes."""
    dmesg, png = root / "dmesg", root / "timeline.png"
    result = CliRunner().invoke(main, [*ARGS, "--dmesg", str(dmesg), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    logs = {p.name: p.read_text() for p in sorted(dmesg.iterdir())}
    return result.stdout, logs, png.read_bytes()


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outputs, Outputs]:
    """The comparison run twice, into two fresh directories."""
    return (
        compare_into(tmp_path_factory.mktemp("a")),
        compare_into(tmp_path_factory.mktemp("b")),
    )


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        types.append(data[i + 4 : i + 8])
        i += 12 + n
    return types


def test_same_inputs_give_byte_identical_outputs(twice: tuple[Outputs, Outputs]) -> None:
    """JSON text, dmesg files and PNG bytes are identical between two runs."""
    a, b = twice
    assert a[0] == b[0]
    assert a[1] == b[1]
    assert a[2] == b[2]
    assert sorted(a[1]) == ["duyck-2018_4.18.dmesg", "duyck-2018_4.20.dmesg"]
    assert [r["kernel"] for r in json.loads(a[0])["runs"]] == ["4.18", "4.20"]


def test_png_has_no_metadata_text(twice: tuple[Outputs, Outputs]) -> None:
    """No Software/date text: no tEXt, zTXt, iTXt or tIME chunk, no matplotlib version."""
    _out, _logs, png = twice[0]
    chunks = png_chunks(png)
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    assert not {b"tEXt", b"zTXt", b"iTXt", b"tIME"} & set(chunks)
    assert b"Software" not in png
    assert b"matplotlib" not in png


def test_dmesg_lines_are_in_the_kernel_format(twice: tuple[Outputs, Outputs]) -> None:
    """Every line is ``[%5lu.%06lu] text``; 4.20 prints one "initialised" line per device, its
    timestamp no earlier than the pass it reports took, and in time order; the JSON carries
    the same lines."""
    out, logs, _png = twice[0]
    for text in logs.values():
        assert text == "" or text.endswith("\n")
        for line in text.splitlines():
            assert KERNEL_LINE.match(line), line
    lines = logs["duyck-2018_4.20.dmesg"].splitlines()
    matches = [PFN_LINE.match(line) for line in lines]
    assert all(matches), lines
    assert sorted(int(m[2]) for m in matches if m) == [0, 1, 2, 3]
    stamps = [float(m[1]) for m in matches if m]
    assert stamps == sorted(stamps)
    for m in matches:
        assert m is not None
        assert float(m[1]) >= int(m[3]) / 1000
        assert 23_000 <= int(m[3]) <= 38_000
    runs = json.loads(out)["runs"]
    assert runs[1]["dmesg"] == lines
    assert runs[0]["dmesg"] == logs["duyck-2018_4.18.dmesg"].splitlines()


def test_another_process_with_another_hash_seed_gives_the_same_bytes(
    twice: tuple[Outputs, Outputs], tmp_path: Path
) -> None:
    """Output does not depend on the interpreter's string-hash seed (set/dict order)."""
    dmesg, png = tmp_path / "dmesg", tmp_path / "timeline.png"
    cmd = [sys.executable, "-m", "memmapsim.cli", *ARGS, "--dmesg", str(dmesg), "--plot", str(png)]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    out, logs, data = twice[0]
    assert proc.stdout == out
    assert {p.name: p.read_text() for p in dmesg.iterdir()} == logs
    assert png.read_bytes() == data
