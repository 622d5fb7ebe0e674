"""The ``memmapsim`` command line.

Every error is one line on stderr, ``memmapsim: error: WHERE: WHAT``, with exit status 2:
bad input (a malformed scenario, an impossible machine, a kernel that refuses a device,
an unknown kernel), a meaningless combination of options, an unusable output path, and
usage errors (a missing option, an unknown one), which click would otherwise print as a
block of help. Output files are checked before anything is simulated and are put in
place only when all of them were written (:mod:`memmapsim.report.outputs`).
"""

# No ``from __future__ import annotations`` here: typer reads every command's signature
# at start-up, and string annotations would each be compiled and evaluated then (start-up
# time, issue 7); real annotations are built once, with the module.

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from msgspec.structs import replace
from typer.core import TyperGroup

from memmapsim import __version__
from memmapsim.config.scenario import Scenario, builtin_names, load_scenario
from memmapsim.engine.costs import builtin_profiles, load_profile
from memmapsim.errors import InputError, cut_quoted
from memmapsim.kernel.init_main import BOOT_STEP
from memmapsim.kernel.versions import CHAIN, CHANGES, RELEASES
from memmapsim.model.memmap import BACKENDS
from memmapsim.model.pageblock import MigrateType
from memmapsim.model.section import Medium
from memmapsim.report import outputs
from memmapsim.report.data import dmesg_lines, run_data
from memmapsim.report.progress import Progress
from memmapsim.simulate import ENGINES, RunResult, resolve_kernel, simulate

if TYPE_CHECKING:
    from rich.console import Console

PREFIX = "memmapsim: error: "


def _error_line(where: str | None, what: str) -> str:
    text = f"{where}: {what}" if where else what
    return PREFIX + cut_quoted(text)


