"""Kernel logs in the shapes they come in, read line by line into printk records.

Shapes recognised (each line on its own; a file may mix them, as pasted logs do):

- ``dmesg``: ``[    1.234567] text``; with caller ids (CONFIG_PRINTK_CALLER)
  ``[    1.234567][    T1] text``; ``dmesg -r`` / ``/dev/kmsg`` levels ``<6>[ ...] text``;
- syslog / rsyslog: ``Nov 28 07:00:00 host kernel: [    1.234567] text``, the ISO form
  ``2026-11-28T07:00:00.123456+00:00 host kernel: ...``, and ``journalctl -k`` (the same
  without the bracketed timestamp: the wall clock is then the only clock);
- ``journalctl -o short-monotonic``: ``[    1.234567] host kernel: text``;
- no timestamps at all;
- quoted in mail: ``> `` prefixes at any depth, and quoted-printable bodies (``=`` soft
  line breaks, ``=3D``, ``=20``).

Nothing is dropped silently: a line that is not a kernel message in any of these shapes
is counted under its reason with its line number (:class:`Skipped`); a message that is
not one memmapsim uses is simply a message. Files are read as bytes, line by line, so a
1 GB log is streamed, and undecodable bytes are replaced (a log with NUL bytes or mostly
binary data is reported as not a log).

Written here: no library parses printk's own shapes (``dmesg``'s ``--decode`` only
prints them; log shippers parse syslog, not the kernel record inside).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from memmapsim.errors import InputError

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_TS = r"\[\s*(?P<ts>\d+\.\d+)\]"
_CALLER = r"(?:\s?\[\s*(?P<caller>[TC]\d+)\])?"
_LEVEL = r"(?:<(?P<level>\d)>)?"
_SYSLOG_CLOCK = (
    r"(?:(?P<mon>" + "|".join(MONTHS) + r")\s+(?P<day>\d{1,2})\s+"
    r"(?P<hms>\d{2}:\d{2}:\d{2}(?:\.\d+)?)"
    r"|(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?))"
)
_HOST_KERNEL = r"\s+\S+\s+kernel:\s?"

SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("monotonic", re.compile(rf"^{_TS}{_HOST_KERNEL}{_LEVEL}(?P<text>.*)$")),
    ("dmesg", re.compile(rf"^{_LEVEL}{_TS}{_CALLER}\s?(?P<text>.*)$")),
    (
        "syslog",
        re.compile(rf"^{_SYSLOG_CLOCK}{_HOST_KERNEL}{_LEVEL}(?:{_TS}{_CALLER}\s?)?(?P<text>.*)$"),
    ),
)
"""(shape, pattern) in the order tried; a line matching none is taken as a bare message."""

MAX_LINE = 64 * 1024
"""Longer lines are cut (printk lines are at most 1 KiB; a longer one is garbage)."""


@dataclass(frozen=True)
class LogLine:
    """One printk record."""

    lineno: int
    """The line of the file where it starts (1-based)."""
    time_s: float | None
    """printk's timestamp in seconds since boot, or None."""
    wall_s: float | None
    """A syslog/journal wall clock as seconds of the day (or since the epoch for ISO
    stamps), when that is the only clock."""
    level: int | None
    caller: str | None
    text: str
    shape: str

    @property
    def clock_s(self) -> float | None:
        return self.time_s if self.time_s is not None else self.wall_s


@dataclass
class Skipped:
    """Lines set aside for one reason: how many, and the first line numbers."""

    reason: str
    count: int = 0
    linenos: list[int] = field(default_factory=list)

    KEEP = 20

    def add(self, lineno: int) -> None:
        self.count += 1
        if len(self.linenos) < self.KEEP:
            self.linenos.append(lineno)


@dataclass
class ParsedLog:
    source: str
    lines: list[LogLine]
    skipped: dict[str, Skipped]
    total_lines: int
    shapes: dict[str, int]

    def skip(self, reason: str, lineno: int) -> None:
        self.skipped.setdefault(reason, Skipped(reason)).add(lineno)


_CONTROL = bytes(range(9)) + bytes(range(14, 32))
"""Control bytes no text line holds (tab, newline, vertical tab, form feed and carriage
return excepted)."""


def _decode(raw: bytes) -> tuple[str, bool]:
    """Text of one line, and whether it held bytes that are not text (counted with
    ``bytes.translate``: a 1 GB log is some ten million lines)."""
    head = raw[:256]
    binary = b"\x00" in raw or len(head) - len(head.translate(None, _CONTROL)) > 8
    try:
        return raw.decode("utf-8"), binary
    except UnicodeDecodeError:
        return raw.decode("latin-1"), binary


_QUOTE = re.compile(r"^(?:[ \t]*>)+ ?")
_QP_ESCAPE = re.compile(r"=([0-9A-Fa-f]{2})")


