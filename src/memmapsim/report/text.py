"""Tables for people (rich): one run, or several kernels side by side.

Names come from the user's files, so nothing here is rich markup: text is printed as
written (a device named ``[bold]x`` shows as ``[bold]x``), and a table's title is printed
on its own line, never wrapped.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from memmapsim.check.classes import ClassCensus
from memmapsim.simulate import DeviceResult, RunResult


def passes_text(c: ClassCensus) -> str:
    parts = []
    for hist, pages in c.histories:
        desc = "0" if not hist else f"{len(hist)}: " + ", then ".join(p.label() for p in hist)
        parts.append(desc if c.uniform else f"{desc} [{pages} pages]")
    return "\n".join(parts)


def _altmap_text(d: DeviceResult, base: bool = True) -> str:
    if d.pgmap is None or d.pgmap.altmap is None:
        return ""
    a = d.pgmap.altmap.cfg
    where = f" base {a.base_pfn:#x}" if base else ""
    return f", altmap{where} reserve {a.reserve} free {a.free}"


def _device_header(d: DeviceResult) -> str:
    ns = d.ns
    head = f"{ns.label}: {ns.kind}, node {ns.nid}, {ns.device.name}, memmap on {ns.memmap}"
    return head + _altmap_text(d)


def plain_console(width: int = 120, stderr: bool = False) -> Console:
    """A console that prints text as written: no markup, no emoji codes, no highlighting."""
    return Console(width=width, markup=False, emoji=False, highlight=False, stderr=stderr)


def say(console: Console, *parts: str | tuple[str, str]) -> None:
    """One line, never wrapped: ``parts`` are plain strings or (text, style) pairs."""
    console.print(Text.assemble(*parts), soft_wrap=True)


def print_table(console: Console, table: Table, title: str | None = None) -> None:
    """``title`` on its own unwrapped line, then the table."""
    if title is not None:
        say(console, (title, "italic"))
    console.print(table)


def print_run(r: RunResult, console: Console) -> None:
    say(console, (r.scenario.name, "bold"), " on kernel ", (r.kernel.name, "bold"))
    for d in r.devices:
        t = Table(show_lines=False)
        t.add_column("pfn class")
        t.add_column("pfns", no_wrap=True)
        t.add_column("pages", justify="right")
        t.add_column("init passes")
        for c in d.census:
            t.add_row(
                c.cls.label, f"{c.cls.lo:#x}-{c.cls.hi:#x}", f"{c.cls.pages:,}", passes_text(c)
            )
        print_table(console, t, _device_header(d))
        say(
            console,
            f"  pages initialised under mem_hotplug_lock: {d.pages_locked:,}; "
            f"outside it: {d.pages_unlocked:,}; poisoned: {d.poisoned_pages:,}",
        )
        say(
            console,
            f"  pgmap references taken: {d.refs_taken:,}; "
            f"put at release: {d.refs_put_at_release:,}",
        )
    print_log_and_findings(r, console)


def print_log_and_findings(r: RunResult, console: Console) -> None:
    if r.log:
        say(console, ("kernel log", "bold"))
        for ln in r.log:
            say(console, f"  <{ln.level}> {ln.text}")
    say(console, ("findings", "bold"), f" ({len(r.findings)})")
    for f in r.findings:
        ranges = ", ".join(f"{lo:#x}-{hi:#x}" for lo, hi in f.ranges[:3])
        more = f" (+{f.range_count - 3} more)" if f.range_count > 3 else ""
        say(console, f"  {f.invariant} {f.device}: {f.message} [pfns {ranges}{more}]")


def print_compare(runs: list[RunResult], console: Console) -> None:
    """Per device, the pfn-class table with one column of init passes per kernel."""
    first = runs[0]
    parts: list[str | tuple[str, str]] = [(first.scenario.name, "bold"), ": "]
    for i, r in enumerate(runs):
        parts += [" vs "] if i else []
        parts.append((r.kernel.name, "bold"))
    say(console, *parts)
    for i, d in enumerate(first.devices):
        same = [j for j in range(len(first.devices)) if _same_layout(first.devices[j], d)]
        if same[0] != i:
            continue
        t = Table()
        t.add_column("pfn class")
        t.add_column("pages", justify="right")
        for r in runs:
            t.add_column(r.kernel.name)
        for ci, c in enumerate(d.census):
            t.add_row(
                c.cls.label,
                f"{c.cls.pages:,}",
                *(passes_text(r.devices[i].census[ci]) for r in runs),
            )
        t.add_section()
        t.add_row(
            "pages initialised under the lock",
            "",
            *(f"{r.devices[i].pages_locked:,}" for r in runs),
        )
        t.add_row(
            "pages initialised outside it", "", *(f"{r.devices[i].pages_unlocked:,}" for r in runs)
        )
        t.add_row("pgmap references taken", "", *(f"{r.devices[i].refs_taken:,}" for r in runs))
        t.add_row(
            "findings", "", *(str(sum(f.device == d.ns.label for f in r.findings)) for r in runs)
        )
        print_table(console, t, _group_header([first.devices[j] for j in same]))


def _group_header(devs: list[DeviceResult]) -> str:
    if len(devs) == 1:
        return _device_header(devs[0])
    d = devs[0]
    names = ", ".join(f"{x.ns.label} (node {x.ns.nid})" for x in devs)
    head = f"{names}: {d.ns.kind}, memmap on {d.ns.memmap}"
    return head + _altmap_text(d, base=False) + (" each" if _altmap_text(d) else "")


def _same_layout(a: DeviceResult, b: DeviceResult) -> bool:
    return (
        a.ns.kind == b.ns.kind
        and a.ns.size == b.ns.size
        and a.ns.memmap == b.ns.memmap
        and [c.cls.pages for c in a.census] == [c.cls.pages for c in b.census]
    )
