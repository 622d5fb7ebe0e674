"""Cost profiles from real machines' logs, and predictions with an interval.

``calibrate`` reads kernel logs (:mod:`memmapsim.io.dmesg`), takes every memmap
measurement line (:mod:`memmapsim.io.extract`), simulates the logged machine (its
scenario, from the log or given) on a base profile, and matches each measured line with
the line the simulated kernel prints for the same work (a node's deferred init by node;
a ZONE_DEVICE device's init by device name, or in completion order where the version's
line names no device). It fits **one** factor on every per-page cost of the base profile
— the fewest constants the lines can tell apart — by weighted least squares, each line
weighted by its quantization: the kernel prints ``jiffies_to_msecs`` of the difference of
two jiffies counts, each floored, an error within ±1 jiffy with a triangular distribution
(``1000 / HZ`` ms, σ = that / √6) on the measured side, and the same at 1 ms on the
simulated side. The profile written keeps the base's other entries and names every line
it was fitted to. σ is the fit's, from that quantization alone: it does not cover how far
the logged machine is from the modelled one.

``predict`` runs a scenario on such a profile at its fitted factor and at ±2σ of it
(per-page costs scale the time linearly until a bandwidth ceiling binds, so the interval
is simulated, not extrapolated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from msgspec.structs import replace

from memmapsim.config.scenario import Scenario
from memmapsim.config.schema import to_data
from memmapsim.engine.costs import CostProfile, load_profile
from memmapsim.errors import InputError
from memmapsim.io.dmesg import ParsedLog, parse_line, read_log
from memmapsim.io.extract import WANTED, Extracted, Measurement, extract
from memmapsim.io.scenario_from_log import scenario_from_log, to_scenario
from memmapsim.kernel.versions import RELEASES
from memmapsim.simulate import RunResult, simulate

SIM_HZ = 1000
"""The simulated kernel's HZ for calibration: 1 ms steps."""


@dataclass(frozen=True)
class Match:
    source: str
    measured: Measurement
    simulated_ms: int
    """What the simulated kernel printed on the base profile."""
    key: str
    fitted_ms: float = 0.0
    """The line's time at the fitted factor (its linearisation there)."""


@dataclass
class Calibration:
    base: str
    hz: int
    scale: float
    sigma: float
    """Standard error of ``scale``."""
    matches: list[Match]
    unused: list[tuple[str, int, str]] = field(default_factory=list)
    """(file, line, reason) of measurement lines not fitted to."""
    assumed: list[str] = field(default_factory=list)

    @property
    def rel_sigma(self) -> float:
        return self.sigma / self.scale if self.scale else math.inf


def _key(m: Measurement, order: int) -> str:
    if m.kind == "deferred":
        return f"node {m.node}"
    return m.device if m.device is not None else f"zone_device #{order}"


def _keyed(measurements: list[Measurement]) -> dict[str, Measurement]:
    out: dict[str, Measurement] = {}
    order = 0
    for m in measurements:
        if m.kind == "zone_device" and m.device is None:
            order += 1
        out[_key(m, order)] = m
    return out


def simulated_lines(r: RunResult) -> dict[str, Measurement]:
    """The measurement lines the simulated kernel printed, keyed like the log's."""
    lines = [parse_line(i + 1, ln.text) for i, ln in enumerate(r.log)]
    return _keyed(extract(ParsedLog("<simulated>", lines, {}, len(lines), {})).measurements)


SENSITIVITY_MIN = 0.1
"""A line is fitted to only if at least this share of its simulated time follows the
per-page costs; the rest is bound by the model's memory bandwidth ceiling (many padata
helpers on one node) or fixed costs, and says nothing about the factor."""

MAX_ROUNDS = 4


