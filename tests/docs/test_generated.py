"""Generated docs stay in step with the code that generates them."""

from __future__ import annotations

from pathlib import Path

from memmapsim.validate import markdown, validate

ROOT = Path(__file__).resolve().parents[2]


def test_validation_table_is_current() -> None:
    """docs/validation.md is `memmapsim validate --markdown`; rerun `make docs` if this fails."""
    assert (ROOT / "docs" / "validation.md").read_text() == markdown(validate())


def test_every_predicted_figure_is_within_tolerance() -> None:
    rows = validate()
    assert rows and all(r.ok for r in rows), [(r.figure.id, r.error) for r in rows if not r.ok]
    assert any(r.figure.kind == "predicted" for r in rows)
