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
from memmapsim.model.expect import PfnClass
from memmapsim.simulate import DeviceResult, RunResult


def passes_text(c: ClassCensus) -> str:
    parts = []
    for hist, pages in c.histories:
        desc = "0" if not hist else f"{len(hist)}: " + ", then ".join(p.label() for p in hist)
        parts.append(desc if c.uniform else f"{desc} [{pages} pages]")
    return "\n".join(parts)


def pfns_text(cls: PfnClass) -> str:
    """The pfns of a class: its hull, and for a compound-page class which offsets of every
    compound page (``+1 of 512``)."""
    text = f"{cls.lo:#x}-{cls.hi:#x}"
    if cls.period:
        a, b = cls.window
        offs = f"+{a}" if b == a + 1 else f"+{a}..{b - 1}"
        text += f"\n{offs} of {cls.period:,}"
    return text


def _altmap_text(d: DeviceResult, base: bool = True) -> str:
    if d.pgmap is None or d.pgmap.altmap is None:
        return ""
    a = d.pgmap.altmap.cfg
    where = f" base {a.base_pfn:#x}" if base else ""
    return f", altmap{where} reserve {a.reserve} free {a.free}"


def _device_header(d: DeviceResult) -> str:
    ns = d.ns
    head = f"{ns.label}: {ns.kind}, node {ns.nid}, {ns.device.name}, memmap on {ns.memmap}"
    gone = " (removed: the state after its teardown)" if d.removed else ""
    return head + _altmap_text(d) + gone


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
            t.add_row(c.cls.label, pfns_text(c.cls), f"{c.cls.pages:,}", passes_text(c))
        print_table(console, t, _device_header(d))
        if d.memory_blocks is not None:
            blocks = ", ".join(f"{n:,} {state}" for state, n in sorted(d.memory_blocks.items()))
            say(console, f"  memory blocks: {blocks or 'none (removed)'}")
        if d.removed and d.memory_blocks is None:
            say(console, f"  pgmap references taken: {d.refs_taken:,}; put: {d.refs_put:,}")
            continue
        say(
            console,
            f"  struct pages initialised: {d.pages_initialised:,} (written "
            f"{d.struct_pages_written:,} times); under mem_hotplug_lock: {d.pages_locked:,}; "
            f"outside it: {d.pages_unlocked:,}; poisoned: {d.poisoned_pages:,}",
        )
        ram, device = d.memmap_bytes.get("ram", 0), d.memmap_bytes.get("device", 0)
        logged = "" if d.log_pages is None else f"; the log line counts {d.log_pages:,} pages"
        say(console, f"  memmap: {_mib(ram)} in RAM, {_mib(device)} on the device{logged}")
        if d.memory_blocks is None:
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
        if any(ln.level == "debug" for ln in r.log):
            say(console, "  (<debug> lines are pr_debug/dev_dbg: shown as with dynamic debug on)")
    say(console, ("findings", "bold"), f" ({len(r.findings)})")
    for f in r.findings:
        ranges = ", ".join(f"{lo:#x}-{hi:#x}" for lo, hi in f.ranges[:3])
        more = f" (+{f.range_count - 3} more)" if f.range_count > 3 else ""
        say(console, f"  {f.invariant} {f.device}: {f.message} [pfns {ranges}{more}]")


def _class_rows(runs: list[RunResult], i: int) -> list[tuple[str, str]]:
    """The pfn classes of device ``i`` over all runs, by key in order of first appearance
    (a release may split a class: compound heads and tails from v5.17)."""
    rows: dict[str, str] = {}
    for r in runs:
        for c in r.devices[i].census:
            rows.setdefault(c.cls.key, c.cls.label)
    return list(rows.items())


def _class_cell(r: RunResult, i: int, key: str, show_pages: bool) -> str:
    for c in r.devices[i].census:
        if c.cls.key == key:
            return (f"[{c.cls.pages:,} pages] " if show_pages else "") + passes_text(c)
    return "-"


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def print_compare(runs: list[RunResult], console: Console) -> None:
    """Per device, the pfn-class table with one column of init passes per kernel (a class
    a kernel does not have shows "-"), then what each kernel wrote and kept."""
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
        for key, label in _class_rows(runs, i):
            pages = {c.cls.pages for r in runs for c in r.devices[i].census if c.cls.key == key}
            varies = len(pages) > 1
            t.add_row(
                label,
                "varies" if varies else f"{pages.pop():,}",
                *(_class_cell(r, i, key, varies) for r in runs),
            )
        t.add_section()
        rows: list[tuple[str, list[str]]] = [
            ("pages initialised", [f"{r.devices[i].pages_initialised:,}" for r in runs]),
            ("struct pages written", [f"{r.devices[i].struct_pages_written:,}" for r in runs]),
            ("  under mem_hotplug_lock", [f"{r.devices[i].pages_locked:,}" for r in runs]),
            ("  outside it", [f"{r.devices[i].pages_unlocked:,}" for r in runs]),
            ("memmap in RAM", [_mib(r.devices[i].memmap_bytes.get("ram", 0)) for r in runs]),
            (
                "memmap on the device",
                [_mib(r.devices[i].memmap_bytes.get("device", 0)) for r in runs],
            ),
            ("pgmap references taken", [f"{r.devices[i].refs_taken:,}" for r in runs]),
            ("findings", [str(sum(f.device == d.ns.label for f in r.findings)) for r in runs]),
        ]
        for name, cells in rows:
            t.add_row(name, "", *cells)
        print_table(console, t, _group_header([first.devices[j] for j in same]))


def print_summary(runs: list[RunResult], console: Console) -> None:
    """One row per run (scenario, kernel): what it wrote, what memmap it keeps, its time."""
    t = Table()
    for col in ("scenario", "kernel"):
        t.add_column(col)
    for col in ("pages initialised", "struct pages written", "memmap RAM", "memmap device",
                "total time", "lock held"):  # fmt: skip
        t.add_column(col, justify="right")
    for r in runs:
        ds = r.devices
        total = r.timing.total_s if r.timing is not None else 0.0
        held = r.timing.lock_hold_s if r.timing is not None else 0.0
        t.add_row(
            r.scenario.name,
            r.kernel.name,
            f"{sum(d.pages_initialised for d in ds):,}",
            f"{sum(d.struct_pages_written for d in ds):,}",
            _mib(sum(d.memmap_bytes.get("ram", 0) for d in ds)),
            _mib(sum(d.memmap_bytes.get("device", 0) for d in ds)),
            _seconds(total),
            _seconds(held),
        )
    print_table(console, t, "every run")


def _seconds(v: float) -> str:
    return f"{v:.3f} s" if v >= 1 else f"{v * 1e3:.2f} ms"


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
