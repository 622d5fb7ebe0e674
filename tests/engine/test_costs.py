"""The cost profiles xeon-2018-pmem and modern-x86: provenance of every entry, each fitted
value recomputed from the derivation in its header, the validation table, and malformed
profiles rejected with the file and field named."""

from __future__ import annotations

import math
import re
from importlib import resources
from pathlib import Path

import pytest

from memmapsim import validate as v
from memmapsim.cli import main
from memmapsim.config.scenario import load_scenario
from memmapsim.engine.costs import BOOT_COSTS, FIXED_COSTS, PAGE_COSTS, CostProfile, load_profile
from memmapsim.errors import InputError
from memmapsim.simulate import simulate
from tests.clirunner import CliRunner

PROFILES = resources.files("memmapsim.engine.profiles")
TEXT = (PROFILES / "xeon-2018-pmem.toml").read_text()
HEADER = "\n".join(line for line in TEXT.splitlines() if line.startswith("#"))
MODERN_TEXT = (PROFILES / "modern-x86.toml").read_text()
MODERN_HEADER = "\n".join(line for line in MODERN_TEXT.splitlines() if line.startswith("#"))

# The derivation in the profile's header.
N_DATA = 792_722_944  # data pages per 3 TiB block (after the altmap)
N_SPAN = 805_306_366  # pages memmap_init_zone initializes per block (span minus reserve)
N_BLOCK = 805_306_368  # pages of a 3 TiB block
R = math.sqrt((37 / 24.5) * (1 / 0.75))
AVG = (1 + 3 * R) / 4
ONE_PASS = 24.5e9 / N_DATA
INIT_NR = 31.5e9 / N_SPAN / AVG
INIT_AR = 35.5e9 / N_SPAN / AVG
PGMAP_LOOP = 20e9 / N_DATA / AVG
POISON = 120e9 / (4 * N_BLOCK) / AVG

NOT_JOINT = (
    "duyck-reserved-atomic",
    "duyck-reserved-nonatomic",
    "duyck-pgmap-pass",
    "duyck-poison",
)


@pytest.fixture(scope="module")
def prof() -> CostProfile:
    return load_profile()


def test_the_builtin_profile_loads(prof: CostProfile) -> None:
    """The default profile is xeon-2018-pmem, with every page and fixed cost."""
    assert prof.name == "xeon-2018-pmem"
    assert set(prof.costs) == set(PAGE_COSTS)
    assert set(prof.fixed_ns) == set(FIXED_COSTS)
    assert load_profile("xeon-2018-pmem") == prof


@pytest.mark.parametrize("name", ["xeon-2018-pmem", "modern-x86"])
def test_every_entry_has_a_provenance(name: str) -> None:
    """Every cost and factor is fitted or assumed; a fitted one names figures of the
    profile's validation table, which are therefore its fitted rows; an assumed one says
    why."""
    prof = load_profile(name)
    entries = [*prof.costs.values(), prof.factors.remote, prof.factors.memmap_in_ram]
    figure_ids = {f.id for f in v.figures_for(name)}
    named: set[str] = set()
    for e in entries:
        assert e.kind in ("fitted", "assumed")
        if e.kind == "fitted":
            ids = {s.strip() for s in e.figure.split(",")}
            assert ids <= figure_ids, e.figure
            named |= ids
        else:
            assert e.note
    assert named == v.fitted_figures(prof)
    assert {r.figure.id for r in v.validate(profile=name) if r.kind == "fitted"} == named
    assert prof.bandwidth.kind in ("fitted", "assumed") and prof.bandwidth.note


def test_header_states_the_derived_numbers() -> None:
    """The header's figures are the ones recomputed here."""
    for number in (
        f"{R:.3f}",
        f"{AVG:.4f}",
        f"{ONE_PASS:.3f} ns",
        f"{INIT_NR:.3f} ns",
        f"{INIT_AR:.3f} ns",
        f"{PGMAP_LOOP:.3f} ns",
        f"{POISON:.3f} ns",
        "792,722,944",
        "805,306,366",
    ):
        assert number in HEADER, number


