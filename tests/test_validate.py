"""validate: each figure's kind is derived from the profile and the measurements, never
declared; each row has its own tolerance; misses are failures unless declared."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from memmapsim import validate as v
from memmapsim.cli import app

runner = CliRunner()


def test_kinds_follow_the_profile_and_the_shared_measurements() -> None:
    """Only duyck-2min-saved is predicted: duyck-serial-per-node is the per-block timing of
    duyck-reserved-nonatomic again, duyck-node-local-range the sentence ('between 23 and 37
    seconds') whose 37 s is fitted."""
    rows = {r.figure.id: r for r in v.validate()}
    assert {fid for fid, r in rows.items() if r.kind == "predicted"} == {"duyck-2min-saved"}
    assert rows["duyck-serial-per-node"].restates == "duyck-reserved-nonatomic"
    assert rows["duyck-node-local-range"].restates == "duyck-init-remote"
    assert sum(r.kind == "fitted" for r in rows.values()) == 7
    assert all(rows[r.restates].kind == "fitted" for r in rows.values() if r.restates)


def test_rows_come_predicted_first() -> None:
    order = [r.kind for r in v.validate()]
    assert order == sorted(order, key=v.KIND_ORDER.__getitem__)


def figure(fid: str, measurement: str, published: tuple[float, float], model: float) -> v.Figure:
    return v.Figure(fid, "src", "what", published, "s", measurement, lambda: model, "how")


def test_classify_restates_only_through_a_fitted_figure_of_the_same_measurement() -> None:
    figs = (
        figure("a", "m1", (1, 1), 1),
        figure("b", "m1", (1, 1), 1),
        figure("c", "m2", (1, 1), 1),
        figure("d", "m2", (1, 1), 1),
    )
    kinds = v.classify(figs, {"a"})
    assert kinds == {
        "a": ("fitted", None),
        "b": ("restated", "a"),
        "c": ("predicted", None),
        "d": ("predicted", None),
    }
    with pytest.raises(ValueError, match="unknown figures"):
        v.classify(figs, {"zz"})


@pytest.mark.parametrize(
    ("published", "model", "known_miss", "status"),
    [
        ((30.0, 40.0), 29.0, None, "MISS"),  # a published range is the tolerance
        ((30.0, 40.0), 30.0, None, "ok"),
        ((100.0, 100.0), 124.0, None, "ok"),  # ±25 % around a single value
        ((100.0, 100.0), 126.0, None, "MISS"),
        ((100.0, 100.0), 126.0, "the model lacks X", "known miss"),
        ((100.0, 100.0), 110.0, "the model lacks X", "STALE"),
    ],
)
def test_row_status(
    published: tuple[float, float], model: float, known_miss: str | None, status: str
) -> None:
    f = replace(figure("x", "m", published, model), known_miss=known_miss)
    row = v.Row(f, model, "predicted")
    assert row.status == status
    assert row.ok is (status in ("ok", "known miss"))


def test_json_rows_have_kind_restates_and_tolerance() -> None:
    res = runner.invoke(app, ["validate", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["summary"] == {
        "covered": 10,
        "predicted": 1,
        "restated": 2,
        "fitted": 7,
        "known_misses": 0,
    }
    rows = {r["id"]: r for r in data["figures"]}
    assert rows["duyck-serial-per-node"]["tolerance"] == [30.0, 40.0]
    assert rows["duyck-2min-saved"]["tolerance"] == [90.0, 150.0]
    assert rows["duyck-node-local-range"]["kind"] == "restated"
    assert {r["kind"] for r in data["figures"]} == {"fitted", "restated", "predicted"}


def test_an_undeclared_miss_fails_and_a_known_miss_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    miss = figure("extra-miss", "elsewhere", (10.0, 10.0), 20.0)
    monkeypatch.setattr(v, "FIGURES", (*v.FIGURES, miss))
    res = runner.invoke(app, ["validate", "--json"])
    assert res.exit_code == 1
    rows = {r["id"]: r for r in json.loads(res.stdout)["figures"]}
    assert (rows["extra-miss"]["kind"], rows["extra-miss"]["status"]) == ("predicted", "MISS")
    declared = replace(miss, known_miss="not modelled yet")
    monkeypatch.setattr(v, "FIGURES", (*v.FIGURES[:-1], declared))
    res = runner.invoke(app, ["validate", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.stdout)["figures"]}
    row = rows["extra-miss"]
    assert (row["status"], row["known_miss"]) == ("known miss", "not modelled yet")
