"""The demo city's daily weather and its own noisy 7-day forecasts.

City-wide weather is simulated once per seed over a fixed 40-year horizon (WEATHER_START to
WEATHER_END), so a day's weather never depends on the window asked for:

- tmin = climatology + sd * z, z a stationary AR(1) with lag-1 correlation 0.7;
- tmax = climatology + 0.85 * the tmin anomaly + small noise, at least 1 C above tmin;
- wet days from a 2-state Markov chain whose stationary wet share is the climatology's, with
  persistence; wet-day amounts 0.25 mm + Gamma whose shape reproduces each month's 99th percentile;
- precipitation falls as rain or snow by the day's mean temperature; the snowpack accumulates and
  melts by degree-days (and by the heat of rain falling on it), so a warm rain on a snowy city
  brings its rain and the snow's melt at once;
- each day's rain has a "burst" factor (how concentrated in time it fell: warm days sometimes bring
  cloudbursts), from its own stream.

The station's observables (tmin, tmax, precipitation) are what the weather source returns; the
snowpack, melt and burst are latent weather that only drives the city's incidents.

The monthly table of CHICAGO_FACTS becomes a smooth daily curve through a periodic cubic spline
whose knots are solved so that each month's mean of the curve equals the table (mean-preserving).
Forecasts issued on day t for t+1..t+7 use their own random stream, so they never move the weather.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import polars as pl
from scipy import optimize, signal, stats
from scipy.interpolate import CubicSpline

from chicago_risk.demo_city import params as P
from chicago_risk.sources.base import WEATHER_SOURCE_SCHEMA

_MONTH_EDGES = np.concatenate([[0], np.cumsum(P.MONTH_DAYS)])


def _spline_curve(knots: np.ndarray) -> np.ndarray:
    """Periodic cubic spline through mid-month knots, evaluated on the 365 days of a year."""
    mids = (_MONTH_EDGES[:-1] + _MONTH_EDGES[1:]) / 2
    spline = CubicSpline(
        np.append(mids, mids[0] + 365), np.append(knots, knots[0]), bc_type="periodic"
    )
    days = np.arange(365) + 0.5
    return spline(np.where(days < mids[0], days + 365, days))


def monthly_means(daily: np.ndarray) -> np.ndarray:
    """Means over the 12 months of a 365-day curve."""
    return np.add.reduceat(daily, _MONTH_EDGES[:-1]) / P.MONTH_DAYS


def smooth_climatology(monthly: np.ndarray) -> np.ndarray:
    """A smooth 365-day curve whose monthly means are exactly `monthly` (the map knots -> means
    is linear, so the knots are one 12x12 solve)."""
    basis = np.column_stack([monthly_means(_spline_curve(e)) for e in np.eye(12)])
    return _spline_curve(np.linalg.solve(basis, np.asarray(monthly, dtype=float)))


@lru_cache(maxsize=1)
def gamma_shapes() -> np.ndarray:
    """Each month's Gamma shape such that the 99th percentile of all days (dry ones included)
    is the table's: P(wet amount > p99) = 0.01 / wet share."""
    shapes = []
    for wet, mean, p99 in zip(P.CLIM_WET_SHARE, P.CLIM_WET_MEAN_MM, P.CLIM_P99_MM, strict=True):
        excess_mean, q = mean - P.WET_THRESHOLD_MM, 1 - 0.01 / wet

        def gap(k: float, excess_mean=excess_mean, q=q, p99=p99) -> float:
            return P.WET_THRESHOLD_MM + stats.gamma.ppf(q, k, scale=excess_mean / k) - p99

        shapes.append(optimize.brentq(gap, *P.GAMMA_SHAPE_BOUNDS))
    return np.array(shapes)