def _unquote(lines: Iterable[tuple[int, str]], qp: bool) -> Iterator[tuple[int, str]]:
    """Strip mail quoting and, in a quoted-printable body, join soft line breaks and
    decode ``=XX`` escapes; yields (first line number, text)."""
    pending: tuple[int, str] | None = None
    for lineno, text in lines:
        text = _QUOTE.sub("", text)
        if qp:
            if pending is not None:
                lineno, text = pending[0], pending[1] + text
                pending = None
            if text.endswith("=") and not text.endswith("=="):
                pending = (lineno, text[:-1])
                continue
            text = _QP_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        yield lineno, text
    if pending is not None:
        yield pending[0], _QP_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), pending[1])


def _wall(m: re.Match[str]) -> float | None:
    if m.groupdict().get("iso"):
        from datetime import datetime

        return datetime.fromisoformat(m.group("iso").replace("Z", "+00:00")).timestamp()
    if m.groupdict().get("hms"):
        h, mi, sec = m.group("hms").split(":")
        day = int(m.group("day"))
        return ((day * 24 + int(h)) * 60 + int(mi)) * 60 + float(sec)
    return None


def parse_line(lineno: int, text: str) -> LogLine:
    text = text.rstrip("\r\n")
    for shape, pat in SHAPES:
        m = pat.match(text)
        if m is None:
            continue
        gd = m.groupdict()
        ts = float(gd["ts"]) if gd.get("ts") else None
        level = int(gd["level"]) if gd.get("level") else None
        return LogLine(
            lineno, ts, _wall(m) if shape == "syslog" else None, level, gd.get("caller"),
            gd["text"], shape,
        )  # fmt: skip
    m = re.match(r"^<(\d)>(.*)$", text)
    if m:
        return LogLine(lineno, None, None, int(m.group(1)), None, m.group(2), "bare")
    return LogLine(lineno, None, None, None, None, text, "bare")


@dataclass(frozen=True)
class Keep:
    """The records a reader keeps: ``test`` decides on a parsed record; ``hint``, if given,
    is searched in the unquoted text first (soft line breaks joined), and a line it does
    not find is counted but not parsed (most of a large log is about other things; parsing
    is what costs)."""

    test: Callable[[LogLine], bool]
    hint: re.Pattern[str] | None = None


def read_log_text(text: str, source: str, keep: Keep | None = None) -> ParsedLog:
    return _parse(((i + 1, ln) for i, ln in enumerate(text.splitlines())), source, text, keep)


def read_log(path: str, keep: Keep | None = None) -> ParsedLog:
    """Read a log file, streamed line by line, keeping the records ``keep`` wants (all of
    them by default); InputError if it cannot be read or is not a log."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(path, None, "is a directory, not a log file")
        with p.open("rb") as f:
            head = f.read(1 << 16)
    except OSError as e:
        raise InputError(path, None, f"cannot read: {e.strerror or e}") from None
    if head.count(b"\x00") * 100 > max(len(head), 1):
        raise InputError(path, None, "not a kernel log: binary data (NUL bytes)")
    head_text = head.decode("latin-1")

    def lines() -> Iterator[tuple[int, str]]:
        with p.open("rb") as f:
            for i, raw in enumerate(f):
                t, binary = _decode(raw[:MAX_LINE].rstrip(b"\r\n"))
                yield i + 1, ("\x00binary" if binary else t)

    return _parse(lines(), path, head_text, keep)


def _is_qp(head: str) -> bool:
    if re.search(r"Content-Transfer-Encoding:\s*quoted-printable", head, re.I):
        return True
    # no header (a pasted body): soft line breaks on a tenth of the lines or more
    soft = len(re.findall(r"[^=]=\r?\n", head))
    return soft >= 3 and soft * 10 >= head.count("\n")


def _parse(raw: Iterable[tuple[int, str]], source: str, head: str, keep: Keep | None) -> ParsedLog:
    log = ParsedLog(source, [], {}, 0, {})
    binary = 0
    hint = keep.hint if keep is not None else None
    for lineno, text in _unquote(raw, _is_qp(head)):
        log.total_lines += 1
        if text.startswith("\x00binary"):
            binary += 1
            log.skip("binary data, not text", lineno)
            continue
        if not text.strip():
            continue
        if hint is not None and hint.search(text) is None:
            log.shapes["not read"] = log.shapes.get("not read", 0) + 1
            continue
        line = parse_line(lineno, text)
        log.shapes[line.shape] = log.shapes.get(line.shape, 0) + 1
        if keep is None or keep.test(line):
            log.lines.append(line)
    if log.total_lines and binary * 2 > log.total_lines:
        raise InputError(source, None, "not a kernel log: mostly binary data")
    if not log.shapes:
        raise InputError(source, None, "not a kernel log: no lines")
    return log
