"""The sweep's Parquet file: one row per point, flat columns, and what makes it a
memmapsim sweep (read by ``memmapsim report``, written by ``memmapsim sweep``).

Columns, in order:

- ``key`` (the hash of the point's configuration, :mod:`memmapsim.sweep.spec`) and
  ``point`` (its place in the grid, the last axis varying fastest);
- ``scenario`` (the base), ``kernel``, one column per other axis named as the axis
  (sizes in bytes), ``cost_profile``;
- what the machine is: ``machine_nodes``, ``machine_cpus``, ``machine_dram_bytes``,
  ``machine_device_bytes``, ``five_level_paging``;
- results: ``total_s``, ``lock_hold_s`` (mem_hotplug_lock held, summed over holds),
  ``findings`` (invariant findings), ``error`` (null, or why the kernel refused the point:
  the other results are then null); per node with devices ``node{N}_init_s``,
  ``node{N}_lock_wait_s``, ``node{N}_lock_hold_s``, ``node{N}_finish_s``; per device
  ``dev_{NAME}_pages_initialised``, ``dev_{NAME}_struct_pages_written``,
  ``dev_{NAME}_memmap_ram_bytes``, ``dev_{NAME}_memmap_device_bytes`` (null where a point
  has no such node or device). Times are seconds, rounded to the nanosecond.

The schema's metadata ``memmapsim.sweep`` holds JSON: the format version, the sweep's
name and description, its base, its axes (name, Parquet type, values in grid order) and
its number of points. Rows are sorted by ``point``; the file is written whole to a
temporary name and renamed, so it is always either the old complete file or the new one.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memmapsim.config.files import check_regular, stat_input
from memmapsim.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

META_KEY = b"memmapsim.sweep"
FORMAT = 1
REQUIRED = {
    "key": "string",
    "point": "int64",
    "scenario": "string",
    "kernel": "string",
    "total_s": "double",
    "lock_hold_s": "double",
    "findings": "int64",
    "error": "string",
}
RESULTS = ("total_s", "lock_hold_s", "findings", "error")
NODE_RESULTS = ("init_s", "lock_wait_s", "lock_hold_s", "finish_s")
DEVICE_RESULTS = (
    "pages_initialised",
    "struct_pages_written",
    "memmap_ram_bytes",
    "memmap_device_bytes",
)
KIND_TYPES = ("string", "int64", "float64", "bool")


@dataclass(frozen=True)
class SweepFile:
    path: str
    meta: dict[str, Any]
    table: pa.Table
    row_list: list[dict[str, Any]]
    """The rows, decoded when the file was read (a damaged page fails there, as bad
    input, not later)."""

    @property
    def axes(self) -> list[dict[str, Any]]:
        return list(self.meta["axes"])

    def rows(self) -> list[dict[str, Any]]:
        return list(self.row_list)


def arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
    }[kind]


def to_bytes(
    rows: list[dict[str, Any]], columns: list[tuple[str, str]], meta: dict[str, Any]
) -> bytes:
    """The Parquet file of ``rows`` (already in order) with these (name, kind) columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [pa.field(name, arrow_type(kind)) for name, kind in columns],
        metadata={META_KEY: json.dumps(meta, sort_keys=True).encode()},
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    return buf.getvalue()


def is_parquet(path: str) -> bool:
    """Whether the file starts as a Parquet file does (``PAR1``)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def read_sweep(path: str) -> SweepFile:
    """A sweep's Parquet file, checked; InputError (one line) for anything else."""
    check_regular(path, stat_input(path))
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        table = pf.read()
        rows = table.to_pylist()
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as e:
        why = " ".join(str(e).split())
        raise InputError(path, None, f"not a readable Parquet file (truncated?): {why}") from None
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise InputError(path, None, "not a memmapsim sweep file (no memmapsim.sweep metadata)")
    meta = _meta(path, raw)
    for name, kind in REQUIRED.items():
        if name not in schema.names:
            raise InputError(path, name, "column missing: not a memmapsim sweep file")
        got = str(schema.field(name).type)
        if got != kind:
            raise InputError(path, name, f"column of type {got}, expected {kind}")
    for axis in meta["axes"]:
        name, kind = axis["name"], axis["kind"]
        if name not in schema.names:
            raise InputError(path, name, "the axis has no column")
        got = str(schema.field(name).type)
        want = "double" if kind == "float64" else kind
        if got != want:
            raise InputError(path, name, f"column of type {got}, but the axis is {kind}")
    return SweepFile(path, meta, table, rows)


def _of_kind(v: Any, kind: str) -> bool:
    """Whether an axis value in the metadata is of the axis's kind (numbers finite)."""
    if kind == "string":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    return isinstance(v, int) if kind == "int64" else math.isfinite(v)


def _meta(path: str, raw: bytes) -> dict[str, Any]:
    where = "memmapsim.sweep metadata"
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InputError(path, where, "not JSON") from None
    if not isinstance(meta, dict):
        raise InputError(path, where, "not a JSON object")
    if meta.get("format") != FORMAT:
        raise InputError(path, f"{where}.format", f"expected {FORMAT}, got {meta.get('format')!r}")
    axes = meta.get("axes")
    if not isinstance(axes, list):
        raise InputError(path, f"{where}.axes", "expected a list")
    for i, a in enumerate(axes):
        ok = (
            isinstance(a, dict)
            and isinstance(a.get("name"), str)
            and a.get("kind") in KIND_TYPES
            and isinstance(a.get("values"), list)
            and all(_of_kind(v, a["kind"]) for v in a["values"])
        )
        if not ok:
            raise InputError(path, f"{where}.axes[{i}]", "expected {name, kind, values}")
    if not isinstance(meta.get("points"), int) or isinstance(meta.get("points"), bool):
        raise InputError(path, f"{where}.points", "expected an integer")
    for k in ("name", "base"):
        if not isinstance(meta.get(k), str):
            raise InputError(path, f"{where}.{k}", "expected a string")
    return meta
