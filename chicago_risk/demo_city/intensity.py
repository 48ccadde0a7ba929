"""How weather and calendar scale each request type's base intensity, and its calibration.

A cell c's base intensity of type t on day d is
    b(c, d, t) = V_t(c) * q_t(d) * (1 + g_t(d) * S(c, d) + k_t * B(c, d - 1))
with q_t = base_t/N * dow * F_t * H_t the dry-day part (params.TypeModel); S = burst *
(flood_ratio(water reaching the cell's ground) - 1) the day's flood surplus, spread by the storm's
uneven pattern (and scaled down over the whole city where its mean is above CITY_SURPLUS_CAP);
g_t = rain_t + thaw_t * snow_cover(d) its gain; and B the cell's flood backlog: the sum of its past
surpluses beyond BACKLOG_FREE_SURPLUS, decaying by FLOOD_BACKLOG_DECAY a day, with gain
k_t = rain_t * tail_t. Everything in b is weather and place, known before the day's incidents.

Base rates are calibrated analytically, once per seed, on a fixed 30-year span of the simulated
weather: expected rows a year = 365.2425 * base_t * mean(m_t) / (1 - n_t) * (1 + mean duplicates),
m_t the city's expected multiplier (S averaged over the values storm patterns take) and n_t the
self-excitation's branching ratio, so that every type's yearly row volume matches
config.LEAK_TYPES on average.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

from chicago_risk.config import DATA_START, LEAK_TYPES
from chicago_risk.demo_city import params as P
from chicago_risk.demo_city.fields import city_fields, storm_patterns
from chicago_risk.demo_city.weather import simulate_weather

DAYS_PER_YEAR = 365.2425


def flood_ratio(water_mm: np.ndarray) -> np.ndarray:
    """Flooding calls of a cell relative to a dry day, against the water reaching its ground:
    log-linear between knots, then with the tail slope, capped."""
    log_knots = np.log(P.FLOOD_KNOTS_RATIO)
    inside = np.interp(water_mm, P.FLOOD_KNOTS_MM, log_knots)
    beyond = log_knots[-1] + P.FLOOD_TAIL_SLOPE_PER_MM * (water_mm - P.FLOOD_KNOTS_MM[-1])
    ratio = np.exp(np.where(water_mm > P.FLOOD_KNOTS_MM[-1], beyond, inside))
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

    rain_mm: np.ndarray  # today's rain: what a cell of storm pattern 1 gets
    melt_mm: np.ndarray  # snowmelt, the same over the city, as the rain it floods like
    burst: np.ndarray  # how much more the day's rain floods for falling in a burst (1 without rain)
    storm_log_sd: np.ndarray  # unevenness of the day's rain over the city (params.STORM_LOG_SD)
    snow_cover: np.ndarray  # 0..1: how snow-bound the streets are at the start of the day
    freeze_thaw_index: np.ndarray  # sum over the last 7 days of 0.7**k * crossing
    drop_index: np.ndarray  # sharp drop of the daily mean temperature
    cold_index: np.ndarray  # 7-day mean tmin below 0, in tens of degrees
    heat: np.ndarray  # h: season * heat-wave boost
    dow: np.ndarray  # weekday reporting factor
    storm_weight: np.ndarray  # 0..1: how much of the duplicate surge of a storm window applies

    def surplus(self, w: int | np.ndarray, pattern: np.ndarray | float) -> np.ndarray:
        """S = burst * (flood_ratio - 1) on weather day(s) w of the cells whose shares of the
        day's rain are `pattern` (last axis; 1 = the station's), scaled down together where their
        mean is above CITY_SURPLUS_CAP."""
        ratio = flood_ratio(self.rain_mm[w] * pattern + self.melt_mm[w])
        surplus = np.atleast_1d(self.burst[w] * (ratio - 1))
        city = surplus.mean(axis=-1, keepdims=True)
        return surplus * (P.CITY_SURPLUS_CAP / np.maximum(city, P.CITY_SURPLUS_CAP))


@lru_cache(maxsize=4)
def drivers(seed: int) -> Drivers:
    w = simulate_weather(seed)
    precip_yesterday = np.concatenate([[0.0], w.precip_mm[:-1]])
    freeze_thaw = ((w.tmin_c <= 0) & (w.tmax_c > 0)).astype(np.float64)
    ft_index = signal.lfilter(P.FREEZE_THAW_DECAY ** np.arange(7), [1.0], freeze_thaw)
    tmean = (w.tmin_c + w.tmax_c) / 2
    drop = np.concatenate([[0.0], tmean[:-1] - tmean[1:]])
    drop_index = np.clip((drop - P.TEMP_DROP_FREE_C) / P.TEMP_DROP_SCALE_C, 0, P.TEMP_DROP_CAP)
    tmin_7d = signal.lfilter(np.full(7, 1 / 7), [1.0], w.tmin_c)
    cold_index = np.maximum(0.0, -tmin_7d) / P.COLD_SCALE_C
    # Duplicates surge in storm windows: by the larger of today's and yesterday's rain.
    storm_window_mm = np.maximum(w.precip_mm, precip_yesterday)
    lo, hi = P.DUP_STORM_RAMP_MM
    return Drivers(
        rain_mm=w.rain_mm,
        melt_mm=P.MELT_FLOOD_SHARE * w.melt_mm,
        burst=np.where(w.rain_mm > 0, w.burst, 1.0),
        storm_log_sd=np.where(w.convective, P.CONVECTIVE_STORM_LOG_SD, P.STORM_LOG_SD),
        snow_cover=np.clip(w.snowpack_mm / P.SNOW_COVER_MM, 0.0, 1.0),
        freeze_thaw_index=ft_index,
        drop_index=drop_index,
        cold_index=cold_index,
        heat=hydrant_heat(w.tmax_c, w.tmax_clim_c),
        dow=P.DOW_FACTOR[weekday(w.days)],
        storm_weight=np.clip((storm_window_mm - lo) / (hi - lo), 0.0, 1.0),
    )


def _coefficients(name: str) -> np.ndarray:
    return np.array([getattr(m, name) for m in P.TYPE_MODELS])


@dataclass(frozen=True)
class Intensity:
    """Per weather day (rows, index 0 = WEATHER_START) and type (columns)."""

    dry_part: np.ndarray  # q: per-cell intensity before V and the flood terms
    flood_gain: np.ndarray  # g: gain of the day's flood surplus S
    backlog_gain: np.ndarray  # (types,) k: gain of the flood backlog B
    dup_rate: np.ndarray  # expected duplicate reports per incident
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


def pattern_quantiles(seed: int, resolution: int, log_sd: float) -> np.ndarray:
    """Evenly spaced quantiles of the values storm patterns of unevenness `log_sd` take over the
    city's cells, pooled from sample patterns of their own stream."""
    rng = np.random.default_rng([seed, P.STREAM_STORM_SAMPLE])
    weights = rng.standard_normal((P.STORM_SAMPLE_PATTERNS, P.STORM_N_FEATURES))
    values = storm_patterns(
        city_fields(seed, resolution), weights, np.full(P.STORM_SAMPLE_PATTERNS, log_sd)
    )
    n = P.STORM_SAMPLE_QUANTILES
    return np.quantile(values, (np.arange(n) + 0.5) / n)


