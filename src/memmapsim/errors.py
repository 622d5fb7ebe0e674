"""Errors about the user's input: they name the file, the field or line, and what is wrong.

The command line prints them as one line and exits with status 2; they are never shown
as a traceback.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input: a malformed scenario, an impossible machine, a kernel's refusal."""

    def __init__(self, source: str, field: str | None, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.message}"
