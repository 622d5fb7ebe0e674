"""Run ``memmapsim`` in this process, as the tests' CliRunner: stdout and stderr captured
apart and together (``output``, interleaved as a terminal shows them), the exit status,
and any exception the command let out. Replaces typer's CliRunner since the command line
moved to argparse (issue 7)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    output: str
    exception: BaseException | None
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | None


class _Tee(io.StringIO):
    """A stream that also copies what it gets to a shared one."""

    def __init__(self, shared: io.StringIO) -> None:
        super().__init__()
        self.shared = shared

    def write(self, s: str) -> int:
        self.shared.write(s)
        return super().write(s)

    def isatty(self) -> bool:
        return False


@contextmanager
def _environ(env: Mapping[str, str | None] | None) -> Iterator[None]:
    saved = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class CliRunner:
    def invoke(
        self,
        main: Callable[[Sequence[str]], NoReturn],
        args: Sequence[str],
        env: Mapping[str, str | None] | None = None,
    ) -> Result:
        both = io.StringIO()
        out, err = _Tee(both), _Tee(both)
        code, exc, info = 0, None, None
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            with _environ(env):
                main(list(args))
        except SystemExit as e:
            code = _code(e.code)
        except Exception as e:
            code, exc, info = 1, e, (type(e), e, e.__traceback__)
        finally:
            sys.stdout, sys.stderr = saved
        return Result(code, out.getvalue(), err.getvalue(), both.getvalue(), exc, info)


def _code(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
