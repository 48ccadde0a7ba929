"""Extremes (issue 12): more rain, observed or forecast, never lowers p; storm days are predicted
near their observed share and shown as medium and high cells; an unknown forecast is unknown,
not "no rain"."""

from datetime import date
from typing import cast

import numpy as np
import polars as pl
import pytest

from chicago_risk.models.model import fit_model
from chicago_risk.models.windows import plan_window
from chicago_risk_tests.fixtures.synthetic import quick_settings, synthetic_city

SETTINGS = quick_settings(rounds=60)
CUTOFF = date(2024, 8, 5)
STORM_MM = 60.0
RAIN = ("precip_mm", "precip_3d_mm", "fc_precip_7d_mm")


@pytest.fixture(scope="module")
def storm_city():
    """A city whose storms (60-150 mm, every ~2 months) raise incidents for days after them, none
    of them in the calibration slice: the slice's top step is an ordinary wet day's."""
    features, labels, _ = synthetic_city(days=800, cells=150, rain_effect=0.02, storms=20, storm_memory=0.6)
    rows = features.join(labels, on=["h3_id", "day"])
    window = plan_window(CUTOFF, cast(date, rows["day"].min()), SETTINGS.training, SETTINGS.calibration)
    train, calibration_rows = window.split(rows)
    assert cast(float, calibration_rows["precip_mm"].max()) < STORM_MM <= cast(float, train["precip_mm"].max())
    models = {
        kind: fit_model(kind, train, calibration_rows, window, SETTINGS) for kind in ("seed_logistic", "lightgbm")
    }
    return models, train, rows.filter(pl.col("day") >= CUTOFF)


def _wetter(rows: pl.DataFrame, extra_mm: float) -> pl.DataFrame:
    return rows.with_columns(pl.col(c) + extra_mm for c in RAIN).with_columns(
        heavy_rain=(pl.col("precip_mm") >= 25).cast(rows.schema["heavy_rain"])
    )


def test_more_rain_observed_or_forecast_never_lowers_p(storm_city):
    models, _, test = storm_city
    model = models["lightgbm"]
    offset = dict(zip(model.scorer.offset.feature_names, model.scorer.offset.coef, strict=True))
    assert all(offset[n] >= 0 for n in ("precip_mm", "precip_3d_mm", "heavy_rain", "fc_precip_7d_mm"))
    day = test.filter(pl.col("day") == CUTOFF)
    previous = model.predict_proba(day)
    for extra in (5.0, 20.0, 60.0, 150.0, 400.0):  # up to far beyond any rain in training
        p = model.predict_proba(_wetter(day, extra))
        assert np.all(p >= previous)
        previous = p
    assert previous.max() > model.calibration.probability.y[-1]  # the calibration is not capped at its top step
    for column in RAIN:  # and each kind of rain alone
        more = day.with_columns(pl.col(column) + 100.0)
        assert np.all(model.predict_proba(more) >= model.predict_proba(day)), column


def test_storm_days_are_predicted_near_their_observed_share_and_show_as_medium_and_high(storm_city):
    models, _, test = storm_city
    storms = test.filter(pl.col("precip_mm") >= STORM_MM)
    assert storms["day"].n_unique() >= 3
    p = models["lightgbm"].predict_proba(storms)
    observed = storms["y_event_7d"].cast(pl.Float64).mean()
    assert abs(p.mean() - observed) <= 0.05
    flagged = p >= SETTINGS.bands.medium_from
    incidents = storms["n_events_7d"].cast(pl.Float64).to_numpy()
    # the medium and high cells hold most of the storms' incidents, and more than their share
    caught = incidents[flagged].sum() / incidents.sum()
    assert caught >= 0.6 and caught > flagged.mean()


def test_incident_counts_beyond_any_in_training_keep_raising_p(storm_city):
    """Trees are flat past the largest count they saw; the offset's log-count terms are not: a
    flooded cell (ten times training's busiest week) scores above training's busiest cells."""
    models, train, test = storm_city
    model = models["lightgbm"]
    offset = dict(zip(model.scorer.offset.feature_names, model.scorer.offset.coef, strict=True))
    counts = SETTINGS.training.lightgbm.offset_cell_features
    assert set(counts) <= set(model.scorer.offset.log1p) and all(offset[n] >= 0 for n in counts)
    assert any(offset[n] > 0 for n in counts)  # the synthetic city's incidents do predict incidents
    day = test.filter(pl.col("day") == CUTOFF)
    busiest = day.with_columns(pl.lit(train[n].max()).cast(day.schema[n]).alias(n) for n in counts)
    previous = model.predict_proba(busiest)
    for factor in (2, 10, 50):
        p = model.predict_proba(
            day.with_columns((pl.lit(train[n].max()) * factor).cast(day.schema[n]).alias(n) for n in counts)
        )
        assert np.all(p >= previous) and p.mean() > previous.mean()
        previous = p


def _unknown_dry_and_average(model, train: pl.DataFrame, day: pl.DataFrame) -> tuple[float, float, float]:
    """Mean p of a day with its forecasts unknown, with no rain forecast, and averaged over the
    forecasts of 40 training days."""
    forecasts = ("fc_precip_7d_mm", "fc_freeze_days_7d")
    unknown = model.predict_proba(day.with_columns(pl.lit(None, pl.Float64).alias(c) for c in forecasts))
    dry = model.predict_proba(day.with_columns(fc_precip_7d_mm=pl.lit(0.0)))
    sample = train.select("day", *forecasts).unique("day").sort("day").sample(40, seed=0)
    average = np.mean(
        [
            model.predict_proba(day.with_columns(pl.lit(r[c]).alias(c) for c in forecasts))
            for r in sample.iter_rows(named=True)
        ]
    )
    return float(unknown.mean()), float(dry.mean()), float(average)


def test_lightgbm_reads_an_unknown_forecast_as_the_average_forecast_not_no_rain(storm_city):
    """Trees trained without a missing forecast read NaN as 0 mm; the hidden forecast days in
    training teach them a branch for it."""
    models, train, test = storm_city
    unknown, dry, average = _unknown_dry_and_average(models["lightgbm"], train, test.filter(pl.col("day") == CUTOFF))
    assert unknown > dry
    assert abs(unknown - average) < 0.25 * abs(dry - average)


def test_the_seed_logistic_reads_an_unknown_forecast_as_the_training_mean(storm_city):
    """A linear model's unknown contributes nothing: p at the training mean of the forecast,
    between "no rain" and the average p over forecasts (the gap is the sigmoid's curvature)."""
    models, train, test = storm_city
    model, day = models["seed_logistic"], test.filter(pl.col("day") == CUTOFF)
    unknown, dry, average = _unknown_dry_and_average(model, train, day)
    means = dict(zip(model.scorer.linear.feature_names, model.scorer.linear.means, strict=True))
    at_mean = model.predict_proba(
        day.with_columns(pl.lit(means[c]).alias(c) for c in ("fc_precip_7d_mm", "fc_freeze_days_7d"))
    )
    assert unknown == pytest.approx(float(at_mean.mean()))
    assert dry < unknown < average
