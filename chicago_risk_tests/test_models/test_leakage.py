"""No label window of a training (or calibration) row reaches the cutoff or a test fold, and
calibration rows are disjoint from training rows."""

from datetime import date, timedelta
from itertools import pairwise
from typing import cast

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chicago_risk.config import MODEL_SETTINGS
from chicago_risk.models.backtest import Fold, monthly_folds, run_backtest, trainable_folds
from chicago_risk.models.windows import (
    CALIBRATION,
    TRAIN,
    InsufficientHistoryError,
    last_labelled_day,
    plan_window,
)
from chicago_risk_tests.fixtures.synthetic import quick_settings

HORIZON = 7


def labelled(small_city) -> pl.DataFrame:
    features, labels, _ = small_city
    return features.join(labels, on=["h3_id", "day"])


@pytest.mark.parametrize("cutoff", [date(2023, 6, 5), date(2024, 3, 4), date(2024, 5, 20)])
def test_training_and_calibration_rows_end_eight_days_before_the_cutoff(small_city, cutoff):
    rows = labelled(small_city)
    window = plan_window(cutoff, cast(date, rows["day"].min()), MODEL_SETTINGS.training, MODEL_SETTINGS.calibration)
    train, calibration_rows = window.split(rows)
    assert last_labelled_day(cutoff) == cutoff - timedelta(days=8)
    for part in (train, calibration_rows):
        # the label of day t covers t+1..t+7: it must end before the cutoff
        assert cast(date, part["day"].max()) + timedelta(days=HORIZON) < cutoff
    assert not rows.filter(pl.col("day") <= window.last_day).is_empty()


def test_calibration_days_are_disjoint_from_training_and_keep_the_horizon_apart(small_city):
    rows = labelled(small_city)
    window = plan_window(
        date(2024, 5, 20), cast(date, rows["day"].min()), MODEL_SETTINGS.training, MODEL_SETTINGS.calibration
    )
    train_days = set(window.days(TRAIN).to_list())
    calibration_days = set(window.days(CALIBRATION).to_list())
    assert train_days and calibration_days and not train_days & calibration_days
    gap = min(abs((t - c).days) for t in train_days for c in calibration_days)
    assert gap > HORIZON  # no training label window overlaps a calibration row, nor the reverse
    train, calibration_rows = window.split(rows)
    assert set(train["day"].unique().to_list()) == train_days
    assert set(calibration_rows["day"].unique().to_list()) == calibration_days


def test_the_split_of_rows_in_day_order_is_the_filter_of_each_role(small_city):
    """Rows in day order are cut into slices (no copy): they must be exactly what filtering each
    role's days gives, with days missing, days past the window, rows in any order, or none."""
    window = plan_window(
        date(2024, 5, 20), date(2023, 1, 2), MODEL_SETTINGS.training, MODEL_SETTINGS.calibration
    )
    block_start, block_end = window.calibration_blocks[0]
    missing = [window.first_day, block_start, block_end, block_end + timedelta(days=1), window.last_day]
    rows = labelled(small_city).filter(~pl.col("day").is_in(missing)).sort("day", "h3_id")
    assert cast(date, rows["day"].max()) > window.last_day  # days the window must leave out
    expected = [rows.filter(pl.col("day").is_in(window.days(role).implode())) for role in (TRAIN, CALIBRATION)]
    for part, filtered in zip(window.split(rows), expected, strict=True):
        assert_frame_equal(part, filtered)
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=1)
    for part, filtered in zip(window.split(shuffled), expected, strict=True):
        assert_frame_equal(part.sort("day", "h3_id"), filtered)
    assert [part.height for part in window.split(rows.head(0))] == [0, 0]


def test_the_calibration_slice_spans_the_seasons_of_the_last_year(small_city):
    rows = labelled(small_city)
    window = plan_window(
        date(2024, 5, 20), cast(date, rows["day"].min()), MODEL_SETTINGS.training, MODEL_SETTINGS.calibration
    )
    described = window.describe()
    assert len(described["calibration_blocks"]) == MODEL_SETTINGS.calibration.blocks
    seasons = {(month % 12) // 3 for month in described["calibration_months"]}
    assert seasons == {0, 1, 2, 3}
    first_block_start = date.fromisoformat(described["calibration_blocks"][-1][0])
    assert (window.last_day - first_block_start).days < 365


def test_too_short_a_history_fails_clearly(small_city):
    rows = labelled(small_city)
    with pytest.raises(InsufficientHistoryError, match="at least 56 are needed"):
        plan_window(
            date(2023, 3, 13), cast(date, rows["day"].min()), MODEL_SETTINGS.training, MODEL_SETTINGS.calibration
        )


def test_monthly_folds_are_whole_months_ending_by_the_last_labelled_day():
    folds = monthly_folds(date(2024, 5, 5), 12)
    assert (folds[0].start, folds[-1].end) == (date(2023, 5, 1), date(2024, 4, 30))
    assert all(a.end + timedelta(days=1) == b.start for a, b in pairwise(folds))
    assert monthly_folds(date(2024, 4, 30), 1) == [Fold(date(2024, 4, 1), date(2024, 4, 30))]


def test_backtest_training_rows_end_a_horizon_before_each_fold(small_city):
    rows = labelled(small_city)
    folds = monthly_folds(date(2024, 5, 5), 3)
    result = run_backtest(
        rows, folds, cast(date, rows["day"].min()), quick_settings(rounds=10), kinds=("climatology", "persistence")
    )
    facts = result.folds
    assert facts.height == 3
    for fact in facts.iter_rows(named=True):
        assert fact["training_last_day"] + timedelta(days=HORIZON) < fact["test_first_day"]
        assert fact["calibration_last_day"] + timedelta(days=HORIZON) < fact["test_first_day"]
        assert fact["test_first_day"] == fact["fold_start"]
    assert result.metrics.select("model", "fold_start").unique().height == 2 * 3
    assert cast(int, result.predictions.group_by("model", "fold_start").len()["len"].min()) > 0


def test_a_young_warehouse_backtests_only_the_months_it_can_train_for():
    folds = monthly_folds(last_labelled_day(date(2019, 6, 10)), 12)
    trainable = trainable_folds(folds, date(2019, 1, 1), MODEL_SETTINGS)
    assert [f.start for f in trainable][-1] == date(2019, 5, 1)
    assert all(f.start >= date(2019, 3, 1) for f in trainable)  # not the months before the data
    for fold in trainable:  # each trains only on the past, with room for its calibration slice
        plan_window(fold.start, date(2019, 1, 1), MODEL_SETTINGS.training, MODEL_SETTINGS.calibration)
    with pytest.raises(InsufficientHistoryError, match=r"no fold of .* has enough labelled history"):
        trainable_folds(folds, date(2019, 5, 20), MODEL_SETTINGS)
