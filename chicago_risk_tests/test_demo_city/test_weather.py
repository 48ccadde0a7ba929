"""The demo city's weather looks like O'Hare's and its forecasts are forecasts, not the future."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from chicago_risk.config import HEAVY_RAIN_MM
from chicago_risk.demo_city import params as P
from chicago_risk.demo_city.weather import simulate_weather
from chicago_risk.sources.base import WEATHER_SOURCE_SCHEMA

SEED = 20190101


@pytest.fixture(scope="module")
def horizon() -> pl.DataFrame:
    """The whole simulated horizon from DATA_START (40 years, cheap)."""
    w = simulate_weather(SEED)
    frame = pl.DataFrame(
        {"day": w.days, "tmin_c": w.tmin_c, "tmax_c": w.tmax_c, "precip_mm": w.precip_mm}
    ).with_columns(pl.col("day").cast(pl.Date))
    return frame.filter(pl.col("day").dt.year().is_between(2019, 2058))


def test_weather_schema_and_one_row_per_day(demo_year) -> None:
    weather = demo_year.source.fetch_weather(date(2019, 1, 1), date(2019, 12, 31))
    assert weather.schema == pl.Schema(WEATHER_SOURCE_SCHEMA)
    assert weather["day"].to_list() == [
        date(2019, 1, 1) + timedelta(days=i) for i in range(365)
    ]
    assert weather.null_count().sum_horizontal().item() == 0
    assert (weather["tmax_c"] >= weather["tmin_c"] + 1 - 1e-9).all()
    assert (weather["precip_mm"] >= 0).all()


def test_heavy_rain_days_per_year(horizon, demo_year) -> None:
    # CHICAGO_FACTS: about 8 days a year bring 25 mm or more.
    per_year = horizon.group_by(pl.col("day").dt.year()).agg(
        heavy=(pl.col("precip_mm") >= HEAVY_RAIN_MM).sum()
    )
    assert 6 <= per_year["heavy"].mean() <= 10
    assert 2 <= (demo_year.weather["precip_mm"] >= HEAVY_RAIN_MM).sum() <= 16


def test_monthly_climatology_matches_ohare(horizon) -> None:
    monthly = (
        horizon.group_by(month=pl.col("day").dt.month())
        .agg(
            tmin=pl.col("tmin_c").mean(),
            tmax=pl.col("tmax_c").mean(),
            wet=(pl.col("precip_mm") >= P.WET_THRESHOLD_MM).mean(),
            freeze=(pl.col("tmin_c") <= 0).mean(),
        )
        .sort("month")
    )
    np.testing.assert_allclose(monthly["tmin"], P.CLIM_TMIN_C, atol=1.0)
    np.testing.assert_allclose(monthly["tmax"], P.CLIM_TMAX_C, atol=1.0)
    np.testing.assert_allclose(monthly["wet"], P.CLIM_WET_SHARE, atol=0.04)
    # CHICAGO_FACTS: 90% of January nights freeze (and most of December's and February's).
    np.testing.assert_allclose(monthly["freeze"], P.CLIM_FREEZE_SHARE, atol=0.11)
    assert abs(monthly["freeze"][0] - 0.90) <= 0.05


def test_tmin_anomalies_persist(horizon) -> None:
    tmin = horizon["tmin_c"].to_numpy()
    doy = horizon["day"].dt.ordinal_day().to_numpy() - 1
    clim = np.bincount(doy, tmin) / np.bincount(doy)
    anomaly = tmin - clim[doy]
    lag1 = np.corrcoef(anomaly[1:], anomaly[:-1])[0, 1]
    assert 0.6 <= lag1 <= 0.8


def test_forecasts_are_noisy_but_informative(demo_year) -> None:
    w = demo_year.source.fetch_weather(date(2019, 1, 1), date(2020, 1, 10)).with_columns(
        obs_precip_7d=pl.col("precip_mm").rolling_sum(7).shift(-7),
        obs_freeze_7d=(pl.col("tmin_c") <= 0).cast(pl.Float64).rolling_sum(7).shift(-7),
    ).filter(pl.col("day").dt.year() == 2019)
    assert (w["fc_precip_7d_mm"] != w["obs_precip_7d"]).all()
    assert (w["fc_freeze_days_7d"] != w["obs_freeze_7d"]).mean() > 0.1
    # ... yet they carry the signal a model can use.
    assert np.corrcoef(w["fc_precip_7d_mm"], w["obs_precip_7d"])[0, 1] > 0.5
    assert np.corrcoef(w["fc_freeze_days_7d"], w["obs_freeze_7d"])[0, 1] > 0.8
    assert w["fc_freeze_days_7d"].is_between(0, 7).all()


@pytest.fixture(scope="module")
def latent() -> pl.DataFrame:
    """The latent weather of the whole horizon: snowpack, rain, melt, cloudbursts."""
    w = simulate_weather(SEED)
    return pl.DataFrame(
        {
            "day": w.days, "tmin_c": w.tmin_c, "tmax_c": w.tmax_c, "precip_mm": w.precip_mm,
            "rain_mm": w.rain_mm, "melt_mm": w.melt_mm, "snowpack_mm": w.snowpack_mm,
            "burst": w.burst, "convective": w.convective,
        }
    ).with_columns(pl.col("day").cast(pl.Date))  # fmt: skip


def test_snow_piles_up_in_winter_and_is_gone_by_summer(latent) -> None:
    # Every mm of snow that falls is on the ground until it melts.
    snowfall = latent["precip_mm"] - latent["rain_mm"]
    np.testing.assert_allclose(
        latent["snowpack_mm"].diff().drop_nulls(), (snowfall - latent["melt_mm"]).head(-1),
        atol=1e-9,
    )  # fmt: skip
    assert (latent["melt_mm"] >= 0).all() and (latent["snowpack_mm"] >= 0).all()
    monthly = latent.group_by(month=pl.col("day").dt.month()).agg(
        covered=(pl.col("snowpack_mm") >= P.SNOW_COVER_MM).mean()
    )
    covered = dict(monthly.iter_rows())
    assert 0.3 <= covered[1] <= 0.7 and 0.3 <= covered[2] <= 0.7
    assert all(covered[m] == 0 for m in (6, 7, 8, 9))
    # A winter's deepest snowpack: a few cm to a few dozen cm of snow (Chicago's seasonal snowfall
    # is about 90 cm).
    winters = latent.group_by(pl.col("day").dt.offset_by("5mo").dt.year()).agg(
        peak=pl.col("snowpack_mm").max()
    )
    assert 30 <= winters["peak"].median() <= 100


def test_warm_rain_on_snow_happens_a_few_times_a_decade(latent) -> None:
    thaws = latent.filter((pl.col("snowpack_mm") >= P.SNOW_COVER_MM) & (pl.col("rain_mm") >= 15))
    assert 1 <= thaws.height / 4 <= 8  # per decade, over the 40-year horizon
    tmean = (thaws["tmin_c"] + thaws["tmax_c"]) / 2
    assert (tmean > P.SNOW_BELOW_C).all() and (thaws["melt_mm"] > 0).all()


def test_cloudbursts_come_on_warm_days(latent) -> None:
    warm = latent.filter(pl.col("tmax_c") >= P.CONVECTIVE_TMAX_C)
    assert latent.filter(pl.col("tmax_c") < P.CONVECTIVE_TMAX_C)["convective"].sum() == 0
    assert abs(warm["convective"].mean() - P.CLOUDBURST_SHARE) <= 0.02
    ordinary = latent.filter(~pl.col("convective"))["burst"]
    assert 0.95 <= ordinary.median() <= 1.05
    assert latent.filter("convective")["burst"].median() >= 0.8 * P.CLOUDBURST_FACTOR
