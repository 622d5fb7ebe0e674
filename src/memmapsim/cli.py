"""The ``memmapsim`` command line.

Bad input (a malformed scenario, an impossible machine, a kernel that refuses a device,
an unknown kernel) prints one line naming the file and field, and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from memmapsim import __version__
from memmapsim.config.scenario import builtin_names, load_scenario
from memmapsim.errors import InputError
from memmapsim.kernel.versions import CHANGES, RELEASES
from memmapsim.model.memmap import BACKENDS
from memmapsim.report.data import run_data
from memmapsim.report.text import print_compare, print_run
from memmapsim.simulate import RunResult, simulate

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate the Linux kernel's struct page (memmap) initialization, version by version.",
)
console = Console(width=160)

ScenarioArg = Annotated[str, typer.Argument(help="A built-in scenario name or a TOML file.")]
KernelOpt = Annotated[
    str | None,
    typer.Option("--kernel", "-k", help="Kernel, e.g. 4.18 or 4.18+nonatomic-reserved."),
]
BackendOpt = Annotated[str, typer.Option(help="Memmap backend: runs or dense.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _fail(err: InputError) -> None:
    print(f"memmapsim: error: {err}", file=sys.stderr)
    raise typer.Exit(2)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _simulate(scenario: str, kernel: str | None, backend: str) -> RunResult:
    if backend not in BACKENDS:
        raise InputError("--backend", None, f"unknown backend {backend!r} (runs, dense)")
    return simulate(load_scenario(scenario), kernel, backend)


@app.command()
def run(
    scenario: ScenarioArg,
    kernel: KernelOpt = None,
    backend: BackendOpt = "runs",
    as_json: JsonOpt = False,
) -> None:
    """Run a scenario on one kernel: per device, pfn classes and init passes, pages
    initialised under mem_hotplug_lock and outside it, pgmap references, findings."""
    try:
        result = _simulate(scenario, kernel, backend)
    except InputError as e:
        _fail(e)
        return
    if as_json:
        _emit_json(run_data(result))
    else:
        print_run(result, console)


@app.command()
def compare(
    scenario: ScenarioArg,
    kernel: Annotated[
        list[str],
        typer.Option("--kernel", "-k", help="A kernel to compare; give two or more."),
    ],
    backend: BackendOpt = "runs",
    as_json: JsonOpt = False,
) -> None:
    """Run a scenario on several kernels and show them side by side."""
    if len(kernel) < 2:
        _fail(InputError("--kernel", None, "compare needs at least two kernels"))
    try:
        results = [_simulate(scenario, k, backend) for k in kernel]
    except InputError as e:
        _fail(e)
        return
    if as_json:
        _emit_json({"scenario": results[0].scenario.name, "runs": [run_data(r) for r in results]})
    else:
        print_compare(results, console)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    t = Table("name", "kernel", "description")
    for name in builtin_names():
        sc = load_scenario(name)
        t.add_row(name, sc.kernel, sc.description)
    console.print(t)


@app.command()
def kernels() -> None:
    """List the modelled releases and the named changes that can be added to them."""
    t = Table("release", "changes it includes")
    for rel, changes in RELEASES.items():
        t.add_row(rel, ", ".join(changes) or "(baseline)")
    console.print(t)
    c = Table("change (+name)", "commit", "origin", "needs")
    for ch in CHANGES.values():
        if ch.selectable:
            c.add_row(ch.name, ch.commit or "-", ch.origin, ", ".join(ch.requires) or "-")
    console.print(c)


@app.command()
def page(
    scenario: ScenarioArg,
    pfn: Annotated[str, typer.Argument(help="The pfn, decimal or 0x hex.")],
    kernel: KernelOpt = None,
    backend: BackendOpt = "runs",
) -> None:
    """Show one struct page after the scenario's devices were added."""
    try:
        value = int(pfn, 0)
    except ValueError:
        _fail(InputError("PFN", None, f"not a number: {pfn!r}"))
        return
    try:
        result = _simulate(scenario, kernel, backend)
    except InputError as e:
        _fail(e)
        return
    limit = 1 << (result.scenario.machine.max_physmem_bits - 12)
    if not 0 <= value < limit:
        _fail(InputError("PFN", None, f"{pfn} is outside the machine's pfns [0, {limit:#x})"))
    mem = result.mem
    view = mem.page(value)
    out: dict[str, Any] = dict(view.fields())
    section = mem.sections.of_pfn(value)
    if section.backing == "boot":
        out["state"] = "boot memory: its struct pages are not modelled (ZONE_DEVICE only)"
    out["pageblock_migratetype"] = mem.pageblocks.get_pfn(value)
    out["history"] = [p.label() for p in view.record.history]
    _emit_json(out)


def version_callback(value: bool) -> None:
    if value:
        print(f"memmapsim {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True)
    ] = False,
) -> None:
    """memmapsim: how long memory takes to come up, and whether it is safe while it does."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
