"""The ``memmapsim`` command line.

Bad input (a malformed scenario, an impossible machine, a kernel that refuses a device,
an unknown kernel) prints one line naming the file and field, and exits with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from memmapsim import __version__
from memmapsim.config.scenario import builtin_names, load_scenario
from memmapsim.engine.costs import builtin_profiles, load_profile
from memmapsim.errors import InputError
from memmapsim.kernel.versions import CHANGES, RELEASES
from memmapsim.model.memmap import BACKENDS
from memmapsim.model.section import Medium
from memmapsim.report.data import dmesg_lines, run_data
from memmapsim.report.text import print_compare, print_run
from memmapsim.report.timing_text import print_timing, print_timing_compare
from memmapsim.simulate import ENGINES, RunResult, simulate

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate the Linux kernel's struct page (memmap) initialization, version by version.",
)
console = Console(width=120)

ScenarioArg = Annotated[str, typer.Argument(help="A built-in scenario name or a TOML file.")]
KernelOpt = Annotated[
    str | None,
    typer.Option("--kernel", "-k", help="Kernel, e.g. 4.18 or 4.18+nonatomic-reserved."),
]
BackendOpt = Annotated[str, typer.Option(help="Memmap backend: runs or dense.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
EngineOpt = Annotated[
    str, typer.Option(help="timing (time, trace and state) or inorder (state and effect order).")
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", help="Cost profile (built-in name or TOML); default: the scenario's."
    ),
]


def _fail(err: InputError) -> None:
    print(f"memmapsim: error: {err}", file=sys.stderr)
    raise typer.Exit(2)


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _simulate(
    scenario: str,
    kernel: str | None,
    backend: str,
    engine: str = "timing",
    profile: str | None = None,
) -> RunResult:
    if backend not in BACKENDS:
        raise InputError("--backend", None, f"unknown backend {backend!r} (runs, dense)")
    if engine not in ENGINES:
        raise InputError("--engine", None, f"unknown engine {engine!r} (timing, inorder)")
    return simulate(load_scenario(scenario), kernel, backend, engine, profile)


@app.command()
def run(
    scenario: ScenarioArg,
    kernel: KernelOpt = None,
    backend: BackendOpt = "runs",
    engine: EngineOpt = "timing",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a scenario on one kernel: per device, pfn classes and init passes, pages
    initialised under mem_hotplug_lock and outside it, pgmap references, findings; and
    the time it takes, per node."""
    try:
        result = _simulate(scenario, kernel, backend, engine, profile)
    except InputError as e:
        _fail(e)
        return
    if as_json:
        _emit_json(run_data(result))
    else:
        print_run(result, console)
        print_timing(result, console)


@app.command()
def compare(
    scenario: ScenarioArg,
    kernel: Annotated[
        list[str],
        typer.Option("--kernel", "-k", help="A kernel to compare; give two or more."),
    ],
    backend: BackendOpt = "runs",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write a timeline PNG: one panel per kernel.")
    ] = None,
    dmesg: Annotated[
        Path | None, typer.Option(help="Write each kernel's simulated log into this directory.")
    ] = None,
) -> None:
    """Run a scenario on several kernels and show them side by side, with time ratios."""
    if len(kernel) < 2:
        _fail(InputError("--kernel", None, "compare needs at least two kernels"))
    try:
        results = [_simulate(scenario, k, backend, "timing", profile) for k in kernel]
    except InputError as e:
        _fail(e)
        return
    if dmesg is not None:
        try:
            dmesg.mkdir(parents=True, exist_ok=True)
            for r in results:
                path = dmesg / f"{r.scenario.name}_{r.kernel.name}.dmesg"
                path.write_text("".join(line + "\n" for line in dmesg_lines(r)))
        except OSError as e:
            _fail(InputError(str(dmesg), None, f"cannot write: {e.strerror}"))
    if plot is not None:
        from memmapsim.report.plot import timeline

        try:
            timeline(results, plot)
        except OSError as e:
            _fail(InputError(str(plot), None, f"cannot write: {e.strerror}"))
    if as_json:
        _emit_json({"scenario": results[0].scenario.name, "runs": [run_data(r) for r in results]})
    else:
        print_compare(results, console)
        print_timing_compare(results, console)


@app.command()
def trace(
    scenario: ScenarioArg,
    kernel: KernelOpt = None,
    engine: EngineOpt = "inorder",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The trace: with the in-order engine every effect in program order with the locks
    held; with the timing engine every interval of work or lock wait, and the lock holds."""
    from memmapsim.report.trace_text import trace_data, trace_lines

    try:
        result = _simulate(scenario, kernel, "runs", engine, profile)
    except InputError as e:
        _fail(e)
        return
    if as_json:
        _emit_json(trace_data(result))
    else:
        sys.stdout.write("".join(line + "\n" for line in trace_lines(result)))


@app.command()
def validate(
    as_json: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the docs table.")] = False,
) -> None:
    """Every published figure the model covers: model vs published, whether it is fitted,
    restated (same measurement as a fitted one) or predicted, and its tolerance; figures it
    cannot cover, with the reason. Exit 1 if a figure misses undeclared."""
    from memmapsim import validate as v

    rows = v.validate()
    if markdown:
        sys.stdout.write(v.markdown(rows))
    elif as_json:
        _emit_json(
            {
                "summary": v.summary(rows),
                "figures": [v.row_data(r) for r in rows],
                "not_covered": [{"id": n.id, "reason": n.reason} for n in v.NOT_COVERED],
            }
        )
    else:
        n = v.summary(rows)
        t = Table(title=f"validation: {n['predicted']} of {n['covered']} covered figures predicted")
        t.add_column("figure", no_wrap=True)
        t.add_column("kind")
        t.add_column("restates", no_wrap=True)
        for col in ("published", "model", "error", "tolerance", "status"):
            t.add_column(col)
        for r in rows:
            lo, hi = r.figure.published
            pub = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
            t.add_row(
                r.figure.id,
                r.kind,
                r.restates or "-",
                f"{pub} {r.figure.unit}",
                f"{r.predicted:.1f} {r.figure.unit}",
                f"{r.error:+.1%}",
                v.tolerance_text(r.figure),
                r.status,
            )
        console.print(t)
        n_t = Table("not covered", "reason")
        for nc in v.NOT_COVERED:
            n_t.add_row(nc.id, nc.reason)
        console.print(n_t)
    if not all(r.ok for r in rows):
        raise typer.Exit(1)


@app.command()
def profiles() -> None:
    """List the built-in cost profiles and their entries with provenance."""
    for name in builtin_profiles():
        prof = load_profile(name)
        t = Table("entry", "value", "kind", "figure / note", title=f"{name}: {prof.description}")
        for key, c in prof.costs.items():
            t.add_row(key, f"{c.ns:g} ns/page", c.kind, c.figure or c.note)
        for key, f in (
            ("remote", prof.factors.remote),
            ("memmap_in_ram", prof.factors.memmap_in_ram),
        ):
            t.add_row(f"factor {key}", f"x{f.value:g}", f.kind, f.figure or f.note)
        bw = prof.bandwidth
        t.add_row("bandwidth", f"{bw.dram_gbps:g}/{bw.pmem_gbps:g} GB/s", bw.kind, bw.note)
        console.print(t)


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
    backing = mem.vmemmap.backing(value)
    if backing is not None and backing.medium is Medium.BOOT:
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
