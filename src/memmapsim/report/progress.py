"""A progress bar (rich) for runs that take more than a second.

It is drawn on stderr, so it never mixes with the tables or the JSON on stdout; only
when stderr is a terminal; and only once the work has taken :data:`DELAY_S` seconds, so
quick runs print nothing extra. It is erased when the work ends.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when a bar is drawn, not for every run
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

DELAY_S = 1.0


class Progress:
    """``with Progress("compare", total=4) as p: ... p.advance("4.20")``."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        console: Console | None = None,
        delay_s: float | None = None,
        eta: bool = False,
        enabled: bool | None = None,
    ) -> None:
        """``eta``: also show the time left (estimated from the rate so far), for long
        runs of many similar steps (a sweep); ``enabled=False``: never draw."""
        self.console = console
        if enabled is None:
            enabled = console.is_terminal if console is not None else sys.stderr.isatty()
        self.enabled, self.eta = enabled, eta
        self.delay_s = DELAY_S if delay_s is None else delay_s
        self.label, self.total, self.done, self.now = label, total, 0, ""
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def __enter__(self) -> Progress:
        if self.enabled and self.delay_s <= 0:
            self._show()
        elif self.enabled:
            self._timer = threading.Timer(self.delay_s, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _description(self) -> str:
        return f"{self.label} {self.now}".rstrip()

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        with self._lock:
            if self._closed:
                return
            if self.console is None:
                self.console = Console(stderr=True, markup=False, emoji=False)
            columns: list[ProgressColumn] = [TextColumn("{task.description}"), BarColumn()]
            if self.total is not None:
                columns.append(MofNCompleteColumn())
            columns.append(TimeElapsedColumn())
            if self.eta and self.total is not None:
                columns += [TextColumn("ETA"), TimeRemainingColumn()]
            self._bar = RichProgress(*columns, console=self.console, transient=True)
            self._task = self._bar.add_task(
                self._description(), total=self.total, completed=self.done
            )
            self._bar.start()

    def step(self, now: str) -> None:
        """Say what is being worked on now."""
        with self._lock:
            self.now = now
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, description=self._description())

    def advance(self) -> None:
        """One of ``total`` steps is done."""
        with self._lock:
            self.done += 1
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, completed=self.done)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._bar is not None:
                self._bar.stop()
