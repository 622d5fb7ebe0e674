"""Where a sweep's results go, so that one stopped at any moment loses nothing.

Two files:

- ``OUT.parquet`` (:mod:`memmapsim.report.sweepfile`): every finished point of the grid,
  in grid order. It is rewritten whole, to a temporary name then renamed, at checkpoints
  (every ``checkpoint_s`` seconds while results come in) and at the end, so it is always
  a complete, readable file — ``memmapsim report`` can read it while the sweep runs.
- ``OUT.parquet.journal``: one JSON line per result, appended and flushed as each
  arrives, so a result exists on disk from the moment the sweep has it. A process killed
  mid-line leaves a partial last line, which is cut off when the sweep starts again. The
  journal is removed once the final Parquet file is in place.

Starting again reads both, keeps the results whose key is a point of the current grid
(a key hashes the point's whole configuration: :func:`~memmapsim.sweep.spec.point_key`),
and runs only the others: nothing finished is lost or run twice. The journal is locked
(``flock``) while a sweep writes it, so two sweeps into one file are refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from memmapsim import __version__
from memmapsim.errors import InputError
from memmapsim.report import outputs
from memmapsim.report.sweepfile import (
    DEVICE_RESULTS,
    FORMAT,
    NODE_RESULTS,
    RESULTS,
    read_sweep,
    to_bytes,
)
from memmapsim.sweep.spec import Point, SweepSpec

JOURNAL_SUFFIX = ".journal"


def check_output(text: str) -> Path:
    """The Parquet file's path, refused before anything runs if it cannot be one."""
    if text == "" or "\0" in text:
        raise InputError("--output", None, "not a usable path")
    path = Path(text)
    if path.suffix != ".parquet":
        raise InputError("--output", text, "the file name must end in .parquet")
    if path.is_dir():
        raise InputError("--output", text, "is a directory")
    if not path.parent.is_dir():
        raise InputError("--output", text, f"no such directory: {path.parent}")
    return path


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + JOURNAL_SUFFIX)


def columns(spec: SweepSpec) -> list[tuple[str, str]]:
    """The Parquet columns of the sweep: (name, kind), in order."""
    cols = [("key", "string"), ("point", "int64"), ("scenario", "string"), ("kernel", "string")]
    cols += [(a.name, a.kind) for a in spec.axes if a.name != "kernel"]
    cols += [
        ("cost_profile", "string"),
        ("machine_nodes", "int64"),
        ("machine_cpus", "int64"),
        ("machine_dram_bytes", "int64"),
        ("machine_device_bytes", "int64"),
        ("five_level_paging", "bool"),
    ]
    cols += [
        (r, "string" if r == "error" else "int64" if r == "findings" else "float64")
        for r in RESULTS
    ]
    cols += [(f"node{n}_{r}", "float64") for n in node_ids(spec) for r in NODE_RESULTS]
    cols += [(f"dev_{d}_{r}", "int64") for d in device_names(spec) for r in DEVICE_RESULTS]
    return cols


def node_ids(spec: SweepSpec) -> list[int]:
    """Every node that has a device in some point (the nodes the timing reports)."""
    return sorted({d.node for p in spec.points for d in p.scenario.devices})


def device_names(spec: SweepSpec) -> list[str]:
    names: dict[str, None] = {}
    for p in spec.points:
        for d in p.scenario.devices:
            names.setdefault(d.name, None)
    return list(names)


def params_row(p: Point) -> dict[str, Any]:
    """The columns a point has before it runs."""
    m = p.scenario.machine
    return {
        "key": p.key,
        "point": p.index,
        "scenario": p.scenario.name,
        "kernel": p.kernel,
        **{k: v for k, v in p.params.items() if k != "kernel"},
        "cost_profile": p.profile.name,
        "machine_nodes": len(m.nodes),
        "machine_cpus": m.nr_cpus,
        "machine_dram_bytes": sum(n.dram_bytes for n in m.nodes),
        "machine_device_bytes": sum(d.size for d in p.scenario.devices),
        "five_level_paging": m.five_level_paging,
    }


def metadata(spec: SweepSpec) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": spec.name,
        "description": spec.description,
        "base": spec.base.name,
        "axes": [{"name": a.name, "kind": a.kind, "values": list(a.values)} for a in spec.axes],
        "points": len(spec.points),
        "memmapsim": __version__,
    }


