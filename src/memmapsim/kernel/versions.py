"""Kernels by name: ``4.18``, ``4.20``, ``4.18+nonatomic-reserved+...``, ``6.6+./x.py``.

A release is the changes merged by it (:mod:`memmapsim.kernel.change`), applied in order
to the baseline (v4.14 for boot memory, v4.18 for the ZONE_DEVICE and hotplug paths); the
tables of changes and releases live per area of the model (:data:`AREAS`) and are
assembled here. A user may add changes (the 2018 series as
posted, or a change no release carries) with ``+name``, or change files with
``+./file.py`` (:mod:`memmapsim.kernel.user_change`). :func:`parse_kernel` folds them
once into a :class:`~memmapsim.kernel.kernel.Kernel`.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec.structs import replace

from memmapsim.kernel import (
    memremap,
    mm_memremap,
    versions_boot,
    versions_readers,
    versions_zone_device,
)
from memmapsim.kernel.change import Change, Release
from memmapsim.kernel.kernel import BootConfig, Kernel, Params, Paths
from memmapsim.kernel.memory_hotplug import add_pages_by_section
from memmapsim.kernel.nvdimm import nd_device_register_any_node
from memmapsim.kernel.page_alloc import memmap_init_zone_device
from memmapsim.kernel.readers import kmemleak, memory, page_owner, proc_page
from memmapsim.kernel.readers.memory_failure import memory_failure_pfn_valid
from memmapsim.kernel.user_change import apply_user_changes, is_user_change
from memmapsim.model.pageflags import release_key

BASELINE_PATHS = Paths(
    nd_device_register=nd_device_register_any_node,
    devm_memremap_pages=memremap.devm_memremap_pages,
    memremap_pages=mm_memremap.memremap_pages,
    memunmap_pages=memremap.devm_memremap_pages_release,
    memmap_init_zone_device=memmap_init_zone_device,
    add_pages_impl=add_pages_by_section,
    proc_page_pfn_to_page=proc_page.proc_page_pfn_valid,
    memory_failure=memory_failure_pfn_valid,
    soft_offline_pfn_to_page=memory.soft_offline_pfn_valid,
    kmemleak_pfn_to_page=kmemleak.kmemleak_pfn_valid,
    page_owner_pfn_to_page=page_owner.page_owner_pfn_valid,
)
"""The v4.18 code paths."""

AREAS = (versions_zone_device, versions_boot, versions_readers)
"""The tables of changes and releases, one per area of the model (the ZONE_DEVICE paths,
boot memory and System RAM hotplug, the kernel's readers). Each module has ``CHANGES`` (a
tuple of :class:`Change`) and ``RELEASES`` (a tuple of :class:`Release`: a release's changes
of that area, and the tree read)."""


def _assemble() -> tuple[dict[str, Change], tuple[Release, ...]]:
    """All changes by name, and the releases in version order, each with the changes of
    every area (in the order of ``AREAS``) and the trees read for it."""
    changes: dict[str, Change] = {}
    per_release: dict[str, tuple[list[str], list[str]]] = {}
    for area in AREAS:
        for c in area.CHANGES:
            if c.name in changes:
                raise ValueError(f"change {c.name} is defined twice")
            changes[c.name] = c
        for rel in area.RELEASES:
            names, trees = per_release.setdefault(rel.name, ([], []))
            names += rel.changes
            if rel.tree not in trees:
                trees.append(rel.tree)
    chain = tuple(
        Release(name, tuple(names), "; ".join(trees))
        for name, (names, trees) in sorted(per_release.items(), key=lambda kv: release_key(kv[0]))
    )
    return changes, chain


CHANGES, CHAIN = _assemble()
"""Every change by name, and every release in order."""


def fold(changes: list[str]) -> list[str]:
    """The changes in effect after applying ``changes`` in order: a reverting change drops
    the one it reverts."""
    active: list[str] = []
    for name in changes:
        reverted = CHANGES[name].reverts
        if reverted is not None and reverted in active:
            active.remove(reverted)
        active.append(name)
    return active


def _releases() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    merged: list[str] = []
    for rel in CHAIN:
        merged += rel.changes
        out[rel.name] = tuple(fold(merged))
    return out


RELEASES: dict[str, tuple[str, ...]] = _releases()
"""Every release and the changes in effect in it."""


MAX_OFFERED = 160
"""An unknown change's message names the changes up to this many characters."""


class KernelSpecError(ValueError):
    """A kernel name that is not a release plus known, compatible changes."""


def parse_kernel(spec: str, config: BootConfig | None = None) -> Kernel:
    """``4.20``, ``4.18+nonatomic-reserved+defer-zone-device`` → :class:`Kernel`.

    A part with a ``/`` or ending in ``.py`` is a change file (``5.16+./my_change.py``,
    :mod:`~memmapsim.kernel.user_change`): its code paths replace those of the release and
    the named changes, whatever its place in ``spec``."""
    parts = [p.strip() for p in spec.strip().split("+")]
    release, added = parts[0], parts[1:]
    user = [p for p in added if is_user_change(p)]
    if release not in RELEASES:
        known = ", ".join(RELEASES)
        raise KernelSpecError(f"unknown kernel {release!r} (known releases: {known})")
    base = RELEASES[release]
    for name in added:
        if name in user:
            if added.count(name) > 1:
                raise KernelSpecError(f"change {name} is named twice")
            continue
        if name not in CHANGES or not CHANGES[name].selectable:
            offered = ", ".join(n for n, c in CHANGES.items() if c.selectable)
            if len(offered) > MAX_OFFERED:
                offered = offered[: offered.rfind(", ", 0, MAX_OFFERED)] + ", …"
            raise KernelSpecError(
                f"unknown change {name!r} (changes: {offered}; `memmapsim kernels` lists them all)"
            )
        if name in base:
            raise KernelSpecError(f"{release} already includes {name}")
        if added.count(name) > 1:
            raise KernelSpecError(f"change {name} is named twice")
    changes = tuple(fold([*base, *(a for a in added if a not in user)]))
    for name in changes:
        c = CHANGES[name]
        for need in c.requires:
            if need not in changes:
                raise KernelSpecError(f"{name} needs {need}: write {spec}+{need}")
        for other in c.conflicts:
            if other in changes:
                raise KernelSpecError(f"{name} and {other} are two versions of one patch")
    params, paths = Params(), BASELINE_PATHS
    for name in changes:
        params = replace(params, **CHANGES[name].params)
        paths = paths.replaced(CHANGES[name].paths)
    paths = apply_user_changes(paths, user)
    name = "+".join([release, *added])
    changes = (*changes, *user)
    return Kernel(name, release, changes, tuple(added), params, paths, config or BootConfig())


def release_params(release: str) -> Params:
    """The switches of a release, as :func:`parse_kernel` builds them."""
    params = Params()
    for name in RELEASES[release]:
        params = replace(params, **CHANGES[name].params)
    return params


def first_release(pred: Callable[[Params], bool]) -> str | None:
    """The first release whose switches satisfy ``pred``, if any."""
    return next((r for r in RELEASES if pred(release_params(r))), None)


def device_releases() -> tuple[str, ...]:
    """The releases modelled with ZONE_DEVICE paths: all but the boot-only ones (4.14)."""
    return tuple(r for r in RELEASES if release_params(r).device_kinds)
