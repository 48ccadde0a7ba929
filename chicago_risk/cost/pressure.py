"""The night pressure step of a cluster, and what it saves.

Hydraulics (see `PressureSettings`): before the step, the critical point of the cluster's zone
sees P(h) = static - peak_headloss * demand(h)^1.852 - penalty * recent low-pressure complaints
at night hour h. A step of D psi is allowed in hour h if P(h) - D >= floor; its window is the
longest run of allowed night hours (earliest on ties), so a larger step gets a shorter window
or none, never a pressure below the floor.

Savings, averaged over the day (the step holds only in its window; leaks run and mains break
around the clock): leak flow scales as ((P - D)/P)^N1 (FAVAD), new bursts as ((P - D)/P)^Nb with
Nb from the 112 schemes (37% cut, 53% fewer). An incident of a pressure-sensitive group is then
rarer by the burst factor b, and its water and energy losses smaller by the leak factor l:
per incident of class k, it saves (water_k + energy_k) (1 - b l) + repair_k (1 - b). The step
with the largest expected savings wins (the smaller one on ties); with no allowed hour at all
the cluster gets a leak survey instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chicago_risk.config.cost import CostSettings, PressureSettings
from chicago_risk.cost.costs import class_costs

PRESSURE_STEP = "night_pressure_reduction"
LEAK_SURVEY = "leak_survey"  # no step keeps the floor: send a leak-detection crew instead
ACTION_TYPES = (PRESSURE_STEP, LEAK_SURVEY)
HOURS_PER_DAY = 24.0


def recent_low_pressure(reports: pl.DataFrame, days: pl.DataFrame, settings: PressureSettings) -> pl.DataFrame:
    """Per (day, h3_id) of `days`: Low Water Pressure incidents in the cell on day - D + 1 .. day."""
    window = settings.low_pressure_days
    spread = (
        reports.filter(pl.col("sr_type") == settings.low_pressure_sr_type)
        .select("h3_id", day=pl.date_ranges("day", pl.col("day") + pl.duration(days=window - 1)))
        .explode("day")
        .group_by("day", "h3_id")
        .agg(low_pressure_reports=pl.len().cast(pl.Int32))
    )
    return days.select("day", "h3_id").join(spread, on=["day", "h3_id"], how="left").with_columns(
        pl.col("low_pressure_reports").fill_null(0)
    )


def night_pressure(low_pressure_reports: np.ndarray, settings: PressureSettings) -> np.ndarray:
    """(clusters, night hours): pressure at the critical point before any step."""
    demand = np.array([share for _, share in settings.night_demand])
    headloss = settings.peak_headloss_psi * demand**settings.headloss_exponent
    penalty = settings.low_pressure_penalty_psi * np.asarray(low_pressure_reports, dtype=np.float64)
    return settings.static_pressure_psi - headloss[None, :] - penalty[:, None]


@dataclass(frozen=True)
class StepOptions:
    """Every (cluster, step) option: its window and what remains of flow and bursts."""

    steps: np.ndarray  # (S,)
    start: np.ndarray  # (C, S) index of the window's first night hour
    hours: np.ndarray  # (C, S) window length in hours; 0: the step is allowed in no hour
    min_pressure: np.ndarray  # (C, S) lowest critical-point pressure in the window after the step
    leak_factor: np.ndarray  # (C, S) day-averaged leak flow after / before
    burst_factor: np.ndarray  # (C, S) day-averaged burst rate after / before


def step_options(pressure: np.ndarray, settings: PressureSettings) -> StepOptions:
    steps = np.asarray(settings.steps_psi, dtype=np.float64)
    after = pressure[:, None, :] - steps[None, :, None]  # (C, S, H)
    allowed = after >= settings.floor_psi
    run = np.zeros(allowed.shape, dtype=np.int64)  # allowed hours in a row ending at each hour
    for hour in range(allowed.shape[2]):  # eight night hours
        previous = run[:, :, hour - 1] if hour else 0
        run[:, :, hour] = np.where(allowed[:, :, hour], previous + 1, 0)
    end = run.argmax(axis=2)  # the first longest run ends here
    hours = run.max(axis=2)
    start = end - hours + 1
    index = np.arange(allowed.shape[2])[None, None, :]
    in_window = (index >= start[:, :, None]) & (index <= end[:, :, None]) & (hours[:, :, None] > 0)
    ratio = np.where(in_window, np.clip(after, 0.0, None) / pressure[:, None, :], 1.0)
    leak = 1.0 - (1.0 - ratio**settings.leak_exponent_n1).sum(axis=2) / HOURS_PER_DAY
    burst = 1.0 - (1.0 - ratio**settings.burst_exponent).sum(axis=2) / HOURS_PER_DAY
    lowest = np.where(in_window, after, np.inf).min(axis=2)
    return StepOptions(steps, start, hours, np.where(hours > 0, lowest, np.nan), leak, burst)


@dataclass(frozen=True)
class StepChoice:
    """Per cluster: the chosen action and step, and its expected savings."""

    action_type: np.ndarray  # (C,) str
    delta_p_psi: np.ndarray  # (C,) 0 for a leak survey
    time_window: pl.Series  # (C,) null for a leak survey
    window_hours: np.ndarray
    min_pressure_psi: np.ndarray  # after the step in its window (before any step for a survey)
    water_usd: np.ndarray
    energy_usd: np.ndarray
    repair_usd: np.ndarray
    savings_per_incident: np.ndarray  # (C, K) per pressure-sensitive incident of each class

    @property
    def savings_usd(self) -> np.ndarray:
        return self.water_usd + self.energy_usd + self.repair_usd


def choose_steps(
    low_pressure_reports: np.ndarray, pressure_incidents: np.ndarray, settings: CostSettings
) -> StepChoice:
    """The best step of each cluster from its recent low-pressure complaints (C,) and expected
    pressure-sensitive incidents per class over the horizon (C, K)."""
    pressure = night_pressure(low_pressure_reports, settings.pressure)
    options = step_options(pressure, settings.pressure)
    water, energy, repair = class_costs(settings)
    volume_saved = 1.0 - options.burst_factor * options.leak_factor  # (C, S)
    repair_saved = 1.0 - options.burst_factor
    # Row-wise sums, not BLAS products: a cluster's result must not depend on the other clusters.
    expected_water, expected_energy, expected_repair = (
        (pressure_incidents * c).sum(axis=1) for c in (water, energy, repair)
    )
    savings = (expected_water + expected_energy)[:, None] * volume_saved + expected_repair[:, None] * repair_saved
    savings = np.where(options.hours > 0, savings, -np.inf)
    best = savings.argmax(axis=1)  # the smaller step on ties
    clusters = np.arange(best.size)
    stepping = np.isfinite(savings[clusters, best]) & (savings[clusters, best] > 0)
    volume_share = np.where(stepping, volume_saved[clusters, best], 0.0)
    repair_share = np.where(stepping, repair_saved[clusters, best], 0.0)
    hours = np.where(stepping, options.hours[clusters, best], 0)
    start = options.start[clusters, best]
    return StepChoice(
        action_type=np.where(stepping, PRESSURE_STEP, LEAK_SURVEY),
        delta_p_psi=np.where(stepping, options.steps[best], 0.0),
        time_window=_window_labels(start, hours, settings.pressure),
        window_hours=hours,
        min_pressure_psi=np.where(stepping, options.min_pressure[clusters, best], pressure.min(axis=1)),
        water_usd=expected_water * volume_share,
        energy_usd=expected_energy * volume_share,
        repair_usd=expected_repair * repair_share,
        savings_per_incident=(water + energy)[None, :] * volume_share[:, None]
        + repair[None, :] * repair_share[:, None],
    )


def _window_labels(start: np.ndarray, hours: np.ndarray, settings: PressureSettings) -> pl.Series:
    """"01:00-05:00" per cluster (null without a window), from a table of the few possible windows."""
    night = [hour for hour, _ in settings.night_demand]
    windows = pl.DataFrame(
        [
            (first, length, f"{night[first]:02d}:00-{(night[first + length - 1] + 1) % 24:02d}:00")
            for first in range(len(night)) for length in range(1, len(night) - first + 1)
        ],
        schema={"start": pl.Int64, "hours": pl.Int64, "time_window": pl.String},
        orient="row",
    )
    chosen = pl.DataFrame({"start": start.astype(np.int64), "hours": hours.astype(np.int64)})
    return chosen.join(windows, on=["start", "hours"], how="left", maintain_order="left")["time_window"]
