"""modern-x86's fitted boot costs solve the six equations its header states.

The model's deferred-init and sparse_init times are linear in the costs, so the fitted
entries are the solution of a linear system: each fitted figure's model value, as a function
of the six fitted entries (the assumed ones held at their values), equals the published one.
The system is rebuilt here from the model's own runs (one unit step per entry) and solved;
the profile's values must be its solution to the 3 decimals the profile gives.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from memmapsim import validate as v

SRC = (resources.files("memmapsim.engine.profiles") / "modern-x86.toml").read_text()
FITTED = (
    "memmap_zero",
    "zero_struct_page_memset",
    "zero_struct_page_stores",
    "meminit_pfn_in_nid",
    "init_page_fields",
    "buddy_free_cold",
)
EQUATIONS = (
    "tatashin-vmemmap-memset",
    "tatashin-zeroing-in-pass",
    "duyck-deferred-4.20",
    "duyck-deferred-zero",
    "duyck-deferred-nid",
    "duyck-deferred-v7",
)


def with_costs(values: dict[str, float]) -> str:
    """modern-x86's text with the ``ns`` of the given entries replaced."""
    out, entry = [], None
    for line in SRC.splitlines():
        if line.startswith("["):
            entry = line[len("[costs.") : -1] if line.startswith("[costs.") else None
        if entry in values and line.startswith("ns = "):
            line = f"ns = {values[entry]!r}"
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def measure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    figures = {f.id: f for f in v.BOOT_FIGURES}

    def run(values: dict[str, float], tag: str) -> np.ndarray:
        path = tmp_path / f"{tag}.toml"
        path.write_text(with_costs(values))
        monkeypatch.setattr(v, "MODERN", str(path))
        v._boot.cache_clear()
        return np.array([figures[i].predict() for i in EQUATIONS])

    yield run
    v._boot.cache_clear()


def test_the_fitted_boot_costs_solve_their_equations(measure) -> None:  # type: ignore[no-untyped-def]
    costs = tomllib.loads(SRC)["costs"]
    assert {
        k for k, c in costs.items() if c["kind"] == "fitted" and c.get("memmap") == "ram"
    } == set(FITTED)
    x0 = {k: float(costs[k]["ns"]) for k in FITTED}
    y0 = measure(x0, "base")
    a = np.zeros((len(EQUATIONS), len(FITTED)))
    for j, k in enumerate(FITTED):
        a[:, j] = measure(x0 | {k: x0[k] + 1.0}, k) - y0
    published = np.array([{f.id: f for f in v.BOOT_FIGURES}[i].value for i in EQUATIONS])
    solution = np.linalg.solve(a, published - y0 + a @ np.array(list(x0.values())))
    for k, s in zip(FITTED, solution, strict=True):
        assert x0[k] == pytest.approx(round(float(s), 3), abs=5e-4), k