class Store:
    """The finished results of a sweep (by key), the journal and the Parquet file."""

    def __init__(self, spec: SweepSpec, out: Path, checkpoint_s: float = 10.0) -> None:
        self.spec, self.out, self.checkpoint_s = spec, out, checkpoint_s
        self.journal = journal_path(out)
        self.cols = columns(spec)
        self.keys = {p.key for p in spec.points}
        self.results: dict[str, dict[str, Any]] = {}
        self.from_file = self.from_journal = self.dropped = self.damaged = 0
        self._fh: IO[bytes] | None = None
        self._last = time.monotonic()
        self.dirty = False

    def open(self) -> None:
        """Lock the journal, then read what earlier runs finished."""
        if self.journal.is_dir():
            raise InputError(str(self.journal), None, "is a directory")
        try:
            fh = open(self.journal, "a+b")  # noqa: SIM115 (held open until close())
        except OSError as e:
            raise InputError(str(self.journal), None, f"cannot open: {e.strerror}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise InputError(
                str(self.out), None, "another memmapsim sweep is writing it (its journal is locked)"
            ) from None
        self._fh = fh
        try:
            self._clean_temporaries()
            if self.out.exists():
                self._read_file()
            self._read_journal()
        except BaseException:
            self.close()
            raise

    def _clean_temporaries(self) -> None:
        """Temporary files a killed checkpoint left (ours: we hold the lock)."""
        for tmp in self.out.parent.glob(f".{self.out.name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _read_file(self) -> None:
        sw = read_sweep(str(self.out))
        result_cols = self._result_columns()
        for row in sw.rows():
            key = row.get("key")
            if key in self.keys and key not in self.results:
                self.results[key] = {c: row.get(c) for c in result_cols}
                self.from_file += 1
            elif key not in self.keys:
                self.dropped += 1

    def _result_columns(self) -> list[str]:
        first = next(i for i, (name, _k) in enumerate(self.cols) if name == RESULTS[0])
        return [name for name, _k in self.cols[first:]]

    def _read_journal(self) -> None:
        assert self._fh is not None
        self._fh.seek(0)
        data = self._fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a line cut by a kill: drop it before appending
            self._fh.truncate(end)
        for line in data[:end].splitlines():
            try:
                rec = json.loads(line)
                key, row = rec["key"], rec["row"]
                ok = isinstance(key, str) and isinstance(row, dict)
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                self.damaged += 1
                continue
            if key in self.keys and key not in self.results:
                self.results[key] = row
                self.from_journal += 1
        self._fh.seek(0, os.SEEK_END)

    def pending(self) -> list[Point]:
        """The points to run: one per key not finished (two points of one configuration
        share a result)."""
        seen: set[str] = set()
        out = []
        for p in self.spec.points:
            if p.key not in self.results and p.key not in seen:
                seen.add(p.key)
                out.append(p)
        return out

    def add(self, key: str, row: dict[str, Any]) -> None:
        """A result: on disk (the journal) before this returns."""
        assert self._fh is not None
        line = json.dumps({"key": key, "row": row}, sort_keys=True, allow_nan=True) + "\n"
        self._fh.write(line.encode())
        self._fh.flush()
        self.results[key] = row
        self.dirty = True
        if time.monotonic() - self._last >= self.checkpoint_s:
            self.checkpoint()

    def table_bytes(self) -> bytes:
        rows = []
        for p in self.spec.points:
            if p.key in self.results:
                rows.append(params_row(p) | self.results[p.key])
        return to_bytes(rows, self.cols, metadata(self.spec))

    def checkpoint(self) -> None:
        """Rewrite the Parquet file with every result so far."""
        files = outputs.Outputs()
        files.add(self.out, self.table_bytes())
        files.commit()
        self._last = time.monotonic()
        self.dirty = False

    def finish(self) -> None:
        """The final Parquet file, then the journal goes."""
        self.checkpoint()
        with contextlib.suppress(OSError):
            self.journal.unlink()
        self.close()

    def close(self) -> None:
        """Release the journal; an empty one (nothing finished yet) is removed."""
        if self._fh is not None:
            empty = self._fh.seek(0, os.SEEK_END) == 0
            if empty:
                with contextlib.suppress(OSError):
                    self.journal.unlink()
            self._fh.close()  # releases the lock
            self._fh = None
