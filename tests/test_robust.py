"""Issue 10: inputs that once ended in a traceback, output paths that escaped or were
silently changed, and errors that were not one line. Each crash is reproduced here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memmapsim import cli
from memmapsim.cli import main
from memmapsim.engine.costs import PROFILE_DIR
from memmapsim.report import outputs
from memmapsim.report.outputs import dmesg_file_names, safe_file_name
from tests.clirunner import CliRunner, Result
from tests.scenario_text import dev
from tests.test_cli import PREFIX, assert_one_line_error, scenario

runner = CliRunner()
PROFILE = PROFILE_DIR / "xeon-2018-pmem.toml"
TINY = scenario(dev("pmem0", "1G", "200M"))


def invoke(*args: str) -> Result:
    return runner.invoke(main, list(args))


def write(tmp_path: Path, text: str | bytes, name: str = "s.toml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def one_line(result: Result) -> str:
    """Exit 2, nothing on stdout, one line on stderr with the prefix."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(PREFIX)
    return line


def named(name: str, device: str = "pmem0") -> str:
    """tiny-pmem's machine with the scenario and its device named as given (TOML-escaped)."""
    text = scenario(dev(device, "1G", "200M"))
    return text.replace('name = "t"', f"name = {_toml_str(name)}", 1)


def _toml_str(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def profile_with(old: str, new: str) -> str:
    text = PROFILE.read_text()
    assert old in text
    return text.replace(old, new, 1)


# --- 1. the crashes ------------------------------------------------------------------------


@pytest.mark.parametrize("option", [[], ["--profile"]], ids=["scenario", "profile"])
def test_a_file_name_too_long_for_the_os(option: list[str]) -> None:
    """Was OSError (ENAMETOOLONG) from Path.exists(), for a scenario and a profile."""
    long_name = "a" * 300 + ".toml"
    args = ["run", long_name] if not option else ["run", "tiny-pmem", *option, long_name]
    line = one_line(invoke(*args))
    assert line.startswith(PREFIX + "a" * 20)
    assert line.endswith(": file name too long")
    assert len(line) < 200


@pytest.mark.parametrize("command", [["run"], ["compare", "-k", "4.18", "-k", "4.20"]])
@pytest.mark.parametrize("where", ["scenario", "device"])
def test_square_brackets_in_names_are_shown_as_written(
    tmp_path: Path, command: list[str], where: str
) -> None:
    """Was a rich MarkupError for "[/red]"; "[bold]x" was silently shown as "x"."""
    for name in ("[/red]", "[bold]x"):
        text = named(name) if where == "scenario" else named("t", device=name)
        result = invoke(command[0], write(tmp_path, text), *command[1:])
        assert result.exit_code == 0, result.output
        assert name in result.stdout


def test_a_nul_byte_in_a_name_is_refused(tmp_path: Path) -> None:
    """Was ValueError ("embedded null byte") when --dmesg built the file name."""
    path = write(tmp_path, named("a\0b"))
    out = tmp_path / "dmesg"
    result = invoke("compare", path, "-k", "4.18", "-k", "4.20", "--dmesg", str(out))
    line = assert_one_line_error(result, f"{path}: name")
    assert "control character" in line
    assert not out.exists()


@pytest.mark.parametrize("value", ["inf", "1e300", "nan"])
def test_probe_start_s_must_be_a_sane_number(tmp_path: Path, value: str) -> None:
    """inf was an OverflowError in --json; 1e300 printed 300-digit timestamps."""
    path = write(tmp_path, TINY + f"\n[knobs]\nprobe_start_s = {value}\n")
    assert_one_line_error(invoke("run", path, "--json"), f"{path}: knobs.probe_start_s")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("ns = 28.762", "ns = 1e308", "costs.init_single_page.ns"),
        ("pmem_gbps = 10.0", "pmem_gbps = 1e-300", "bandwidth.pmem_gbps"),
        ("value = 1.419", "value = 1e300", "factors.remote.value"),
        ("printk = 5000.0", "printk = 1e308", "fixed_ns.printk"),
    ],
)
def test_profile_numbers_that_overflow_time_are_refused(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    """Were OverflowError (infinite jiffies) in the timing engine."""
    path = write(tmp_path, profile_with(old, new), "p.toml")
    assert_one_line_error(invoke("run", "duyck-2018", "--profile", path), f"{path}: {field}")


def test_a_profile_that_is_not_utf8(tmp_path: Path) -> None:
    """Was a UnicodeDecodeError traceback (the scenario loader handled it)."""
    path = write(tmp_path, b"\xff\xfe" + PROFILE.read_bytes(), "p.toml")
    line = assert_one_line_error(invoke("run", "tiny-pmem", "--profile", path), path)
    assert "not UTF-8" in line and "codec" not in line


@pytest.mark.parametrize("option", [[], ["--profile"]], ids=["scenario", "profile"])
def test_a_device_file_is_not_read(option: list[str]) -> None:
    """`memmapsim run /dev/zero` read without bound (MemoryError or an OOM kill)."""
    args = ["run", "/dev/zero"] if not option else ["run", "tiny-pmem", *option, "/dev/zero"]
    line = assert_one_line_error(invoke(*args), "/dev/zero")
    assert "not a regular file" in line


def test_a_file_too_large_is_not_read(tmp_path: Path) -> None:
    path = write(tmp_path, TINY + "#" * (2 << 20))
    assert "larger than" in assert_one_line_error(invoke("run", path), path)


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF"), (".png", b"\x89PNG")]
)
def test_plot_formats_by_suffix(tmp_path: Path, suffix: str, magic: bytes) -> None:
    """.svg failed on the PNG metadata key and left a truncated file."""
    out = tmp_path / f"x{suffix}"
    result = invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [out.name]