def day_of_year_index(days: np.ndarray) -> np.ndarray:
    """0..364 position in the 365-day climatology of numpy datetime64[D] days (leap years are
    squeezed onto the same curve)."""
    years = days.astype("datetime64[Y]")
    doy = (days - years.astype("datetime64[D]")).astype(np.int64)
    year_len = ((years + 1).astype("datetime64[D]") - years.astype("datetime64[D]")).astype(
        np.int64
    )
    return np.minimum((doy * 365) // year_len, 364)


@dataclass(frozen=True)
class Weather:
    """City-wide daily weather over the fixed horizon; index 0 is WEATHER_START."""

    start: date
    days: np.ndarray  # datetime64[D]
    tmin_c: np.ndarray
    tmax_c: np.ndarray
    precip_mm: np.ndarray
    tmax_clim_c: np.ndarray  # the day's climatological tmax (the seasonal cycle without weather)
    rain_mm: np.ndarray  # the liquid part of precip_mm
    melt_mm: np.ndarray  # snowmelt of the day
    snowpack_mm: np.ndarray  # snow water equivalent on the ground at the start of the day
    burst: np.ndarray  # concentration in time of the day's rain (median 1; cloudbursts more)
    convective: np.ndarray  # bool: a day whose rain, if any, comes as convective cloudbursts

    def index(self, day: date) -> int:
        return (day - self.start).days

    @property
    def n_days(self) -> int:
        return len(self.days)


@lru_cache(maxsize=4)
def simulate_weather(seed: int) -> Weather:
    """The whole horizon's weather for `seed` (one random stream; ~15,000 days in ~20 ms)."""
    rng = np.random.default_rng([seed, P.STREAM_WEATHER])
    n = (P.WEATHER_END - P.WEATHER_START).days + 1
    days = np.datetime64(P.WEATHER_START, "D") + np.arange(n)
    doy = day_of_year_index(days)

    tmin_clim = smooth_climatology(P.CLIM_TMIN_C)[doy]
    tmin_sd = smooth_climatology(P.CLIM_TMIN_SD_C)[doy]
    tmax_clim = smooth_climatology(P.CLIM_TMAX_C)[doy]
    wet_share = np.clip(smooth_climatology(P.CLIM_WET_SHARE)[doy], 0.02, 0.98)
    wet_mean = smooth_climatology(P.CLIM_WET_MEAN_MM)[doy]
    shape = np.clip(smooth_climatology(gamma_shapes())[doy], *P.GAMMA_SHAPE_BOUNDS)

    # Temperature: a stationary standard AR(1) scaled by the day's sd.
    phi = P.TMIN_LAG1
    z = signal.lfilter(
        [np.sqrt(1 - phi**2)], [1.0, -phi], rng.standard_normal(n), zi=[phi * rng.standard_normal()]
    )[0]
    anomaly = tmin_sd * z
    tmin = tmin_clim + anomaly
    tmax = tmax_clim + P.TMAX_ANOMALY_COUPLING * anomaly + P.TMAX_NOISE_SD_C * rng.standard_normal(n)
    tmax = np.maximum(tmax, tmin + P.MIN_DIURNAL_RANGE_C)

    # Wet days: a 2-state Markov chain (a loop over days, like the snowpack and the incident steps).
    r = P.WET_PERSISTENCE
    p_wet_after_wet = wet_share + r * (1 - wet_share)
    p_wet_after_dry = wet_share * (1 - r)
    u = rng.random(n)
    wet = np.zeros(n, dtype=bool)
    state = bool(u[0] < wet_share[0])
    wet[0] = state
    pww, pwd = p_wet_after_wet.tolist(), p_wet_after_dry.tolist()
    for i, ui in enumerate(u.tolist()[1:], start=1):
        state = ui < (pww[i] if state else pwd[i])
        wet[i] = state
    amount = P.WET_THRESHOLD_MM + rng.gamma(shape, (wet_mean - P.WET_THRESHOLD_MM) / shape)
    precip = np.where(wet, amount, 0.0)
    rain, melt, snowpack = snow_budget(tmin, tmax, precip)
    burst, convective = rain_burst(np.random.default_rng([seed, P.STREAM_BURST]), tmax)
    return Weather(
        P.WEATHER_START, days, tmin, tmax, precip, tmax_clim,
        rain, melt, snowpack, burst, convective,
    )  # fmt: skip


def rain_burst(rng: np.random.Generator, tmax_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per day: how concentrated in time its rain is (median 1), and whether it is a warm day of
    convective cloudbursts (which concentrate it CLOUDBURST_FACTOR times more)."""
    spread = np.exp(P.BURST_LOG_SD * rng.standard_normal(tmax_c.size))
    convective = (rng.random(tmax_c.size) < P.CLOUDBURST_SHARE) & (tmax_c >= P.CONVECTIVE_TMAX_C)
    return np.where(convective, P.CLOUDBURST_FACTOR * spread, spread), convective


def snow_budget(
    tmin_c: np.ndarray, tmax_c: np.ndarray, precip_mm: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rain, melt, snowpack at the start of the day) in mm of water: precipitation splits into
    rain and snow by the daily mean temperature; the pack gains the snow, then melts by
    degree-days plus the heat of the rain (a loop over days: the pack is a running state)."""
    tmean = (tmin_c + tmax_c) / 2
    liquid = np.clip((tmean - P.SNOW_BELOW_C) / (P.RAIN_ABOVE_C - P.SNOW_BELOW_C), 0.0, 1.0)
    rain = precip_mm * liquid
    warmth = np.maximum(tmean, 0.0)
    potential = (P.MELT_MM_PER_C + P.RAIN_MELT_PER_MM_C * rain) * warmth
    snowpack = np.empty_like(precip_mm)
    melt = np.empty_like(precip_mm)
    pack = 0.0
    for i, (snow, can_melt) in enumerate(zip((precip_mm - rain).tolist(), potential.tolist(), strict=True)):
        snowpack[i] = pack
        pack += snow
        melt[i] = min(pack, can_melt)
        pack -= melt[i]
    return rain, melt, snowpack


@lru_cache(maxsize=4)
def simulate_forecasts(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fc_precip_7d_mm, fc_freeze_days_7d) issued on each day of the horizon for the next 7
    days; NaN where the horizon has no 7 following days. Own random stream."""
    weather = simulate_weather(seed)
    n, k = weather.n_days, P.FORECAST_DAYS
    rng = np.random.default_rng([seed, P.STREAM_FORECAST])
    lead = np.arange(1, k + 1)
    # future[i, j] = truth on day i + 1 + j, for issue days i that have 7 following days
    issue = np.arange(n - k)
    future = issue[:, None] + lead[None, :]
    true_precip, true_tmin = weather.precip_mm[future], weather.tmin_c[future]

    log_sd = P.FC_PRECIP_LOG_SD[0] + P.FC_PRECIP_LOG_SD[1] * lead
    multiplier = np.exp(log_sd * rng.standard_normal(true_precip.shape) - log_sd**2 / 2)
    drizzle = rng.exponential(P.FC_PRECIP_DRIZZLE_MM[0] + P.FC_PRECIP_DRIZZLE_MM[1] * lead,
                              size=true_precip.shape)  # fmt: skip
    fc_precip = (true_precip * multiplier + drizzle).sum(axis=1)

    tmin_sd = P.FC_TMIN_SD_C[0] + P.FC_TMIN_SD_C[1] * lead
    fc_tmin = true_tmin + tmin_sd * rng.standard_normal(true_tmin.shape)
    fc_freeze = (fc_tmin <= 0).sum(axis=1).astype(np.float64)

    pad = np.full(k, np.nan)
    return np.concatenate([fc_precip, pad]), np.concatenate([fc_freeze, pad])


def check_window(start: date, end: date) -> None:
    """Raise ValueError unless start..end is a servable window of the demo city."""
    from chicago_risk.config import DATA_START

    if start > end:
        raise ValueError(f"start {start} is after end {end}; ask for start <= end")
    if start < DATA_START:
        raise ValueError(
            f"the demo city starts on {DATA_START} (config.DATA_START); {start} is before it"
        )
    if end > P.LAST_SERVABLE_DAY:
        raise ValueError(
            f"the demo city is simulated through {P.LAST_SERVABLE_DAY}; {end} is after it"
        )


def weather_frame(seed: int, start: date, end: date) -> pl.DataFrame:
    """Days start..end in WEATHER_SOURCE_SCHEMA, with the demo city's own forecasts."""
    check_window(start, end)
    weather = simulate_weather(seed)
    fc_precip, fc_freeze = simulate_forecasts(seed)
    i0, i1 = weather.index(start), weather.index(end) + 1
    frame = pl.DataFrame(
        {
            "day": weather.days[i0:i1],
            "tmin_c": weather.tmin_c[i0:i1],
            "tmax_c": weather.tmax_c[i0:i1],
            "precip_mm": weather.precip_mm[i0:i1],
            "fc_precip_7d_mm": fc_precip[i0:i1],
            "fc_freeze_days_7d": fc_freeze[i0:i1],
        }
    )
    # The ignore: polars types cast()'s mapping keys as invariant `str | Selector | DataType`, so it
    # refuses the dict[str, DataType] it handles at run time.
    return frame.cast(WEATHER_SOURCE_SCHEMA).select(list(WEATHER_SOURCE_SCHEMA))  # type: ignore[arg-type]


__all__ = [
    "Weather",
    "check_window",
    "gamma_shapes",
    "simulate_forecasts",
    "simulate_weather",
    "smooth_climatology",
    "snow_budget",
    "weather_frame",
]
