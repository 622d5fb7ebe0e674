"""A kernel: a release plus named changes, as switches and as code paths.

Two ways a change enters the model, by size:

- a few-line delta of a function is a :class:`Params` switch the function branches on
  where the patch changed it, like an ``#ifdef`` per commit (each switch's docstring
  cites the change);
- a change that replaces functions carries its own implementations, which replace entries
  of :class:`Paths` when the kernel is built (drgn's pattern: the implementation is picked
  once), and era-crossing calls go through ``k.paths``.

``k.config`` holds the build and boot configuration from the scenario (CONFIG_DEBUG_VM,
``vm_debug=``, HZ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from memmapsim.model.pageflags import PAGEFLAGS_V4_18, PageFlagsLayout

if TYPE_CHECKING:
    from memmapsim.effects import Gen, ThreadSpec


@dataclass(frozen=True)
class Params:
    """Version switches: what a release plus changes does differently, as data."""

    pageflags: tuple[str, ...] = PAGEFLAGS_V4_18
    """``enum pageflags`` (PG_workingset from v4.20 shifts PG_reserved from bit 11 to 12)."""
    pgmap_index: Literal["radix", "xarray"] = "radix"
    """``pgmap_radix`` (v4.18-v4.19) or ``pgmap_array`` (XArray, v4.20+)."""
    conflict_probes: bool = False
    """devm_memremap_pages probes get_dev_pagemap at both ends of the aligned range and
    refuses with "Conflicting mapping in same section" (Dave Jiang, v4.18-rc7)."""
    pfn_trim: Literal["system-ram", "regions"] = "system-ram"
    """How nd_pfn_init trims a namespace whose sections collide: with System RAM only
    (v4.18), or also with other nvdimm regions (trim_pfn_device + nd_region_conflict,
    "libnvdimm, pfn: Pad pfn namespaces relative to other regions", v4.20)."""
    kasan_zero_shadow: bool = False
    """devm_memremap_pages calls kasan_add_zero_shadow (0207df4fa1a8, v4.19)."""
    reserved_atomic: bool = True
    """memmap_init_zone(MEMMAP_HOTPLUG) sets PG_reserved with atomic SetPageReserved;
    "mm: create non-atomic version of SetPageReserved for init use" (v4.20) uses
    __SetPageReserved."""
    vm_debug_param: bool = False
    """``vm_debug=`` exists and hot-add poisoning goes through page_init_poison()
    (f682a97a0059, v4.20); before, DEBUG_VM always memsets the memmap."""
    zone_device_deferred: bool = False
    """966cf44f637e "mm: defer ZONE_DEVICE page initialization to the point where we init
    pgmap" (v4.20): memmap_init_zone initializes only the altmap's memmap-hosting pfns
    under the lock; memmap_init_zone_device initializes the rest outside it."""
    zone_device_ref_get_many: bool = False
    """After memmap_init_zone_device, percpu_ref_get_many(pfn_end - pfn_first): the
    2018-10-08 fix folded into 966cf44f637e (absent from v5 as posted 2018-09-25)."""
    section_tail_init: bool = False
    """memmap_init_zone ends by initializing pfns up to the section end (2830bf6f05fb,
    v4.20; reverted by 4aa9fc2a435a during v5.0-rc)."""


@dataclass(frozen=True)
class Paths:
    """The code paths a change may replace whole, by kernel function name."""

    nd_device_register: Callable[[Kernel, ThreadSpec, int], Gen[None]]
    """How libnvdimm queues a device's registration and probe (drivers/nvdimm/bus.c)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def replaced(self, new: dict[str, Callable[..., Any]]) -> Paths:
        unknown = sorted(set(new) - set(self.names()))
        if unknown:
            raise KeyError(f"no code path named {', '.join(unknown)}")
        return Paths(**{n: new.get(n, getattr(self, n)) for n in self.names()})


@dataclass(frozen=True)
class BootConfig:
    """Kconfig and command line relevant to memmap init, from the scenario's knobs."""

    debug_vm: bool = False
    vm_debug: str | None = None
    hz: int = 1000


@dataclass(frozen=True)
class Kernel:
    name: str
    """Normalized, as the user writes it: ``4.18+nonatomic-reserved``."""
    release: str
    changes: tuple[str, ...]
    """Every change in effect: the release's own, then the added ones."""
    added: tuple[str, ...]
    p: Params
    paths: Paths
    config: BootConfig = field(default_factory=BootConfig)

    @property
    def layout(self) -> PageFlagsLayout:
        return PageFlagsLayout(self.p.pageflags)

    def jiffies_to_msecs(self, j: int) -> int:
        return j * 1000 // self.config.hz
