"""Drivers: exact contributions of the raw log-odds (TreeSHAP plus the weather offset), top 3-5
with plain-words labels."""

from dataclasses import replace
from datetime import date, timedelta
from typing import cast

import numpy as np
import polars as pl
import pytest

from chicago_risk.config import DriverSettings, RiskBands
from chicago_risk.features.registry import FEATURE_NAMES
from chicago_risk.models.base import feature_matrix
from chicago_risk.models.drivers import DRIVER_DTYPE, explain, feature_labels, top_drivers
from chicago_risk.models.explanations import explanation
from chicago_risk.models.model import fit_model
from chicago_risk.models.predict import PREDICTIONS_SCHEMA, score
from chicago_risk.models.windows import plan_window
from chicago_risk_tests.fixtures.synthetic import quick_settings

SETTINGS = quick_settings(rounds=60)


@pytest.fixture(scope="module")
def lightgbm_and_rows(small_city):
    features, labels, _ = small_city
    rows = features.join(labels, on=["h3_id", "day"])
    window = plan_window(date(2024, 3, 4), rows["day"].min(), SETTINGS.training, SETTINGS.calibration)
    train, calibration_rows = window.split(rows)
    model = fit_model("lightgbm", train, calibration_rows, window, SETTINGS)
    return model, features.filter(pl.col("day") >= date(2024, 3, 4))


def test_contributions_plus_expected_value_equal_the_raw_log_odds(lightgbm_and_rows):
    model, rows = lightgbm_and_rows
    contributions = model.scorer.contributions(rows)
    assert contributions.shape == (rows.height, len(model.feature_names) + 1)
    assert set(model.feature_names) == set(FEATURE_NAMES) - set(SETTINGS.training.lightgbm.excluded_features)
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(rows), rtol=1e-9, atol=1e-9)
    # the expected value (last column) is one constant: the model's mean raw score on its data
    assert np.ptp(contributions[:, -1]) == pytest.approx(0.0, abs=1e-12)


def test_the_shap_explanation_holds_the_served_contributions(lightgbm_and_rows):
    model, rows = lightgbm_and_rows
    explained = explanation(model.scorer, rows)
    contributions = model.scorer.contributions(rows)
    assert explained.feature_names == list(model.feature_names)
    np.testing.assert_array_equal(explained.values, contributions[:, :-1])
    np.testing.assert_array_equal(explained.base_values, contributions[:, -1])
    np.testing.assert_array_equal(explained.data, feature_matrix(rows, model.feature_names))
    top = explained[int(np.argmax(model.raw_score(rows)))]  # one row, as the card's waterfall takes it
    assert top.values.sum() + top.base_values == pytest.approx(model.raw_score(rows).max(), abs=1e-9)


def test_drivers_are_the_largest_signed_contributions_with_values_and_labels(lightgbm_and_rows):
    model, rows = lightgbm_and_rows
    drivers = explain(model.scorer, rows, SETTINGS.drivers)
    assert drivers.dtype == DRIVER_DTYPE and drivers.len() == rows.height
    lengths = drivers.list.len()
    assert cast(int, lengths.min()) >= 3 and cast(int, lengths.max()) <= 5
    contributions = model.scorer.contributions(rows)[:, :-1]
    first = drivers[0].to_list()
    top = np.argsort(-np.abs(contributions[0]), kind="stable")[: len(first)]
    assert [d["feature"] for d in first] == [model.feature_names[i] for i in top]
    assert [d["contribution"] for d in first] == pytest.approx(contributions[0, top].tolist())
    assert [d["value"] for d in first] == pytest.approx([rows.row(0, named=True)[d["feature"]] for d in first])
    assert all(d["label"] == feature_labels()[d["feature"]] for d in first)


def test_scoring_explains_recent_days_fully_and_older_days_above_the_low_band(lightgbm_and_rows):
    model, rows = lightgbm_and_rows
    # seen from 14 days after the first scored day, every scored day is recent
    recent = score(model, rows, SETTINGS, today=rows["day"].min() + timedelta(days=14))
    assert recent["drivers"].list.len().is_between(3, 5).all()
    later = score(model, rows, SETTINGS, today=rows["day"].max() + timedelta(days=400))
    above_low = later["risk_band"] != "low"
    assert later.filter(above_low)["drivers"].list.len().is_between(3, 5).all()
    assert (later.filter(~above_low)["drivers"].list.len() == 0).all()
    # the explained rows' drivers are the same whichever rows were explained with them
    assert later.filter(above_low)["drivers"].equals(recent.filter(above_low)["drivers"])
    assert later.drop("drivers").equals(recent.drop("drivers"))


