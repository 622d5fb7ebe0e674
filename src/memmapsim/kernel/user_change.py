"""User changes: a Python file that replaces code paths of a kernel (``5.16+./my_change.py``).

A part of a kernel spec after ``+`` that contains ``/`` or ends in ``.py`` is the path of
a *change file*, relative to the current working directory (in a scenario's ``kernel =``
too). The file says what it replaces with a module-level dict, and may give a subject::

    PATHS = {"memmap_init_zone_device": my_memmap_init_zone_device}
    SUBJECT = "mm: initialise ZONE_DEVICE struct pages on several threads"

Each key is an entry of :class:`~memmapsim.kernel.kernel.Paths`; each value is written
like the built-in implementations of that entry: a generator function that takes the
:class:`~memmapsim.kernel.kernel.Kernel` ``k`` first, then the same arguments
(:data:`SIGNATURES`), yields effects (:mod:`memmapsim.effects`) and returns what the C
function returns. :func:`~memmapsim.kernel.versions.parse_kernel` applies user changes
after the named ones, with ``Paths.replaced``: a user change is a change that replaces
functions, whose implementations come from a file instead of the CHANGES table.
docs/user-changes.md is the user's guide.

Whatever goes wrong in a change file is the user's input, so it is an
:class:`~memmapsim.errors.InputError` naming the file, and the line where Python knows
one: a missing file, a syntax error, an exception while the file is executed, a missing
or ill-typed ``PATHS``, an unknown code path (the message lists the valid ones), a value
that is not a function or cannot take the path's arguments — and, while the simulation
runs, an exception raised in the user's code (at the innermost line of the file in its
traceback), a function that returns without being a generator, a yielded value that is
not an effect, a thread that returns no int, and an ``nd_device_register`` that does not
start the probe thread it is given (the caller waits for it).

Where this departs from the plain design (wrapping each function with ``yield from``):

- The wrapper drives the user's generator itself (``send`` in a loop), so it sees every
  value the user's code yields. A value that is not an effect — ``yield helper(...)``
  written for ``yield from helper(...)`` is the usual slip — is an error at the user's
  line instead of a TypeError deep in an engine; and the threads the user's code creates
  (:class:`~memmapsim.effects.Spawn`, :class:`~memmapsim.effects.AsyncSchedule`) get
  their factories wrapped the same way, so an exception in a helper thread, which no
  ``yield from`` around the caller would see, also names the user's line. The probe
  thread ``nd_device_register`` is given is memmapsim's and reaches the engine as is.
- Each function's parameters are checked against the path's arguments when the file is
  loaded, so a wrong signature is reported before anything is simulated.
- Each load executes the file afresh under a new module name that is in ``sys.modules``
  only while the file executes (dataclasses and typing look a module up there). Nothing
  is cached: the same file gives the same kernel, and a run never sees state another run
  left in the module. A change file should keep no mutable module-level state.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import os
import sys
import types
from collections.abc import Callable, Generator, Sequence
from typing import Any

import msgspec
from msgspec.structs import replace as struct_replace

from memmapsim.effects import AsyncSchedule, Effect, Gen, Spawn, ThreadSpec
from memmapsim.errors import InputError, cut
from memmapsim.kernel.kernel import Paths

SIGNATURES: dict[str, tuple[str, ...]] = {
    "nd_device_register": ("k", "probe", "nid"),
    "devm_memremap_pages": ("k", "dev", "pgmap"),
    "memremap_pages": ("k", "dev", "pgmap"),
    "memunmap_pages": ("k", "dev", "pgmap"),
    "memmap_init_zone_device": ("k", "nid", "start_pfn", "size", "pgmap"),
    "add_pages_impl": ("k", "nid", "start_pfn", "nr_pages", "altmap", "sharing"),
    "proc_page_pfn_to_page": ("k", "pfn"),
    "memory_failure": ("k", "pfn"),
    "soft_offline_pfn_to_page": ("k", "pfn"),
    "kmemleak_pfn_to_page": ("k", "pfn"),
    "page_owner_pfn_to_page": ("k", "pfn"),
}
"""The arguments each entry of :class:`Paths` is called with, all positional (the names
are those of the built-in implementations)."""

_loads = itertools.count()


def is_user_change(part: str) -> bool:
    """Whether a part of a kernel spec after ``+`` names a change file."""
    return "/" in part or part.endswith(".py")


class UserChange(msgspec.Struct, frozen=True):
    name: str
    """The file's stem: ``my_change``."""
    path: str
    """The path as written in the kernel spec."""
    subject: str
    """``SUBJECT`` from the file, or ""."""
    paths: dict[str, Callable[..., Gen[Any]]]
    """The code paths it replaces, by :class:`Paths` entry, each wrapped (module doc)."""


