"""What a kernel log says about memmap init: the machine, and every measurement line.

The formats are the kernels' own (docs/kernel-notes/boot-hotplug.md §13,
zone-device-late.md §13), one pattern per format, each with the releases that print it:

======================================================  =====================================
line                                                    printed by
======================================================  =====================================
``node %d initialised, %lu pages in %ums``              deferred init, v4.14-v5.7
``node %d deferred pages initialised in %ums``          deferred init with padata, v5.8+
``kswapd %d initialised deferred memory in %ums``       Gorman's 2015 series (kswapd did it)
``%s initialised, %lu pages in %ums``                   memmap_init_zone_device, v4.20-v5.3
``memmap_init_zone_device initialised %lu pages in %ums``  the same, v5.4+ (pr_debug from 6.4)
======================================================  =====================================

and the machine: ``BIOS-e820`` ranges, "Early memory node ranges", "Initmem setup node",
"Zone ranges", ``Memory: ...K/...K available``, the CPUs brought up, the memory block size
and the kernel version. A line that mentions memmap init but matches no known format is
reported with its line number, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memmapsim.io.dmesg import Keep, LogLine, ParsedLog


@dataclass(frozen=True)
class Measurement:
    """One timed line: ``ms`` of work (the kernel's ``jiffies_to_msecs``, so as coarse as
    a jiffy) on a node or a device, over ``pages`` pages when the format says."""

    lineno: int
    kind: str
    """``deferred`` (a node's deferred init), ``zone_device`` (one device's data pages)."""
    node: int | None
    device: str | None
    pages: int | None
    ms: int
    time_s: float | None
    """The line's own timestamp: when the work ended."""
    format: str
    text: str


@dataclass
class Machine:
    kernel: str | None = None
    e820: list[tuple[int, int, str]] = field(default_factory=list)
    """(start, end exclusive, type) of the firmware map."""
    node_ranges: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """Early memory node ranges: memblock memory per node (end exclusive)."""
    initmem: dict[int, tuple[int, int]] = field(default_factory=dict)
    zones: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    available_kb: tuple[int, int] | None = None
    cpus: int | None = None
    nodes_up: int | None = None
    block_size_mb: int | None = None

    @property
    def pmem(self) -> list[tuple[int, int]]:
        """Persistent-memory ranges of the firmware map (e820 types 7 and 12)."""
        return [(a, b) for a, b, t in self.e820 if "persistent" in t]


@dataclass
class Extracted:
    machine: Machine
    measurements: list[Measurement]
    unknown: list[tuple[int, str]]
    """(line, text) of lines about memmap init in no known format."""


_HEX = r"(0x[0-9a-fA-F]+)"
MEASUREMENTS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "deferred",
        "node %d initialised, %lu pages in %ums",
        re.compile(r"^node (?P<node>\d+) initialised, (?P<pages>\d+) pages in (?P<ms>\d+)ms$"),
    ),
    (
        "deferred",
        "node %d deferred pages initialised in %ums",
        re.compile(r"^node (?P<node>\d+) deferred pages initialised in (?P<ms>\d+)ms$"),
    ),
    (
        "deferred",
        "kswapd %d initialised deferred memory in %ums",
        re.compile(r"^kswapd (?P<node>\d+) initialised deferred memory in (?P<ms>\d+)ms$"),
    ),
    (
        "zone_device",
        "memmap_init_zone_device initialised %lu pages in %ums",
        re.compile(r"^memmap_init_zone_device initialised (?P<pages>\d+) pages in (?P<ms>\d+)ms$"),
    ),
    (
        "zone_device",
        "%s initialised, %lu pages in %ums",
        re.compile(r"^(?P<device>\S+) initialised, (?P<pages>\d+) pages in (?P<ms>\d+)ms$"),
    ),
)
"""(kind, the kernel's format, pattern); the first that matches wins."""

_ABOUT_INIT = re.compile(
    r"^(?:node \d+ (?:deferred pages )?initiali|kswapd \d+ initiali"
    r"|memmap_init_zone_device initiali|\S+ initialised, \d)"
)
"""The start of a measurement line of any format (British "initialised", as printed):
such a line that no format matches in full is reported, e.g. when it was cut."""

