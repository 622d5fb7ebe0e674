"""Running independent tasks in this process, on local processes, or on a Dask cluster.

Results come back in task order whatever finished first, so a computation split into the
same tasks gives the same answer on one process, N processes or a cluster. Dask is an
optional extra (``pip install memmapsim[dask]``), imported only when a scheduler address is
given. Workers of a cluster must have memmapsim installed, and see the same files (a
scenario or a change file given by path).
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from memmapsim.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

DASK_ENV = "DASK_SCHEDULER_ADDRESS"


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    jobs: int = 1,
    scheduler: str | None = None,
    done: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(t) for t in tasks]``, on ``jobs`` local processes or on the Dask cluster at
    ``scheduler``; ``done(i)`` is called as task ``i`` finishes (in any order)."""
    if scheduler:
        return _dask(fn, tasks, scheduler, done)
    if jobs <= 1 or len(tasks) <= 1:
        out = []
        for i, t in enumerate(tasks):
            out.append(fn(t))
            if done is not None:
                done(i)
        return out
    results: list[Any] = [None] * len(tasks)
    with cf.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if done is not None:
                done(i)
    return results


def default_scheduler(given: str | None) -> str | None:
    """``--scheduler``, else ``DASK_SCHEDULER_ADDRESS`` from the environment."""
    return given or os.environ.get(DASK_ENV) or None


def _reachable(address: str) -> None:
    """A TCP scheduler that does not answer is refused at once, before a Dask client waits
    for it (and a client that never connected cannot be closed cleanly)."""
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp", "tls"):
        return
    host, _, port = rest.rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5).close()
    except ValueError:
        raise InputError("--scheduler", None, f"not a host:port address: {address!r}") from None
    except OSError as e:
        raise InputError(
            "--scheduler", None, f"cannot reach {address}: {e.strerror or e}"
        ) from None


def _dask(
    fn: Callable[[T], R], tasks: Sequence[T], address: str, done: Callable[[int], None] | None
) -> list[R]:
    try:
        distributed: Any = importlib.import_module("dask.distributed")
    except ImportError:
        raise InputError(
            "--scheduler", None, "Dask is not installed: pip install 'memmapsim[dask]'"
        ) from None
    _reachable(address)
    try:
        client = distributed.Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError("--scheduler", None, f"cannot reach {address}: {e}") from None
    try:
        futures = client.map(fn, list(tasks), pure=False)
        if done is not None:
            for i, fut in enumerate(futures):
                fut.add_done_callback(lambda _f, i=i: done(i))
        results: list[R] = client.gather(futures)
        return results
    finally:
        client.close()
