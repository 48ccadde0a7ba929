"""The evaluation metrics against hand-computed cases and scikit-learn."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.metrics import log_loss as sklearn_log_loss

from chicago_risk.models import metrics as M


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    p = rng.beta(1, 6, 20_000)
    y = (rng.random(p.size) < p).astype(float)
    return y, p


def test_brier_log_loss_auroc_pr_auc_match_sklearn(scored):
    y, p = scored
    assert M.brier(y, p) == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert M.log_loss(y, p) == pytest.approx(sklearn_log_loss(y, p), rel=1e-12)
    assert M.auroc(y, p) == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    assert M.pr_auc(y, p) == pytest.approx(average_precision_score(y, p), rel=1e-12)


def test_hand_computed_brier_log_loss_bss_and_single_class():
    y, p = np.array([1, 0, 1, 0]), np.array([0.8, 0.2, 0.6, 0.4])
    assert M.brier(y, p) == pytest.approx((0.04 + 0.04 + 0.16 + 0.16) / 4)
    assert M.log_loss(y, p) == pytest.approx(-(2 * np.log(0.8) + 2 * np.log(0.6)) / 4)
    # the reference says 0.5 everywhere: Brier 0.25
    assert M.brier_skill_score(y, p, np.full(4, 0.5)) == pytest.approx(1 - 0.1 / 0.25)
    assert np.isnan(M.auroc(np.zeros(4), p))
    assert np.isnan(M.calibration_slope(np.ones(4), p))


def test_ece_equal_mass_bins_by_hand():
    # two bins of two rows: |0.5 - 0.15| and |1.0 - 0.85|, each half the rows
    y, p = np.array([0, 1, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    assert M.expected_calibration_error(y, p, bins=2) == pytest.approx((0.35 + 0.15) / 2)
    # one bin: |mean y - mean p|
    assert M.expected_calibration_error(y, p, bins=1) == pytest.approx(abs(0.75 - 0.5))
    assert M.equal_mass_bins(np.linspace(0, 1, 30), 15).tolist() == np.repeat(np.arange(15), 2).tolist()


def test_ece_is_small_for_calibrated_and_large_for_shifted_forecasts(scored):
    y, p = scored
    assert M.expected_calibration_error(y, p) < 0.01
    assert M.expected_calibration_error(y, np.clip(p + 0.1, 0, 1)) == pytest.approx(0.1, abs=0.01)


def test_logistic_fit_and_calibration_slope_match_sklearn():
    rng = np.random.default_rng(5)
    x = rng.normal(size=5_000)
    y = (rng.random(x.size) < M.sigmoid(-1.0 + 0.5 * x)).astype(float)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(x[:, None], y)
    a, b = M.fit_logistic_1d(x, y)
    assert a == pytest.approx(reference.intercept_[0], rel=1e-4)
    assert b == pytest.approx(reference.coef_[0, 0], rel=1e-4)
    # forecasts twice as extreme as the truth (in log-odds) have a slope of one half
    truth = M.sigmoid(rng.normal(-1.5, 1.0, 200_000))
    outcome = (rng.random(truth.size) < truth).astype(float)
    assert M.calibration_slope(outcome, M.sigmoid(2 * M.logit(truth))) == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="both classes"):
        M.fit_logistic_1d(x, np.zeros_like(x))


def test_top_share_weights_split_boundary_ties():
    day = [date(2024, 1, 1)] * 10
    p = [0.9, 0.9, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01]
    # 10% of 10 cells is one cell; three tie for it
    assert M.top_share_weights(day, p, 0.1).tolist() == pytest.approx([1 / 3] * 3 + [0] * 7)
    # 20%: two cells of the three tied
    assert M.top_share_weights(day, p, 0.2).tolist() == pytest.approx([2 / 3] * 3 + [0] * 7)
    # 40%: the three, and the next one
    assert M.top_share_weights(day, p, 0.4).tolist() == pytest.approx([1] * 4 + [0] * 6)


def test_precision_and_capture_per_day_by_hand():
    d1, d2 = date(2024, 1, 1), date(2024, 1, 2)
    frame = pl.DataFrame(
        {
            "day": [d1] * 4 + [d2] * 4,
            "p": [0.9, 0.1, 0.2, 0.3, 0.1, 0.2, 0.8, 0.7],
            "y": [1, 0, 1, 0, 0, 1, 0, 1],
            "n": [2, 0, 1, 0, 0, 3, 0, 4],
        }
    )
    # top 25% = one cell a day: day 1 a hit (2 incidents), day 2 a miss
    assert M.precision_at(frame["day"], frame["y"], frame["p"], 0.25) == pytest.approx(0.5)
    assert M.capture_at(frame["day"], frame["n"], frame["p"], 0.25) == pytest.approx(2 / 10)
    # top 50%: day 1 {0.9 hit, 0.3 miss}, day 2 {0.8 miss, 0.7 hit (4)}
    assert M.precision_at(frame["day"], frame["y"], frame["p"], 0.5) == pytest.approx(0.5)
    assert M.capture_at(frame["day"], frame["n"], frame["p"], 0.5) == pytest.approx(6 / 10)
    # PAI: the share of incidents caught over the share of cells flagged
    assert M.pai_at(frame["day"], frame["n"], frame["p"], 0.25) == pytest.approx((2 / 10) / 0.25)
    assert M.pai_at(frame["day"], frame["n"], frame["p"], 0.5) == pytest.approx((6 / 10) / 0.5)
    # a random ranking scores 1 on average; flagging every cell catches all at PAI 1
    assert M.pai_at(frame["day"], frame["n"], np.zeros(8), 0.5) == pytest.approx(1.0)
    assert M.pai_at(frame["day"], frame["n"], frame["p"], 1.0) == pytest.approx(1.0)


def test_pai_divides_by_the_share_really_flagged_on_a_small_grid():
    """Five cells, 5%: one cell a day is flagged (ceil), a fifth of the grid, not a twentieth."""
    day = [date(2024, 1, 1)] * 5
    assert M.pai_at(day, [1, 1, 0, 0, 0], [0.9, 0.1, 0.1, 0.1, 0.1], 0.05) == pytest.approx(0.5 / 0.2)


def test_oracle_share_and_evaluate_bundle(scored):
    assert M.oracle_share(0.35, 0.40, 0.30) == pytest.approx(0.5)
    assert M.oracle_share(0.40, 0.40, 0.30) == 0.0
    y, p = scored
    days = [date(2024, 1, 1) + timedelta(days=i % 20) for i in range(y.size)]
    frame = pl.DataFrame(
        {"day": days, "y_event_7d": y.astype(np.int8), "n_events_7d": y.astype(np.int32), "p": p,
         "p_climatology": np.full(y.size, y.mean()), "p_oracle_7d": p}
    )
    metrics = M.evaluate(frame, oracle="p_oracle_7d")
    assert set(metrics) == {*M.METRIC_NAMES, M.ORACLE_METRIC}
    assert metrics["oracle_share"] == pytest.approx(1.0)
    assert metrics["bss"] > 0
    assert 0 <= metrics["capture_at_1pct"] <= metrics["capture_at_5pct"] <= 1
