"""``memmapsim sweep``: what the command line does with its options, kept out of cli.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from memmapsim.errors import InputError
from memmapsim.report.progress import Progress
from memmapsim.sweep.run import Executor, Summary, run_sweep
from memmapsim.sweep.spec import load_spec
from memmapsim.sweep.store import check_output

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def executor_for(jobs: int | None, scheduler: str | None) -> Executor:
    """``--scheduler`` (or, when neither option is given, $DASK_SCHEDULER_ADDRESS) runs on
    Dask; otherwise ``--jobs`` local processes (default: one per CPU)."""
    if jobs is not None and scheduler is not None:
        raise InputError("--jobs", None, "give --jobs (a local pool) or --scheduler (Dask)")
    if scheduler is None and jobs is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is not None:
        if not scheduler.strip():
            raise InputError("--scheduler", None, "an empty address")
        return Executor(scheduler=scheduler)
    return Executor(jobs=jobs if jobs is not None else (os.cpu_count() or 1))


def sweep(
    spec_path: str, output: str | None, jobs: int | None, scheduler: str | None, checkpoint_s: float
) -> Summary:
    """Check everything, run the sweep, print what it did; InputError for bad input."""
    if not checkpoint_s >= 0:
        raise InputError("--checkpoint", None, "must be 0 or more seconds")
    if output is None:
        output = Path(spec_path).name.removesuffix(".toml") + ".parquet"
    out = check_output(output)
    executor = executor_for(jobs, scheduler)
    spec = load_spec(spec_path)

    def bar(total: int) -> Progress:
        return Progress(f"{spec.name}: sweeping", total=total, eta=True)

    s = run_sweep(spec, out, executor, checkpoint_s, bar)
    before = s.from_file + s.from_journal
    print(f"sweep {spec.name}: {s.points:,} points, {s.ran:,} run on {executor.describe()}")
    if before:
        where = f"{s.from_file:,} in {out}, {s.from_journal:,} in its journal"
        print(f"  {before:,} finished before ({where})")
    if s.refused:
        print(f"  {s.refused:,} refused by the kernel (their row's error column says why)")
    if s.dropped:
        print(f"  {s.dropped:,} rows of {out} are not points of this sweep: left out")
    if s.damaged:
        print(f"  {s.damaged:,} damaged journal lines ignored (their points ran again)")
    rate = f", {s.ran / s.seconds:,.1f} points/s" if s.ran and s.seconds > 0 else ""
    print(f"  wrote {out} in {s.seconds:.1f} s{rate}")
    sys.stdout.flush()
    return s