class OneLineErrors(TyperGroup):
    """Usage errors (missing or unknown options, a missing argument) as one line, exit 2,
    instead of click's usage block; ``memmapsim`` alone prints the help."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code: Any = 0
        try:
            code = super().main(
                args, prog_name or "memmapsim", complete_var, standalone_mode=False, **extra
            )
        except typer.Abort:
            print(_error_line(None, "interrupted"), file=sys.stderr)
            code = 130
        except Exception as e:
            exit_code, show = getattr(e, "exit_code", None), getattr(e, "format_message", None)
            if not isinstance(exit_code, int) or not callable(show):
                raise
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
                print(ctx.get_help())
                code = 0
            else:
                words = " ".join(str(show()).split()).rstrip(".")
                command = ctx.info_name if ctx is not None and ctx.parent is not None else None
                what = words[:1].lower() + words[1:]
                print(_error_line(command, what), file=sys.stderr)
                code = 2
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Simulate the Linux kernel's struct page (memmap) initialization, version by version.",
)
_CONSOLE: "list[Console]" = []


def _console() -> "Console":
    """The console for tables, made (and rich imported) only when text is printed."""
    if not _CONSOLE:
        from memmapsim.report.text import plain_console

        _CONSOLE.append(plain_console())
    return _CONSOLE[0]


ScenarioArg = Annotated[
    str,
    typer.Argument(
        metavar="SCENARIO",
        help="A built-in scenario name (see `memmapsim scenarios`) or a TOML file.",
        show_default=False,
    ),
]
KernelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--kernel",
        "-k",
        metavar="KERNEL",
        help="Kernel: a release plus +changes, e.g. 4.18 or 4.18+nonatomic-reserved "
        "(see `memmapsim kernels`), or +a change file: 5.16+./my_change.py "
        "(docs/user-changes.md). Default: the scenario's `kernel`.",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str, typer.Option(metavar="runs|dense", help="Memmap backend (dense: small machines only).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
SaveOpt = Annotated[
    str | None,
    typer.Option(
        "--save",
        metavar="FILE",
        help="Also write the --json document to FILE, for `memmapsim report`.",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        metavar="timing|inorder",
        help="timing (time, trace and state) or inorder (state and effect order).",
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="PROFILE",
        help="Cost profile for the timing engine: a built-in name (see `memmapsim profiles`) "
        "or a TOML file. Default: the scenario's `knobs.cost_profile`.",
        show_default=False,
    ),
]


def _fail(err: InputError) -> NoReturn:
    print(PREFIX + str(err), file=sys.stderr)
    raise typer.Exit(2)


def _refuse(where: str, what: str) -> NoReturn:
    _fail(InputError(where, None, what))


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _save(path: Path, data: Any) -> None:
    """``--save``: the --json document, written as :mod:`.report.outputs` writes files."""
    files = outputs.Outputs()
    files.add(path, (json.dumps(data, indent=2) + "\n").encode())
    files.commit()


def _one_kernel(kernel: list[str] | None) -> str | None:
    if kernel and len(kernel) > 1:
        _refuse("--kernel", "give --kernel once (`memmapsim compare` runs several kernels)")
    return kernel[0] if kernel else None


def _check_engine(engine: str, profile: str | None) -> None:
    if engine not in ENGINES:
        _refuse("--engine", f"unknown engine {engine!r} (timing, inorder)")
    if profile is not None and engine != "timing":
        _refuse("--profile", "costs are used only by the timing engine (--engine timing)")


def _load(spec: str) -> Scenario:
    """The scenario, which must boot or have a device to probe."""
    sc = load_scenario(spec)
    if not sc.devices and sc.boot is None:
        raise InputError(
            sc.source, "devices", "no devices: add a [[devices]] table to probe, or [boot]"
        )
    return sc


def _simulate(
    sc: Scenario,
    kernel: str | None,
    backend: str,
    engine: str = "timing",
    profile: str | None = None,
) -> RunResult:
    if backend not in BACKENDS:
        raise InputError("--backend", None, f"unknown backend {backend!r} (runs, dense)")
    if engine not in ENGINES:
        raise InputError("--engine", None, f"unknown engine {engine!r} (timing, inorder)")
    return simulate(sc, kernel, backend, engine, profile)


def _run_one(
    scenario: str, kernel: str | None, backend: str, engine: str, profile: str | None
) -> RunResult:
    sc = _load(scenario)
    with Progress(f"{sc.name}: simulating") as bar:
        bar.step(kernel or sc.kernel)
        return _simulate(sc, kernel, backend, engine, profile)


@app.command()
def run(
    scenario: ScenarioArg,
    kernel: KernelOpt = None,
    backend: BackendOpt = "runs",
    engine: EngineOpt = "timing",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    save: SaveOpt = None,
) -> None:
    """Run a scenario on one kernel: per device, pfn classes and init passes, pages
    initialised under mem_hotplug_lock and outside it, pgmap references, findings; and
    the time it takes, per node. Prints tables; --json prints one JSON object."""
    try:
        _check_engine(engine, profile)
        save_to = outputs.check_file(save, (".json",), "--save") if save is not None else None
        result = _run_one(scenario, _one_kernel(kernel), backend, engine, profile)
        if save_to is not None:
            _save(save_to, run_data(result))
    except InputError as e:
        _fail(e)
    if as_json:
        _emit_json(run_data(result))
    else:
        from memmapsim.report.text import print_run
        from memmapsim.report.timing_text import print_boot, print_timing

        print_boot(result, _console())
        print_run(result, _console())
        print_timing(result, _console())


def _kernel_key(sc: Scenario, spec: str) -> tuple[str, frozenset[str]]:
    k = resolve_kernel(sc, spec)
    return k.release, frozenset(k.changes)


@app.command()
def compare(
    scenario: Annotated[
        list[str],
        typer.Argument(
            metavar="SCENARIO",
            help="One or more built-in scenarios (see `memmapsim scenarios`) or TOML files.",
            show_default=False,
        ),
    ],
    kernel: Annotated[
        list[str],
        typer.Option(
            "--kernel",
            "-k",
            metavar="KERNEL",
            help="A kernel to compare (see `memmapsim kernels`); two or more, or one with "
            "several scenarios.",
            show_default=False,
        ),
    ],
    backend: BackendOpt = "runs",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
    plot: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Write a timeline, one panel per kernel; the suffix picks the format: "
            ".png, .svg or .pdf.",
            show_default=False,
        ),
    ] = None,
    dmesg: Annotated[
        str | None,
        typer.Option(
            metavar="DIR",
            help="Write each kernel's simulated log into this directory, as "
            "SCENARIO_KERNEL.dmesg (made if missing).",
            show_default=False,
        ),
    ] = None,
    save: SaveOpt = None,
) -> None:
    """Run scenarios on several kernels and show them side by side (--json prints one JSON
    object, with a run per scenario and kernel): per scenario the pfn classes and the time
    per kernel (ratios to the first), then a row per run with the struct pages written, the
    memmap kept and the time."""
    try:
        if len(kernel) * len(scenario) < 2:
            _refuse("--kernel", "compare needs at least two runs: two kernels, or two scenarios")
        if len(set(scenario)) != len(scenario):
            _refuse("SCENARIO", "a scenario is named twice: give it once")
        plot_to = outputs.check_plot(plot) if plot is not None else None
        dmesg_to = outputs.check_dmesg(dmesg) if dmesg is not None else None
        save_to = outputs.check_file(save, (".json",), "--save") if save is not None else None
        scenarios = [_load(s) for s in scenario]
        for sc in scenarios:
            seen: dict[tuple[str, frozenset[str]], str] = {}
            for k in kernel:
                key = _kernel_key(sc, k)
                if key in seen:
                    _refuse("--kernel", f"{k!r} is the same kernel as {seen[key]!r}: give it once")
                seen[key] = k
        groups: list[list[RunResult]] = []
        name = scenarios[0].name if len(scenarios) == 1 else "compare"
        with Progress(f"{name}: simulating", total=len(kernel) * len(scenarios)) as bar:
            for sc in scenarios:
                groups.append([])
                for k in kernel:
                    bar.step(f"{sc.name} {k}" if len(scenarios) > 1 else k)
                    groups[-1].append(_simulate(sc, k, backend, "timing", profile))
                    bar.advance()
        results = [r for g in groups for r in g]
        files = outputs.Outputs()
        if dmesg_to is not None:
            for g in groups:
                names = outputs.dmesg_file_names(g[0].scenario.name, [r.kernel.name for r in g])
                for fname, r in zip(names, g, strict=True):
                    files.add(
                        dmesg_to / fname, "".join(ln + "\n" for ln in dmesg_lines(r)).encode()
                    )
        if plot_to is not None:
            from memmapsim.report.plot import timeline

            files.add(plot_to[0], timeline(results, plot_to[1]))
        data: dict[str, Any] = {"runs": [run_data(r) for r in results]}
        if len(scenarios) == 1:
            data = {"scenario": scenarios[0].name} | data
        else:
            data = {"scenarios": [sc.name for sc in scenarios]} | data
        if save_to is not None:
            files.add(save_to, (json.dumps(data, indent=2) + "\n").encode())
        files.commit()
    except InputError as e:
        _fail(e)
    if as_json:
        _emit_json(data)
        return
    from memmapsim.report.text import print_compare, print_summary
    from memmapsim.report.timing_text import print_boot_compare, print_timing_compare

    for g in groups:
        if len(g) > 1:
            print_boot_compare(g, _console())
            if g[0].devices:
                print_compare(g, _console())
            print_timing_compare(g, _console())
    if len(groups) > 1:
        print_summary(results, _console())


@app.command()
def trace(
    scenario: ScenarioArg,
    kernel: KernelOpt = None,
    engine: EngineOpt = "inorder",
    profile: ProfileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The trace: with the in-order engine every effect in program order with the locks
    held; with the timing engine every interval of work or lock wait, and the lock holds.
    Prints text with column headers; --json prints one JSON object."""
    from memmapsim.report.trace_text import trace_data, trace_lines

    try:
        _check_engine(engine, profile)
        result = _run_one(scenario, _one_kernel(kernel), "runs", engine, profile)
    except InputError as e:
        _fail(e)
    if as_json:
        _emit_json(trace_data(result))
    else:
        sys.stdout.write("".join(line + "\n" for line in trace_lines(result)))


