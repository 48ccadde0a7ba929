"""A small synthetic city with a known truth, written straight into `cell_day_features`,
`cell_day_labels` and `demo_truth` shapes: for model tests that must not wait for the demo city.

Each cell's daily incident rate is its base rate x season x weather x a slowly wandering latent
burst (an AR(1) in log space), so recent counts and the coming week's forecast carry signal
beyond the cell's long-run rate: a good model beats climatology, and the oracle (which knows the
rate) beats the model.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy.signal import lfilter

from chicago_risk.config import TYPE_GROUPS
from chicago_risk.features.compute import CELL_DAY_LABELS_SCHEMA, DECAY_WEIGHTS
from chicago_risk.features.registry import CELL_DAY_FEATURES_SCHEMA
from chicago_risk.grid import city_cells
from chicago_risk.config import MODEL_SETTINGS, ModelSettings

def quick_settings(rounds: int | None = None) -> ModelSettings:
    """The model settings with LightGBM on one thread (tests share two cores with other work, and
    OpenMP threads waiting on a busy core are far slower than one thread), optionally fewer rounds."""
    lightgbm = replace(MODEL_SETTINGS.training.lightgbm, num_threads=1)
    if rounds is not None:
        lightgbm = replace(lightgbm, num_boost_round=rounds)
    return replace(MODEL_SETTINGS, training=replace(MODEL_SETTINGS.training, lightgbm=lightgbm))


WARM_UP_DAYS = 400  # simulated before the first feature day, so year-long windows are full
HORIZON = 7


def synthetic_city(
    first_day: date = date(2023, 1, 2), days: int = 500, resolution: int = 7, seed: int = 7,
    cells: int | None = None, base_rate: float = 0.02, burst_sd: float = 1.0, persistence: float = 0.97,
    rain_effect: float = 0.05,
    storms: int = 0,
    storm_memory: float = 0.0,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(features, labels, truth) for every cell of the city grid at `resolution` (or its first
    `cells`), as-of days first_day .. first_day + days - 1.

    `storms` days of 60-150 mm, evenly spread (drawn apart from the rest, so the other days are
    unchanged), make
    the rain's tail real; with `storm_memory` m a day's rain keeps raising incidents on the days
    after it (flooded basements reported later), by m^k on day k."""
    rng = np.random.default_rng(seed)
    ids = city_cells(resolution)[: cells or None]
    n_cells, total = len(ids), WARM_UP_DAYS + days + HORIZON
    calendar = np.array([first_day + timedelta(days=d - WARM_UP_DAYS) for d in range(total)])
    doy = np.array([d.timetuple().tm_yday for d in calendar])
    season = 1 + 0.5 * np.cos(2 * np.pi * (doy - 20) / 365.25)  # winter peak (main breaks)
    tmean = 10 - 14 * np.cos(2 * np.pi * (doy - 20) / 365.25) + rng.normal(0, 4, total)
    tmin, tmax = tmean - 5 + rng.normal(0, 1, total), tmean + 5 + rng.normal(0, 1, total)
    precip = np.where(rng.random(total) < 0.3, rng.exponential(6.0, total), 0.0)
    if storms:
        storm_rng = np.random.default_rng(seed + 1)  # evenly spread, a few days' jitter
        spread = np.linspace(10, total - HORIZON - 10, storms).astype(int) + storm_rng.integers(-5, 6, storms)
        precip[spread] = storm_rng.uniform(60, 150, storms)
    wetness = lfilter([1.0], [1.0, -storm_memory], precip) if storm_memory else precip
    weather = np.exp(rain_effect * wetness + 0.35 * (tmin < -5))
    base = np.exp(rng.normal(np.log(base_rate), 0.8, n_cells))
    shocks = rng.normal(0, burst_sd * np.sqrt(1 - persistence**2), (n_cells, total))
    burst = lfilter([1.0], [1.0, -persistence], shocks, axis=1)
    mu = base[:, None] * season[None, :] * weather[None, :] * np.exp(burst)
    counts = rng.poisson(mu)

    def trailing(x: np.ndarray, window: int) -> np.ndarray:
        running = np.cumsum(x, axis=1)
        shifted = np.zeros_like(running)
        shifted[:, window:] = running[:, :-window]
        return running - shifted

    neighbours = np.zeros((n_cells, n_cells))
    for offset in (1, 2, 3):  # a ring of "adjacent" cells by id order
        neighbours += np.eye(n_cells, k=offset) + np.eye(n_cells, k=-offset)
    groups = rng.multinomial(counts, [1 / len(TYPE_GROUPS)] * len(TYPE_GROUPS))
    day_index = np.broadcast_to(np.arange(total), counts.shape)
    last_event = np.maximum.accumulate(np.where(counts > 0, day_index, -10_000), axis=1)
    coming = np.zeros_like(counts)
    coming[:, :-HORIZON] = trailing(counts, HORIZON)[:, HORIZON:]
    mu_coming = np.zeros_like(mu)
    mu_coming[:, :-HORIZON] = trailing(mu, HORIZON)[:, HORIZON:]
    rain_coming = np.zeros(total)
    rain_coming[:-HORIZON] = trailing(precip[None, :], HORIZON)[0, HORIZON:]
    freeze_coming = np.zeros(total)
    freeze_coming[:-HORIZON] = trailing((tmin[None, :] <= 0).astype(float), HORIZON)[0, HORIZON:]
    freeze_thaw = ((tmin <= 0) & (tmax > 0)).astype(int)
    columns = {
        "cnt_7d": trailing(counts, 7),
        "cnt_30d": trailing(counts, 30),
        "cnt_365d": trailing(counts, 365),
        "decay_7d": lfilter(DECAY_WEIGHTS[::-1], [1.0], counts.astype(float), axis=1),
        "nbr_cnt_30d": trailing(neighbours @ counts, 30),
        "days_since_last": np.minimum(day_index - last_event, 365),
        **{f"cnt_30d_{g}": trailing(groups[..., i], 30) for i, g in enumerate(TYPE_GROUPS)},
        "nbr_cnt_365d": trailing(neighbours @ counts, 365),
        "ring2_cnt_365d": trailing(neighbours @ counts, 365) * 2,
        "rate_7d_shrunk": 7 * trailing(counts, 365) / 365 * 0.7 + 7 * 0.3 * counts.mean(),
        "tmin_c": np.broadcast_to(tmin, counts.shape),
        "tmax_c": np.broadcast_to(tmax, counts.shape),
        "precip_mm": np.broadcast_to(precip, counts.shape),
        "precip_3d_mm": np.broadcast_to(trailing(precip[None, :], 3)[0], counts.shape),
        "freeze_thaw_7d": np.broadcast_to(trailing(freeze_thaw[None, :], 7)[0], counts.shape),
        "temp_drop_c": np.broadcast_to(np.concatenate([[0.0], tmean[:-1] - tmean[1:]]), counts.shape),
        "heavy_rain": np.broadcast_to((precip >= 25).astype(int), counts.shape),
        "doy_sin": np.broadcast_to(np.sin(2 * np.pi * doy / 365.25), counts.shape),
        "doy_cos": np.broadcast_to(np.cos(2 * np.pi * doy / 365.25), counts.shape),
        "dow": np.broadcast_to(np.array([d.weekday() for d in calendar]), counts.shape),
        "fc_precip_7d_mm": np.broadcast_to(rain_coming * rng.lognormal(0, 0.2, total), counts.shape),
        "fc_freeze_days_7d": np.broadcast_to(freeze_coming, counts.shape),
    }
    keep = slice(WARM_UP_DAYS, WARM_UP_DAYS + days)
    flat = lambda a: np.ascontiguousarray(a[:, keep]).ravel()  # noqa: E731 (cell-major order)
    day_column = np.tile(calendar[keep].astype("datetime64[D]"), n_cells)
    index = pl.DataFrame({"h3_id": np.repeat(np.array(ids), days), "day": day_column}).with_columns(
        pl.col("day").cast(pl.Date)
    )
    features = index.with_columns(
        pl.Series(name, flat(np.asarray(values, dtype=float))).cast(CELL_DAY_FEATURES_SCHEMA[name])
        for name, values in columns.items()
    ).select(list(CELL_DAY_FEATURES_SCHEMA))
    labels = index.with_columns(
        n_events_7d=pl.Series(flat(coming)), y_event_7d=pl.Series(flat(coming) > 0)
    ).select(pl.col(n).cast(t) for n, t in CELL_DAY_LABELS_SCHEMA.items())
    truth = index.with_columns(mu=pl.Series(flat(mu)), p_oracle_7d=pl.Series(1 - np.exp(-flat(mu_coming))))
    return features.sort("day", "h3_id"), labels.sort("day", "h3_id"), truth.sort("day", "h3_id")
