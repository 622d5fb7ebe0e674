"""The saved results ``memmapsim report`` reads, checked field by field.

- ``run --json`` / ``run --save FILE``: one run;
- ``compare --json`` / ``compare --save FILE``: ``{"scenario" | "scenarios", "runs": [...]}``;
- ``validate --json --profile P``: ``{"profile", "summary", "figures", "not_covered"}``;
  ``validate --json``: ``{"profiles": [...]}``, one such object per profile;
- a sweep's Parquet file (:mod:`.sweepfile`), told by its first bytes (``PAR1``).

Only the fields the report uses are checked, with their types; other fields are allowed,
so results from a newer memmapsim that adds fields still read. A run without
``timeline`` (an in-order run) is drawn without a timeline. Anything else — a file that
is not JSON, JSON that is none of these, a field of the wrong type — is one
:class:`~memmapsim.errors.InputError` naming the file and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from memmapsim.config.files import check_regular, read_capped, stat_input
from memmapsim.config.schema import Finite, Open, convert
from memmapsim.errors import InputError
from memmapsim.report.sweepfile import SweepFile, is_parquet, read_sweep

MAX_JSON_BYTES = 256 << 20
"""A compare of many runs is a few MiB; far more is not a memmapsim result."""


class Interval(Open, frozen=True, kw_only=True):
    thread: str
    cpu: int
    node: int
    kind: str
    detail: str = ""
    start_s: Finite
    end_s: Finite
    locked: bool = False


class LockHold(Open, frozen=True, kw_only=True):
    lock: str
    thread: str
    start_s: Finite
    end_s: Finite


class Timeline(Open, frozen=True, kw_only=True):
    intervals: list[Interval]
    lock_holds: list[LockHold]


class NodeSpan(Open, frozen=True, kw_only=True):
    node: int
    init_s: Finite
    lock_wait_s: Finite
    lock_hold_s: Finite
    start_s: Finite
    finish_s: Finite


class MachineNode(Open, frozen=True, kw_only=True):
    id: int
    cpus: int
    dram: list[tuple[str, str]]


class Machine(Open, frozen=True, kw_only=True):
    description: str = ""
    nodes: list[MachineNode]


class Device(Open, frozen=True, kw_only=True):
    name: str
    kind: str
    node: int
    start: str
    size: str
    memmap: str
    present: bool = True
    pages_initialised: int
    struct_pages_written: int
    memmap_bytes: dict[str, int]


class Finding(Open, frozen=True, kw_only=True):
    invariant: str
    device: str
    pages: int
    pfns: list[tuple[str, str]]
    ranges: int
    message: str


class Run(Open, frozen=True, kw_only=True):
    scenario: str
    description: str = ""
    machine: Machine | None = None
    kernel: str
    release: str
    changes: list[str]
    devices: list[Device]
    findings: list[Finding]
    dmesg: list[str]
    total_s: Finite | None = None
    lock_hold_s: Finite | None = None
    nodes: list[NodeSpan] | None = None
    cost_profile: str | None = None
    timeline: Timeline | None = None


class Compare(Open, frozen=True, kw_only=True):
    runs: list[Run]


class FigureRow(Open, frozen=True, kw_only=True):
    id: str
    kind: str
    restates: str | None
    published: list[Finite]
    unit: str
    model: Finite
    error: Finite
    tolerance: list[Finite]
    status: str
    ok: bool
    how: str = ""


class NotCovered(Open, frozen=True, kw_only=True):
    id: str
    reason: str


class Validation(Open, frozen=True, kw_only=True):
    profile: str
    summary: dict[str, int]
    figures: list[FigureRow]
    not_covered: list[NotCovered]


class Validations(Open, frozen=True, kw_only=True):
    profiles: list[Validation]


@dataclass(frozen=True)
class RunInput:
    source: str
    """The file, and the run's place in it for a compare."""
    run: Run


@dataclass
class Inputs:
    """Everything read, in the order the files were given."""

    files: list[tuple[str, str]] = field(default_factory=list)
    """(file, what it holds) per input file."""
    runs: list[RunInput] = field(default_factory=list)
    validations: list[tuple[str, Validation]] = field(default_factory=list)
    sweeps: list[SweepFile] = field(default_factory=list)


def read_inputs(paths: list[str]) -> Inputs:
    out = Inputs()
    for path in paths:
        if is_parquet(path):
            sw = read_sweep(path)
            out.sweeps.append(sw)
            out.files.append((path, f"sweep {sw.meta['name']}: {sw.table.num_rows:,} rows"))
            continue
        raw = _read(path)
        data = _parse(raw, path)
        if isinstance(data, dict) and "runs" in data:
            cmp = convert(data, Compare, path)
            if not cmp.runs:
                raise InputError(path, "runs", "no runs")
            out.runs += [RunInput(f"{path} (run {i})", r) for i, r in enumerate(cmp.runs)]
            out.files.append((path, f"compare: {len(cmp.runs)} runs"))
        elif isinstance(data, dict) and "figures" in data and "profile" in data:
            v = convert(data, Validation, path)
            out.validations.append((path, v))
            out.files.append((path, f"validation of cost profile {v.profile}"))
        elif isinstance(data, dict) and set(data) == {"profiles"}:
            vs = convert(data, Validations, path)
            out.validations += [(path, v) for v in vs.profiles]
            out.files.append(
                (path, "validation of cost profiles " + ", ".join(v.profile for v in vs.profiles))
            )
        elif isinstance(data, dict) and "scenario" in data and "kernel" in data:
            r = convert(data, Run, path)
            out.runs.append(RunInput(path, r))
            out.files.append((path, f"run: {r.scenario} on {r.kernel}"))
        else:
            raise InputError(
                path,
                None,
                "not a memmapsim result: expected the JSON of `memmapsim run --json`, "
                "`compare --json` or `validate --json`, or a sweep's Parquet file",
            )
    return out


def _read(path: str) -> str:
    check_regular(path, stat_input(path))
    too_big = f"larger than {MAX_JSON_BYTES >> 20} MiB: not a result"
    raw = read_capped(path, MAX_JSON_BYTES, too_big)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(path, None, f"not UTF-8 text (byte {e.start})") from None


def _parse(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            path, None, f"not JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except RecursionError:
        raise InputError(path, None, "not JSON: nested too deeply") from None
