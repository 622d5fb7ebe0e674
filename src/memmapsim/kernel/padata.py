"""kernel/padata.c: ``padata_do_multithreaded``, the helper threads of deferred struct page
init from v5.8 ("padata: parallelize deferred page init", Daniel Jordan, 2020).

A job ``[start, start + size)`` is cut into chunks that helpers claim under the job's lock,
each ending at a multiple of the chunk size; ``nworks = min(max(size / min_chunk, 1),
max_threads)`` threads share it — the caller and ``nworks - 1`` work items taken from a pool
of ``num_possible_cpus()`` that every job of the boot shares (``padata_work_alloc_mt``; fewer
when it runs dry) — and ``chunk_size = max(size / (nworks * 4), min_chunk)`` rounded up to
``align`` (``load_balance_factor`` 4). The helpers are queued on the unbound workqueue
(``queue_work(system_unbound_wq)``; ``system_dfl_wq`` in v7.1, ``numa_aware`` false for
deferred init), so they run in the worker pool of the node the caller runs on.

Trees: 5.8.1 semwett0301/linux-5.8.1@kernel/padata.c:40-127, 466-556; 6.6.0 nworks divides by
``max(min_chunk, align)`` (the same here: both are a section) and forces ``chunk_size >= 1``;
7.1.3 rikudousennin22/linux-7.1.3@kernel/padata.c (docs/kernel-notes/boot-hotplug.md §8.2,
§10.2, §11.2, §12.2).

The job's state (``struct padata_mt_job_state``) is memory private to the job: it lives in
the coroutines that share it, and every access to it is under its lock, which is an effect.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import msgspec

from memmapsim.effects import Acquire, AsyncSchedule, Gen, Join, Release, ThreadSpec
from memmapsim.model.locks import PADATA_JOB_LOCK, PADATA_WORKS_LOCK, instance

LOAD_BALANCE_FACTOR = 4
WORKQUEUE = "system_unbound_wq"


class PadataJob(msgspec.Struct, frozen=True):
    """``struct padata_mt_job``: ``thread_fn(start, end)`` over ``[start, start + size)``."""

    name: str
    thread_fn: Callable[[int, int], Gen[int]]
    start: int
    size: int
    align: int
    min_chunk: int
    max_threads: int


class _State(msgspec.Struct):
    """``struct padata_mt_job_state`` with the job's moving ``start`` and ``size``."""

    job: PadataJob
    start: int
    size: int
    chunk_size: int
    nworks: int
    nworks_fini: int = 0


def roundup(x: int, y: int) -> int:
    return -(-x // y) * y


def padata_mt_helper(ps: _State, lock: str) -> Gen[int]:
    """Claim chunks until none is left: each ends at the next multiple of the chunk size."""
    yield Acquire(lock)
    while ps.size > 0:
        start = ps.start
        size = min(roundup(start + 1, ps.chunk_size) - start, ps.size)
        ps.start, ps.size = start + size, ps.size - size
        yield Release(lock)
        yield from ps.job.thread_fn(start, start + size)
        yield Acquire(lock)
    ps.nworks_fini += 1
    yield Release(lock)
    return 0


def helper_name(job: PadataJob, i: int) -> str:
    """The kworker running helper ``i`` of ``job``."""
    return f"kworker/u:padata{job.name}.{i}"


def padata_do_multithreaded(job: PadataJob, pool: list[int]) -> Gen[None]:
    """Run ``job`` on up to ``job.max_threads`` threads, the caller one of them, and wait for
    all of them. ``pool`` holds the count of free work items (``padata_free_works``)."""
    if job.size == 0:
        return
    nworks = min(max(job.size // job.min_chunk, 1), job.max_threads)
    if nworks == 1:
        yield from job.thread_fn(job.start, job.start + job.size)
        return
    yield Acquire(PADATA_WORKS_LOCK)
    helpers = min(nworks - 1, pool[0])
    pool[0] -= helpers
    yield Release(PADATA_WORKS_LOCK)
    total = helpers + 1
    chunk = max(job.size // (total * LOAD_BALANCE_FACTOR), job.min_chunk, 1)
    ps = _State(job, job.start, job.size, roundup(chunk, job.align), total)
    lock = instance(PADATA_JOB_LOCK, job.name)
    tids = []
    for i in range(1, helpers + 1):
        spec = ThreadSpec(helper_name(job, i), partial(padata_mt_helper, ps, lock))
        tid = yield AsyncSchedule(spec, None, WORKQUEUE)
        tids.append(tid)
    yield from padata_mt_helper(ps, lock)
    for tid in tids:
        yield Join(tid)
    yield Acquire(PADATA_WORKS_LOCK)
    pool[0] += helpers
    yield Release(PADATA_WORKS_LOCK)
