"""Units and x86_64 memory-model constants (spec §1.1), and size parsing.

Everything here is version independent for the kernels memmapsim models on x86_64:
4 KiB pages, 64-byte struct page, 128 MiB sections (SECTION_SIZE_BITS = 27),
512-pfn pageblocks (pageblock_order = 9), 2 MiB subsections (v5.3+).
"""

from __future__ import annotations

import re

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
STRUCT_PAGE_SIZE = 64
"""sizeof(struct page) on 64-bit; nvdimm reserves the same per pfn (MAX_STRUCT_PAGE_SIZE)."""

SECTION_SIZE_BITS = 27
PFN_SECTION_SHIFT = SECTION_SIZE_BITS - PAGE_SHIFT
PAGES_PER_SECTION = 1 << PFN_SECTION_SHIFT  # 32768
SECTION_SIZE = 1 << SECTION_SIZE_BITS  # 128 MiB

PAGEBLOCK_ORDER = 9
PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER  # 512

SUBSECTION_SHIFT = 21
PAGES_PER_SUBSECTION = 1 << (SUBSECTION_SHIFT - PAGE_SHIFT)  # 512

MAX_ORDER_NR_PAGES = 1024

PMD_SIZE = 1 << 21
"""One PMD of vmemmap (2 MiB) holds the memmap of exactly one section."""

MAX_PHYSMEM_BITS_4LEVEL = 46
MAX_PHYSMEM_BITS_5LEVEL = 52

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40
PiB = 1 << 50

_SUFFIX = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB, "P": PiB}
_SIZE_RE = re.compile(
    r"^\s*(0[xX][0-9a-fA-F][0-9a-fA-F_]*|[0-9][0-9_]*(?:\.[0-9]+)?)\s*"
    r"(?:([KMGTPkmgtp])(?:iB|B)?|B)?\s*$"
)


class SizeError(ValueError):
    """A size or address that cannot be parsed."""


def parse_size(text: str | int) -> int:
    """Parse a byte count: ``3T``, ``128M``, ``200MiB``, ``0x1_0000_0000``, ``1.5G`` or an int.

    Suffixes are binary (K = 1024), as in the kernel's memparse(). A fractional value
    must come out as a whole number of bytes.
    """
    if isinstance(text, bool):
        raise SizeError(f"expected a size, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise SizeError(f"size {text} is negative")
        return text
    m = _SIZE_RE.match(text)
    if not m:
        raise SizeError(f"cannot parse size {text!r} (examples: 3T, 128M, 0x1_0000_0000)")
    num: str = m.group(1)
    suffix: str = (m.group(2) or "").upper()
    mult = _SUFFIX[suffix]
    if num.lower().startswith("0x"):
        return int(num.replace("_", ""), 16) * mult
    if "." in num:
        whole, frac = num.replace("_", "").split(".")
        scale = int("1" + "0" * len(frac))
        value = (int(whole) * scale + int(frac)) * mult
        if value % scale:
            raise SizeError(f"size {text!r} is not a whole number of bytes")
        return value // scale
    return int(num.replace("_", "")) * mult


def format_size(nbytes: int) -> str:
    """The largest binary unit that divides ``nbytes`` exactly (``3T``, ``200M``, ``8K``)."""
    for suffix in ("P", "T", "G", "M", "K"):
        unit = _SUFFIX[suffix]
        if nbytes and nbytes % unit == 0:
            return f"{nbytes // unit}{suffix}"
    return str(nbytes)


def PHYS_PFN(addr: int) -> int:
    return addr >> PAGE_SHIFT


def PFN_PHYS(pfn: int) -> int:
    return pfn << PAGE_SHIFT


def pfn_to_section_nr(pfn: int) -> int:
    return pfn >> PFN_SECTION_SHIFT


def section_nr_to_pfn(sec: int) -> int:
    return sec << PFN_SECTION_SHIFT


def SECTION_ALIGN_DOWN(pfn: int) -> int:
    """Round a pfn down to its section (the kernel's SECTION_ALIGN_DOWN on pfns)."""
    return pfn & ~(PAGES_PER_SECTION - 1)


def SECTION_ALIGN_UP(pfn: int) -> int:
    return (pfn + PAGES_PER_SECTION - 1) & ~(PAGES_PER_SECTION - 1)


def ALIGN(x: int, a: int) -> int:
    """Round ``x`` up to a multiple of ``a`` (a power of two)."""
    return (x + a - 1) & ~(a - 1)


def ALIGN_DOWN(x: int, a: int) -> int:
    return x & ~(a - 1)


def IS_ALIGNED(x: int, a: int) -> bool:
    return x & (a - 1) == 0


def pageblock_nr(pfn: int) -> int:
    return pfn >> PAGEBLOCK_ORDER


def resource_str(start: int, end_inclusive: int, flags: int = 0x200) -> str:
    """The kernel's ``%pr`` rendering of a memory resource: ``[mem 0x...-0x... flags 0x200]``."""
    return f"[mem {start:#010x}-{end_inclusive:#010x} flags {flags:#x}]"


def resource_str_R(start: int, end_inclusive: int) -> str:
    """The kernel's ``%pR`` rendering of a memory resource: ``[mem 0x...-0x...]``."""
    return f"[mem {start:#010x}-{end_inclusive:#010x}]"
