"""Generated docs stay in step with the code that generates them."""

from __future__ import annotations

from pathlib import Path

from memmapsim.validate import markdown, validate

ROOT = Path(__file__).resolve().parents[2]


def test_validation_table_is_current() -> None:
    """docs/validation.md is `memmapsim validate --markdown`; rerun `make docs` if this fails."""
    assert (ROOT / "docs" / "validation.md").read_text() == markdown(validate())


def test_every_figure_is_within_tolerance_or_a_declared_known_miss() -> None:
    rows = validate()
    assert rows and all(r.ok for r in rows), [(r.figure.id, r.status) for r in rows if not r.ok]
    assert any(r.kind == "predicted" for r in rows)


def test_the_table_says_how_many_figures_are_truly_predicted() -> None:
    assert "Of 10 covered figures, **1 is truly predicted**, 2 restate" in markdown(validate())
