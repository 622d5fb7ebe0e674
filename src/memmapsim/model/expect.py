"""What a kernel version intends for a device, as data handed to the invariant checks.

The checks in ``check/`` know no version: the kernel layer tells them, per device, which
pfns its add covers, which classes those pfns fall in and how many init passes each class
gets when all goes as the version intends, which pfns must end up fully initialized
ZONE_DEVICE pages, and how many pgmap references release will put.
"""

from __future__ import annotations

from dataclasses import dataclass

Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PfnClass:
    """A class of pfns of one device (e.g. the altmap reserve, the data pages)."""

    key: str
    label: str
    ranges: Ranges
    max_passes: int
    """Init passes a pfn of the class gets in this version when all goes as intended."""

    @property
    def pages(self) -> int:
        return sum(hi - lo for lo, hi in self.ranges)

    @property
    def lo(self) -> int:
        return self.ranges[0][0]

    @property
    def hi(self) -> int:
        return self.ranges[-1][1]


@dataclass(frozen=True)
class DeviceExpectations:
    pgmap: int
    span: tuple[int, int]
    """The pfns the add initializes: section-aligned before v5.3, the ranges after."""
    classes: tuple[PfnClass, ...]
    """The non-empty classes of the span, in pfn order, clipped to pfns no other device's
    ranges own."""
    device_pages: tuple[int, int]
    """The pfns that must end up as this pgmap's ZONE_DEVICE pages (I5)."""
    span_pages: Ranges
    """The span minus other devices' ranges (whose pageblocks I4 checks)."""
    release_puts: int
    """pgmap references the release the driver registered will put."""


def subtract(lo: int, hi: int, holes: list[tuple[int, int]] | Ranges) -> Ranges:
    """``[lo, hi)`` minus the ``holes``."""
    out: list[tuple[int, int]] = []
    pos = lo
    for hlo, hhi in sorted(holes):
        if hhi <= pos or hlo >= hi:
            continue
        if hlo > pos:
            out.append((pos, hlo))
        pos = max(pos, hhi)
    if pos < hi:
        out.append((pos, hi))
    return tuple(out)
