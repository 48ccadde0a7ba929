"""The feature store's checks on hand-made feature frames: what passes, what warns, what fails."""

from datetime import date, timedelta
from typing import cast

import dagster as dg
import numpy as np
import polars as pl

from chicago_risk.features.assets import feature_checks
from chicago_risk.features.registry import CELL_DAY_FEATURES_SCHEMA, CITY_WIDE_WEATHER, PER_CELL_FEATURES

CELLS = 400
LATEST = date(2025, 3, 31)


def feature_days(days: int, rng: np.random.Generator, count_scale: float = 1.0) -> pl.DataFrame:
    """`days` days ending on LATEST: Poisson counts per cell, one weather value per day."""
    frames = []
    for offset in range(days):
        day = LATEST - timedelta(days=offset)
        columns = {"h3_id": [f"cell{i:04d}" for i in range(CELLS)], "day": [day] * CELLS}
        for name, dtype in CELL_DAY_FEATURES_SCHEMA.items():
            if name in columns:
                continue
            if name in PER_CELL_FEATURES:
                values = rng.poisson(2.0 * count_scale if offset == 0 else 2.0, CELLS)
            elif name in ("doy_sin", "doy_cos", "dow"):
                values = np.full(CELLS, {"doy_sin": 0.5, "doy_cos": -0.5, "dow": day.weekday()}[name])
            else:  # weather: one value for every cell of the day
                values = np.full(CELLS, rng.normal(5.0, 3.0))
            columns[name] = pl.Series(values).cast(dtype)
        frames.append(pl.DataFrame(columns))
    return pl.concat(frames)


def checks_of(features: pl.DataFrame) -> dict[str | None, dg.AssetCheckResult]:
    reference = features.filter(pl.col("day") < LATEST)
    return {r.check_name: r for r in feature_checks(features, CELLS, reference)}


def test_an_ordinary_day_passes_every_check_even_with_unusual_weather():
    features = feature_days(60, np.random.default_rng(1))
    # a cold snap: far outside the reference days, yet the same for every cell, so not drift
    features = features.with_columns(
        pl.when(pl.col("day") == LATEST).then(pl.lit(-25.0)).otherwise(pl.col("tmin_c")).alias("tmin_c")
    )
    results = checks_of(features)
    assert all(r.passed for r in results.values()), {n: r.metadata for n, r in results.items() if not r.passed}
    assert "tmin_c" in str(results["drift_psi"].metadata["weather_z_scores"].value)
    assert set(CITY_WIDE_WEATHER) & set(PER_CELL_FEATURES) == set()


def test_a_shift_in_the_cells_counts_warns_without_blocking():
    features = feature_days(60, np.random.default_rng(2), count_scale=4.0)
    drift = checks_of(features)["drift_psi"]
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert cast(float, drift.metadata["max_psi"].value) > 0.25


def test_a_missing_cell_and_a_null_fail_the_blocking_checks():
    features = feature_days(3, np.random.default_rng(3))
    broken = features.filter(~((pl.col("day") == LATEST) & (pl.col("h3_id") == "cell0000"))).with_columns(
        pl.when(pl.col("h3_id") == "cell0001").then(None).otherwise(pl.col("cnt_7d")).alias("cnt_7d")
    )
    results = checks_of(broken)
    assert not results["one_row_per_cell_day"].passed
    assert not results["required_not_null"].passed
