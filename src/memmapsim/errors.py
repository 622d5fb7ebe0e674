"""Errors about the user's input: they name the file, the field or line, and what is wrong.

The command line prints them as one line and exits with status 2; they are never shown
as a traceback. Values quoted in a message are written as TOML writes them (``true``,
``"text"``) and cut when long, so the line stays one short line whatever the input was.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_VALUE_CHARS = 60
"""A value quoted in a message is cut to this many characters."""
MAX_WHERE_CHARS = 160
"""A file name or field that long is cut in the middle."""
MAX_QUOTED_CHARS = 100
"""A quoted value longer than this inside a message is cut (the kernel's own lines, which
messages quote, are shorter)."""
MAX_MESSAGE_CHARS = 600

_N = MAX_QUOTED_CHARS
_QUOTED = re.compile(rf"'([^'\n]{{{_N},}})'|\"([^\"\n]{{{_N},}})\"")


def one_line(text: str) -> str:
    """``text`` with control characters escaped, so it prints as one line."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\u{code:04x}"))
        else:
            out.append(ch)
    return "".join(out)


def cut(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut_middle(text: str, limit: int = MAX_WHERE_CHARS) -> str:
    """A path or field on one line, cut in the middle so both ends stay readable."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return text[:half] + "…" + text[-half:]


def cut_quoted(message: str) -> str:
    """``message`` with every over-long quoted value in it cut, and at most
    :data:`MAX_MESSAGE_CHARS` long, on one line."""

    def short(m: re.Match[str]) -> str:
        q = "'" if m.group(1) is not None else '"'
        return q + cut(m.group(1) or m.group(2)) + q

    return cut(_QUOTED.sub(short, message), MAX_MESSAGE_CHARS)


def toml_value(v: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as TOML writes it (``true``, ``"4.20"``, ``1.5``, ``inf``), cut to ``limit``."""
    return cut(_toml(v), limit)


def _toml(v: Any) -> str:
    if v is None:  # only JSON has it (a saved result read by `memmapsim report`)
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        body = v.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{body}"'
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v) if abs(v) < 10**30 else f"{str(v)[:20]}… ({len(str(abs(v)))} digits)"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in list(v.items())[:8]) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in list(v)[:8]) + "]"
    return str(v)


class InputError(Exception):
    """Bad input: a malformed scenario, an impossible machine, a kernel's refusal."""

    def __init__(self, source: str, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        src = cut_middle(self.source)
        where = f"{src}: {cut_middle(self.field)}" if self.field else src
        return f"{where}: {cut_quoted(self.message)}"
