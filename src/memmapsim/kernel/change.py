"""What a kernel version is made of: named changes, and releases that merge them.

A :class:`Change` is modelled on what its patch does: switches of
:class:`~memmapsim.kernel.kernel.Params` and code paths that replace entries of
:class:`~memmapsim.kernel.kernel.Paths`. A :class:`Release` is the release before it plus
the changes merged for it. Each area of the model keeps its own table of changes (the
ZONE_DEVICE paths in :mod:`memmapsim.kernel.versions_zone_device`);
:mod:`memmapsim.kernel.versions` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


class Change(msgspec.Struct, frozen=True):
    name: str
    subject: str
    commit: str | None
    """The mainline commit, or None where it is not established."""
    origin: str
    """Where it comes from: the release that merged it, or the posting."""
    params: dict[str, Any]
    paths: dict[str, Callable[..., Any]] = msgspec.field(default_factory=dict)
    """Code paths the change replaces, by Paths entry."""
    requires: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    notes: str = ""
    selectable: bool = True
    """Whether users may add it by name (background changes of a release are not offered)."""
    reverts: str | None = None
    """The earlier change this one reverts (its switches and code paths no longer apply)."""


class Release(msgspec.Struct, frozen=True):
    """A release: the previous release plus the changes merged for it, in order."""

    name: str
    changes: tuple[str, ...]
    tree: str
    """The release tree read for it (docs/spec-corrections.md, docs/kernel-notes/)."""