def load_user_change(path: str) -> UserChange:
    """Execute the change file ``path`` and check what it declares."""
    f = _File(path, os.path.abspath(path))
    module = f.execute()
    ns = vars(module)
    names = ", ".join(SIGNATURES)
    if "PATHS" not in ns:
        declare = 'declare PATHS = {"<code path>": function}'
        raise InputError(path, None, f"no PATHS: {declare} (code paths: {names})")
    table, at = ns["PATHS"], f.at(f.assignment_line("PATHS"))
    if not isinstance(table, dict):
        what = type(table).__name__
        raise InputError(at, None, f"PATHS is a {what}, not a dict of code path name to function")
    if not table:
        raise InputError(at, None, f"PATHS is empty: replace at least one of {names}")
    paths: dict[str, Callable[..., Gen[Any]]] = {}
    for key, fn in table.items():
        if not isinstance(key, str) or key not in SIGNATURES:
            unknown = f"unknown code path {_shown(key)} (code paths: {names})"
            raise InputError(at, None, f"PATHS: {unknown}")
        if not callable(fn):
            raise InputError(at, None, f"PATHS[{key!r}] is {_shown(fn)}, not a function")
        f.check_signature(key, fn, at)
        paths[key] = f.wrap(key, fn)
    subject = ns.get("SUBJECT", "")
    if not isinstance(subject, str):
        where = f.at(f.assignment_line("SUBJECT"))
        raise InputError(where, None, f"SUBJECT is a {type(subject).__name__}, not a string")
    stem = os.path.splitext(os.path.basename(path))[0]
    return UserChange(stem, path, subject, paths)


def apply_user_changes(paths: Paths, parts: Sequence[str]) -> Paths:
    """``paths`` with the code paths of the change files ``parts`` replaced, in order. Two
    files replacing one code path is an error (the second would silently hide the first)."""
    owner: dict[str, str] = {}
    for part in parts:
        uc = load_user_change(part)
        for name in uc.paths:
            if name in owner:
                msg = f"PATHS: {owner[name]} replaces {name} too: give one change per code path"
                raise InputError(part, None, msg)
            owner[name] = part
        paths = paths.replaced(uc.paths)
    return paths