def derive(nonatomic: float, ref_get: float, ndigits: int | None) -> dict[str, float]:
    """The fitted entries from the header's per-step figures (rounded to ``ndigits`` as the
    header states them, or exact), split against the assumed entries."""

    def r(x: float) -> float:
        return x if ndigits is None else round(x, ndigits)

    one_pass, init_nr, init_ar = r(ONE_PASS), r(INIT_NR), r(INIT_AR)
    set_pgmap = r((one_pass - init_nr) / 2)  # page->pgmap and page->hmm_data
    return {
        "init_single_page": init_nr - nonatomic,
        "reserved_atomic": nonatomic + (init_ar - init_nr),
        "set_pgmap": set_pgmap,
        "list_del": r(PGMAP_LOOP) - set_pgmap - ref_get,
        "poison": r(POISON),
    }


def test_fitted_values_follow_from_the_derivation(prof: CostProfile) -> None:
    """Each fitted entry is what the header's derivation gives, to 3 decimals (within 1e-3
    of the unrounded derivation), with the assumed entries it is split against taken from
    the profile; the remote factor is R."""
    c = {k: e.ns for k, e in prof.costs.items()}
    nonatomic, ref_get = c["reserved_nonatomic"], c["percpu_ref_get"]
    assert {k for k, e in prof.costs.items() if e.kind == "fitted"} == set(
        derive(nonatomic, ref_get, 3)
    )
    for key, value in derive(nonatomic, ref_get, 3).items():
        assert c[key] == pytest.approx(value, abs=5e-4), key
    for key, value in derive(nonatomic, ref_get, None).items():
        assert c[key] == pytest.approx(value, abs=1e-3), key
    assert prof.factors.remote.kind == "fitted"
    assert prof.factors.remote.value == pytest.approx(R, abs=5e-4)
    # The parts add up to the measured per-page costs of each pass.
    assert c["init_single_page"] + nonatomic == pytest.approx(INIT_NR, abs=1e-3)
    assert c["init_single_page"] + c["reserved_atomic"] == pytest.approx(INIT_AR, abs=1e-3)
    one_pass = c["init_single_page"] + nonatomic + 2 * c["set_pgmap"]
    assert one_pass == pytest.approx(ONE_PASS, abs=1e-3)
    assert c["list_del"] + c["set_pgmap"] + ref_get == pytest.approx(PGMAP_LOOP, abs=1e-3)


def test_validation_rows_are_all_within_tolerance() -> None:
    """Every figure is inside its tolerance; fitted figures that are not joint fits come
    out within 1 %."""
    rows = v.validate()
    assert {r.figure.id for r in rows} >= set(NOT_JOINT)
    assert any(r.kind == "predicted" for r in rows)
    for r in rows:
        assert r.ok, (r.figure.id, r.predicted)
        if r.figure.id in NOT_JOINT:
            assert abs(r.error) < 0.01, (r.figure.id, r.error)


# --- modern-x86 ------------------------------------------------------------------------------
# The derivation in modern-x86's header: Duyck's "Deferred page init improvements" (v5 0/7,
# 2018-11-05), pmem init per 3 TB node 24.17 s -> 19.12 s, node-local, memmap on pmem; and
# the v7 subset's boot-DRAM deferred init, 1.38 s per 384 GB node (init + buddy free).
MODERN_PASS = 19.12e9 / N_DATA  # one 5.2+ memmap_init_zone_device pass per page
MODERN_BOUND = 24.17e9 / N_DATA  # the same sentence, before the series
N_DRAM_NODE = 100_663_296  # pages of a 384 GiB node
V7_DRAM = 1.38e9 / N_DRAM_NODE  # merged subset: init + free, memmap in DRAM
FULL_DRAM = 1.06e9 / N_DRAM_NODE  # the whole v5 series, boot DRAM


@pytest.fixture(scope="module")
def modern() -> CostProfile:
    return load_profile("modern-x86")


def test_modern_x86_loads_with_every_cost(modern: CostProfile) -> None:
    assert modern.name == "modern-x86"
    assert set(modern.costs) == set(PAGE_COSTS) | set(BOOT_COSTS)
    assert {k for k, c in modern.costs.items() if c.memmap == "ram"} == set(BOOT_COSTS)
    assert set(modern.fixed_ns) == set(FIXED_COSTS)
    assert "5.2+" in modern.description


