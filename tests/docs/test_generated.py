"""Generated docs stay in step with the code that generates them."""

from __future__ import annotations

from pathlib import Path

from memmapsim.validate import markdown, validate

ROOT = Path(__file__).resolve().parents[2]


def test_validation_table_is_current() -> None:
    """docs/validation.md is `memmapsim validate --markdown`; rerun `make docs` if this fails."""
    assert (ROOT / "docs" / "validation.md").read_text() == markdown(validate())


def test_modern_x86_validation_table_is_current() -> None:
    """docs/validation-modern-x86.md is `memmapsim validate --markdown --profile modern-x86`;
    rerun `make docs` if this fails."""
    text = (ROOT / "docs" / "validation-modern-x86.md").read_text()
    assert text == markdown(validate(profile="modern-x86"), "modern-x86")
    assert "--profile modern-x86` (cost profile modern-x86," in text


def test_every_figure_is_within_tolerance_or_a_declared_known_miss() -> None:
    rows = validate()
    assert rows and all(r.ok for r in rows), [(r.figure.id, r.status) for r in rows if not r.ok]
    assert any(r.kind == "predicted" for r in rows)


def test_the_table_says_how_many_figures_are_truly_predicted() -> None:
    assert "Of 10 covered figures, **1 is truly predicted**, 2 restate" in markdown(validate())
    modern = markdown(validate(profile="modern-x86"), "modern-x86")
    assert "Of 16 covered figures, **9 are truly predicted**, 0 restate" in modern
    assert "**No figure checks this profile**" not in modern
    assert "**No figure checks this profile**" not in markdown(validate())
