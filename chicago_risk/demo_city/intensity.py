"""How weather and calendar scale each request type's base intensity, and its calibration.

Per weather day d and type t, the city-wide multiplier is
    m_t(d) = dow(d) * (1 + rain_t * (flood_ratio(r_d) - 1)) * F_t(d) * H_t(d)
(params.TypeModel). A cell's base intensity is
    b(c, d, t) = V_t(c) * [dry_part(d, t) + rain_part(d, t) * local_rain(c, d)]
with dry_part = base_t/N * dow * F * H and rain_part = dry_part * rain_t * (flood_ratio - 1), so the
rain-driven surplus is spread by the day's uneven storm (mean 1 over the city).

Base rates are calibrated analytically, once per seed, on a fixed 30-year span of the simulated
weather: expected rows a year = 365.2425 * base_t * mean(m_t) / (1 - n_t) * (1 + mean duplicates),
n_t the self-excitation's branching ratio, so that every type's yearly row volume matches
config.LEAK_TYPES on average.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

from chicago_risk.config import DATA_START, LEAK_TYPES
from chicago_risk.demo_city import params as P
from chicago_risk.demo_city.fields import city_fields
from chicago_risk.demo_city.weather import simulate_weather

DAYS_PER_YEAR = 365.2425


def flood_ratio(rain_mm: np.ndarray) -> np.ndarray:
    """Flooding calls relative to a dry day for r = max(today's, yesterday's) rain (CHICAGO_FACTS
    curve), log-linear between knots, then with the tail slope, capped."""
    log_knots = np.log(P.FLOOD_KNOTS_RATIO)
    inside = np.interp(rain_mm, P.FLOOD_KNOTS_MM, log_knots)
    beyond = log_knots[-1] + P.FLOOD_TAIL_SLOPE_PER_MM * (rain_mm - P.FLOOD_KNOTS_MM[-1])
    ratio = np.exp(np.where(rain_mm > P.FLOOD_KNOTS_MM[-1], beyond, inside))
    return np.minimum(ratio, P.FLOOD_RATIO_CAP)


def hydrant_heat(tmax_c: np.ndarray, tmax_clim_c: np.ndarray) -> np.ndarray:
    """Open-hydrant multiplier h: the season (from the climatological tmax) times the day's warmth
    for the date plus a heat-wave boost; ~1 on a usual summer day, ~10 on a heat-wave day, ~0.04
    in winter."""
    season = P.HEAT_FLOOR + np.exp(P.HEAT_SEASON_SLOPE_PER_C * (tmax_clim_c - P.HEAT_REF_C))
    warmth = np.exp(P.HEAT_ANOMALY_SLOPE_PER_C * (tmax_c - tmax_clim_c))
    excess = np.maximum(np.minimum(tmax_c, P.HEAT_CAP_C) - P.HEAT_WAVE_FROM_C, 0.0)
    return season * (warmth + P.HEAT_WAVE_GAIN_PER_C * excess)


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 .. Sunday = 6 of datetime64[D] days (1970-01-01 was a Thursday)."""
    return (days.astype(np.int64) + 3) % 7


@dataclass(frozen=True)
class Drivers:
    """City-wide daily weather drivers, aligned with `Weather` (index 0 = WEATHER_START)."""

    rain_mm: np.ndarray  # r = max(today's, yesterday's precipitation)
    use_today_storm: np.ndarray  # the larger rain was today's (else yesterday's pattern applies)
    flood: np.ndarray  # flood_ratio(r)
    freeze_thaw: np.ndarray  # 1 on a day with tmin <= 0 < tmax
    freeze_thaw_index: np.ndarray  # sum over the last 7 days of 0.7**k * crossing
    drop_index: np.ndarray  # sharp drop of the daily mean temperature
    cold_index: np.ndarray  # 7-day mean tmin below 0, in tens of degrees
    heat: np.ndarray  # h: season * heat-wave boost
    dow: np.ndarray  # weekday reporting factor
    storm_weight: np.ndarray  # 0..1: how much of the duplicate surge of a storm window applies


