"""The self-exciting (ETAS-style) baseline: its EM fit finds a known intensity, never lowers the
likelihood, keeps a non-increasing decay, and beats climatology where incidents cluster in time."""

from datetime import date

import numpy as np
import polars as pl
import pytest

from chicago_risk.models import metrics as M
from chicago_risk.models.etas import NEIGHBOUR_KERNELS, SELF_KERNELS, ETASScorer, fit_em
from chicago_risk.models.model import FittedModel, fit_model
from chicago_risk.models.windows import plan_window
from chicago_risk_tests.fixtures.synthetic import quick_settings

SETTINGS = quick_settings(rounds=30)
CUTOFF = date(2024, 3, 4)


def test_em_recovers_a_known_intensity_and_never_lowers_the_likelihood():
    rng = np.random.default_rng(3)
    rows, cells = 60_000, 40
    cell = rng.integers(0, cells, rows)
    x = rng.poisson(1.5, (rows, 3)).astype(float)
    mu = rng.uniform(0.005, 0.05, cells)
    theta = np.array([0.20, 0.0, 0.05])
    n = rng.poisson(7 * mu[cell] + x @ theta).astype(float)
    fitted_mu, fitted_theta, _, _ = fit_em(x, n, cell, cells, prior_days=0.0, max_iterations=3_000, tolerance=1e-12)
    np.testing.assert_allclose(fitted_theta, theta, atol=0.01)
    np.testing.assert_allclose(fitted_mu, mu, atol=0.01)
    likelihoods = [fit_em(x, n, cell, cells, 0.0, steps, 0.0)[3] for steps in (1, 2, 5, 20, 100)]
    assert np.all(np.diff(likelihoods) >= -1e-12)


@pytest.fixture(scope="module")
def etas_and_rows(small_city):
    features, labels, _ = small_city
    rows = features.join(labels, on=["h3_id", "day"])
    window = plan_window(CUTOFF, rows["day"].min(), SETTINGS.training, SETTINGS.calibration)
    train, calibration_rows = window.split(rows)
    models = {k: fit_model(k, train, calibration_rows, window, SETTINGS) for k in ("climatology", "etas")}
    return models, rows.filter(pl.col("day").is_between(CUTOFF, date(2024, 5, 31)))


def test_etas_beats_climatology_where_incidents_cluster_in_time(etas_and_rows):
    models, test = etas_and_rows
    y = test["y_event_7d"].cast(pl.Float64).to_numpy()
    auroc = {k: M.auroc(y, m.predict_proba(test)) for k, m in models.items()}
    loss = {k: M.log_loss(y, m.predict_proba(test)) for k, m in models.items()}
    assert auroc["etas"] > auroc["climatology"] + 0.02 and loss["etas"] < loss["climatology"]


def test_the_fitted_decay_never_rises_with_age_and_amplitudes_are_non_negative(etas_and_rows):
    scorer = etas_and_rows[0]["etas"].scorer
    assert isinstance(scorer, ETASScorer)
    assert min(scorer.theta) >= 0 and len(scorer.theta) == len(SELF_KERNELS) + len(NEIGHBOUR_KERNELS)
    g = scorer.decay(np.arange(400))
    assert g[0] > 0 and np.all(np.diff(g) <= 1e-15)
    params = scorer.params()
    assert params["decay_half_life_days"] is not None and 0 < params["branching_ratio"] < 1


def test_more_recent_incidents_never_lower_p_and_an_unseen_cell_gets_the_city_background(etas_and_rows):
    model, test = etas_and_rows[0]["etas"], etas_and_rows[1]
    day = test.filter(pl.col("day") == CUTOFF)
    busier = day.with_columns(pl.col(c) + 1 for c in (*SELF_KERNELS, *NEIGHBOUR_KERNELS))
    assert np.all(model.predict_proba(busier) >= model.predict_proba(day))
    stranger = day.head(1).with_columns(h3_id=pl.lit("8f0000000000000"))
    quiet = stranger.with_columns(pl.col(c) * 0 for c in (*SELF_KERNELS, *NEIGHBOUR_KERNELS))
    expected = 7 * model.scorer.city_background
    assert model.scorer.expected_events(quiet)[0] == pytest.approx(expected)


def test_etas_round_trips_through_its_registry_record(etas_and_rows):
    model, test = etas_and_rows[0]["etas"], etas_and_rows[1]
    loaded = FittedModel.from_record(model.to_record())
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    assert loaded.model_id == model.model_id