def backlog_inflow(surplus: np.ndarray) -> np.ndarray:
    """What a day's flood surplus adds to the flood backlog: only the water the sewers cannot take."""
    return np.maximum(surplus - P.BACKLOG_FREE_SURPLUS, 0.0)


def expected_surplus(drv: Drivers, seed: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Per weather day: S and the backlog inflow averaged over the cells and over the values the
    day's storm patterns take (the same for every day of the same unevenness)."""
    surplus, inflow = np.empty(drv.rain_mm.size), np.empty(drv.rain_mm.size)
    for log_sd in np.unique(drv.storm_log_sd):
        days = np.flatnonzero(drv.storm_log_sd == log_sd)
        values = pattern_quantiles(seed, resolution, float(log_sd))
        per_value = drv.surplus(days[:, None], values[None, :])
        surplus[days] = per_value.mean(axis=1)
        inflow[days] = backlog_inflow(per_value).mean(axis=1)
    return surplus, inflow


@lru_cache(maxsize=4)
def intensity(seed: int, resolution: int) -> Intensity:
    d = drivers(seed)
    freeze = (
        1
        + np.outer(d.freeze_thaw_index, _coefficients("freeze_thaw"))
        + np.outer(d.drop_index, _coefficients("temp_drop"))
        + np.outer(d.cold_index, _coefficients("cold"))
    )
    heat = 1 + np.outer(d.heat - 1, _coefficients("heat"))
    calendar = d.dow[:, None] * freeze * heat
    rain = _coefficients("rain")
    flood_gain = rain + np.outer(d.snow_cover, _coefficients("thaw"))
    backlog_gain = rain * _coefficients("tail")
    surplus, inflow = expected_surplus(d, seed, resolution)
    backlog = signal.lfilter([1.0], [1.0, -P.FLOOD_BACKLOG_DECAY], inflow)
    backlog_before = np.concatenate([[0.0], backlog[:-1]])
    multiplier = calendar * (
        1 + flood_gain * surplus[:, None] + np.outer(backlog_before, backlog_gain)
    )
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
        flood_gain=flood_gain,
        backlog_gain=backlog_gain,
        dup_rate=dup_rate,
        base_per_day=base_per_day,
        branching=branching,
        expected_rows_per_year=target,
    )