@lru_cache(maxsize=4)
def drivers(seed: int) -> Drivers:
    w = simulate_weather(seed)
    precip_yesterday = np.concatenate([[0.0], w.precip_mm[:-1]])
    rain = np.maximum(w.precip_mm, precip_yesterday)
    freeze_thaw = ((w.tmin_c <= 0) & (w.tmax_c > 0)).astype(np.float64)
    ft_index = signal.lfilter(P.FREEZE_THAW_DECAY ** np.arange(7), [1.0], freeze_thaw)
    tmean = (w.tmin_c + w.tmax_c) / 2
    drop = np.concatenate([[0.0], tmean[:-1] - tmean[1:]])
    drop_index = np.clip((drop - P.TEMP_DROP_FREE_C) / P.TEMP_DROP_SCALE_C, 0, P.TEMP_DROP_CAP)
    tmin_7d = signal.lfilter(np.full(7, 1 / 7), [1.0], w.tmin_c)
    cold_index = np.maximum(0.0, -tmin_7d) / P.COLD_SCALE_C
    lo, hi = P.DUP_STORM_RAMP_MM
    return Drivers(
        rain_mm=rain,
        use_today_storm=w.precip_mm >= precip_yesterday,
        flood=flood_ratio(rain),
        freeze_thaw=freeze_thaw,
        freeze_thaw_index=ft_index,
        drop_index=drop_index,
        cold_index=cold_index,
        heat=hydrant_heat(w.tmax_c, w.tmax_clim_c),
        dow=P.DOW_FACTOR[weekday(w.days)],
        storm_weight=np.clip((rain - lo) / (hi - lo), 0.0, 1.0),
    )


def _coefficients(name: str) -> np.ndarray:
    return np.array([getattr(m, name) for m in P.TYPE_MODELS])


@dataclass(frozen=True)
class Intensity:
    """Per weather day (rows, index 0 = WEATHER_START) and type (columns)."""

    dry_part: np.ndarray  # per-cell intensity before V and the local storm: base/N * m without rain
    rain_part: np.ndarray  # per-cell rain surplus, to be multiplied by the local storm pattern
    dup_rate: np.ndarray  # expected duplicate reports per incident
    city_multiplier: np.ndarray  # m_t(d), the city-wide weather and calendar multiplier
    base_per_day: np.ndarray  # (types,) calibrated city-wide incidents a day at m = 1
    branching: np.ndarray  # (types,) effective branching ratio of the self-excitation
    expected_rows_per_year: np.ndarray  # (types,) what the calibration aims at (config)


def effective_branching(seed: int, resolution: int) -> np.ndarray:
    """Per type: the mean number of direct offspring of an incident, weighted by where incidents
    happen (cells at the city edge have fewer than 6 neighbours)."""
    fields = city_fields(seed, resolution)
    degree = np.asarray(fields.adjacency.sum(axis=1)).ravel()
    per_cell = (P.HAWKES_ALPHA_SELF + P.HAWKES_ALPHA_NBR * degree) / (1 - P.HAWKES_BETA)
    v = fields.vulnerability
    return (per_cell[:, None] * v).sum(axis=0) / v.sum(axis=0)


@lru_cache(maxsize=4)
def intensity(seed: int, resolution: int) -> Intensity:
    d = drivers(seed)
    rain = _coefficients("rain")
    freeze = (
        1
        + np.outer(d.freeze_thaw_index, _coefficients("freeze_thaw"))
        + np.outer(d.drop_index, _coefficients("temp_drop"))
        + np.outer(d.cold_index, _coefficients("cold"))
    )
    heat = 1 + np.outer(d.heat - 1, _coefficients("heat"))
    calendar = d.dow[:, None] * freeze * heat
    rain_surplus = np.outer(d.flood - 1, rain)
    multiplier = calendar * (1 + rain_surplus)
    dup_dry, dup_storm = _coefficients("dup_dry"), _coefficients("dup_storm")
    dup_rate = dup_dry + np.outer(d.storm_weight, dup_storm - dup_dry)

    w = simulate_weather(seed)
    ref0 = w.index(DATA_START)
    ref = slice(ref0, ref0 + round(P.CALIBRATION_YEARS * DAYS_PER_YEAR))
    mean_multiplier = multiplier[ref].mean(axis=0)
    mean_dups = (multiplier[ref] * dup_rate[ref]).sum(axis=0) / multiplier[ref].sum(axis=0)
    branching = effective_branching(seed, resolution)
    target = np.array([t.requests_per_year for t in LEAK_TYPES], dtype=np.float64)
    base_per_day = (
        target / DAYS_PER_YEAR * (1 - branching) / (mean_multiplier * (1 + mean_dups))
    )
    per_cell = base_per_day / city_fields(seed, resolution).n_cells
    return Intensity(
        dry_part=calendar * per_cell,
        rain_part=calendar * rain_surplus * per_cell,
        dup_rate=dup_rate,
        city_multiplier=multiplier,
        base_per_day=base_per_day,
        branching=branching,
        expected_rows_per_year=target,
    )