def calibrate(
    logs: list[str],
    scenario: Scenario | None = None,
    base: str = "modern-x86",
    hz: int = 250,
    kernel: str | None = None,
) -> Calibration:
    """Fit one factor on ``base``'s per-page costs to the measurement lines of ``logs``.

    A line's simulated time is linear in the factor only until a bandwidth ceiling binds,
    so the fit starts from the factor that would hold if every line were proportional to
    it, linearises each line around the current estimate (simulated at ``f`` and
    ``1.25 f``: ``ms ≈ a + b·f``), solves the weighted least squares for ``f``, and repeats
    around the new ``f`` until it moves by less than half its σ (at most
    :data:`MAX_ROUNDS`): the simulated lines are whole milliseconds too, and a slope taken
    far from the answer would carry their rounding into it. Lines with ``b·f`` under
    :data:`SENSITIVITY_MIN` of their time are listed as unused."""
    if hz <= 0:
        raise InputError("--hz", None, "must be positive")
    cal = Calibration(base, hz, 1.0, math.inf, [])
    runs: list[tuple[str, Scenario, dict[str, Measurement]]] = []
    for path in logs:
        ex = extract(read_log(path, keep=WANTED))
        cal.unused += [(path, n, f"no known format: {t}") for n, t in ex.unknown]
        if not ex.measurements:
            cal.unused.append((path, 0, "no memmap measurement lines"))
            continue
        sc = scenario if scenario is not None else _scenario(ex, path, cal)
        sc = replace(sc, knobs=replace(sc.knobs, hz=SIM_HZ))
        runs.append((path, sc, _keyed(ex.measurements)))
    prof = load_profile(base)

    def simulated(factor: float) -> dict[tuple[str, str], int]:
        out = {}
        p = prof if factor == 1.0 else scaled(prof, factor)
        for path, sc, _measured in runs:
            for key, m in simulated_lines(simulate(sc, kernel, profile=p)).items():
                out[path, key] = m.ms
        return out

    var = (1000 / hz) ** 2 / 6 + 1 / 6  # measured and simulated quantization, ms²
    at_base = simulated(1.0)
    # the start: the factor if every line were proportional to it (the answer when they are)
    pairs = [(m.ms, at_base[p, k]) for p, _sc, ms in runs for k, m in ms.items()
             if (p, k) in at_base]  # fmt: skip
    den0 = sum(s * s for _m, s in pairs)
    f = sum(m * s for m, s in pairs) / den0 if den0 else 1.0
    f = max(f, 1e-6)
    low, high = simulated(f), simulated(1.25 * f)
    fitted: list[tuple[str, str, Measurement, float, float]] = []
    for _round in range(MAX_ROUNDS):
        fitted, skipped = [], []
        for path, _sc, measured in runs:
            for key, m in measured.items():
                if (path, key) not in low:
                    skipped.append((path, m.lineno, f"the simulated machine has no {key}"))
                    continue
                b = (high[path, key] - low[path, key]) / (0.25 * f)
                a = low[path, key] - b * f
                if b * f < SENSITIVITY_MIN * max(low[path, key], 1):
                    skipped.append(
                        (path, m.lineno, f"{key}: its simulated time ({low[path, key]} ms) "
                         "is bound by the model's memory bandwidth, not the per-page costs")
                    )  # fmt: skip
                    continue
                fitted.append((path, key, m, a, b))
        den = sum(b * b / var for *_x, b in fitted)
        if den == 0:
            why = "no measurement line to fit to"
            if skipped:
                path, line, reason = skipped[0]
                more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
                raise InputError(path, f"line {line}", f"{why}: {reason}{more}")
            raise InputError(logs[0] if logs else "LOG", None, why)
        new = sum(b * (m.ms - a) / var for _p, _k, m, a, b in fitted) / den
        cal.sigma = math.sqrt(1 / den)
        moved = abs(new - f)
        f = max(new, 1e-6)
        if moved < cal.sigma / 2:
            break
        low, high = simulated(f), simulated(1.25 * f)
    cal.unused += skipped
    cal.scale = f
    cal.matches = [Match(p, m, at_base[p, k], k, a + b * f) for p, k, m, a, b in fitted]
    return cal


