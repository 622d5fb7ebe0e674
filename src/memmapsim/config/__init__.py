"""Scenario files: the schema, validation and the built-in scenarios (DESIGN.md layer 1)."""