@app.command()
def validate(
    as_json: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the docs table.")] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="PROFILE",
            help="The built-in cost profile to validate, with its own figures: "
            "xeon-2018-pmem (4.18-4.20 code) or modern-x86 (5.2+ code). Default: each.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Every published figure the model covers, per cost profile: model vs published,
    whether it is fitted, restated (same measurement as a fitted one) or predicted, and its
    tolerance; figures it cannot cover, with the reason. Prints tables; --json prints one
    JSON object (``{"profiles": [...]}`` without --profile); --markdown the table of
    docs/validation.md or docs/validation-modern-x86.md (it needs --profile). Exits 1 if a
    figure misses and is not a declared known miss."""
    from rich.table import Table

    from memmapsim import validate as v
    from memmapsim.report.text import print_table

    if markdown and as_json:
        _refuse("--markdown", "give --markdown or --json, not both")
    if profile is not None and profile not in v.VALIDATED_PROFILES:
        known = ", ".join(v.VALIDATED_PROFILES)
        _refuse("--profile", f"no published figures for {profile!r}: validate covers {known}")
    if markdown and profile is None:
        known = " or ".join(v.VALIDATED_PROFILES)
        _refuse("--markdown", f"each profile has its own docs table: give --profile {known}")
    profiles = [profile] if profile is not None else list(v.VALIDATED_PROFILES)
    results = [(p, v.validate(profile=p), v.not_covered_for(p)) for p in profiles]
    if markdown:
        ((p, rows, _nc),) = results
        sys.stdout.write(v.markdown(rows, p))
    elif as_json:
        objs = [
            {
                "profile": p,
                "summary": v.summary(rows),
                "figures": [v.row_data(r) for r in rows],
                "not_covered": [{"id": n.id, "reason": n.reason} for n in not_covered],
            }
            for p, rows, not_covered in results
        ]
        _emit_json(objs[0] if profile is not None else {"profiles": objs})
    else:
        for p, rows, not_covered in results:
            n = v.summary(rows)
            t = Table()
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
                    f"{v.model_text(r.predicted)} {r.figure.unit}",
                    f"{r.error:+.1%}",
                    v.tolerance_text(r.figure),
                    r.status,
                )
            title = (
                f"validation ({p}): {n['predicted']} of {n['covered']} covered figures predicted"
            )
            print_table(_console(), t, title)
            n_t = Table("not covered", "reason")
            for nc in not_covered:
                n_t.add_row(nc.id, nc.reason)
            print_table(_console(), n_t, f"not covered ({p})")
    if not all(r.ok for _p, rows, _nc in results for r in rows):
        raise typer.Exit(1)


@app.command()
def sweep(
    spec: Annotated[
        str,
        typer.Argument(
            metavar="SPEC",
            help="The sweep's TOML file: a base scenario and axes (README, Sweeps).",
            show_default=False,
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE.parquet",
            help="The results, one row per point. Default: SPEC's name with .parquet, in the "
            "current directory. Run again to finish a sweep that was stopped.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            min=1,
            help="Local worker processes. Default: one per CPU.",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Run on this Dask scheduler (tcp://host:8786) instead; default: "
            "$DASK_SCHEDULER_ADDRESS when --jobs is not given. Needs memmapsim[dask].",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Rewrite the Parquet file this often while running."),
    ] = 10.0,
) -> None:
    """Run a grid of points — sizes, nodes, CPUs, kernels, cost-profile entries — built
    from a base scenario, on local processes or a Dask cluster. Every result goes to a
    journal as it arrives and into a Parquet file keyed by a hash of the point's
    configuration: a sweep stopped at any moment and started again runs only what is
    missing."""
    from memmapsim.sweep.command import sweep as run_sweep

    try:
        run_sweep(spec, output, jobs, scheduler, checkpoint)
    except InputError as e:
        _fail(e)


@app.command()
def report(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="RESULT...",
            help="Saved results: run/compare --json or --save files, validate --json "
            "files, sweep Parquet files.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", metavar="FILE.html", help="The page to write.")
    ] = "report.html",
    title: Annotated[str, typer.Option(metavar="TEXT", help="The page's title.")] = (
        "memmapsim report"
    ),
) -> None:
    """Write one self-contained HTML page (no network: inline CSS, SVG and a little
    JavaScript) from saved results: the scenarios and kernels, zoomable per-CPU
    timelines, time per node, lock holds, scaling curves of sweeps, the validation
    table, findings and the simulated kernel logs."""
    from memmapsim.report.html import render
    from memmapsim.report.inputs import read_inputs

    try:
        out = outputs.check_file(output, (".html", ".htm"), "--output")
        files = outputs.Outputs()
        files.add(out, render(read_inputs(inputs), title).encode())
        files.commit()
    except InputError as e:
        _fail(e)
    print(f"wrote {out}")


def profile_entries(name: str) -> list[dict[str, Any]]:
    """A profile's rows as ``memmapsim profiles`` shows them."""
    prof = load_profile(name)
    rows: list[dict[str, Any]] = []
    for key, c in prof.costs.items():
        rows.append(
            {"entry": key, "value": c.ns, "unit": "ns/page", "kind": c.kind}
            | {"figure": c.figure, "note": c.note}
        )
    for key, f in (("remote", prof.factors.remote), ("memmap_in_ram", prof.factors.memmap_in_ram)):
        rows.append(
            {"entry": f"factor {key}", "value": f.value, "unit": "x", "kind": f.kind}
            | {"figure": f.figure, "note": f.note}
        )
    bw = prof.bandwidth
    for medium, gbps in (("dram", bw.dram_gbps), ("pmem", bw.pmem_gbps)):
        rows.append(
            {"entry": f"bandwidth {medium}", "value": gbps, "unit": "GB/s", "kind": bw.kind}
            | {"figure": "", "note": bw.note}
        )
    for key, ns in prof.fixed_ns.items():
        rows.append(
            {"entry": f"fixed {key}", "value": ns, "unit": "ns", "kind": "assumed"}
            | {"figure": "", "note": ""}
        )
    return rows


@app.command()
def profiles(as_json: JsonOpt = False) -> None:
    """List the built-in cost profiles and their entries with provenance. Prints one table
    per profile; --json prints a list with one object per profile."""
    from rich.table import Table

    from memmapsim.report.text import print_table

    data: list[dict[str, Any]] = []
    for name in builtin_profiles():
        prof = load_profile(name)
        data.append(
            {"name": name, "description": prof.description, "entries": profile_entries(name)}
        )
    if as_json:
        _emit_json(data)
        return
    for p in data:
        t = Table("entry", "value", "kind", "figure / note")
        for e in p["entries"]:
            unit = e["unit"]
            value = f"x{e['value']:g}" if unit == "x" else f"{e['value']:g} {unit}"
            t.add_row(e["entry"], value, e["kind"], e["figure"] or e["note"])
        print_table(_console(), t, f"{p['name']}: {p['description']}")


@app.command()
def scenarios(as_json: JsonOpt = False) -> None:
    """List the built-in scenarios. Prints a table; --json prints a list with one object
    per scenario."""
    from rich.table import Table

    data = []
    for name in builtin_names():
        sc = load_scenario(name)
        data.append({"name": name, "kernel": sc.kernel, "description": sc.description})
    if as_json:
        _emit_json(data)
        return
    t = Table("name", "kernel", "description")
    for d in data:
        t.add_row(d["name"], d["kernel"], d["description"])
    _console().print(t)


@app.command()
def kernels(as_json: JsonOpt = False) -> None:
    """List the modelled releases — each with the changes it brought, their commits and the
    release tree read for it — and the named changes that can be added to a release
    (``--kernel 4.18+name``). Prints two tables; --json prints a list with one object per
    release and per change."""
    from rich.table import Table

    from memmapsim.report.text import print_table

    data: list[dict[str, Any]] = []
    for rel in CHAIN:
        new = [CHANGES[n] for n in rel.changes]
        data.append(
            {
                "kind": "release",
                "name": rel.name,
                "tree": rel.tree,
                "new": [
                    {"name": c.name, "subject": c.subject, "commit": c.commit, "origin": c.origin}
                    | ({"reverts": c.reverts} if c.reverts else {})
                    for c in new
                ],
                "changes": list(RELEASES[rel.name]),
            }
        )
    data += [
        {"kind": "change", "name": ch.name, "subject": ch.subject, "commit": ch.commit}
        | {"origin": ch.origin, "needs": list(ch.requires)}
        for ch in CHANGES.values()
        if ch.selectable
    ]
    if as_json:
        _emit_json(data)
        return
    t = Table("release", "new in it (change: commit)", "tree read")
    for d in data:
        if d["kind"] == "release":
            lines = [
                f"{c['name']}: {c['commit'] or '-'}"
                + (f" (reverts {c['reverts']})" if c.get("reverts") else "")
                for c in d["new"]
            ]
            first = d is data[0]
            empty = "(baseline)" if first else "(no change modelled)"
            t.add_row(d["name"], "\n".join(lines) or empty, d["tree"])
    print_table(_console(), t, "releases (each is the one before plus its changes)")
    c = Table("change (+name)", "commit", "origin", "needs")
    for d in data:
        if d["kind"] == "change":
            c.add_row(d["name"], d["commit"] or "-", d["origin"], ", ".join(d["needs"]) or "-")
    print_table(_console(), c, "changes that can be added with +name")


def migratetype_name(value: int | None) -> str | None:
    """``MIGRATE_MOVABLE`` for 1; None for a pageblock never written."""
    if value is None:
        return None
    try:
        return MigrateType(value).name
    except ValueError:
        return str(value)


def _until(sc: Scenario, after: str | None) -> Scenario:
    """``sc`` with its steps cut after the one labelled ``after``."""
    if after is None:
        return sc
    labels = [p.label for p in sc.plan()]
    if sc.boot is not None:
        if after == BOOT_STEP:  # the state at the end of boot: no step runs
            return replace(sc, steps=[], devices=[])
        labels = [BOOT_STEP, *labels]
    if after not in labels:
        _refuse("--after", f"no step {after!r} (steps: {', '.join(labels)})")
    if not sc.steps:
        return sc
    return replace(sc, steps=sc.steps[: labels.index(after) + 1])


@app.command()
def page(
    scenario: ScenarioArg,
    pfn: Annotated[
        str, typer.Argument(metavar="PFN", help="The pfn, decimal or 0x hex.", show_default=False)
    ],
    kernel: KernelOpt = None,
    backend: BackendOpt = "runs",
    after: Annotated[
        str | None,
        typer.Option(
            metavar="STEP",
            help="Show the page after this step (a label as `memmapsim trace` prints it: "
            "add, remove, add#2, ...; boot for the end of boot), not after the last.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one struct page after the scenario ran: as that kernel's dump_page() prints it
    (its flag names and line format, compound head and order), then its pageblock's
    migratetype and the passes that wrote it. --json prints its words decoded, one JSON
    object."""
    from memmapsim.kernel.debug import dump_page
    from memmapsim.report.text import say

    try:
        try:
            value = int(pfn, 0)
        except ValueError:
            _refuse("PFN", f"not a number: {pfn!r}")
        sc = _until(_load(scenario), after)
        k = _one_kernel(kernel)
        with Progress(f"{sc.name}: simulating") as bar:
            bar.step(k or sc.kernel)
            result = _simulate(sc, k, backend, "timing", None)
    except InputError as e:
        _fail(e)
    limit = 1 << (result.scenario.machine.max_physmem_bits - 12)
    if not 0 <= value < limit:
        _refuse("PFN", f"{pfn} is outside the machine's pfns [0, {limit:#x})")
    mem = result.mem
    view = mem.page(value)
    out: dict[str, Any] = dict(view.fields())
    backing = mem.vmemmap.backing(value)
    boot = backing is not None and backing.medium is Medium.BOOT and result.boot is None
    if boot:
        out["state"] = (
            "boot memory: its struct pages are not modelled without a [boot] table in the scenario"
        )
    out["pageblock_migratetype"] = migratetype_name(mem.pageblocks.get_pfn(value))
    out["history"] = [p.label() for p in view.record.history]
    if as_json:
        _emit_json(out)
        return
    when = f" after step {after}" if after else ""
    say(
        _console(),
        (f"pfn {value:#x}", "bold"),
        f" of {result.scenario.name} on {result.kernel.name}{when}",
    )
    if boot:
        say(_console(), f"  memmapsim: {out['state']}")
    else:
        k_ = result.kernel
        for line in dump_page(
            k_.release,
            value,
            mem.memmap.record,
            k_.layout,
            lambda pid: mem.pgmap(pid).cfg.dev_name,
        ):
            say(_console(), f"  {line}")
    mt = out["pageblock_migratetype"] or "- (never written)"
    say(_console(), f"  memmapsim: pageblock migratetype {mt}")
    say(_console(), f"  memmapsim: written by {', then '.join(out['history']) or 'nothing'}")


LogArg = Annotated[
    list[str],
    typer.Argument(
        metavar="LOG",
        help="Kernel logs: dmesg, syslog, journalctl, or quoted in mail.",
        show_default=False,
    ),
]


@app.command()
def calibrate(
    log: LogArg,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="PROFILE.toml",
            help="Write the fitted profile here.",
            show_default=False,
        ),
    ],
    scenario: Annotated[
        str | None,
        typer.Option(
            metavar="SCENARIO",
            help="The logged machine, when the log does not describe it (default: read from "
            "the log: memory ranges, CPUs, pmem).",
            show_default=False,
        ),
    ] = None,
    kernel: KernelOpt = None,
    profile: Annotated[
        str, typer.Option(metavar="PROFILE", help="The base cost profile to fit a factor on.")
    ] = "modern-x86",
    hz: Annotated[
        int, typer.Option(metavar="HZ", help="The logged kernel's CONFIG_HZ (its ms resolution).")
    ] = 250,
    as_json: JsonOpt = False,
) -> None:
    """Fit a cost profile to the memmap measurement lines of real kernel logs: one factor
    on the base profile's per-page costs, with its standard error, from every line the
    simulated machine also prints; lines it cannot use are listed with the reason. Prints
    a table (--json prints one JSON object) and writes the profile."""
    import tomli_w

    from memmapsim.calibrate import calibrate as fit
    from memmapsim.calibrate import profile_toml

    try:
        dest = outputs.check_file(out, (".toml",))
        sc = _load(scenario) if scenario is not None else None
        cal = fit(log, sc, profile, hz, _one_kernel(kernel))
        files = outputs.Outputs()
        stem = dest.stem
        files.add(dest, tomli_w.dumps(profile_toml(cal, stem)).encode())
        files.commit()
    except InputError as e:
        _fail(e)
    data = {
        "base": cal.base,
        "scale": cal.scale,
        "sigma": cal.sigma,
        "rel_sigma": cal.rel_sigma,
        "lines": [
            {
                "line": f"{m.source}:{m.measured.lineno}",
                "key": m.key,
                "measured_ms": m.measured.ms,
                "simulated_ms": m.simulated_ms,
                "fitted_ms": round(m.fitted_ms, 3),
            }
            for m in cal.matches
        ],
        "unused": [{"line": f"{f}:{n}", "reason": why} for f, n, why in cal.unused],
        "assumed": cal.assumed,
        "profile": str(dest),
    }
    if as_json:
        _emit_json(data)
        return
    from rich.table import Table

    from memmapsim.report.text import print_table, say

    jiffy = 1000 / cal.hz
    t = Table("line", "work", "measured (ms)", "base (ms)", "fitted (ms)", "off (jiffies)")
    for m in cal.matches:
        t.add_row(f"{m.source}:{m.measured.lineno}", m.key, f"{m.measured.ms:,}",
                  f"{m.simulated_ms:,}", f"{m.fitted_ms:,.1f}",
                  f"{(m.measured.ms - m.fitted_ms) / jiffy:+.2f}")  # fmt: skip
    print_table(_console(), t, f"calibration on {cal.base}")
    say(
        _console(),
        f"factor {cal.scale:.4f} ± {cal.sigma:.2g} (1σ, {100 * cal.rel_sigma:.2g} %) "
        "on every per-page cost",
    )
    for f, n, why in cal.unused:
        say(_console(), f"  not used: {f}:{n}: {why}")
    for a in cal.assumed:
        say(_console(), f"  assumed: {a}")
    say(_console(), f"wrote {dest}")


@app.command("scenario-from-log")
def scenario_from_log(
    log: Annotated[str, typer.Argument(metavar="LOG", help="A kernel log.", show_default=False)],
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", metavar="SCENARIO.toml", help="Write it here, not stdout."),
    ] = None,
    name: Annotated[str, typer.Option(metavar="NAME", help="The scenario's name.")] = "from-log",
) -> None:
    """Write the scenario of the machine a kernel log came from: its nodes and memory
    ranges, CPUs, persistent memory and kernel release; what the log does not say is
    listed as comments."""
    import tomli_w

    from memmapsim.io.dmesg import read_log
    from memmapsim.io.extract import WANTED, extract
    from memmapsim.io.scenario_from_log import scenario_from_log as build
    from memmapsim.io.scenario_from_log import to_scenario

    try:
        fl = build(extract(read_log(log, keep=WANTED)), name, list(RELEASES), log)
        to_scenario(fl, log)  # it must load
        text = "".join(f"# assumed: {a}\n" for a in fl.assumed) + tomli_w.dumps(fl.data)
        if out is None:
            sys.stdout.write(text)
            return
        dest = outputs.check_file(out, (".toml",))
        files = outputs.Outputs()
        files.add(dest, text.encode())
        files.commit()
    except InputError as e:
        _fail(e)


@app.command()
def predict(
    scenario: ScenarioArg,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            metavar="PROFILE.toml",
            help="A profile from `memmapsim calibrate` (or any profile: no interval).",
            show_default=False,
        ),
    ],
    kernel: KernelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The time a scenario takes on a calibrated profile, with the interval of ±2σ of its
    fitted factor (each end simulated). Prints one line; --json prints one JSON object."""
    from memmapsim.calibrate import predict as run_predict

    try:
        sc = _load(scenario)
        pred, r = run_predict(sc, _one_kernel(kernel), profile)
    except InputError as e:
        _fail(e)
    data = {
        "scenario": sc.name,
        "kernel": r.kernel.name,
        "profile": profile,
        "total_s": round(pred.total_s, 6),
        "interval_s": [round(pred.low_s, 6), round(pred.high_s, 6)],
        "rel_sigma": pred.rel_sigma,
    }
    if pred.boot is not None:
        data["boot"] = {
            "total_s": round(pred.boot.s, 6),
            "interval_s": [round(pred.boot.low_s, 6), round(pred.boot.high_s, 6)],
            "nodes": [
                {"id": nid, "init_s": round(i.s, 6), "interval_s": [round(i.low_s, 6),
                 round(i.high_s, 6)]}
                for nid, i in pred.nodes.items()
            ],
        }  # fmt: skip
    if as_json:
        _emit_json(data)
        return
    from memmapsim.report.text import say

    def shown(what: str, s: float, low: float, high: float) -> str:
        return f"{what} {s:.3f} s (±2σ of the fitted factor: {low:.3f}-{high:.3f} s)"

    head = f"{sc.name} on {r.kernel.name}:"
    if pred.boot is None or sc.devices:
        say(_console(), f"{head} {shown('devices', pred.total_s, pred.low_s, pred.high_s)}")
    if pred.boot is not None:
        b = pred.boot
        say(_console(), f"{head} {shown('boot (deferred init)', b.s, b.low_s, b.high_s)}")
        for nid, i in pred.nodes.items():
            say(_console(), f"  {shown(f'node {nid} init', i.s, i.low_s, i.high_s)}")


ReaderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--reader",
        "-r",
        metavar="READER",
        help="A kernel reader to race against the scenario's steps (see `memmapsim readers`); "
        "repeat for several. Default: every reader.",
        show_default=False,
    ),
]


@app.command()
def explore(
    scenario: ScenarioArg,
    kernel: KernelOpt = None,
    reader: ReaderOpt = None,
    pfn: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PFN",
            help="A pfn the readers look at, decimal or 0x hex; repeat for several. Default: "
            "one pfn of every pfn class of every device.",
            show_default=False,
        ),
    ] = None,
    strategy: Annotated[
        str,
        typer.Option(
            metavar="dfs|random|pct",
            help="dfs: every schedule within the preemption bound (partial-order reduced); "
            "random: random choices within the bound; pct: probabilistic concurrency testing.",
        ),
    ] = "dfs",
    preemptions: Annotated[
        int, typer.Option(metavar="K", help="At most K preemptions per schedule (dfs, random).")
    ] = 2,
    depth: Annotated[int, typer.Option(metavar="D", help="PCT's bug depth.")] = 3,
    budget: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="At most N schedules per reader and pfn (default: 100000 for dfs, 1000 for "
            "random and pct).",
            show_default=False,
        ),
    ] = None,
    seconds: Annotated[
        float | None,
        typer.Option(
            metavar="S",
            help="Stop after S seconds (then the output depends on the machine's speed).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(metavar="SEED", help="The seed of every random choice (random, pct).")
    ] = 0,
    jobs: Annotated[int, typer.Option(metavar="N", help="Explore on N local processes.")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Explore on the Dask cluster whose scheduler is at ADDRESS (default: "
            "$DASK_SCHEDULER_ADDRESS); needs memmapsim[dask].",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        str, typer.Option(metavar="DIR", help="Where to save a schedule file per finding.")
    ] = "out/schedules",
    as_json: JsonOpt = False,
) -> None:
    """Race the kernel's readers against a scenario's steps: explore thread schedules and
    report every schedule in which a reader sees an uninitialized struct page or an
    invariant breaks. Each finding is grouped with its like, shrunk to the fewest
    preemptions and steps, and saved as a schedule file for `memmapsim replay`. Prints a
    report; --json prints one JSON object. Progress and rates go to stderr."""
    import time

    from memmapsim.engine.workers import default_scheduler
    from memmapsim.races import Request, exploration_data, plan, save_schedules
    from memmapsim.races import explore as run_explore

    try:
        pfns = []
        for p in pfn or []:
            try:
                pfns.append(int(p, 0))
            except ValueError:
                _refuse("--pfn", f"not a number: {p!r}")
        if budget is None:
            budget = 100_000 if strategy == "dfs" else 1_000
        req = Request(
            scenario, _one_kernel(kernel), tuple(reader or ()), tuple(pfns), strategy,
            preemptions, depth, budget, seconds, seed,
        )  # fmt: skip
        t0 = time.perf_counter()
        todo = plan(req, jobs)
        label = f"{todo.context.scenario.name} on {todo.context.kernel.name}: exploring"
        with Progress(label, total=len(todo.tasks)) as bar:

            def done(n: int, total: int) -> None:
                bar.advance()

            result = run_explore(todo, jobs, default_scheduler(scheduler), done)
        save_schedules(result, out)
    except InputError as e:
        _fail(e)
    took = time.perf_counter() - t0
    rate = result.schedules / took if took > 0 else 0.0
    print(
        f"memmapsim: explored {result.schedules:,} schedules in {took:.2f} s ({rate:,.0f}/s)",
        file=sys.stderr,
    )
    if as_json:
        _emit_json(exploration_data(result))
    else:
        from memmapsim.report.explore_text import exploration_lines

        sys.stdout.write("".join(line + "\n" for line in exploration_lines(result)))


@app.command()
def replay(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="A schedule file `memmapsim explore` saved.", show_default=False
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Replay a schedule file: run its scenario and kernel under its schedule and print the
    finding it reaches, as `memmapsim explore` reported it; --json prints it as one JSON
    object."""
    from memmapsim.races import finding_data, replay_file

    try:
        f = replay_file(file)
    except InputError as e:
        _fail(e)
    if as_json:
        _emit_json(finding_data(f))
    else:
        from memmapsim.report.explore_text import finding_lines

        sys.stdout.write("".join(line + "\n" for line in finding_lines(f)))


@app.command()
def readers(as_json: JsonOpt = False) -> None:
    """List the kernel's readers of struct pages that `memmapsim explore` races against the
    writers, each with its kernel file and function and the gate it uses, release by
    release. --json prints a list with one object per reader."""
    from memmapsim.races import reader_table

    table = reader_table()
    if as_json:
        _emit_json(table)
        return
    from memmapsim.report.explore_text import reader_lines

    sys.stdout.write("".join(line + "\n" for line in reader_lines(table)))


def version_callback(value: bool) -> None:
    if value:
        print(f"memmapsim {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """memmapsim: how long memory takes to come up, and whether it is safe while it does."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
