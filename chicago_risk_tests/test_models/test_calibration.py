"""Calibration: fitted maps make miscalibrated scores honest on fresh data, and a slice that
cannot calibrate raises instead of falling back to the raw score."""

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import pytest
from sklearn.isotonic import IsotonicRegression

from chicago_risk.config import MODEL_SETTINGS
from chicago_risk.models import metrics as M
from chicago_risk.models.calibration import (
    CalibrationError,
    Calibrator,
    ConfidenceTable,
    equal_count_bins,
    fit_calibration_map,
    fit_calibrator,
)
from chicago_risk.models.model import fit_model
from chicago_risk.models.windows import plan_window
from chicago_risk_tests.fixtures.synthetic import quick_settings

SETTINGS = MODEL_SETTINGS.calibration
QUICK = quick_settings(rounds=20)


def miscalibrated(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw log-odds twice too extreme and shifted up by one: sigmoid(raw) is badly calibrated."""
    rng = np.random.default_rng(seed)
    true_log_odds = rng.normal(-2.0, 1.0, rows)
    y = (rng.random(rows) < M.sigmoid(true_log_odds)).astype(float)
    return 2 * true_log_odds + 1, y


def test_isotonic_map_gives_ece_near_zero_on_fresh_data():
    raw, y = miscalibrated(60_000, seed=1)
    calibrator = fit_calibrator(raw, y, SETTINGS)
    assert calibrator.method == "isotonic"
    fresh_raw, fresh_y = miscalibrated(60_000, seed=2)
    assert M.expected_calibration_error(fresh_y, M.sigmoid(fresh_raw)) > 0.05
    assert M.expected_calibration_error(fresh_y, calibrator(fresh_raw)) < 0.01
    # the map is sklearn's isotonic regression of the binned slice's event rates, as steps
    upper, rate, weights = equal_count_bins(raw, y, SETTINGS.isotonic_min_bin_rows)
    assert weights.min() >= SETTINGS.isotonic_min_bin_rows and weights.sum() == raw.size
    prior = SETTINGS.isotonic_prior_rows
    shrunk = (rate * weights + prior * y.mean()) / (weights + prior)
    steps = IsotonicRegression().fit_transform(np.arange(rate.size), shrunk, sample_weight=weights)
    np.testing.assert_allclose(calibrator(upper), steps, rtol=1e-12)
    assert (np.diff(calibrator(np.sort(fresh_raw))) >= 0).all()
    # in-sample, the steps keep the mean on the event rate (up to the weak prior)
    assert calibrator(raw).mean() == pytest.approx(y.mean(), abs=5e-4)
    # no step says "impossible": the lowest is at least what the prior leaves of an empty bin
    assert calibrator(raw).min() >= prior * y.mean() / (weights.max() + prior) - 1e-12


def test_small_slices_get_platt_scaling_and_it_calibrates():
    raw, y = miscalibrated(4_000, seed=3)
    assert 30 <= y.sum() < SETTINGS.isotonic_min_class_rows
    calibrator = fit_calibrator(raw, y, SETTINGS)
    assert calibrator.method == "platt"
    assert calibrator.b == pytest.approx(0.5, abs=0.1)  # undoes the doubling
    fresh_raw, fresh_y = miscalibrated(60_000, seed=4)
    assert M.expected_calibration_error(fresh_y, calibrator(fresh_raw)) < 0.015


@pytest.mark.parametrize(
    "labels, message",
    [(np.zeros(5_000), "0 event"), (np.ones(5_000), "0 non-event"), (np.r_[np.ones(10), np.zeros(4_990)], "10 event")],
)
def test_a_slice_that_cannot_calibrate_raises(labels, message):
    raw = np.random.default_rng(0).normal(size=labels.size)
    with pytest.raises(CalibrationError, match=message):
        fit_calibrator(raw, labels, SETTINGS)
    with pytest.raises(CalibrationError):
        fit_calibrator(raw, labels, SETTINGS, method="isotonic")  # forcing a method does not bypass it


def test_non_finite_scores_raise():
    raw, y = miscalibrated(5_000, seed=5)
    raw[3] = np.nan
    with pytest.raises(CalibrationError, match="not finite"):
        fit_calibrator(raw, y, SETTINGS)


def test_fit_model_with_a_single_class_calibration_slice_fails_instead_of_falling_back(small_city):
    features, labels, _ = small_city
    rows = features.join(labels, on=["h3_id", "day"])
    window = plan_window(date(2024, 3, 4), rows["day"].min(), MODEL_SETTINGS.training, SETTINGS)
    train, calibration_rows = window.split(rows)
    no_events = calibration_rows.with_columns(
        y_event_7d=pl.lit(0, dtype=pl.Int8), n_events_7d=pl.lit(0, dtype=pl.Int32)
    )
    for kind in ("persistence", "seed_logistic", "lightgbm"):
        with pytest.raises(CalibrationError, match="0 event"):
            fit_model(kind, train, no_events, window, QUICK)


def test_events_map_and_confidence():
    raw, y = miscalibrated(40_000, seed=6)
    n_events = y * (1 + np.random.default_rng(7).poisson(0.5, y.size))
    calibration = fit_calibration_map(raw, y, n_events, SETTINGS, {"rows": y.size})
    p = calibration.probability(np.sort(raw))
    expected = calibration.events(p)
    assert (expected >= p).all() and (np.diff(expected) >= -1e-12).all()
    assert expected.mean() == pytest.approx(n_events.mean(), rel=0.1)
    confidence = calibration.confidence(p)
    assert ((confidence >= 0) & (confidence <= 1)).all()
    # the same probability backed by 100x fewer calibration rows is less certain
    table = calibration.confidence
    fewer_rows = tuple(max(r // 100, 1) for r in table.rows)
    thin = ConfidenceTable(table.upper_edges, fewer_rows, table.rate, table.mean_p, table.floor)
    assert (thin(p) <= confidence + 1e-12).all() and thin(p).mean() < confidence.mean()


def test_calibrator_round_trips_through_json_and_floors_probabilities():
    raw, y = miscalibrated(20_000, seed=8)
    for method in ("isotonic", "platt"):
        calibrator = fit_calibrator(raw, y, replace(SETTINGS, isotonic_min_class_rows=1), method=method)
        again = Calibrator.from_dict(calibrator.to_dict())
        np.testing.assert_array_equal(again(raw), calibrator(raw))
        extreme = calibrator(np.array([-1e6, 1e6]))
        assert extreme[0] >= SETTINGS.probability_floor and extreme[1] <= 1 - SETTINGS.probability_floor


def test_isotonic_map_keeps_rising_beyond_the_slices_top_step():
    """A storm scores above anything the slice held: p goes on rising with the score (the
    slice's own log-odds slope), never below the top step, and a stored map does the same."""
    raw, y = miscalibrated(60_000, seed=4)
    calibrator = fit_calibrator(raw, y, SETTINGS)
    top = calibrator.y[-1]
    beyond = np.linspace(raw.max(), raw.max() + 8, 50)
    p = calibrator(beyond)
    assert np.all(np.diff(p) >= 0) and p[0] >= top and p[-1] > top + 0.1
    # on the slice's own range the map is the isotonic steps
    inside = np.sort(raw)
    steps = np.asarray(calibrator.y)[np.searchsorted(np.asarray(calibrator.x), inside, side="left")]
    np.testing.assert_array_equal(calibrator(inside), np.clip(steps, calibrator.floor, 1 - calibrator.floor))
    # the true probability there is sigmoid((raw - 1) / 2): the tail starts below it (at the top
    # step, the mean of a bin) and closes in on it
    truth = M.sigmoid((beyond - 1) / 2)
    assert np.all(p <= truth) and np.max(truth - p) < 0.15 and truth[-1] - p[-1] < 0.01
    loaded = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_array_equal(loaded(beyond), p)