_E820 = re.compile(rf"BIOS-e820: \[mem {_HEX}-{_HEX}\] (?P<type>.+)$")
_NODE_RANGE = re.compile(rf"^\s*node\s+(?P<node>\d+): \[mem {_HEX}-{_HEX}\]$")
_INITMEM = re.compile(rf"^Initmem setup node (?P<node>\d+) \[mem {_HEX}-{_HEX}\]$")
_ZONE = re.compile(
    rf"^\s+(?P<zone>DMA32|DMA|Normal|Movable|Device)\s+(?:\[mem {_HEX}-{_HEX}\]|empty)$"
)
_AVAILABLE = re.compile(r"^Memory: (?P<avail>\d+)K/(?P<total>\d+)K available")
_BROUGHT_UP = re.compile(r"^smp: Brought up (?P<nodes>\d+) nodes?, (?P<cpus>\d+) CPUs?$")
_ALLOWING = re.compile(r"^smpboot: Allowing (?P<cpus>\d+) CPUs")
_BLOCK = re.compile(r"^x86/mm: Memory block size: (?P<mb>\d+)MB$")
_VERSION = re.compile(r"^Linux version (?P<v>\d+\.\d+(?:\.\d+)?\S*)")

_MACHINE_WORDS = ("BIOS-e820", "node ", "Initmem", "[mem", "empty", "Memory:", "CPU",
                  "Memory block size", "Linux version")  # fmt: skip


def wanted(line: LogLine) -> bool:
    """Whether :func:`extract` may use ``line`` (for streaming a large log)."""
    t = line.text
    return bool(_ABOUT_INIT.search(t)) or any(w in t for w in _MACHINE_WORDS)


_HINT = re.compile("|".join([r"initiali", *(re.escape(w) for w in _MACHINE_WORDS)]))
WANTED = Keep(wanted, _HINT)
"""What :func:`extract` uses, with a raw-text hint that finds every line :func:`wanted`
keeps (each of its words, and the ``initiali`` of every measurement format)."""


def extract(log: ParsedLog) -> Extracted:
    machine = Machine()
    out = Extracted(machine, [], [])
    for line in log.lines:
        text = line.text.rstrip()
        m = None
        for kind, fmt, pat in MEASUREMENTS:
            m = pat.match(text)
            if m is not None:
                gd = m.groupdict()
                out.measurements.append(
                    Measurement(
                        line.lineno,
                        kind,
                        int(gd["node"]) if gd.get("node") else None,
                        gd.get("device"),
                        int(gd["pages"]) if gd.get("pages") else None,
                        int(gd["ms"]),
                        line.clock_s,
                        fmt,
                        text,
                    )
                )
                break
        if m is not None:
            continue
        if _machine_line(machine, text):
            continue
        if _ABOUT_INIT.search(text):
            out.unknown.append((line.lineno, text))
    return out


def _machine_line(machine: Machine, text: str) -> bool:
    if m := _E820.search(text):
        machine.e820.append((int(m.group(1), 16), int(m.group(2), 16) + 1, m.group("type")))
    elif m := _NODE_RANGE.match(text):
        rng = (int(m.group(2), 16), int(m.group(3), 16) + 1)
        machine.node_ranges.setdefault(int(m.group("node")), []).append(rng)
    elif m := _INITMEM.match(text):
        machine.initmem[int(m.group("node"))] = (int(m.group(2), 16), int(m.group(3), 16) + 1)
    elif m := _ZONE.match(text):
        lo, hi = m.group(2), m.group(3)
        machine.zones[m.group("zone")] = (int(lo, 16), int(hi, 16) + 1) if lo and hi else None
    elif m := _AVAILABLE.match(text):
        machine.available_kb = (int(m.group("avail")), int(m.group("total")))
    elif m := _BROUGHT_UP.match(text):
        machine.nodes_up, machine.cpus = int(m.group("nodes")), int(m.group("cpus"))
    elif m := _ALLOWING.match(text):
        machine.cpus = machine.cpus or int(m.group("cpus"))
    elif m := _BLOCK.match(text):
        machine.block_size_mb = int(m.group("mb"))
    elif m := _VERSION.match(text):
        machine.kernel = m.group("v")
    else:
        return False
    return True
