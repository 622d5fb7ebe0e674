"""Where each device's probe thread runs (spec §6; docs/spec-corrections.md).

v4.18-v4.20: ``__nd_device_register`` queues registration with ``async_schedule_domain``
→ ``queue_work(system_unbound_wq)``; an unbound work item runs in the worker pool of the
*queuing* CPU's node (``unbound_pwq_by_node(wq, cpu_to_node(cpu))``, wq NUMA affinity on
by default). Each hop — region, namespace, pfn/dax device — is queued from the previous
hop's worker, so every probe of the machine runs on the node where the NFIT region
registration ran: ``registration_node`` (which node that is is not fixed between boots).

With ``node-local-probe`` (Duyck's v4 4/5 + 5/5; merged form v5.1 via
``async_schedule_dev``), registration is queued near the device's node: any online CPU of
that node (``cpumask_any_and(cpumask_of_node(node), cpu_online_mask)``).

Within a node the scheduler places each kworker; memmapsim gives each thread the
lowest-numbered CPU of the node not already taken by another probe thread (wrapping
around when there are more threads than CPUs, which then share CPUs).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topology:
    """CPUs per node; CPU ids are numbered node by node, in node order."""

    cpus_per_node: tuple[tuple[int, int], ...]

    def cpus(self, node: int) -> list[int]:
        first = 0
        for nid, n in self.cpus_per_node:
            if nid == node:
                return list(range(first, first + n))
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


def place(
    topo: Topology, device_nodes: list[int], policy: str, registration_node: int
) -> list[int]:
    """A CPU for each device's probe thread."""
    taken: dict[int, int] = {}
    out = []
    for nid in device_nodes:
        node = registration_node if policy == "unbound" else nid
        if node not in topo.nodes_with_cpus():
            # A memory-only node: the work runs where it was queued from.
            node = (
                registration_node
                if registration_node in topo.nodes_with_cpus()
                else (topo.nodes_with_cpus()[0])
            )
        cpus = topo.cpus(node)
        i = taken.get(node, 0)
        out.append(cpus[i % len(cpus)])
        taken[node] = i + 1
    return out
