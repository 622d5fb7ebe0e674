"""A census of how the pfns of each class of a device were written.

The classes themselves (which pfns, how many passes the version intends) come from the
kernel layer as data (:class:`~memmapsim.model.expect.PfnClass`).
"""

from __future__ import annotations

from collections import Counter

import msgspec

from memmapsim.model.expect import PfnClass
from memmapsim.model.memmap import Memmap
from memmapsim.model.page import PassRecord


class ClassCensus(msgspec.Struct, frozen=True):
    """How the pfns of one class were written: each distinct pass history, with its pages."""

    cls: PfnClass
    histories: tuple[tuple[tuple[PassRecord, ...], int], ...]

    @property
    def uniform(self) -> bool:
        return len(self.histories) == 1


def census(memmap: Memmap, cls: PfnClass) -> ClassCensus:
    counts: Counter[tuple[PassRecord, ...]] = Counter()
    for rec, n in cls.histogram(memmap).items():
        counts[rec.init_passes] += n
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    return ClassCensus(cls, tuple(ordered))
