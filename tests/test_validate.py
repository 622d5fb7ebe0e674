"""validate: each figure's kind is derived from the profile and the measurements, never
declared; each row has its own tolerance; misses are failures unless declared."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from memmapsim import validate as v
from memmapsim.cli import main
from tests.clirunner import CliRunner

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
    res = runner.invoke(main, ["validate", "--json", "--profile", "xeon-2018-pmem"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["profile"] == "xeon-2018-pmem"
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
    res = runner.invoke(main, ["validate", "--json", "--profile", "xeon-2018-pmem"])
    assert res.exit_code == 1
    rows = {r["id"]: r for r in json.loads(res.stdout)["figures"]}
    assert (rows["extra-miss"]["kind"], rows["extra-miss"]["status"]) == ("predicted", "MISS")
    declared = replace(miss, known_miss="not modelled yet")
    monkeypatch.setattr(v, "FIGURES", (*v.FIGURES[:-1], declared))
    res = runner.invoke(main, ["validate", "--json", "--profile", "xeon-2018-pmem"])
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.stdout)["figures"]}
    row = rows["extra-miss"]
    assert (row["status"], row["known_miss"]) == ("known miss", "not modelled yet")


# --- modern-x86: its own figures, run with it ------------------------------------------------


def test_modern_x86_is_validated_with_its_own_figures_run_with_it() -> None:
    """modern-x86 has the 19.12 s it is fitted to, run on a 5.2+ kernel with modern-x86's
    costs (with xeon-2018-pmem's the same run takes 24.5 s), and the boot and System RAM
    figures of published-numbers.md §1a-§1c: six fitted, the others predicted."""
    rows = {r.figure.id: r for r in v.validate(profile="modern-x86")}
    assert set(rows) == {"duyck-deferred-improvements-pmem"} | {f.id for f in v.BOOT_FIGURES}
    row = rows["duyck-deferred-improvements-pmem"]
    assert (row.kind, row.status) == ("fitted", "ok")
    assert abs(row.error) < 0.001, row.predicted
    fitted = {i for i, r in rows.items() if r.kind == "fitted"}
    assert fitted == {
        "duyck-deferred-improvements-pmem",
        "tatashin-vmemmap-memset",
        "tatashin-zeroing-in-pass",
        "duyck-deferred-4.20",
        "duyck-deferred-zero",
        "duyck-deferred-nid",
        "duyck-deferred-v7",
    }
    misses = {i for i, r in rows.items() if r.status == "known miss"}
    assert misses == {"gorman-64gb", "e5-2699v4-deferred"}
    for i, r in rows.items():
        assert r.ok, (i, r.predicted, r.status)
        if r.kind == "fitted":
            assert abs(r.error) < 0.001, (i, r.predicted)


def test_each_profile_lists_what_it_does_not_cover() -> None:
    assert {n.id for n in v.not_covered_for("modern-x86")} == {
        "duyck-2018-figures",
        "duyck-deferred-improvements-before",
        "duyck-deferred-full-series",
        "duyck-rfc-3to1",
        "tatashin-v11-boot-time",
        "tatashin-sparc",
        "init-microbenchmarks",
        "poison-12tb-pmem",
    }
    assert v.not_covered_for("xeon-2018-pmem") == v.NOT_COVERED
    for fn in (v.figures_for, v.not_covered_for):
        with pytest.raises(ValueError, match="no figures"):
            fn("no-such-profile")


def test_json_for_modern_x86_names_the_profile() -> None:
    res = runner.invoke(main, ["validate", "--json", "--profile", "modern-x86"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["profile"] == "modern-x86"
    assert data["summary"] == {
        "covered": 16,
        "predicted": 9,
        "restated": 0,
        "fitted": 7,
        "known_misses": 2,
    }
    assert [n["id"] for n in data["not_covered"]] == [n.id for n in v.MODERN_NOT_COVERED]


def test_validate_text_names_the_profile() -> None:
    res = runner.invoke(main, ["validate", "--profile", "modern-x86"])
    assert res.exit_code == 0, res.output
    assert "validation (modern-x86): 9 of 16 covered figures predicted" in res.stdout
    assert "duyck-2018-figures" in res.stdout


@pytest.mark.parametrize("profile", ["no-such-profile", "src/memmapsim/engine/profiles/x.toml"])
def test_validate_refuses_a_profile_without_figures(profile: str) -> None:
    res = runner.invoke(main, ["validate", "--profile", profile])
    assert res.exit_code == 2
    assert res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line.startswith("memmapsim: error: --profile: no published figures for")
    assert "modern-x86, xeon-2018-pmem" in line


def test_validate_covers_every_profile_by_default() -> None:
    """`memmapsim validate` lists the boot and System RAM figures as fitted, restated or
    predicted (modern-x86 prices them), beside the 2018 pmem figures."""
    res = runner.invoke(main, ["validate", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [p["profile"] for p in data["profiles"]] == list(v.VALIDATED_PROFILES)
    kinds = {r["id"]: r["kind"] for p in data["profiles"] for r in p["figures"]}
    for fig in ("xeon8180-deferred", "e5-2699v4-deferred", "gorman-1tb", "duyck-hotplug-halved"):
        assert kinds[fig] == "predicted"
    assert kinds["duyck-deferred-v7"] == "fitted" and kinds["duyck-2min-saved"] == "predicted"
    text = runner.invoke(main, ["validate"], env={"COLUMNS": "200"}).stdout
    for p in v.VALIDATED_PROFILES:
        assert f"validation ({p}): " in text and f"not covered ({p})" in text


def test_markdown_needs_a_profile() -> None:
    res = runner.invoke(main, ["validate", "--markdown"])
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        "memmapsim: error: --markdown: each profile has its own docs table: give --profile "
        "modern-x86 or xeon-2018-pmem"
    )