def test_top_drivers_keeps_three_then_up_to_five_above_the_threshold():
    names = tuple(f"f{i}" for i in range(6))
    contributions = np.array(
        [
            [0.01, -0.02, 0.03, 0.0, 0.0, 0.0, -1.0],  # small: only the minimum three
            [0.5, -0.4, 0.3, -0.2, 0.1, 0.06, -1.0],  # all large: capped at five
            [0.0, 0.0, -0.9, 0.04, 0.07, 0.0, -1.0],  # four above 0.05 in |value|? three + f4
        ]
    )
    values = np.arange(18, dtype=float).reshape(3, 6)
    values[1, 0] = np.nan
    drivers = top_drivers(contributions, values, names, DriverSettings()).to_list()
    assert [len(d) for d in drivers] == [3, 5, 3]
    assert [d["feature"] for d in drivers[0]] == ["f2", "f1", "f0"]
    assert [d["feature"] for d in drivers[2]] == ["f2", "f4", "f3"]
    assert drivers[1][0] == {"feature": "f0", "value": None, "contribution": 0.5, "label": "f0"}
    with pytest.raises(ValueError, match="expected value"):
        top_drivers(contributions[:, :-1], values, names, DriverSettings())


def test_every_registry_feature_has_plain_words():
    labels = feature_labels()
    assert set(labels) == set(FEATURE_NAMES)
    assert labels["cnt_7d"] == "Incidents in the cell, in the last 7 days"
    assert labels["fc_precip_7d_mm"] == "Forecast precipitation over the coming week, mm, in the coming 7 days"
    assert all("^" not in text and "sum over" not in text for text in labels.values())


def test_the_weather_offset_is_part_of_the_weather_features_contributions(lightgbm_and_rows):
    model, rows = lightgbm_and_rows
    trees_only = model.scorer.booster.predict(
        rows.select(pl.col(n).cast(pl.Float64) for n in model.feature_names).to_numpy(), pred_contrib=True
    )
    with_offset = model.scorer.contributions(rows)
    offset = model.scorer.offset
    changed = {model.feature_names[i] for i in np.flatnonzero(np.abs(with_offset - trees_only)[:, :-1].max(axis=0) > 0)}
    assert changed == {name for name, coef in zip(offset.feature_names, offset.coef, strict=True) if coef != 0}
    assert "fc_precip_7d_mm" in changed and "cnt_30d" not in changed


def test_more_forecast_rain_never_lowers_the_probability(lightgbm_and_rows):
    """The synthetic city's truth: rain raises every cell's rate. Monotone trees on top of a
    weather offset with a positive rain coefficient can only follow it."""
    model, rows = lightgbm_and_rows
    p = model.predict_proba(rows)
    for extra_mm in (5.0, 20.0, 60.0):
        wetter = model.predict_proba(rows.with_columns(pl.col("fc_precip_7d_mm") + extra_mm))
        assert (wetter >= p - 1e-12).all()
    assert model.predict_proba(rows.with_columns(pl.col("fc_precip_7d_mm") + 60.0)).mean() > p.mean()


def test_a_day_with_no_cell_to_explain_is_scored_without_drivers(lightgbm_and_rows):
    """Issue 12: an older day where no cell is above the low band asked TreeSHAP for zero rows,
    and LightGBM divided by zero. Seen from long after, such a day has no driver at all."""
    model, rows = lightgbm_and_rows
    day = rows.filter(pl.col("day") == rows["day"].min())
    quiet = replace(SETTINGS, bands=RiskBands(medium_from=0.98, high_from=0.99))
    scored = score(model, day, quiet, today=day["day"].max() + timedelta(days=400))
    assert scored.height == day.height and (scored["risk_band"] == "low").all()
    assert (scored["drivers"].list.len() == 0).all()
    assert model.scorer.contributions(day.head(0)).shape == (0, len(model.feature_names) + 1)


def test_an_empty_frame_scores_to_an_empty_frame_of_the_schema(lightgbm_and_rows):
    model, rows = lightgbm_and_rows
    scored = score(model, rows.head(0), SETTINGS)
    assert scored.is_empty() and scored.schema == pl.Schema(PREDICTIONS_SCHEMA)
    assert model.predict_proba(rows.head(0)).shape == (0,)