def test_modern_header_states_the_derived_numbers(modern: CostProfile) -> None:
    """modern-x86's header states the numbers recomputed here."""
    init = modern.costs["init_single_page"].ns
    for number in (
        f"{MODERN_PASS:.3f} ns",
        f"{MODERN_BOUND:.3f} ns",
        f"{init:.3f} ns",
        f"{V7_DRAM:.3f} ns/page",
        f"{V7_DRAM / init:.3f}",
        "792,722,944",
        "100,663,296",
    ):
        assert number in MODERN_HEADER, number


def test_modern_fitted_value_follows_from_the_derivation(modern: CostProfile) -> None:
    """Of the ZONE_DEVICE entries only init_single_page is fitted: the 19.12 s pass per page
    minus the assumed non-atomic PG_reserved and the two pgmap stores, to 3 decimals (the
    boot entries: tests/engine/test_boot_costs.py)."""
    c = {k: e.ns for k, e in modern.costs.items()}
    fitted = {k for k, e in modern.costs.items() if e.kind == "fitted"}
    assert fitted - set(BOOT_COSTS) == {"init_single_page"}
    assert modern.factors.remote.kind == modern.factors.memmap_in_ram.kind == "assumed"
    stores = c["reserved_nonatomic"] + 2 * c["set_pgmap"]
    assert c["init_single_page"] == pytest.approx(round(MODERN_PASS - stores, 3), abs=5e-4)
    assert c["init_single_page"] + stores == pytest.approx(MODERN_PASS, abs=1e-3)


def test_modern_pass_is_inside_the_published_bracket(modern: CostProfile) -> None:
    """The merged code lies between the series (19.12 s) and its baseline (24.17 s): the
    profile's pass is the lower end, faster than xeon-2018-pmem's 4.20 pass, and no more
    than 26 % faster than the baseline."""
    c = modern.costs
    one_pass = c["init_single_page"].ns + c["reserved_nonatomic"].ns + 2 * c["set_pgmap"].ns
    assert one_pass < MODERN_BOUND
    assert one_pass < ONE_PASS
    assert (MODERN_BOUND - one_pass) / one_pass == pytest.approx(0.264, abs=1e-3)


def test_modern_memmap_in_ram_is_under_the_boot_dram_bound(modern: CostProfile) -> None:
    """Init with the memmap in DRAM costs less than v7's boot init + free in DRAM on the same
    machine (13.709 ns), and less than the whole series' 10.530 ns, as the note says."""
    init = modern.costs["init_single_page"].ns
    factor = modern.factors.memmap_in_ram.value
    assert factor * init < FULL_DRAM < V7_DRAM
    assert factor < V7_DRAM / init == pytest.approx(0.624, abs=5e-4)


def test_modern_entries_said_to_come_from_xeon_have_its_values(
    prof: CostProfile, modern: CostProfile
) -> None:
    """An assumed entry whose note cites xeon-2018-pmem carries its value; so do the fixed
    costs the header says are as in xeon-2018-pmem."""
    cited = {k for k, e in modern.costs.items() if "xeon-2018-pmem" in e.note}
    assert cited == {
        "reserved_nonatomic",
        "reserved_atomic",
        "set_pgmap",
        "list_del",
        "percpu_ref_get",
        "poison",
    }
    for key in cited:
        assert modern.costs[key].ns == prof.costs[key].ns, key
    assert "xeon-2018-pmem" in modern.factors.remote.note
    assert modern.factors.remote.value == prof.factors.remote.value
    assert modern.fixed_ns == prof.fixed_ns


def test_modern_profile_runs_5_2_plus_kernels_at_the_fitted_pass() -> None:
    """5.10 and 6.6 run the same fsdax pass on duyck-2018: 19.12 s per node."""
    sc = load_scenario("duyck-2018")
    for kernel in ("5.10", "6.6"):
        r = simulate(sc, kernel, profile="modern-x86")
        passes = [
            iv.duration * 1e-9 for iv in r.intervals if iv.detail == "memmap_init_zone_device"
        ]
        assert len(passes) == 4
        assert passes == pytest.approx([19.12] * 4, rel=1e-3), kernel


