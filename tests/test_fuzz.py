"""Fuzzing the command line: every built-in scenario and cost profile, mutated, through
``run``, ``compare``, ``trace``, ``page`` and ``sweep`` (the scenario as a sweep's base,
the profile as one of its axis values) in process, on the runs backend; and saved results
(``run``/``compare``/``validate`` JSON and a sweep's Parquet file), mutated, through
``report``.

Whatever the input, a case must end with exit 0, or exit 2 and exactly one line on
stderr; never a traceback, never another status, and never more than
:data:`CASE_LIMIT_S` seconds. Mutations: values replaced by other types, sizes scaled,
unicode, huge, negative and non-finite numbers, keys deleted, unknown keys added,
array entries duplicated, and byte-level edits of the TOML text (deleted, inserted,
flipped bytes, duplicated lines). The corpus is whatever ``builtin_names()`` and
``builtin_profiles()`` list, so a new scenario or profile joins it by being added.

In ``make test`` a fixed, derandomized set of :data:`CI_EXAMPLES` cases runs; ``make fuzz``
sets ``MEMMAPSIM_FUZZ_EXAMPLES`` (10,000 by default) and a random seed.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import signal
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memmapsim.cli import main
from memmapsim.config.scenario import BUILTIN_DIR, builtin_names, load_scenario
from memmapsim.config.schema import to_data
from memmapsim.engine.costs import PROFILE_DIR, builtin_profiles, load_profile
from memmapsim.kernel.versions import CHANGES, RELEASES
from tests.clirunner import CliRunner

CI_EXAMPLES = 600
EXAMPLES = int(os.environ.get("MEMMAPSIM_FUZZ_EXAMPLES", "0"))
CASE_LIMIT_S = 10.0
PREFIX = "memmapsim: error: "

SCENARIOS = {n: (BUILTIN_DIR / f"{n}.toml").read_text() for n in builtin_names()}
PROFILES = {n: (PROFILE_DIR / f"{n}.toml").read_text() for n in builtin_profiles()}
KERNELS = [
    *RELEASES,
    *(f"{r}+{c}" for r in RELEASES for c, ch in CHANGES.items() if ch.selectable),
    "4.18+nonatomic-reserved+defer-zone-device",
    "4.18+nonatomic-reserved+defer-zone-device-v5",
]

# --- values -----------------------------------------------------------------------------------
SIZES = st.sampled_from(
    ["0", "4K", "2M", "128M", "1G", "3T", "1P", "64T", "-1G", "1.5G", "0x", "1Q", "0x1_0000", "½G"]
)
NASTY_FLOATS = st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 1e-300, -0.0, 0.5])
NASTY_INTS = st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 4096, 1 << 40, 1023, 1024])
TEXT = st.text(max_size=40)
LEAF: st.SearchStrategy[Any] = st.one_of(
    NASTY_INTS,
    st.integers(),
    NASTY_FLOATS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    SIZES,
    TEXT,
    st.text(alphabet="[]$/\\.:\u202e\u0000\n\"'{}", max_size=12),
    st.sampled_from(["fsdax", "devdax", "device-private", "ram", "device", "4.18", "4.20", "-"]),
)
VALUE: st.SearchStrategy[Any] = st.one_of(
    LEAF,
    st.lists(LEAF, max_size=3),
    st.dictionaries(st.sampled_from(["start", "size", "id", "x"]), LEAF, max_size=3),
)


KEYS = [
    # unknown ones, and every key the scenario and profile schemas know, so a mutation
    # can add a key a built-in leaves to its default
    *("extra", "source", "name", "description", "kernel", "id", "cpus", "dram", "start"),
    *("size", "kind", "node", "memmap", "align", "five_level_paging", "debug_vm"),
    *("vm_debug", "hz", "registration_node", "cost_profile", "probe_start_s", "ns", "value"),
    *("figure", "note", "dram_gbps", "pmem_gbps", "printk", "step", "poison", "remote"),
]


# --- structural mutations of the parsed TOML ---------------------------------------------------
def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path into the document (tables and arrays, then their members)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from paths(v, (*prefix, i))


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        doc = doc[p]
    return doc


def nasty_like(v: Any) -> st.SearchStrategy[Any]:
    """Extreme values of the same TOML type as ``v`` (the ones a schema must bound)."""
    if isinstance(v, bool):
        return st.one_of(NASTY_INTS, SIZES)
    if isinstance(v, float):
        return NASTY_FLOATS
    if isinstance(v, int):
        return st.one_of(NASTY_INTS, NASTY_FLOATS)
    if isinstance(v, str):
        return st.one_of(SIZES, st.text(alphabet="[]$/\\.:\u202e\u0000\n\"'{}", max_size=12))
    return VALUE


@functools.cache
def complete(name: str, kind: str) -> str:
    """The corpus entry with every default written out, so mutations reach the keys a
    built-in leaves to its default (knobs.probe_start_s, a device's align, ...)."""
    if kind == "scenario":
        return tomllib_dump(load_scenario(name).data(drop_none=True))
    return tomllib_dump(to_data(load_profile(name), drop_none=True))


@st.composite
def mutated_doc(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        all_paths = list(paths(doc))
        if not all_paths:
            break
        path = draw(st.sampled_from(all_paths))
        parent, key = parent_of(doc, path), path[-1]
        op = draw(
            st.sampled_from(["nasty", "replace", "delete", "duplicate", "add", "scale", "negate"])
        )
        if op == "nasty":
            parent[key] = draw(nasty_like(parent[key]))
        elif op == "replace":
            parent[key] = draw(VALUE)
        elif op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == "duplicate" and isinstance(parent, dict):
            parent[f"{key}_copy"] = parent[key]
        elif op == "add" and isinstance(parent[key], dict):
            parent[key][draw(st.sampled_from(KEYS))] = draw(VALUE)
        elif (
            op == "scale"
            and isinstance(parent[key], int | float)
            and not isinstance(parent[key], bool)
        ):
            parent[key] = parent[key] * draw(st.sampled_from([0, 2, 1024, 2**40, 10**300]))
        elif op == "scale" and isinstance(parent[key], str):
            parent[key] = parent[key] + draw(st.sampled_from(["", "0", "000", "K", "T", "P"]))
        elif op == "negate" and isinstance(parent[key], int | float):
            parent[key] = -parent[key]
    return doc


# --- TOML writing (inline tables only: always valid TOML) ---------------------------------------
def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        # TOML integers are 64-bit: write a bigger one as a string (still a size).
        return str(v) if -(2**63) <= v < 2**63 else f'"{v}"'
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        out = []
        for ch in v:
            if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            elif 0xD800 <= ord(ch) <= 0xDFFF:
                out.append("?")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def toml_key(k: str) -> str:
    return k if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k) else toml_value(k)


def tomllib_dump(doc: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


# --- byte-level edits --------------------------------------------------------------------------
@st.composite
def byte_edits(draw: st.DrawFn, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        n = len(data)
        i = draw(st.integers(0, max(n - 1, 0)))
        op = draw(st.sampled_from(["delete", "insert", "flip", "dupline", "truncate"]))
        if op == "delete":
            data = data[:i] + data[i + draw(st.integers(1, 16)) :]
        elif op == "insert":
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
        elif op == "flip" and n:
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        elif op == "dupline":
            lines = data.splitlines(keepends=True)
            if lines:
                j = draw(st.integers(0, len(lines) - 1))
                data = b"".join([*lines[: j + 1], lines[j], *lines[j + 1 :]])
        elif op == "truncate":
            data = data[:i]
    return data


@st.composite
def input_file(draw: st.DrawFn, kind: str) -> tuple[str, bytes]:
    """A corpus entry, mutated structurally, as bytes, or its raw text edited bytewise."""
    texts = SCENARIOS if kind == "scenario" else PROFILES
    name = draw(st.sampled_from(sorted(texts)))
    text = texts[name]
    how = draw(st.sampled_from(["none", "structure", "complete", "bytes", "both"]))
    if how == "complete":
        text = complete(name, kind)
    if how in ("structure", "complete", "both"):
        text = tomllib_dump(draw(mutated_doc(tomllib.loads(text))))
    data = text.encode("utf-8", "surrogatepass")
    if how in ("bytes", "both"):
        data = draw(byte_edits(data))
    return name, data


KERNEL_ARG = st.one_of(st.sampled_from(KERNELS), st.text(max_size=30))
PFN_ARG = st.one_of(
    st.integers(0, 1 << 40).map(hex),
    st.sampled_from(["0x40600", "0x40000", "0x100", "-1", "0x1000000000000", "zz", ""]),
    st.text(max_size=12),
)


@functools.cache
def results() -> dict[str, bytes]:
    """Saved results, as ``memmapsim report`` reads them (made once, when first drawn)."""
    import tempfile

    out = {
        "run": runner.invoke(main, ["run", "tiny-pmem", "--json"]).stdout.encode(),
        "compare": runner.invoke(
            main, ["compare", "tiny-hmm", "-k", "5.0", "-k", "6.6", "--json"]
        ).stdout.encode(),
        "validate": runner.invoke(
            main, ["validate", "--json", "--profile", "modern-x86"]
        ).stdout.encode(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        spec, parquet = Path(tmp) / "s.toml", Path(tmp) / "s.parquet"
        spec.write_text('base = "tiny-pmem"\n[axes]\nkernel = ["4.18", "4.20"]\nnodes = [1, 2]\n')
        runner.invoke(main, ["sweep", str(spec), "-o", str(parquet), "-j", "1"])
        out["sweep"] = parquet.read_bytes()
    return out


@st.composite
def result_file(draw: st.DrawFn) -> bytes:
    """A saved result, its JSON mutated structurally or its bytes edited."""
    kind = draw(st.sampled_from(sorted(results())))
    data = results()[kind]
    how = draw(st.sampled_from(["none", "structure", "bytes"] if kind != "sweep" else ["bytes"]))
    if how == "structure":
        data = json.dumps(draw(mutated_doc(json.loads(data)))).encode()
    elif how == "bytes":
        data = draw(byte_edits(data))
    return data


SWEEP_SPEC = """base = "{S}"
[axes]
kernel = [{kernels}]
"""


@st.composite
def case(draw: st.DrawFn) -> tuple[list[str], bytes, bytes | None, bytes | None]:
    """(command line with placeholders S, P and X for the files, scenario bytes, profile,
    the third file: a sweep's SPEC, with {S} and {P} for the paths, or a saved result)."""
    target = draw(st.sampled_from(["scenario", "profile"]))
    if target == "scenario":
        _name, scenario = draw(input_file("scenario"))
        profile: bytes | None = None
        profile_args: list[str] = []
    else:
        scenario = SCENARIOS[draw(st.sampled_from(sorted(SCENARIOS)))].encode()
        _name, profile = draw(input_file("profile"))
        profile_args = ["--profile", "P"]
    command = draw(st.sampled_from(["run", "compare", "trace", "page", "sweep", "report"]))
    kernel = ["--kernel", draw(KERNEL_ARG)] if draw(st.booleans()) else []
    extra: bytes | None = None
    if command == "run":
        args = ["run", "S", *kernel, *profile_args, *draw(st.sampled_from([[], ["--json"]]))]
    elif command == "compare":
        a, b = draw(st.lists(KERNEL_ARG, min_size=2, max_size=2))
        args = ["compare", "S", "-k", a, "-k", b, *profile_args, "--json"]
    elif command == "trace":
        engine = ["--engine", "timing"] if profile is not None or draw(st.booleans()) else []
        args = ["trace", "S", *kernel, *engine, *profile_args]
    elif command == "sweep":
        kernels = draw(st.lists(KERNEL_ARG, min_size=1, max_size=2, unique=True))
        spec = SWEEP_SPEC.replace("{kernels}", ", ".join(json.dumps(k) for k in kernels))
        if profile is not None:
            spec += 'profile = ["{P}"]\n'
        extra = spec.encode()
        args = ["sweep", "X", "-o", "O", "--jobs", "1"]
    elif command == "report":
        extra = draw(result_file())
        args = ["report", "X", "-o", "H"]
    else:
        scenario_args = ["page", "S", draw(PFN_ARG), *kernel, "--json"]
        args = scenario_args if profile is None else ["run", "S", *profile_args]
    return args, scenario, profile, extra


class CaseTimeoutError(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Stop a case that runs far past the limit (a hang is a failure, not a stuck CI)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeoutError(f"case still running after {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


runner = CliRunner()
STATS: dict[str, int] = {"cases": 0, "exit 0": 0, "exit 2": 0}


def check_case(
    tmp: Path, args: list[str], scenario: bytes, profile: bytes | None, extra: bytes | None = None
) -> None:
    spath, ppath, xpath = tmp / "s.toml", tmp / "p.toml", tmp / "x"
    opath, hpath = tmp / "o.parquet", tmp / "o.html"
    for old in (opath, Path(f"{opath}.journal"), hpath):
        old.unlink(missing_ok=True)
    spath.write_bytes(scenario)
    if profile is not None:
        ppath.write_bytes(profile)
    if extra is not None and args[0] == "sweep":
        extra = extra.replace(b"{S}", str(spath).encode()).replace(b"{P}", str(ppath).encode())
    if extra is not None:
        xpath.write_bytes(extra)
    paths = {"S": spath, "P": ppath, "X": xpath, "O": opath, "H": hpath}
    argv = [str(paths[a]) if a in paths else a for a in args]
    start = time.monotonic()
    with time_limit(3 * CASE_LIMIT_S):
        result = runner.invoke(main, argv)
    took = time.monotonic() - start
    STATS["cases"] += 1
    shown = (
        f"{argv}\n--- scenario:\n{scenario[:3000]!r}\n--- profile:\n{(profile or b'')[:3000]!r}"
        f"\n--- third file:\n{(extra or b'')[:3000]!r}"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{shown}\n{result.exc_info}"
    )
    assert "Traceback" not in result.output, shown
    assert result.exit_code in (0, 2), f"{shown}\n{result.output}"
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, f"{shown}\n{result.stderr}"
        assert lines[0].startswith(PREFIX), f"{shown}\n{result.stderr}"
        assert result.stdout == "", shown
    STATS[f"exit {result.exit_code}"] += 1
    assert took <= CASE_LIMIT_S, f"{shown}\ntook {took:.1f} s"


def test_the_corpus_is_every_builtin() -> None:
    assert set(SCENARIOS) == set(builtin_names()) and len(SCENARIOS) >= 2
    assert set(PROFILES) == set(builtin_profiles()) and PROFILES


def test_fuzz_the_command_line(tmp_path: Path) -> None:
    n = EXAMPLES or CI_EXAMPLES
    seeded = EXAMPLES == 0

    @settings(
        max_examples=n,
        deadline=None,
        derandomize=seeded,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case())
    def fuzz(c: tuple[list[str], bytes, bytes | None, bytes | None]) -> None:
        check_case(tmp_path, *c)

    for key in STATS:
        STATS[key] = 0
    start = time.monotonic()
    fuzz()
    took = time.monotonic() - start
    summary = (
        f"fuzz: {STATS['cases']} cases in {took:.0f} s "
        f"({STATS['exit 0']} exit 0, {STATS['exit 2']} exit 2)"
    )
    print(summary)
    assert STATS["cases"] >= n
    assert STATS["exit 0"] > 0 and STATS["exit 2"] > 0
