"""Reading the user's TOML files (scenarios, cost profiles) without surprises.

A file is read only if it is a regular file of at most :data:`MAX_INPUT_BYTES` (so
``/dev/zero`` or a FIFO is refused, not read without end); a UTF-8 byte-order mark is
accepted; a name the OS cannot look up, a directory, bytes that are not UTF-8 and TOML
syntax errors each become one :class:`InputError` line. Schema errors are reworded in TOML
terms by :mod:`memmapsim.config.schema`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from typing import Any

from memmapsim.errors import InputError

MAX_INPUT_BYTES = 1 << 20
"""Scenarios and profiles are short text files; 1 MiB is far beyond any real one."""

BOM = "\ufeff"


def _reason(e: OSError) -> str:
    return (e.strerror or type(e).__name__).lower()


def stat_input(spec: str) -> os.stat_result | None:
    """The file ``spec`` names, or None when there is none; InputError for a name the
    OS cannot look up (too long, a NUL byte, no permission)."""
    if "\0" in spec:
        raise InputError(spec, None, "a file name cannot contain a NUL byte")
    if spec == "":
        return None
    try:
        return os.stat(spec)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise InputError(spec, None, _reason(e)) from None
    except ValueError as e:
        raise InputError(spec, None, f"not a usable file name ({e})") from None


def check_regular(spec: str, st: os.stat_result | None) -> os.stat_result:
    """``st`` (from :func:`stat_input`) if ``spec`` is a regular file; InputError for a
    missing file, a directory or anything else (a FIFO would block a read)."""
    if st is None:
        raise InputError(spec, None, "no such file or directory")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(spec, None, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(spec, None, "not a regular file")
    return st


def read_capped(spec: str, limit: int, too_big: str) -> bytes:
    """The bytes of the regular file ``spec``, refused with ``too_big`` past ``limit``."""
    try:
        with open(spec, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise InputError(spec, None, f"cannot read: {_reason(e)}") from None
    if len(data) > limit:
        raise InputError(spec, None, too_big)
    return data


def read_input(spec: str, st: os.stat_result) -> str:
    """The text of the regular file ``spec`` (already found by :func:`stat_input`)."""
    check_regular(spec, st)
    too_big = f"larger than {MAX_INPUT_BYTES >> 20} MiB: not a scenario or profile file"
    return decode(read_capped(spec, MAX_INPUT_BYTES, too_big), spec)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a leading byte-order mark dropped); InputError naming line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        byte = data[e.start]
        raise InputError(
            source, None, f"not UTF-8 text: byte {byte:#04x} at line {line}, column {col}"
        ) from None
    return text.removeprefix(BOM)


def loads_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(source, None, f"not valid TOML: {e}") from None
    except RecursionError:
        raise InputError(source, None, "not valid TOML: nested too deeply") from None
