"""The layers of DESIGN.md: lower layers never import higher ones; version knowledge stays
in kernel/ (engines and checks never import it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "memmapsim"

# layer of each top-level module or package, lowest first
LAYERS = {
    "units": 0,
    "errors": 0,
    "config": 1,
    "model": 1,
    "effects": 2,
    "kernel": 3,
    "check": 3,
    "engine": 4,
    "io": 5,
    "simulate": 6,
    "races": 6,
    "validate": 7,
    "calibrate": 7,
    "report": 7,
    "sweep": 8,
    "cli": 9,
}
# kernel/ holds version knowledge: only the run's assembly (simulate) and above see it
NEVER = {"engine": {"kernel"}, "check": {"kernel", "engine"}, "model": {"kernel", "engine"}}


def layer_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("memmapsim"):
            parts = node.module.split(".")
            out.add(parts[1] if len(parts) > 1 else parts[0])
            if len(parts) == 1:
                out |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("memmapsim."):
                    out.add(a.name.split(".")[1])
    return out


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    mine = layer_of(path)
    for other in imports(path):
        if other == mine or other not in LAYERS:
            continue
        assert LAYERS[other] <= LAYERS[mine], f"{mine} imports {other}"
        assert other not in NEVER.get(mine, set()), f"{mine} imports {other}"
