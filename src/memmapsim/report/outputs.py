"""Output files, safely: checked before anything is simulated, named so that no scenario
or kernel name can leave the directory they were given, and put in place only when every
one of them was written.

- ``--plot FILE``: the suffix picks the format (.png, .svg, .pdf); anything else, no
  suffix, a directory or a missing parent directory is refused before simulating.
- ``--save FILE`` (.json), ``report -o FILE`` (.html): not a directory, in a directory
  that exists.
- ``--dmesg DIR``: an empty path or an existing non-directory is refused; the directory
  (and its missing parents) is made only when the files are written.
- Each file is first written beside its final name (hidden, with a unique suffix), then
  all are renamed into place; if any write fails, the written ones and any directory
  made for them are removed, so a failing command leaves nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import msgspec

from memmapsim.errors import InputError, cut

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
NAME_MAX = 255
"""Bytes in one path component (NAME_MAX on Linux)."""
PATH_MAX = 4096
PART_MAX = 100
"""Characters kept of one name (scenario or kernel) in a file name."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def _reason(e: OSError) -> str:
    return (e.strerror or type(e).__name__).lower()


def _check_text(option: str, text: str) -> Path:
    if text == "":
        raise InputError(option, None, "an empty path")
    if "\0" in text:
        raise InputError(option, cut(text), "a path cannot contain a NUL byte")
    if len(os.fsencode(text)) >= PATH_MAX:
        raise InputError(option, cut(text), "path too long")
    path = Path(text)
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise InputError(option, text, "file name too long")
    return path


def _existing_ancestor(option: str, path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists; it must be a directory."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(option, str(path), f"{parent} is not a directory")
    return parent


def check_plot(text: str) -> tuple[Path, str]:
    """The plot's path and format, or InputError (before anything is simulated)."""
    path = _check_text("--plot", text)
    fmt = PLOT_FORMATS.get(path.suffix.lower())
    if path.is_dir():
        raise InputError("--plot", text, "is a directory")
    if fmt is None:
        got = f"got {cut(path.suffix)!r}" if path.suffix else "it has none"
        raise InputError("--plot", text, f"the suffix picks the format: .png, .svg or .pdf ({got})")
    if not path.parent.is_dir():
        raise InputError("--plot", text, f"no such directory: {cut(str(path.parent))}")
    return path, fmt


def check_file(text: str, suffixes: tuple[str, ...], option: str = "--out") -> Path:
    """An output file's path, or InputError (before anything is computed): one of
    ``suffixes``, not a directory, in a directory that exists."""
    path = _check_text(option, text)
    if path.is_dir():
        raise InputError(option, text, "is a directory")
    if path.suffix.lower() not in suffixes:
        want = " or ".join(suffixes)
        got = f"got {cut(path.suffix)!r}" if path.suffix else "it has none"
        raise InputError(option, text, f"the file must end in {want} ({got})")
    if not path.parent.is_dir():
        raise InputError(option, text, f"no such directory: {cut(str(path.parent))}")
    return path


def check_dmesg(text: str) -> Path:
    """The directory for the dmesg files, or InputError (before anything is simulated)."""
    path = _check_text("--dmesg", text)
    if path.exists() and not path.is_dir():
        raise InputError("--dmesg", text, "not a directory")
    if not path.exists():
        _existing_ancestor("--dmesg", path)
    return path


def safe_file_name(name: str) -> str:
    """``name`` as one harmless path component: letters, digits and ``._+-`` kept, every
    other character ``_``, no leading dot, at most :data:`PART_MAX` characters (a short
    hash of the whole name keeps cut names apart)."""
    safe = _UNSAFE.sub("_", name).lstrip(".") or "_"
    if len(safe) > PART_MAX:
        import hashlib  # here, not at the top: it loads OpenSSL (start-up, issue 7)

        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[: PART_MAX - 9]}-{digest}"
    return safe


def dmesg_file_names(scenario: str, kernels: list[str]) -> list[str]:
    """One file name per kernel, ``<scenario>_<kernel>.dmesg``, all different."""
    out: list[str] = []
    for k in kernels:
        base = f"{safe_file_name(scenario)}_{safe_file_name(k)}"
        name, n = f"{base}.dmesg", 1
        while name in out:
            n += 1
            name = f"{base}-{n}.dmesg"
        out.append(name)
    return out


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``path`` (which must not exist) and flush it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class Outputs(msgspec.Struct):
    """Files to write together: :meth:`commit` writes each beside its final name, then
    renames them all into place; on any failure it removes what it wrote and made."""

    files: list[tuple[Path, bytes]] = msgspec.field(default_factory=list)

    def add(self, path: Path, data: bytes) -> None:
        self.files.append((path, data))

    def commit(self) -> None:
        made: list[Path] = []
        staged: list[tuple[Path, Path]] = []
        try:
            for path, data in self.files:
                made += _make_dirs(path.parent)
                tmp = path.with_name(f".{path.name[: NAME_MAX - 30]}.{os.getpid()}.tmp")
                staged.append((tmp, path))
                try:
                    write_file(tmp, data)
                except OSError as e:
                    raise InputError(str(path), None, f"cannot write: {_reason(e)}") from None
            for tmp, path in staged:
                try:
                    os.replace(tmp, path)
                except OSError as e:
                    raise InputError(str(path), None, f"cannot write: {_reason(e)}") from None
        except BaseException:
            for tmp, _path in staged:
                _remove(tmp)
            for d in reversed(made):
                _remove_dir(d)
            raise


def _make_dirs(path: Path) -> list[Path]:
    """Make ``path`` and its missing parents; the ones made, outermost first."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    made: list[Path] = []
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            for m in reversed(made):
                _remove_dir(m)
            raise InputError(str(d), None, f"cannot make the directory: {_reason(e)}") from None
        made.append(d)
    return made


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _remove_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
