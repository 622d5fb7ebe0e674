"""Which CPU a new kernel thread runs on: the scheduler's part of placement.

Which *node* a thread is meant for is kernel behaviour and lives in ``kernel/`` (e.g.
v4.18's nvdimm registration is queued with no node, so it runs in the unbound worker
pool of the queuing CPU's node; v5.1's ``async_schedule_dev`` queues near the device's
node). Within a node the scheduler places each kworker; memmapsim gives each new thread
the lowest-numbered CPU of the node not already given to another thread of the run
(wrapping around when there are more threads than CPUs, which then share CPUs). A node
with no CPUs (memory only) cannot run it: the work runs on the node of the thread that
created it.
"""

from __future__ import annotations

import msgspec


class Topology(msgspec.Struct, frozen=True):
    """CPUs per node; CPU ids are numbered node by node, in node order."""

    cpus_per_node: tuple[tuple[int, int], ...]

    def cpus(self, node: int) -> list[int]:
        first, n = self.span(node)
        return list(range(first, first + n))

    def span(self, node: int) -> tuple[int, int]:
        """The node's first CPU and how many it has."""
        first = 0
        for nid, n in self.cpus_per_node:
            if nid == node:
                return first, n
            first += n
        raise KeyError(node)

    def node_of(self, cpu: int) -> int:
        first = 0
        for nid, n in self.cpus_per_node:
            if first <= cpu < first + n:
                return nid
            first += n
        raise KeyError(cpu)

    def nodes_with_cpus(self) -> list[int]:
        return [nid for nid, n in self.cpus_per_node if n > 0]


def pick_cpu(topo: Topology, node: int, fallback: int, taken: dict[int, int]) -> int:
    """A CPU of ``node`` (or of ``fallback``, for a node without CPUs) for a new thread;
    ``taken`` counts the threads already given CPUs of each node, and is updated."""
    if node not in topo.nodes_with_cpus():
        node = fallback if fallback in topo.nodes_with_cpus() else topo.nodes_with_cpus()[0]
    first, n = topo.span(node)
    i = taken.get(node, 0)
    taken[node] = i + 1
    return first + i % n
