"""The kernel's code paths, per version, as effect-yielding coroutines (DESIGN.md layer 4)."""
