"""The ``memmapsim`` command line.

Every error is one line on stderr, ``memmapsim: error: WHERE: WHAT``, with exit status 2:
bad input (a malformed scenario, an impossible machine, a kernel that refuses a device,
an unknown kernel), a meaningless combination of options, an unusable output path, and
usage errors (a missing option, an unknown one), which argparse would otherwise print
after a usage block. Output files are checked before anything is simulated and are put in
place only when all of them were written (:mod:`memmapsim.report.outputs`).

The parser is argparse's. Each command is a function declaring its arguments with
:func:`command`; ``main`` parses, calls it with one keyword per argument, and turns its
errors into the one line. Why not typer (used until issue 7): start-up. typer 0.2x
imports pydantic to coerce every argument, and with its own import that was some 0.2 s of
every command, against a budget of 0.5 s for a whole ``memmapsim run``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import msgspec
from msgspec.structs import replace

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
DESCRIPTION = (
    "Simulate the Linux kernel's struct page (memmap) initialization, version by version: "
    "how long memory takes to come up, and whether it is safe while it does."
)


def _error_line(where: str | None, what: str) -> str:
    text = f"{where}: {what}" if where else what
    return PREFIX + cut_quoted(text)


# --- the parser -------------------------------------------------------------------------------
class UsageError(Exception):
    """A usage error: a missing or unknown argument, a value of the wrong type."""

    def __init__(self, command: str | None, message: str) -> None:
        super().__init__(message)
        self.command, self.message = command, message


_ARGUMENT = re.compile(r"argument (\S+?)(?:/(\S+))?: (.*)", re.S)


def _named(names: str) -> str:
    """``-k/--kernel`` as ``'--kernel'``, ``SCENARIO`` as ``'SCENARIO'``."""
    return ", ".join(f"'{n.split('/')[-1]}'" for n in names.split(", "))


_REWORDED: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern, re.S), reword)
    for pattern, reword in (
        (
            r"the following arguments are required: (-.*)",
            lambda m: f"missing option {_named(m[1])}",
        ),
        (
            r"the following arguments are required: (.*)",
            lambda m: f"missing argument {_named(m[1])}",
        ),
        (r"unrecognized arguments: (-\S*).*", lambda m: f"no such option: {m[1]}"),
        (r"unrecognized arguments: (.*)", lambda m: f"unexpected argument {m[1]!r}"),
        (
            r"COMMAND: invalid choice: ('.*?') \(choose from (.*)\)",
            lambda m: f"no such command {m[1]} (commands: {m[2].replace(chr(39), '')})",
        ),
        (r"(-\S+): expected one argument", lambda m: f"option '{m[1]}' requires an argument"),
        (r"(-\S+): invalid int value: (.*)", lambda m: f"{m[1]}: expected an integer, got {m[2]}"),
        (r"(-\S+): invalid float value: (.*)", lambda m: f"{m[1]}: expected a number, got {m[2]}"),
    )
)
"""argparse's usage errors in the words of the rest of memmapsim's errors."""


class Parser(argparse.ArgumentParser):
    """argparse, raising :class:`UsageError` instead of printing the usage and exiting;
    ``argument -k/--kernel: ...`` is shortened to ``--kernel: ...``."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("memmapsim").strip() or None
        if m := _ARGUMENT.fullmatch(message):
            message = f"{m[2] or m[1]}: {m[3]}"
        for pattern, reword in _REWORDED:
            if m := pattern.fullmatch(message):
                message = reword(m)
                break
        raise UsageError(command, message)


class _Formatter(argparse.HelpFormatter):
    """Options shown as ``-k, --kernel KERNEL`` (argparse repeats the metavar), commands
    as a plain list."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)

    def _format_action(self, action: argparse.Action) -> str:
        """The commands listed one per line, without argparse's ``COMMAND`` line above."""
        if isinstance(action, argparse._SubParsersAction):
            return "".join(self._format_action(a) for a in action._get_subactions())
        return super()._format_action(action)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        metavar = self._format_args(action, action.dest.upper())
        return f"{', '.join(action.option_strings)} {metavar}"