# --- malformed profiles ----------------------------------------------------------------------
def edit(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


POISON_NS = "[costs.poison]\nns = 28.345\n"
# (id, profile text, the field InputError must name; None for a TOML syntax error)
BAD = [
    ("unknown-key", edit(POISON_NS, POISON_NS + "colour = 1\n"), "costs.poison.colour"),
    ("unknown-top-key", "colour = 1\n" + TEXT, "colour"),
    ("unknown-cost", TEXT + '\n[costs.bogus]\nns = 1.0\nkind = "assumed"\n', "costs.bogus"),
    ("missing-cost", re.sub(r"\[costs\.poison\]\n[^\[]*", "", TEXT), "costs.poison"),
    ("negative-ns", edit(POISON_NS, "[costs.poison]\nns = -1.0\n"), "costs.poison.ns"),
    ("missing-ns", edit(POISON_NS, "[costs.poison]\n"), "costs.poison.ns"),
    ("string-ns", edit(POISON_NS, '[costs.poison]\nns = "fast"\n'), "costs.poison.ns"),
    (
        "bad-kind",
        edit('kind = "fitted"\nfigure = "duyck-poison"', 'kind = "guessed"'),
        "costs.poison.kind",
    ),
    (
        "zero-factor",
        edit("[factors.remote]\nvalue = 1.419", "[factors.remote]\nvalue = 0"),
        "factors.remote.value",
    ),
    ("zero-bandwidth", edit("pmem_gbps = 10.0", "pmem_gbps = 0"), "bandwidth.pmem_gbps"),
    ("missing-fixed", edit("printk = 5000.0", ""), "fixed_ns.printk"),
    ("missing-name", edit('name = "xeon-2018-pmem"\n', ""), "name"),
    ("not-toml", TEXT + "\n[costs\n", None),
]


@pytest.mark.parametrize(("text", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_profile_names_file_and_field(
    tmp_path: Path, text: str, field: str | None
) -> None:
    """InputError names the file and the offending field (none for a TOML syntax error)."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_profile(str(path))
    err = exc.value
    assert err.source == str(path)
    assert err.field == field
    if field is None:
        assert "not valid TOML" in err.message
    assert str(err).startswith(f"{path}: {field}: " if field else f"{path}: ")


def test_unknown_profile_lists_the_builtins() -> None:
    """A name that is neither a built-in nor a file is refused, listing the built-ins."""
    with pytest.raises(InputError, match="xeon-2018-pmem") as exc:
        load_profile("no-such-profile")
    assert exc.value.source == "no-such-profile"


def test_cli_rejects_a_bad_profile_with_one_line(tmp_path: Path) -> None:
    """`memmapsim run tiny-pmem --profile BAD.toml` exits 2 with one line on stderr."""
    path = tmp_path / "bad.toml"
    path.write_text(edit(POISON_NS, "[costs.poison]\nns = -1.0\n"))
    result = CliRunner().invoke(main, ["run", "tiny-pmem", "--profile", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"memmapsim: error: {path}: costs.poison.ns: ")


# --- regressions for profiles that once crashed or were accepted silently --------------
REGRESSIONS = [
    ("inf-ns", edit(POISON_NS, "[costs.poison]\nns = inf\n"), "costs.poison.ns"),
    (
        "negative-fixed",
        edit("section_add = 2000.0", "section_add = -2000.0"),
        "fixed_ns.section_add",
    ),
    ("inf-fixed", edit("step = 1000.0", "step = inf"), "fixed_ns.step"),
]


@pytest.mark.parametrize(
    ("text", "field"), [b[1:] for b in REGRESSIONS], ids=[b[0] for b in REGRESSIONS]
)
def test_profile_rejects_infinite_or_negative_costs(tmp_path: Path, text: str, field: str) -> None:
    """Were accepted: inf crashed the engine; negative fixed costs were silently 0."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_profile(str(path))
    assert exc.value.source == str(path) and exc.value.field == field


def test_zero_cost_work_does_not_crash(tmp_path: Path) -> None:
    """Was a ZeroDivisionError: a job whose per-page costs are all 0."""
    text = TEXT
    for old in ("ns = 28.762", "ns = 1.0", "ns = 0.572"):
        text = text.replace(old, "ns = 0.0", 1)
    path = tmp_path / "zero.toml"
    path.write_text(text)
    r = simulate(load_scenario("tiny-pmem"), "4.20", profile=str(path))
    assert r.timing is not None and r.timing.total_s < 0.001
