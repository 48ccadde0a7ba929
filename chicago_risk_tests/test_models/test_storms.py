"""Storm days: the wettest share of the backtest's test days, ties included, and each model's
mean p, observed share, AUROC and reliability on them."""

from datetime import date, timedelta
from typing import cast

import numpy as np
import polars as pl
import pytest

from chicago_risk.config import BacktestSettings
from chicago_risk.models.backtest import day_folds, plan_folds
from chicago_risk.models.storms import STORM_METRICS, storm_days, storm_metrics, storm_table

DAY0 = date(2024, 1, 1)


def _days(precip: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame({"day": [DAY0 + timedelta(days=i) for i in range(len(precip))], "precip_mm": precip},
                        schema={"day": pl.Date, "precip_mm": pl.Float64})


def test_storm_days_are_the_wettest_share_with_ties_included_and_gaps_skipped():
    precip = [0.0] * 300 + [5.0] * 60 + [40.0, 80.0, 12.0, 12.0, None]
    storms = storm_days(_days(precip), 0.01)  # 364 readings: ceil(3.64) = 4 days
    assert storms["precip_mm"].to_list() == [40.0, 80.0, 12.0, 12.0]
    tied = storm_days(_days([1.0, 9.0, 9.0, 9.0, 2.0]), 0.2)  # k = 1, but three days tie at 9 mm
    assert tied.height == 3
    assert storm_days(_days([None, None]), 0.01).is_empty()


def test_storm_metrics_report_mean_p_observed_share_auroc_and_reliability():
    rng = np.random.default_rng(0)
    rows = 5_000
    days = [DAY0 + timedelta(days=int(d)) for d in rng.integers(0, 5, rows)]
    p = rng.uniform(0.05, 0.6, rows)
    y = (rng.random(rows) < p).astype(np.int8)
    predictions = pl.DataFrame({"model": "m", "day": days, "p": p, "y_event_7d": y, "n_events_7d": y.astype(np.int32)})
    storms = _days([30.0, 0.0, 25.0, 0.0, 0.0]).filter(pl.col("precip_mm") > 0)
    table = storm_table(storm_metrics(predictions, storms, BacktestSettings(), medium_from=0.2))
    row = table.row(0, named=True)
    assert list(table.columns) == ["model", *STORM_METRICS]
    on_storms = predictions.filter(pl.col("day").is_in([DAY0, DAY0 + timedelta(days=2)]))
    assert row["days"] == 2 and row["rows"] == on_storms.height and row["precip_min_mm"] == 25.0
    assert row["mean_p"] == pytest.approx(on_storms["p"].mean())
    assert row["event_share"] == pytest.approx(on_storms["y_event_7d"].cast(pl.Float64).mean())
    assert row["auroc"] > 0.6 and row["ece"] < 0.05  # calibrated by construction
    flagged = on_storms.filter(pl.col("p") >= 0.2)
    assert row["flagged_share"] == pytest.approx(flagged.height / on_storms.height)
    assert row["flagged_capture"] == pytest.approx(
        cast(int, flagged["n_events_7d"].sum()) / cast(int, on_storms["n_events_7d"].sum())
    )


def test_folds_are_configuration_and_default_to_twelve_months():
    cutoff = date(2026, 11, 9)  # labels complete through 2026-11-01: October is the last whole month
    monthly = plan_folds(cutoff, BacktestSettings())
    assert len(monthly) == 12 and monthly[-1].end == date(2026, 10, 31) and monthly[0].start == date(2025, 11, 1)
    weekly = plan_folds(cutoff, BacktestSettings(folds=3, fold_days=7, last_test_day=date(2026, 7, 20)))
    assert weekly == day_folds(date(2026, 7, 20), 3, 7)
    assert [(f.start, f.end) for f in weekly] == [
        (date(2026, 6, 30), date(2026, 7, 6)),
        (date(2026, 7, 7), date(2026, 7, 13)),
        (date(2026, 7, 14), date(2026, 7, 20)),
    ]
    # a pinned last test day never reaches past the cutoff's labels
    late = plan_folds(cutoff, BacktestSettings(folds=1, fold_days=7, last_test_day=date(2027, 1, 1)))
    assert late[-1].end == cutoff - timedelta(days=8)
    with pytest.raises(ValueError, match="folds >= 1"):
        BacktestSettings(folds=0)