class Arg(msgspec.Struct, frozen=True):
    """One ``add_argument`` call: its flags (none for a positional) and keywords."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any]

    def but(self, **kwargs: Any) -> Arg:
        """The same argument with some keywords changed (a command's own help, say)."""
        return Arg(self.flags, self.kwargs | kwargs)


def arg(dest: str, metavar: str, help: str, **kwargs: Any) -> Arg:
    """A positional argument."""
    return Arg((dest,), {"metavar": metavar, "help": help, **kwargs})


def opt(*flags: str, **kwargs: Any) -> Arg:
    """An option; ``--json``-like flags give ``action="store_true"``."""
    return Arg(flags, kwargs)


F = TypeVar("F", bound=Callable[..., None])
COMMANDS: dict[str, tuple[Callable[..., None], str, tuple[Arg, ...]]] = {}
"""Each command's function and arguments, in the order ``memmapsim --help`` lists them."""


def command(summary: str, *args: Arg) -> Callable[[F], F]:
    """Register a command, listed by ``memmapsim --help`` with ``summary``: its function
    (named as the command, ``_`` for ``-``) takes one keyword per argument, ``dest`` as
    the keyword; its docstring is the command's ``--help``."""

    def register(func: F) -> F:
        COMMANDS[func.__name__.replace("_", "-")] = (func, summary, args)
        return func

    return register


def build_parser() -> Parser:
    parser = Parser(
        prog="memmapsim", description=DESCRIPTION, formatter_class=_Formatter, allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"memmapsim {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser, title="commands"
    )
    for name, (func, summary, args) in COMMANDS.items():
        doc = inspect.cleandoc(func.__doc__ or "")
        p = sub.add_parser(
            name, help=summary, description=doc, formatter_class=_Formatter, allow_abbrev=False
        )
        for a in args:
            p.add_argument(*a.flags, **a.kwargs)
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """``memmapsim ARGS``: exit 0, 1 (validate: a figure missed) or 2 (an error, one line);
    130 when interrupted."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args:
        parser.print_help()
        sys.exit(0)
    try:
        ns = vars(parser.parse_args(args))
        func = ns.pop("func")
        del ns["command"]
        func(**ns)
    except UsageError as e:
        print(_error_line(e.command, e.message), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(_error_line(None, "interrupted"), file=sys.stderr)
        sys.exit(130)
    sys.exit(0)


_CONSOLE: list[Console] = []


def _console() -> Console:
    """The console for tables, made (and rich imported) only when text is printed."""
    if not _CONSOLE:
        from memmapsim.report.text import plain_console

        _CONSOLE.append(plain_console())
    return _CONSOLE[0]


# --- arguments shared by several commands ---------------------------------------------------
SCENARIO = arg(
    "scenario", "SCENARIO", "A built-in scenario name (see `memmapsim scenarios`) or a TOML file."
)
KERNEL = opt(
    "-k",
    "--kernel",
    action="append",
    metavar="KERNEL",
    help="Kernel: a release plus +changes, e.g. 4.18 or 4.18+nonatomic-reserved "
    "(see `memmapsim kernels`), or +a change file: 5.16+./my_change.py "
    "(docs/user-changes.md). Default: the scenario's `kernel`.",
)
BACKEND = opt(
    "--backend",
    default="runs",
    metavar="runs|dense",
    help="Memmap backend (dense: small machines only). Default: runs.",
)
JSON = opt(
    "--json", dest="as_json", action="store_true", help="Print one JSON document instead of tables."
)
SAVE = opt(
    "--save", metavar="FILE", help="Also write the --json document to FILE, for `memmapsim report`."
)
ENGINE = opt(
    "--engine",
    default="timing",
    metavar="timing|inorder",
    help="timing (time, trace and state) or inorder (state and effect order). Default: timing.",
)
PROFILE = opt(
    "--profile",
    metavar="PROFILE",
    help="Cost profile for the timing engine: a built-in name (see `memmapsim profiles`) "
    "or a TOML file. Default: the scenario's `knobs.cost_profile`.",
)


def _at_least_one(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _fail(err: InputError) -> NoReturn:
    print(PREFIX + str(err), file=sys.stderr)
    sys.exit(2)


def _refuse(where: str, what: str) -> NoReturn:
    _fail(InputError(where, None, what))


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _emit_lines(lines: Iterable[str]) -> None:
    sys.stdout.write("".join(line + "\n" for line in lines))


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


@command(
    "Run a scenario on one kernel: state, findings and time",
    SCENARIO,
    KERNEL,
    BACKEND,
    ENGINE,
    PROFILE,
    JSON,
    SAVE,
)
def run(
    scenario: str,
    kernel: list[str] | None,
    backend: str,
    engine: str,
    profile: str | None,
    as_json: bool,
    save: str | None,
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


@command(
    "Run scenarios on several kernels, side by side",
    arg(
        "scenario",
        "SCENARIO",
        "One or more built-in scenarios (see `memmapsim scenarios`) or TOML files.",
        nargs="+",
    ),
    KERNEL.but(
        required=True,
        help="A kernel to compare (see `memmapsim kernels`); two or more, or one with "
        "several scenarios.",
    ),
    BACKEND,
    PROFILE,
    JSON,
    opt(
        "--plot",
        metavar="FILE",
        help="Write a timeline, one panel per kernel; the suffix picks the format: "
        ".png, .svg or .pdf.",
    ),
    opt(
        "--dmesg",
        metavar="DIR",
        help="Write each kernel's simulated log into this directory, as "
        "SCENARIO_KERNEL.dmesg (made if missing).",
    ),
    SAVE,
)
def compare(
    scenario: list[str],
    kernel: list[str],
    backend: str,
    profile: str | None,
    as_json: bool,
    plot: str | None,
    dmesg: str | None,
    save: str | None,
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


@command(
    "Every effect in order, or every interval of work and lock wait",
    SCENARIO,
    KERNEL,
    ENGINE.but(
        default="inorder", help=ENGINE.kwargs["help"].replace("Default: timing", "Default: inorder")
    ),
    PROFILE,
    JSON,
)
def trace(
    scenario: str, kernel: list[str] | None, engine: str, profile: str | None, as_json: bool
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
        _emit_lines(trace_lines(result))


@command(
    "The model against every published figure it covers",
    JSON,
    opt("--markdown", action="store_true", help="Print the docs table."),
    opt(
        "--profile",
        metavar="PROFILE",
        help="The built-in cost profile to validate, with its own figures: "
        "xeon-2018-pmem (4.18-4.20 code) or modern-x86 (5.2+ code). Default: each.",
    ),
)
def validate(as_json: bool, markdown: bool, profile: str | None) -> None:
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
        sys.exit(1)


@command(
    "Run a grid of points built from a base scenario",
    arg("spec", "SPEC", "The sweep's TOML file: a base scenario and axes (README, Sweeps)."),
    opt(
        "-o",
        "--output",
        metavar="FILE.parquet",
        help="The results, one row per point. Default: SPEC's name with .parquet, in the "
        "current directory. Run again to finish a sweep that was stopped.",
    ),
    opt(
        "-j",
        "--jobs",
        type=_at_least_one,
        metavar="N",
        help="Local worker processes. Default: one per CPU.",
    ),
    opt(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on this Dask scheduler (tcp://host:8786) instead; default: "
        "$DASK_SCHEDULER_ADDRESS when --jobs is not given. Needs memmapsim[dask].",
    ),
    opt(
        "--checkpoint",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="Rewrite the Parquet file this often while running. Default: 10.",
    ),
)
def sweep(
    spec: str, output: str | None, jobs: int | None, scheduler: str | None, checkpoint: float
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


@command(
    "Write one self-contained HTML page from saved results",
    arg(
        "inputs",
        "RESULT",
        "Saved results: run/compare --json or --save files, validate --json "
        "files, sweep Parquet files.",
        nargs="+",
    ),
    opt(
        "-o",
        "--output",
        default="report.html",
        metavar="FILE.html",
        help="The page to write. Default: report.html.",
    ),
    opt("--title", default="memmapsim report", metavar="TEXT", help="The page's title."),
)
def report(inputs: list[str], output: str, title: str) -> None:
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


@command("List the built-in cost profiles, entry by entry", JSON)
def profiles(as_json: bool) -> None:
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


@command("List the built-in scenarios", JSON)
def scenarios(as_json: bool) -> None:
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


@command("List the modelled releases and the changes behind each", JSON)
def kernels(as_json: bool) -> None:
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


@command(
    "Show one struct page as dump_page() prints it",
    SCENARIO,
    arg("pfn", "PFN", "The pfn, decimal or 0x hex."),
    KERNEL,
    BACKEND,
    opt(
        "--after",
        metavar="STEP",
        help="Show the page after this step (a label as `memmapsim trace` prints it: "
        "add, remove, add#2, ...; boot for the end of boot), not after the last.",
    ),
    JSON,
)
def page(
    scenario: str,
    pfn: str,
    kernel: list[str] | None,
    backend: str,
    after: str | None,
    as_json: bool,
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


@command(
    "Fit a cost profile to the measurement lines of kernel logs",
    arg("log", "LOG", "Kernel logs: dmesg, syslog, journalctl, or quoted in mail.", nargs="+"),
    opt(
        "-o", "--out", required=True, metavar="PROFILE.toml", help="Write the fitted profile here."
    ),
    opt(
        "--scenario",
        metavar="SCENARIO",
        help="The logged machine, when the log does not describe it (default: read from "
        "the log: memory ranges, CPUs, pmem).",
    ),
    KERNEL,
    opt(
        "--profile",
        default="modern-x86",
        metavar="PROFILE",
        help="The base cost profile to fit a factor on. Default: modern-x86.",
    ),
    opt(
        "--hz",
        type=int,
        default=250,
        metavar="HZ",
        help="The logged kernel's CONFIG_HZ (its ms resolution). Default: 250.",
    ),
    JSON,
)
def calibrate(
    log: list[str],
    out: str,
    scenario: str | None,
    kernel: list[str] | None,
    profile: str,
    hz: int,
    as_json: bool,
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


@command(
    "Write the scenario of the machine a kernel log came from",
    arg("log", "LOG", "A kernel log."),
    opt("-o", "--out", metavar="SCENARIO.toml", help="Write it here, not stdout."),
    opt("--name", default="from-log", metavar="NAME", help="The scenario's name."),
)
def scenario_from_log(log: str, out: str | None, name: str) -> None:
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


@command(
    "The time a scenario takes on a calibrated profile, with its interval",
    SCENARIO,
    opt(
        "--profile",
        required=True,
        metavar="PROFILE.toml",
        help="A profile from `memmapsim calibrate` (or any profile: no interval).",
    ),
    KERNEL,
    JSON,
)
def predict(scenario: str, profile: str, kernel: list[str] | None, as_json: bool) -> None:
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


@command(
    "Race the kernel's readers against a scenario's steps",
    SCENARIO,
    KERNEL,
    opt(
        "-r",
        "--reader",
        action="append",
        metavar="READER",
        help="A kernel reader to race against the scenario's steps (see `memmapsim readers`); "
        "repeat for several. Default: every reader.",
    ),
    opt(
        "--pfn",
        action="append",
        metavar="PFN",
        help="A pfn the readers look at, decimal or 0x hex; repeat for several. Default: "
        "one pfn of every pfn class of every device.",
    ),
    opt(
        "--strategy",
        default="dfs",
        metavar="dfs|random|pct",
        help="dfs: every schedule within the preemption bound (partial-order reduced); "
        "random: random choices within the bound; pct: probabilistic concurrency testing. "
        "Default: dfs.",
    ),
    opt(
        "--preemptions",
        type=int,
        default=2,
        metavar="K",
        help="At most K preemptions per schedule (dfs, random). Default: 2.",
    ),
    opt("--depth", type=int, default=3, metavar="D", help="PCT's bug depth. Default: 3."),
    opt(
        "--budget",
        type=int,
        metavar="N",
        help="At most N schedules per reader and pfn (default: 100000 for dfs, 1000 for "
        "random and pct).",
    ),
    opt(
        "--seconds",
        type=float,
        metavar="S",
        help="Stop after S seconds (then the output depends on the machine's speed).",
    ),
    opt(
        "--seed",
        type=int,
        default=0,
        metavar="SEED",
        help="The seed of every random choice (random, pct). Default: 0.",
    ),
    opt(
        "--jobs",
        type=int,
        metavar="N",
        help="Explore on N local processes. Default: one per CPU (the findings are the "
        "same whatever runs them).",
    ),
    opt(
        "--scheduler",
        metavar="ADDRESS",
        help="Explore on the Dask cluster whose scheduler is at ADDRESS (default: "
        "$DASK_SCHEDULER_ADDRESS); needs memmapsim[dask].",
    ),
    opt(
        "--out",
        default="out/schedules",
        metavar="DIR",
        help="Where to save a schedule file per finding. Default: out/schedules.",
    ),
    JSON,
)
def explore(
    scenario: str,
    kernel: list[str] | None,
    reader: list[str] | None,
    pfn: list[str] | None,
    strategy: str,
    preemptions: int,
    depth: int,
    budget: int | None,
    seconds: float | None,
    seed: int,
    jobs: int | None,
    scheduler: str | None,
    out: str,
    as_json: bool,
) -> None:
    """Race the kernel's readers against a scenario's steps: explore thread schedules and
    report every schedule in which a reader sees an uninitialized struct page or an
    invariant breaks. Each finding is grouped with its like, shrunk to the fewest
    preemptions and steps, and saved as a schedule file for `memmapsim replay`. Prints a
    report; --json prints one JSON object. Progress and rates go to stderr."""
    import os
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
        if jobs is None:
            jobs = os.cpu_count() or 1
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

        _emit_lines(exploration_lines(result))


@command(
    "Replay a schedule file saved by explore",
    arg("file", "FILE", "A schedule file `memmapsim explore` saved."),
    JSON,
)
def replay(file: str, as_json: bool) -> None:
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

        _emit_lines(finding_lines(f))


@command("List the kernel's struct page readers that explore races", JSON)
def readers(as_json: bool) -> None:
    """List the kernel's readers of struct pages that `memmapsim explore` races against the
    writers, each with its kernel file and function and the gate it uses, release by
    release. --json prints a list with one object per reader."""
    from memmapsim.races import reader_table

    table = reader_table()
    if as_json:
        _emit_json(table)
        return
    from memmapsim.report.explore_text import reader_lines

    _emit_lines(reader_lines(table))


if __name__ == "__main__":
    main()
