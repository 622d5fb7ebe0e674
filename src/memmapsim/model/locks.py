"""Kernel locks as data (spec §9.1).

A lock has a kind (how it may be held) and a holder state; engines acquire and release
them on behalf of simulated threads. ``mem_hotplug_lock`` is a percpu rw-semaphore:
``mem_hotplug_begin()`` takes ``cpus_read_lock()`` and then the write side;
``get_online_mems()`` takes the read side.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class LockKind(StrEnum):
    PERCPU_RWSEM = "percpu-rwsem"
    MUTEX = "mutex"
    SPINLOCK = "spinlock"
    SEQLOCK = "seqlock"
    RCU = "rcu"
    RWSEM = "rwsem"


class Mode(StrEnum):
    WRITE = "W"
    READ = "R"


MEM_HOTPLUG_LOCK = "mem_hotplug_lock"
CPU_HOTPLUG_LOCK = "cpu_hotplug_lock"
PGMAP_LOCK = "pgmap_lock"
PGDAT_RESIZE_LOCK = "pgdat_resize_lock"
ZONE_SPAN_SEQLOCK = "zone_span_seqlock"
DEVICE_HOTPLUG_LOCK = "device_hotplug_lock"
HMM_DEVMEM_LOCK = "hmm_devmem_lock"
DAX_REGION_RWSEM = "dax_region_rwsem"
PADATA_WORKS_LOCK = "padata_works_lock"
PADATA_JOB_LOCK = "padata_mt_job_state"
MF_MUTEX = "mf_mutex"

LOCK_KINDS: dict[str, LockKind] = {
    MEM_HOTPLUG_LOCK: LockKind.PERCPU_RWSEM,
    CPU_HOTPLUG_LOCK: LockKind.PERCPU_RWSEM,
    PGMAP_LOCK: LockKind.MUTEX,
    PGDAT_RESIZE_LOCK: LockKind.SPINLOCK,
    ZONE_SPAN_SEQLOCK: LockKind.SEQLOCK,
    DEVICE_HOTPLUG_LOCK: LockKind.MUTEX,
    HMM_DEVMEM_LOCK: LockKind.MUTEX,
    DAX_REGION_RWSEM: LockKind.RWSEM,
    PADATA_WORKS_LOCK: LockKind.SPINLOCK,
    PADATA_JOB_LOCK: LockKind.SPINLOCK,
    MF_MUTEX: LockKind.MUTEX,
}


class LockState(msgspec.Struct):
    """Who holds a lock: at most one writer, or any number of readers."""

    name: str
    kind: LockKind
    writer: str | None = None
    readers: list[str] = msgspec.field(default_factory=list)

    def can_take(self, mode: Mode) -> bool:
        if mode is Mode.WRITE:
            return self.writer is None and not self.readers
        return self.writer is None

    def take(self, who: str, mode: Mode) -> None:
        if not self.can_take(mode):
            raise RuntimeError(f"{who} cannot take {self.name} ({mode.value}): held")
        if mode is Mode.WRITE:
            self.writer = who
        else:
            self.readers.append(who)

    def drop(self, who: str, mode: Mode) -> None:
        if mode is Mode.WRITE:
            if self.writer != who:
                raise RuntimeError(f"{who} releases {self.name} held by {self.writer}")
            self.writer = None
        else:
            self.readers.remove(who)


def instance(lock: str, owner: object) -> str:
    """The name of a per-object lock, e.g. ``pgdat_resize_lock:0`` for node 0."""
    return f"{lock}:{owner}"


def lock_kind(name: str) -> LockKind:
    return LOCK_KINDS[name.split(":", 1)[0]]


class LockTable(dict[str, LockState]):
    """All locks by name; per-object locks come into being on first use."""

    def __missing__(self, name: str) -> LockState:
        state = self[name] = LockState(name, lock_kind(name))
        return state
