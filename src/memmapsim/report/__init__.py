"""Reports: JSON for machines, tables for people (DESIGN.md top layer)."""
