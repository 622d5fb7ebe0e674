"""Kernel logs in every shape, written by hand from the figures of
../shared/spec/published-numbers.md §1a, read back to their per-node figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from memmapsim.errors import InputError
from memmapsim.io.dmesg import read_log, read_log_text
from memmapsim.io.extract import WANTED, extract

# Lianbo Jiang's dmesg (5.5-rc7, Xeon E5-2699 v4, 2 nodes, 64 GB): 149 ms and 160 ms
BROADWELL = [
    (0.0, "Linux version 5.5.0-rc7+ (root@localhost) (gcc version 8.3.1) #1 SMP"),
    (0.0, "BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable"),
    (0.0, "BIOS-e820: [mem 0x0000000100000000-0x000000107fffffff] usable"),
    (0.0, "Early memory node ranges"),
    (0.0, "  node   0: [mem 0x0000000000001000-0x000000000009ffff]"),
    (0.0, "  node   0: [mem 0x0000000100000000-0x000000087fffffff]"),
    (0.0, "  node   1: [mem 0x0000000880000000-0x000000107fffffff]"),
    (0.0, "Initmem setup node 0 [mem 0x0000000000001000-0x000000087fffffff]"),
    (0.0, "Initmem setup node 1 [mem 0x0000000880000000-0x000000107fffffff]"),
    (0.0, "Zone ranges:"),
    (0.0, "  DMA      [mem 0x0000000000001000-0x0000000000ffffff]"),
    (0.0, "  Normal   [mem 0x0000000100000000-0x000000107fffffff]"),
    (0.0, "  Device   empty"),
    (0.52, "smp: Brought up 2 nodes, 88 CPUs"),
    (1.1, "node 0 initialised, 7688738 pages in 149ms"),
    (1.11, "node 1 initialised, 8222140 pages in 160ms"),
    (1.2, "Memory: 65722648K/67018232K available (12291K kernel code)"),
    (1.3, "x86/mm: Memory block size: 2048MB"),
]
FIGURES = [(0, 7688738, 149), (1, 8222140, 160)]


def shapes(lines: list[tuple[float, str]]) -> dict[str, str]:
    """The same records in each shape a log comes in."""
    out = {
        "dmesg": "\n".join(f"[{t:12.6f}] {x}" for t, x in lines),
        "caller": "\n".join(f"[{t:12.6f}][    T{i}] {x}" for i, (t, x) in enumerate(lines)),
        "levels": "\n".join(f"<6>[{t:12.6f}] {x}" for t, x in lines),
        "syslog": "\n".join(
            f"Jan 28 10:{i // 60:02d}:{i % 60:02d} host kernel: [{t:12.6f}] {x}"
            for i, (t, x) in enumerate(lines)
        ),
        "journal": "\n".join(
            f"Jan 28 10:00:{i:02d} host kernel: {x}" for i, (t, x) in enumerate(lines)
        ),
        "monotonic": "\n".join(f"[{t:12.6f}] host kernel: {x}" for t, x in lines),
        "iso": "\n".join(
            f"2020-01-28T10:00:{i:02d}.000000+00:00 host kernel: {x}"
            for i, (t, x) in enumerate(lines)
        ),
        "bare": "\n".join(x for _t, x in lines),
        "mail": "\n".join(f"> > [{t:12.6f}] {x}" for t, x in lines),
    }
    # quoted-printable: "=" encoded, long lines broken with soft breaks
    qp = []
    for t, x in lines:
        line = f"> [{t:12.6f}] {x}".replace("=", "=3D")
        while len(line) > 40:
            qp.append(line[:40] + "=")
            line = line[40:]
        qp.append(line)
    out["quoted-printable"] = "Content-Transfer-Encoding: quoted-printable\n\n" + "\n".join(qp)
    return out


@pytest.mark.parametrize("shape", list(shapes(BROADWELL)))
def test_every_shape_gives_the_per_node_figures(shape: str) -> None:
    log = read_log_text(shapes(BROADWELL)[shape], f"{shape}.log")
    ex = extract(log)
    got = [(m.node, m.pages, m.ms) for m in ex.measurements]
    assert got == FIGURES
    assert ex.unknown == []
    mach = ex.machine
    assert mach.kernel == "5.5.0-rc7+"
    assert sorted(mach.node_ranges) == [0, 1] and mach.cpus == 88 and mach.nodes_up == 2
    assert mach.node_ranges[1] == [(0x880000000, 0x1080000000)]
    assert mach.zones["Device"] is None and mach.zones["DMA"] == (0x1000, 0x1000000)
    assert mach.available_kb == (65722648, 67018232) and mach.block_size_mb == 2048
    if shape in ("dmesg", "caller", "levels", "syslog", "monotonic", "mail", "quoted-printable"):
        assert [m.time_s for m in ex.measurements] == [1.1, 1.11]


def test_levels_and_caller_ids_are_kept() -> None:
    log = read_log_text(shapes(BROADWELL)["caller"], "c.log")
    assert log.lines[3].caller == "T3" and log.lines[3].text == "Early memory node ranges"
    log = read_log_text(shapes(BROADWELL)["levels"], "l.log")
    assert {ln.level for ln in log.lines} == {6}


# The Xeon 8180 log (4 sockets, ~1.5 TB), and Gorman's kswapd lines, in newer formats
XEON_FIGURES = [(98233092, 4013), (99054870, 4070), (99054870, 4068), (98923232, 4057)]
XEON_8180 = [
    (4.1 + i * 0.01, f"node {i} initialised, {p} pages in {ms}ms")
    for i, (p, ms) in enumerate(XEON_FIGURES)
]


def test_the_xeon_8180_figures() -> None:
    ex = extract(read_log_text(shapes(XEON_8180)["dmesg"], "x.log"))
    assert [(m.node, m.pages, m.ms) for m in ex.measurements] == [
        (0, 98233092, 4013), (1, 99054870, 4070), (2, 99054870, 4068), (3, 98923232, 4057),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("node 3 deferred pages initialised in 412ms", ("deferred", 3, None, None, 412)),
        ("kswapd 0 initialised deferred memory in 188ms", ("deferred", 0, None, None, 188)),
        ("pfn0.0 initialised, 64000 pages in 2ms", ("zone_device", None, "pfn0.0", 64000, 2)),
        (
            "memmap_init_zone_device initialised 50176 pages in 1ms",
            ("zone_device", None, None, 50176, 1),
        ),
    ],
)
def test_each_versions_format(text: str, fields: tuple[object, ...]) -> None:
    (m,) = extract(read_log_text(f"[    1.000000] {text}", "f.log")).measurements
    assert (m.kind, m.node, m.device, m.pages, m.ms) == fields


def test_a_truncated_measurement_line_is_reported_not_dropped() -> None:
    text = (
        "[    1.1] node 0 initialised, 7688738 pag\n"
        "[    1.2] node 1 initialised, 8222140 pages in 160ms"
    )
    ex = extract(read_log_text(text, "t.log"))
    assert [(m.node, m.ms) for m in ex.measurements] == [(1, 160)]
    assert ex.unknown == [(1, "node 0 initialised, 7688738 pag")]


def test_a_binary_file_is_one_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "b.log"
    p.write_bytes(bytes(range(256)) * 4096)
    with pytest.raises(InputError) as e:
        read_log(str(p))
    assert e.value.message.startswith("not a kernel log")


def test_control_bytes_without_nul_are_binary(tmp_path: Path) -> None:
    """A line of control bytes (no NUL: a terminal capture, a corrupt journal) is binary,
    not text; a file of mostly such lines is refused."""
    p = tmp_path / "c.log"
    p.write_bytes((bytes(range(1, 9)) * 4 + b"\n") * 1000 + b"[ 1.0] node 0 initialised\n")
    with pytest.raises(InputError) as e:
        read_log(str(p))
    assert e.value.message == "not a kernel log: mostly binary data"


def test_wrong_encoding_and_stray_bytes_are_read(tmp_path: Path) -> None:
    p = tmp_path / "latin1.log"
    p.write_bytes(b"[    1.0] caf\xe9 \xff\n[    1.1] node 0 initialised, 10 pages in 1ms\n")
    ex = extract(read_log(str(p)))
    assert [(m.node, m.pages) for m in ex.measurements] == [(0, 10)]


def test_a_large_log_is_streamed_keeping_only_what_extract_uses(tmp_path: Path) -> None:
    """200,000 unrelated lines around two figures: only the relevant records are kept."""
    p = tmp_path / "big.log"
    noise = "".join(f"[{i:12.6f}] usb 1-1: new device number {i}\n" for i in range(200_000))
    p.write_text(noise + "[ 9.0] node 0 initialised, 5 pages in 1ms\n" + noise)
    log = read_log(str(p), keep=WANTED)
    assert log.total_lines == 400_001 and len(log.lines) == 1
    # the raw-text hint spares parsing the unrelated lines
    assert log.shapes == {"not read": 400_000, "dmesg": 1}
    assert [m.pages for m in extract(log).measurements] == [5]


def test_missing_and_directory_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        read_log(str(tmp_path / "nope.log"))
    assert "cannot read" in e.value.message
    with pytest.raises(InputError) as e:
        read_log(str(tmp_path))
    assert "directory" in e.value.message


def test_a_quoted_printable_file_without_headers(tmp_path: Path) -> None:
    """Soft line breaks and =XX escapes are enough to tell a quoted-printable body."""
    body = shapes(BROADWELL)["quoted-printable"].split("\n\n", 1)[1]
    p = tmp_path / "mail.txt"
    p.write_text(body)
    ex = extract(read_log(str(p)))
    assert [(m.node, m.pages, m.ms) for m in ex.measurements] == FIGURES


def test_a_file_of_nul_bytes_is_refused_from_its_first_block(tmp_path: Path) -> None:
    """A disk image or core file: the first 64 KiB decide, the rest is never read."""
    p = tmp_path / "zeros.img"
    with p.open("wb") as f:
        f.truncate(1 << 30)  # 1 GiB, sparse
    with pytest.raises(InputError) as e:
        read_log(str(p))
    assert e.value.message == "not a kernel log: binary data (NUL bytes)"


def test_a_quoted_printable_header_is_enough() -> None:
    """With the header, =XX escapes are decoded even where no line was broken."""
    text = (
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "> [    0.5] Kernel command line: root=3D/dev/sda1 vm_debug=3D-\n"
    )
    (line,) = [ln for ln in read_log_text(text, "m.eml").lines if "Kernel" in ln.text]
    assert line.text == "Kernel command line: root=/dev/sda1 vm_debug=-"


@pytest.mark.parametrize(
    "text",
    [
        "node 3 deferred pages initialised in 412ms",
        "node 0 initialised, 7688738 pages in 149ms",
        "kswapd 0 initialised deferred memory in 188ms",
        "pfn0.0 initialised, 64000 pages in 2ms",
        "memmap_init_zone_device initialised 50176 pages in 1ms",
    ],
)
def test_streaming_keeps_every_measurement_format(text: str) -> None:
    """The filter a large log is streamed through keeps each format's line."""
    log = read_log_text(f"[    1.000000] usb 1-1: noise\n[    1.000000] {text}", "k.log", WANTED)
    assert [ln.text for ln in log.lines] == [text]
    assert len(extract(log).measurements) == 1


