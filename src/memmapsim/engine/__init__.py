"""Engines that interpret effects: in-order (this issue), timing, explorer (DESIGN.md)."""
