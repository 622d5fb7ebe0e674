"""The iomem resource tree (top level) and region_intersects() (kernel/resource.c).

The machine's DRAM appears as "System RAM" resources and each persistent-memory range
as a "Persistent Memory" resource. ``region_intersects(start, size, flags, desc)`` walks
the top-level resources overlapping the range and counts those of the asked type and the
others; holes count as neither. It returns REGION_DISJOINT when none is of the type,
REGION_INTERSECTS when all overlapping ones are, and REGION_MIXED otherwise.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec


class Region(IntEnum):
    REGION_INTERSECTS = 0
    REGION_DISJOINT = 1
    REGION_MIXED = 2


class Resource(msgspec.Struct, frozen=True):
    name: str
    start: int
    end: int  # inclusive, as struct resource

    def overlaps(self, start: int, end: int) -> bool:
        return self.start <= end and start <= self.end


SYSTEM_RAM = "System RAM"
PERSISTENT_MEMORY = "Persistent Memory"


def region_intersects(resources: list[Resource], start: int, size: int, name: str) -> Region:
    end = start + size - 1
    type_ = other = 0
    for r in resources:
        if r.overlaps(start, end):
            if r.name == name:
                type_ += 1
            else:
                other += 1
    if type_ == 0:
        return Region.REGION_DISJOINT
    if other == 0:
        return Region.REGION_INTERSECTS
    return Region.REGION_MIXED
