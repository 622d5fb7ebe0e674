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

from pydantic import BaseModel, ConfigDict, ValidationError

from memmapsim.config.files import check_regular, read_capped, schema_error, stat_input
from memmapsim.errors import InputError
from memmapsim.report.sweepfile import SweepFile, is_parquet, read_sweep

MAX_JSON_BYTES = 256 << 20
"""A compare of many runs is a few MiB; far more is not a memmapsim result."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True, allow_inf_nan=False)


class Interval(_Model):
    thread: str
    cpu: int
    node: int
    kind: str
    detail: str = ""
    start_s: float
    end_s: float
    locked: bool = False


class LockHold(_Model):
    lock: str
    thread: str
    start_s: float
    end_s: float


class Timeline(_Model):
    intervals: list[Interval]
    lock_holds: list[LockHold]


class NodeSpan(_Model):
    node: int
    init_s: float
    lock_wait_s: float
    lock_hold_s: float
    start_s: float
    finish_s: float


class MachineNode(_Model):
    id: int
    cpus: int
    dram: list[tuple[str, str]]


class Machine(_Model):
    description: str = ""
    nodes: list[MachineNode]


class Device(_Model):
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


class Finding(_Model):
    invariant: str
    device: str
    pages: int
    pfns: list[tuple[str, str]]
    ranges: int
    message: str


class Run(_Model):
    scenario: str
    description: str = ""
    machine: Machine | None = None
    kernel: str
    release: str
    changes: list[str]
    devices: list[Device]
    findings: list[Finding]
    dmesg: list[str]
    total_s: float | None = None
    lock_hold_s: float | None = None
    nodes: list[NodeSpan] | None = None
    cost_profile: str | None = None
    timeline: Timeline | None = None


class Compare(_Model):
    runs: list[Run]


class FigureRow(_Model):
    id: str
    kind: str
    restates: str | None
    published: list[float]
    unit: str
    model: float
    error: float
    tolerance: list[float]
    status: str
    ok: bool
    how: str = ""


class NotCovered(_Model):
    id: str
    reason: str


class Validation(_Model):
    profile: str
    summary: dict[str, int]
    figures: list[FigureRow]
    not_covered: list[NotCovered]


class Validations(_Model):
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
            cmp = _validate(Compare, raw, path)
            if not cmp.runs:
                raise InputError(path, "runs", "no runs")
            out.runs += [RunInput(f"{path} (run {i})", r) for i, r in enumerate(cmp.runs)]
            out.files.append((path, f"compare: {len(cmp.runs)} runs"))
        elif isinstance(data, dict) and "figures" in data and "profile" in data:
            v = _validate(Validation, raw, path)
            out.validations.append((path, v))
            out.files.append((path, f"validation of cost profile {v.profile}"))
        elif isinstance(data, dict) and set(data) == {"profiles"}:
            vs = _validate(Validations, raw, path)
            out.validations += [(path, v) for v in vs.profiles]
            out.files.append(
                (path, "validation of cost profiles " + ", ".join(v.profile for v in vs.profiles))
            )
        elif isinstance(data, dict) and "scenario" in data and "kernel" in data:
            r = _validate(Run, raw, path)
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


def _validate(model: type[_Model], raw: str, path: str) -> Any:
    """``raw`` as ``model``, validated as JSON (arrays are tuples, numbers are checked)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise schema_error(e, path) from None


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
