"""memmapsim: the Linux kernel's struct page (memmap) initialization as a simulator."""

__version__ = "0.1.0"
