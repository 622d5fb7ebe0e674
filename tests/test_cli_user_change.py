"""Change files on the command line: ``--kernel 5.16+./my_change.py`` and a scenario's
``kernel``; what is wrong in the file is one line naming it, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kernel.test_user_change import BUILTIN, EXAMPLE, HELPERS
from tests.scenario_text import NODE0, dev
from tests.test_cli import assert_one_line_error, invoke


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory for relative change-file paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def threads(run: dict[str, object]) -> set[str]:
    (device,) = run["devices"]  # type: ignore[misc]
    return {p["thread"] for c in device["pfn_classes"] for h in c["histories"] for p in h["passes"]}


def test_syntax_error(here: Path) -> None:
    (here / "my_change.py").write_text("PATHS = {\n")
    result = invoke("run", "tiny-pmem", "--kernel", "5.16+./my_change.py")
    line = assert_one_line_error(result, "./my_change.py:1")
    assert "SyntaxError" in line


def test_unknown_code_path(here: Path) -> None:
    (here / "my_change.py").write_text(f"{BUILTIN}PATHS = {{'memmap_init': builtin}}\n")
    result = invoke("run", "tiny-pmem", "--kernel", "5.16+./my_change.py")
    line = assert_one_line_error(result, "./my_change.py:2")
    assert "unknown code path 'memmap_init'" in line and "memmap_init_zone_device" in line


def test_exception_in_a_user_function(here: Path) -> None:
    (here / "my_change.py").write_text(
        f"""{BUILTIN}

def mizd(k, nid, start_pfn, size, pgmap):
    yield from builtin(k, nid, start_pfn, size, pgmap)
    x = size / 0


PATHS = {{"memmap_init_zone_device": mizd}}
"""
    )
    result = invoke("run", "tiny-pmem", "--kernel", "5.16+./my_change.py")
    line = assert_one_line_error(result, "./my_change.py:6")
    assert line.endswith("ZeroDivisionError: division by zero (in memmap_init_zone_device)")


def test_missing_file(here: Path) -> None:
    result = invoke("run", "tiny-pmem", "--kernel", "5.16+./my_change.py")
    line = assert_one_line_error(result, "./my_change.py")
    assert line.endswith("no such file (a relative path is from the current directory)")


def test_run_json_with_the_example() -> None:
    result = invoke("run", "tiny-pmem", "--kernel", f"5.16+{EXAMPLE}", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kernel"] == f"5.16+{EXAMPLE}"
    assert threads(data) == {"pmem0", *HELPERS}


def test_compare_tells_the_change_file_from_the_release() -> None:
    result = invoke("compare", "tiny-pmem", "-k", "5.16", "-k", f"5.16+{EXAMPLE}", "--json")
    assert result.exit_code == 0, result.output
    plain, mine = json.loads(result.stdout)["runs"]
    assert threads(plain) == {"pmem0"} and threads(mine) == {"pmem0", *HELPERS}


def test_scenario_kernel_names_a_change_file(here: Path) -> None:
    (here / "changes").mkdir()
    (here / "changes" / "mt.py").write_text(EXAMPLE.read_text())
    text = f'name = "t"\nkernel = "5.16+changes/mt.py"\n{NODE0}{dev("pmem0", "1G", "256M")}'
    (here / "s.toml").write_text(text)
    result = invoke("run", "s.toml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kernel"] == "5.16+changes/mt.py"
    assert threads(data) == {"pmem0", *HELPERS}