@pytest.mark.parametrize("name", ["x.txt", "x", "X.PNG.bak"])
def test_plot_refuses_other_suffixes_before_simulating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """x.txt was a matplotlib ValueError traceback after the whole simulation."""
    monkeypatch.setattr(cli, "simulate", _no_simulation)
    out = tmp_path / name
    result = invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--plot", str(out))
    line = assert_one_line_error(result, f"--plot: {out}")
    assert ".png, .svg or .pdf" in line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["a$^$", "$x", "a$\\frac$b"])
def test_dollar_signs_in_names_with_plot(tmp_path: Path, name: str) -> None:
    """Was a mathtext ParseFatalException: names are plain text in the plot."""
    path = write(tmp_path, named(name, device=name))
    out = tmp_path / "t.png"
    result = invoke("compare", path, "-k", "4.18", "-k", "4.20", "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")


# --- 2. output paths -----------------------------------------------------------------------


def _no_simulation(*args: object, **kwargs: object) -> None:
    raise AssertionError("simulated before checking the output paths")


def _files_under(root: Path) -> set[Path]:
    return {Path(d, f) for d, _dirs, files in os.walk(root) for f in files}


def test_a_scenario_name_does_not_escape_the_dmesg_directory(tmp_path: Path) -> None:
    """name = "../../escaped" wrote two directories up."""
    path = write(tmp_path, named("../../escaped"))
    out = tmp_path / "a" / "b" / "dmesg"
    out.mkdir(parents=True)
    result = invoke("compare", path, "-k", "4.18", "-k", "4.20", "--dmesg", str(out))
    assert result.exit_code == 0, result.output
    assert _files_under(tmp_path) == {
        Path(path),
        out / "_.._escaped_4.18.dmesg",
        out / "_.._escaped_4.20.dmesg",
    }


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=300), st.lists(st.text(max_size=80), min_size=1, max_size=4))
def test_generated_names_stay_in_the_directory(scenario_name: str, kernels: list[str]) -> None:
    """Whatever the scenario and kernel names, each file name is one path component,
    not hidden, at most 255 bytes, without NUL, and no two are the same."""
    names = dmesg_file_names(scenario_name, kernels)
    assert len(set(names)) == len(names) == len(kernels)
    for n in names:
        assert Path(n).name == n and n not in ("", ".", "..")
        assert not n.startswith(".") and "/" not in n and "\0" not in n
        assert len(n.encode()) <= 255 and n.endswith(".dmesg")
    assert safe_file_name(scenario_name) == safe_file_name(safe_file_name(scenario_name))


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.one_of(
        st.lists(st.sampled_from(["..", "/", ".", "a", "$", "[b]", "é", " ", "-", "~", "\\"]))
        .map("".join)
        .filter(bool),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
            min_size=1,
            max_size=300,
        ),
    )
)
def test_no_generated_name_writes_outside_the_directory(tmp_path: Path, name: str) -> None:
    """End to end: whatever a scenario and its device are named, compare --dmesg writes
    only inside the directory it was given (or refuses the name in one line)."""
    root = tmp_path / f"case{abs(hash(name))}"
    inner = root / "x" / "y"
    inner.mkdir(parents=True)
    src = root / "s.toml"
    src.write_text(named(name, device=name[:50]))
    out = inner / "dmesg"
    result = invoke("compare", str(src), "-k", "4.18", "-k", "4.20", "--dmesg", str(out))
    if result.exit_code == 2:
        assert len(result.stderr.splitlines()) == 1
        assert _files_under(root) == {src}
        return
    assert result.exit_code == 0, result.output
    written = _files_under(root) - {src}
    assert len(written) == 2
    assert {p.parent for p in written} == {out}


