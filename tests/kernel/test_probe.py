"""Where each device's probe runs, by version: the kernel decides the node, as data in
its code paths (Paths.nd_device_register), and the engine picks a CPU of that node."""

from __future__ import annotations

import pytest

from memmapsim.config.scenario import load_scenario, parse_scenario
from memmapsim.kernel.nvdimm import nd_device_register_any_node, nd_device_register_node_local
from memmapsim.kernel.probe import ROOT
from memmapsim.kernel.versions import parse_kernel
from memmapsim.simulate import simulate
from tests.scenario_text import dev

# duyck-2018: 56 CPUs per node, node n's CPUs are 56n..56n+55; registration on node 0.
NODE_FIRST_CPU = [0, 56, 112, 168]


@pytest.mark.parametrize(
    ("kernel", "cpus"),
    [
        ("4.18", [0, 1, 2, 3]),  # all queued from node 0's worker pool (NUMA_NO_NODE)
        ("4.20", [0, 1, 2, 3]),
        ("4.20+node-local-probe", NODE_FIRST_CPU),  # near each device's node
    ],
)
def test_probe_threads_run_where_the_version_queues_them(kernel: str, cpus: list[int]) -> None:
    r = simulate(load_scenario("duyck-2018"), kernel)
    assert [r.cpus[f"pmem{i}"] for i in range(4)] == cpus


def test_node_local_probe_replaces_the_code_path() -> None:
    assert parse_kernel("4.20").paths.nd_device_register is nd_device_register_any_node
    local = parse_kernel("4.20+node-local-probe").paths.nd_device_register
    assert local is nd_device_register_node_local


def test_a_gpu_probe_runs_on_its_node_in_pci_probe_context() -> None:
    """pci_call_probe runs the driver's probe on a CPU of the device's node, whatever the
    version's nvdimm placement."""
    text = (
        'name = "g"\n'
        "[[machine.nodes]]\nid = 0\ncpus = 2\n"
        'dram = [{ start = "0", size = "1G" }]\n'
        "[[machine.nodes]]\nid = 1\ncpus = 2\n"
        'dram = [{ start = "1G", size = "1G" }]\n'
        + dev("gpu0", "16G", "1G", kind="device-private", memmap="ram", node=1)
        + dev("pmem0", "4G", "1G", node=1)
    )
    r = simulate(parse_scenario(text, "g.toml"), "4.20")
    assert r.cpus == {"gpu0": 2, "pmem0": 0}


def test_the_root_thread_is_not_a_device() -> None:
    r = simulate(load_scenario("tiny-pmem"), "4.20")
    assert ROOT not in r.cpus
    assert r.timing is not None and [d.name for d in r.timing.devices] == ["pmem0"]
