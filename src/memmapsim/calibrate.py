"""Cost profiles from real machines' logs, and predictions with an interval.

``calibrate`` reads kernel logs (:mod:`memmapsim.io.dmesg`), takes every memmap
measurement line (:mod:`memmapsim.io.extract`), simulates the logged machine (its
scenario, from the log or given) on a base profile, and matches each measured line with
the line the simulated kernel prints for the same work (a node's deferred init by node;
a ZONE_DEVICE device's init by device name, or in completion order where the version's
line names no device). It fits **one** factor on every per-page cost of the base profile
— the fewest constants the lines can tell apart — by weighted least squares, each line
weighted by its quantization: the kernel prints ``jiffies_to_msecs`` of a jiffies
difference, a uniform error of one jiffy (``1000 / HZ`` ms, σ = that / √12) on the
measured side and one millisecond on the simulated side. The profile written keeps the
base's other entries and names every line it was fitted to.

``predict`` runs a scenario on such a profile at its fitted factor and at ±2σ of it
(per-page costs scale the time linearly until a bandwidth ceiling binds, so the interval
is simulated, not extrapolated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from memmapsim.config.scenario import Scenario
from memmapsim.engine.costs import CostProfile, PageCost, load_profile
from memmapsim.errors import InputError
from memmapsim.io.dmesg import ParsedLog, parse_line, read_log
from memmapsim.io.extract import Extracted, Measurement, extract, wanted
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
    key: str


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


def calibrate(
    logs: list[str],
    scenario: Scenario | None = None,
    base: str = "modern-x86",
    hz: int = 250,
    kernel: str | None = None,
) -> Calibration:
    """Fit one factor on ``base``'s per-page costs to the measurement lines of ``logs``."""
    if hz <= 0:
        raise InputError("--hz", None, "must be positive")
    cal = Calibration(base, hz, 1.0, math.inf, [])
    num = den = 0.0
    for path in logs:
        ex = extract(read_log(path, keep=wanted))
        cal.unused += [(path, n, f"no known format: {t}") for n, t in ex.unknown]
        if not ex.measurements:
            cal.unused.append((path, 0, "no memmap measurement lines"))
            continue
        sc = scenario if scenario is not None else _scenario(ex, path, cal)
        sc = sc.model_copy(update={"knobs": sc.knobs.model_copy(update={"hz": SIM_HZ})})
        r = simulate(sc, kernel, profile=base)
        sim = simulated_lines(r)
        for key, m in _keyed(ex.measurements).items():
            s = sim.get(key)
            if s is None:
                cal.unused.append((path, m.lineno, f"the simulated machine has no {key}"))
                continue
            cal.matches.append(Match(path, m, s.ms, key))
            var = (1000 / hz) ** 2 / 12 + 1 / 12  # measured and simulated quantization, ms²
            num += m.ms * s.ms / var
            den += s.ms * s.ms / var
    if den == 0:
        raise InputError(logs[0] if logs else "LOG", None, "no measurement line to fit to")
    cal.scale = num / den
    cal.sigma = math.sqrt(1 / den)
    return cal


def _scenario(ex: Extracted, path: str, cal: Calibration) -> Scenario:
    fl = scenario_from_log(ex, "from-log", list(RELEASES), path)
    cal.assumed += fl.assumed
    return to_scenario(fl, path)


def scaled(profile: CostProfile, factor: float, figure: str = "", note: str = "") -> CostProfile:
    """``profile`` with every per-page cost times ``factor``."""
    costs = {
        name: PageCost(
            ns=c.ns * factor,
            kind="fitted" if figure else c.kind,
            figure=figure or c.figure,
            note=note or c.note,
        )
        for name, c in profile.costs.items()
    }
    return profile.model_copy(update={"costs": costs})


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
    data = prof.model_dump(exclude_none=True)
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
            }
            for m in cal.matches
        ],
    }
    return data


@dataclass(frozen=True)
class Prediction:
    total_s: float
    low_s: float
    high_s: float
    rel_sigma: float


def predict(sc: Scenario, kernel: str | None, profile: str) -> tuple[Prediction, RunResult]:
    """The scenario's time on a calibrated profile, and at ±2σ of its factor."""
    prof = load_profile(profile)
    rel = prof.calibration.rel_sigma if prof.calibration is not None else 0.0
    r = simulate(sc, kernel, profile=profile)
    assert r.timing is not None
    totals = []
    for f in (1 - 2 * rel, 1 + 2 * rel):
        rr = simulate(sc, kernel, profile=scaled(prof, max(f, 1e-6)))
        assert rr.timing is not None
        totals.append(rr.timing.total_s)
    return Prediction(r.timing.total_s, min(totals), max(totals), rel), r
