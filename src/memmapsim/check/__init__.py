"""Invariants over memory state, reported as findings (DESIGN.md layer: check)."""