def test_dmesg_refuses_an_empty_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """--dmesg '' wrote into the current directory (typer made it Path('.'))."""
    monkeypatch.setattr(cli, "simulate", _no_simulation)
    line = assert_one_line_error(
        invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--dmesg", ""), "--dmesg"
    )
    assert "empty" in line


def test_dmesg_into_a_file_says_not_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "simulate", _no_simulation)
    f = tmp_path / "f"
    f.write_text("keep")
    result = invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--dmesg", str(f))
    assert "not a directory" in assert_one_line_error(result, f"--dmesg: {f}")
    assert f.read_text() == "keep"


def test_plot_into_a_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "simulate", _no_simulation)
    d = tmp_path / "d.png"
    d.mkdir()
    result = invoke("compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--plot", str(d))
    assert "is a directory" in assert_one_line_error(result, f"--plot: {d}")


def test_a_failing_command_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs are renamed into place only after every write succeeded: a plot that fails
    to render leaves neither the plot nor the dmesg files (nor the directory made for them)."""
    write_file = outputs.write_file

    def disk_full_at_the_plot(path: Path, data: bytes) -> None:
        if ".png" in path.name:
            raise OSError(28, "No space left on device")
        write_file(path, data)

    monkeypatch.setattr(outputs, "write_file", disk_full_at_the_plot)
    out, png = tmp_path / "new" / "dmesg", tmp_path / "t.png"
    result = invoke(
        "compare", "tiny-pmem", "-k", "4.18", "-k", "4.20", "--dmesg", str(out), "--plot", str(png)
    )
    assert "cannot write: no space left on device" in assert_one_line_error(result, f"{png}")
    assert os.listdir(tmp_path) == []


# --- 3. one-line errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["compare", "tiny-pmem"], "missing option '--kernel'"),
        (["page", "tiny-pmem", "-5"], "-5 is outside the machine's pfns"),
        (["page", "tiny-pmem", "0x40000", "-x"], "no such option: -x"),
        (["explore", "tiny-pmem", "--depth", "x"], "--depth: expected an integer, got 'x'"),
        (["sweep", "s.toml", "-j", "0"], "--jobs: must be at least 1, got 0"),
        (["page", "tiny-pmem", "0x40000", "extra"], "unexpected argument 'extra'"),
        (["run", "tiny-pmem", "--bogus"], "no such option: --bogus"),
        (["run"], "missing argument 'SCENARIO'"),
        (["frobnicate"], "no such command 'frobnicate' (commands: run, compare,"),
        (["run", "tiny-pmem", "--kernel"], "option '--kernel' requires an argument"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], fragment: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(PREFIX)
    assert fragment.lower() in line.lower()


@pytest.mark.parametrize(
    ("field", "text", "fragment"),
    [
        ("knobs.debug_vm", TINY + "\n[knobs]\ndebug_vm = 1\n", "expected true or false, got 1"),
        ("devices[0].size", scenario(dev("pmem0", "1G", True)), "got true"),
        ("devices[0].kind", scenario(dev("pmem0", "1G", "2M", kind="nvme")), '"fsdax"'),
        (
            "machine.nodes[0].cpus",
            TINY.replace("cpus = 4", 'cpus = "4"'),
            'expected an integer, got "4"',
        ),
    ],
)
def test_messages_speak_toml(tmp_path: Path, field: str, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    line = assert_one_line_error(invoke("run", path), f"{path}: {field}")
    assert fragment in line
    assert "True" not in line and "Input should" not in line


def test_a_directory_is_not_errno(tmp_path: Path) -> None:
    line = assert_one_line_error(invoke("run", str(tmp_path)), str(tmp_path))
    assert line.endswith("is a directory") and "Errno" not in line


def test_a_scenario_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, TINY.encode().replace(b"pmem0", b"pm\xffem0"))
    line = assert_one_line_error(invoke("run", path), path)
    assert "not UTF-8 text: byte 0xff at line 10, column 11" in line and "codec" not in line


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf" + TINY.encode())
    assert invoke("run", path, "--json").exit_code == 0
    prof = write(tmp_path, b"\xef\xbb\xbf" + PROFILE.read_bytes(), "p.toml")
    assert invoke("run", path, "--profile", prof, "--json").exit_code == 0


@pytest.mark.parametrize(
    ("text", "args"),
    [
        (TINY, ["--kernel", "4.20+" + "x" * 5000]),
        (TINY.replace('kernel = "4.20"', 'kernel = "' + "y" * 5000 + '"'), []),
        (scenario(dev("pmem0", "1G", "z" * 5000)), []),
        (scenario(dev("p" * 5000, "1G", "200M"), dev("p" * 5000, "2G", "200M")), []),
    ],
)
def test_long_values_are_cut(tmp_path: Path, text: str, args: list[str]) -> None:
    path = write(tmp_path, text)
    line = one_line(invoke("run", path, *args))
    assert len(line) < 400, len(line)
    assert "…" in line


def test_control_characters_never_break_the_line(tmp_path: Path) -> None:
    """A file name with a newline and an escape sequence is named on one line."""
    path = write(tmp_path, 'name = "t\n', "bad\n\x1b[31mname.toml")
    line = one_line(invoke("run", path))
    assert "\\n\\u001b[31mname.toml: not valid TOML" in line


# --- 4. say no to what is meaningless --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "where", "fragment"),
    [
        (["run", "tiny-pmem", "-k", "4.18", "-k", "4.20"], "--kernel", "once"),
        (["trace", "tiny-pmem", "-k", "4.18", "-k", "4.20"], "--kernel", "once"),
        (["page", "tiny-pmem", "0", "-k", "4.18", "-k", "4.18"], "--kernel", "once"),
        (["compare", "tiny-pmem", "-k", "4.20", "-k", " 4.20 "], "--kernel", "same kernel"),
        (["validate", "--markdown", "--json"], "--markdown", "--json"),
        (
            ["run", "tiny-pmem", "--engine", "inorder", "--profile", "xeon-2018-pmem"],
            "--profile",
            "timing",
        ),
        (["trace", "tiny-pmem", "--profile", "xeon-2018-pmem"], "--profile", "timing"),
    ],
)
def test_meaningless_options_are_refused(args: list[str], where: str, fragment: str) -> None:
    assert fragment in assert_one_line_error(invoke(*args), where)


@pytest.mark.parametrize(
    "args", [["run"], ["compare", "-k", "4.18", "-k", "4.20"], ["trace"], ["page", "0"]]
)
def test_a_scenario_without_devices_is_refused(tmp_path: Path, args: list[str]) -> None:
    path = write(tmp_path, scenario())
    line = assert_one_line_error(invoke(args[0], path, *args[1:]), f"{path}: devices")
    assert "no devices" in line


def test_device_private_memmap_defaults_to_ram(tmp_path: Path) -> None:
    path = write(tmp_path, scenario(dev("gpu0", "1G", "256M", kind="device-private")))
    result = invoke("run", path, "--json")
    assert result.exit_code == 0, result.output
    assert '"memmap": "ram"' in result.stdout
    explicit = write(
        tmp_path, scenario(dev("g", "1G", "256M", kind="device-private", memmap="device")), "e.toml"
    )
    assert "memmap must be in ram" in assert_one_line_error(
        invoke("run", explicit), f"{explicit}: devices[0].memmap"
    )