def _scenario(ex: Extracted, path: str, cal: Calibration) -> Scenario:
    fl = scenario_from_log(ex, "from-log", list(RELEASES), path)
    cal.assumed += fl.assumed
    return to_scenario(fl, path)


def scaled(profile: CostProfile, factor: float, figure: str = "", note: str = "") -> CostProfile:
    """``profile`` with every per-page cost times ``factor``."""
    costs = {
        name: replace(
            c,
            ns=c.ns * factor,
            kind="fitted" if figure else c.kind,
            figure=figure or c.figure,
            note=note or c.note,
        )
        for name, c in profile.costs.items()
    }
    return replace(profile, costs=costs)


def profile_toml(cal: Calibration, name: str) -> dict[str, Any]:
    """The fitted profile as TOML data: the base's entries, per-page costs times the
    factor, each naming the lines, and a ``calibration`` table for ``predict``."""
    base = load_profile(cal.base)
    lines = [f"{m.source}:{m.measured.lineno}" for m in cal.matches]
    note = (
        f"base {cal.base} x {cal.scale:.4f} (σ {cal.sigma:.4f}), fitted to "
        f"{len(lines)} log line(s): {', '.join(lines[:8])}" + (" ..." if len(lines) > 8 else "")
    )
    prof = scaled(base, cal.scale, figure=f"log:{lines[0]}" if lines else "", note=note)
    data: dict[str, Any] = to_data(prof, drop_none=True)
    data["name"] = name
    data["description"] = f"calibrated from {len(lines)} line(s) on {cal.base}"
    data["calibration"] = {
        "base": cal.base,
        "scale": cal.scale,
        "rel_sigma": cal.rel_sigma,
        "hz": cal.hz,
        "lines": [
            {
                "line": f"{m.source}:{m.measured.lineno}",
                "text": m.measured.text,
                "measured_ms": m.measured.ms,
                "simulated_ms": m.simulated_ms,
                "fitted_ms": round(m.fitted_ms, 3),
            }
            for m in cal.matches
        ],
    }
    return data


@dataclass(frozen=True)
class Interval:
    """A simulated time and its ±2σ interval."""

    s: float
    low_s: float
    high_s: float


@dataclass(frozen=True)
class Prediction:
    total_s: float
    low_s: float
    high_s: float
    rel_sigma: float
    boot: Interval | None = None
    """A boot scenario's ``boot.total_s`` (start of deferred init to the last node's end)."""
    nodes: dict[int, Interval] = field(default_factory=dict)
    """A boot scenario's ``boot.nodes[].init_s`` by node id: the figure a log line prints."""


def predict(sc: Scenario, kernel: str | None, profile: str) -> tuple[Prediction, RunResult]:
    """The scenario's time on a calibrated profile, and at ±2σ of its factor: the devices'
    ``total_s`` and, for a scenario that boots, the boot's total and each node's init."""
    prof = load_profile(profile)
    rel = prof.calibration.rel_sigma if prof.calibration is not None else 0.0
    runs = [simulate(sc, kernel, profile=profile)]
    for f in (1 - 2 * rel, 1 + 2 * rel):
        runs.append(simulate(sc, kernel, profile=scaled(prof, max(f, 1e-6))))

    def spread(values: list[float]) -> Interval:
        return Interval(values[0], min(values[1:]), max(values[1:]))

    totals = []
    for rr in runs:
        assert rr.timing is not None
        totals.append(rr.timing.total_s)
    r = runs[0]
    boot = nodes = None
    if r.boot is not None and r.boot.total_s is not None:
        boot = spread([rr.boot.total_s or 0.0 for rr in runs if rr.boot is not None])
        nodes = {
            n.nid: spread([rr.boot.nodes[i].init_s or 0.0 for rr in runs if rr.boot is not None])
            for i, n in enumerate(r.boot.nodes)
            if n.init_s is not None
        }
    return Prediction(totals[0], min(totals[1:]), max(totals[1:]), rel, boot, nodes or {}), r