@pytest.mark.parametrize("shape", list(shapes(BROADWELL)))
def test_the_hint_keeps_everything_extract_uses(shape: str) -> None:
    """Streaming through WANTED (hint and test) extracts what reading everything does."""
    text = shapes([*BROADWELL, *XEON_8180])[shape] + "\n[ 2.0] node 0 initialised, 77 pag\n"
    everything = extract(read_log_text(text, "a.log"))
    streamed = extract(read_log_text(text, "a.log", WANTED))
    assert streamed == everything and len(everything.measurements) == 6


# Every boot log of published-numbers §1a, as its lines would have read: (node, pages or
# None, ms) per line. Gorman's give a range over 4 nodes, so the two ends are written as
# nodes 0 and 3; Tatashin's names node 1 only, before and after the buddy fix.
SECTION_1A = {
    "gorman-64gb": [
        (3.0, "kswapd 0 initialised deferred memory in 188ms"),
        (3.1, "kswapd 3 initialised deferred memory in 216ms"),
    ],
    "gorman-1tb": [
        (9.0, "kswapd 0 initialised deferred memory in 1116ms"),
        (9.1, "kswapd 3 initialised deferred memory in 1148ms"),
    ],
    "tatashin-before": [(5.0, "node 1 initialised, 32471632 pages in 901ms")],
    "tatashin-after": [(5.0, "node 1 initialised, 32471632 pages in 1128ms")],
    "xeon-8180": XEON_8180,
    "e5-2699v4": BROADWELL,
}
SECTION_1A_FIGURES = {
    "gorman-64gb": [(0, None, 188), (3, None, 216)],
    "gorman-1tb": [(0, None, 1116), (3, None, 1148)],
    "tatashin-before": [(1, 32471632, 901)],
    "tatashin-after": [(1, 32471632, 1128)],
    "xeon-8180": [(i, p, ms) for i, (p, ms) in enumerate(XEON_FIGURES)],
    "e5-2699v4": FIGURES,
}


@pytest.mark.parametrize("shape", list(shapes(BROADWELL)))
@pytest.mark.parametrize("log", list(SECTION_1A))
def test_every_section_1a_log_in_every_shape(log: str, shape: str) -> None:
    ex = extract(read_log_text(shapes(SECTION_1A[log])[shape], f"{log}.log", WANTED))
    assert [(m.node, m.pages, m.ms) for m in ex.measurements] == SECTION_1A_FIGURES[log]
    assert {m.kind for m in ex.measurements} == {"deferred"} and ex.unknown == []