class _File:
    """One change file while it is loaded, and the errors its code raises later."""

    def __init__(self, shown: str, filename: str) -> None:
        self.shown = shown
        self.filename = filename
        self.source = b""

    def at(self, line: int | None) -> str:
        """The file (as written), with ``:line`` when there is one."""
        return f"{self.shown}:{line}" if line else self.shown

    def execute(self) -> types.ModuleType:
        try:
            with open(self.filename, "rb") as fh:
                self.source = fh.read()
        except FileNotFoundError:
            raise InputError(
                self.shown, None, "no such file (a relative path is from the current directory)"
            ) from None
        except IsADirectoryError:
            raise InputError(self.shown, None, "is a directory, not a Python file") from None
        except OSError as e:
            raise InputError(self.shown, None, e.strerror or type(e).__name__) from None
        try:
            code = compile(self.source, self.filename, "exec", dont_inherit=True)
        except SyntaxError as e:
            raise InputError(self.at(e.lineno), None, f"SyntaxError: {e.msg}") from None
        except ValueError as e:  # e.g. null bytes, before Python 3.12
            raise InputError(self.shown, None, f"not Python source: {e}") from None
        name = f"_memmapsim_user_change_{next(_loads)}"
        module = types.ModuleType(name)
        module.__file__ = self.filename
        sys.modules[name] = module
        try:
            exec(code, vars(module))
        except (Exception, SystemExit) as e:
            raise self.error(e, "while loading the file") from None
        finally:
            del sys.modules[name]
        return module

    def assignment_line(self, name: str) -> int | None:
        """The line of the last module-level assignment to ``name``, if any."""
        line = None
        for node in ast.parse(self.source).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                line = node.lineno
        return line

    def def_line(self, fn: object) -> int | None:
        """The line of ``fn``'s ``def`` if it is in this file (through functools.partial)."""
        while isinstance(fn, functools.partial):
            fn = fn.func
        code = getattr(fn, "__code__", None)
        if isinstance(code, types.CodeType) and code.co_filename == self.filename:
            return code.co_firstlineno
        return None

    def check_signature(self, key: str, fn: Callable[..., Any], at: str) -> None:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return  # a builtin or C callable: it will be called and judged then
        args = SIGNATURES[key]
        try:
            sig.bind(*args)
        except TypeError as e:
            where = self.at(self.def_line(fn)) if self.def_line(fn) else at
            fname = getattr(fn, "__name__", type(fn).__name__)
            raise InputError(
                where, None, f"{fname}{sig} cannot be {key}({', '.join(args)}): {e}"
            ) from None

    def wrap(self, key: str, fn: Callable[..., Any]) -> Callable[..., Gen[Any]]:
        """``fn`` as a code path whose errors are the user's (module doc)."""

        def user_code_path(*args: Any) -> Gen[Any]:
            # nd_device_register's caller waits for the probe thread it is given
            probe = args[1] if key == "nd_device_register" and len(args) > 1 else None
            return (yield from self.guard(key, fn, lambda: fn(*args), probe))

        functools.update_wrapper(user_code_path, fn)
        return user_code_path

    def guard(
        self, what: str, fn: object, start: Callable[[], object], probe: object = None
    ) -> Gen[Any]:
        """Run the generator ``start()`` gives, effect by effect: its exceptions become
        InputErrors at the user's line, its non-effects are refused, the threads it
        creates are guarded too. ``probe``, if given, is memmapsim's thread, which it must
        start and which is left alone. ``what`` names it in messages; ``fn`` is the
        function behind ``start``."""
        try:
            gen = start()
        except InputError:
            raise
        except Exception as e:
            raise self.error(e, f"in {what}") from None
        if not isinstance(gen, Generator):
            raise InputError(
                self.at(self.def_line(fn)),
                None,
                f"{what} returned {_shown(gen)}, not a generator: a code path is a generator "
                "function that yields effects",
            )
        reply: Any = None
        while True:
            try:
                eff = gen.send(reply)
            except StopIteration as stop:
                if probe is not None:
                    raise InputError(
                        self.at(self.def_line(fn)),
                        None,
                        f"{what} returned without starting the probe thread it was given "
                        "(yield AsyncSchedule(probe, nid, ND_ASYNC_DOMAIN))",
                    ) from None
                return stop.value
            except InputError:
                raise
            except Exception as e:
                raise self.error(e, f"in {what}") from None
            if isinstance(eff, Spawn | AsyncSchedule):
                if eff.thread is probe:
                    probe = None
                else:
                    eff = struct_replace(eff, thread=self.guard_thread(eff.thread, what))
            elif not isinstance(eff, Effect):
                raise InputError(
                    self.at(self.yield_line(gen)),
                    None,
                    f"{what} yielded {_shown(eff)}, not an effect (to run a code path, "
                    "`yield from` it)",
                )
            try:
                reply = yield eff
            except GeneratorExit:
                gen.close()
                raise

    def guard_thread(self, spec: ThreadSpec, parent: str) -> ThreadSpec:
        what = f"thread {spec.name} of {parent}"
        return ThreadSpec(spec.name, functools.partial(self.thread, what, spec.start))

    def thread(self, what: str, start: Callable[[], Gen[int]]) -> Gen[int]:
        """A guarded thread, which must also return an int (its exit code; engines take
        None for "still running")."""
        ret = yield from self.guard(what, start, start)
        if not isinstance(ret, int):
            raise InputError(
                self.at(self.def_line(start)),
                None,
                f"{what} returned {_shown(ret)}, not an int: a thread returns its exit code "
                "(return 0)",
            )
        return ret

    def yield_line(self, gen: Generator[Any, Any, Any]) -> int | None:
        """The innermost line of this file where ``gen`` (or a generator it delegates to
        with ``yield from``) is suspended."""
        line = None
        g: Any = gen
        while g is not None:
            frame = getattr(g, "gi_frame", None)
            if frame is not None and frame.f_code.co_filename == self.filename:
                line = frame.f_lineno
            g = getattr(g, "gi_yieldfrom", None)
        return line

    def error(self, e: BaseException, context: str) -> InputError:
        """``e``, raised in the user's code, at the innermost line of this file in its
        traceback: ``my_change.py:17: ZeroDivisionError: division by zero (in ...)``."""
        text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return InputError(self.at(self.user_line(e)), None, f"{text} ({context})")

    def user_line(self, e: BaseException) -> int | None:
        """The innermost line of this file in ``e``'s traceback."""
        line, tb = None, e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line


def _shown(v: object) -> str:
    """A value in a message, without the addresses some reprs hold (same file, same
    message)."""
    if isinstance(v, types.GeneratorType):
        return f"a generator of {v.__qualname__}()"
    if v is None or isinstance(v, int | float | str | bytes | tuple | list | dict | set):
        return cut(repr(v))
    return f"a {type(v).__name__} object"
