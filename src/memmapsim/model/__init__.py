"""The kernel's data: struct pages, sections, zones, pgmaps, locks (DESIGN.md layer 2)."""
