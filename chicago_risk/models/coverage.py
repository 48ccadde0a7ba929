"""Which as-of days a model may learn from: the days the 311 source covers.

A warehouse can hold feature and label rows for days the 311 source has no rows for (weather
reaches back further than the 311 archive, or the archive has a hole): those rows say "rain, and
no incident", which is not what happened but what was not recorded. A training, calibration or
backtest row of as-of day t is **covered** when

- its features' history lies inside the source's coverage: t - (HISTORY_DAYS - 1) >= the
  source's first day (the longest feature window, two years of incidents for the shrunk rate;
  a younger row undercounts every history feature). Except where the source begins with the
  warehouse itself (its first row within `long_gap_days` of DATA_START): there is no earlier
  history to miss, and the feature store counts from DATA_START by design (a young warehouse
  trains from its first months, as before); and
- its label window t+1..t+7 ends on or before the source's last day.

So a model window never starts before the first covered as-of day (`first_covered_day`). Gaps
inside the coverage (`long_gaps`: at least `long_gap_days` consecutive days without a row) are
warned about, in the asset's metadata and its log, not cut out: a quiet week and a missing week
look the same to the rows, and a person must judge which it is.

Coverage (first and last day) is read in one place, `chicago_risk.models.data.source_coverage`:
from the source table itself until the ingest side records coverage per source, then from that
record. Gaps need the source's days themselves.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from chicago_risk.config import DATA_START, LABEL_HORIZON_DAYS
from chicago_risk.features.registry import HISTORY_DAYS
from chicago_risk.config import TrainingSettings
from chicago_risk.models.data import COVERAGE_SOURCE, Coverage, first_labelled_day, source_coverage
from chicago_risk.models.windows import TrainingWindow
from chicago_risk.resources.warehouse import WarehouseResource


def first_covered_day(coverage: Coverage, long_gap_days: int) -> date:
    """The first as-of day whose feature history the source covers."""
    if coverage.first_day < DATA_START + timedelta(days=long_gap_days):
        return coverage.first_day  # the source starts with the warehouse: nothing earlier to miss
    return coverage.first_day + timedelta(days=HISTORY_DAYS - 1)


def first_trainable_day(warehouse: WarehouseResource, training: TrainingSettings) -> tuple[date, date, Coverage | None]:
    """(first covered labelled as-of day, first labelled day, coverage): where windows may start."""
    labelled = first_labelled_day(warehouse)
    coverage = source_coverage(warehouse)
    if coverage is None:
        return labelled, labelled, None
    return max(labelled, first_covered_day(coverage, training.long_gap_days)), labelled, coverage

def long_gaps(warehouse: WarehouseResource, source: str, first: date, last: date, min_days: int) -> list[tuple[date, date]]:
    """Runs of at least `min_days` consecutive days first..last without a row of `source`."""
    present = warehouse.query(f'SELECT DISTINCT "day" AS day FROM {source} WHERE "day" BETWEEN ? AND ?', [first, last])
    days = pl.date_range(first, last, eager=True).to_frame("day").with_columns(
        empty=~pl.col("day").is_in(present["day"].implode())
    )
    runs = (
        days.with_columns(run=pl.col("empty").rle_id())
        .filter(pl.col("empty"))
        .group_by("run")
        .agg(start=pl.col("day").min(), end=pl.col("day").max(), days=pl.len())
        .filter(pl.col("days") >= min_days)
        .sort("start")
    )
    return list(zip(runs["start"].to_list(), runs["end"].to_list(), strict=True))


def window_warnings(
    warehouse: WarehouseResource, coverage: Coverage | None, first_labelled: date, window: TrainingWindow,
    training: TrainingSettings,
) -> list[str]:
    """What a person should know about a window's coverage: it would have started before the
    source covers it (and was cut), or it holds a long gap, or coverage is unknown."""
    if coverage is None:
        return [f"{COVERAGE_SOURCE} is not in the warehouse: the coverage of days {window.first_day}..{window.last_day} is unknown"]
    warnings = []
    requested = max(first_labelled, window.last_day - timedelta(days=training.training_days - 1))
    covered = first_covered_day(coverage, training.long_gap_days)
    if requested < covered:
        warnings.append(
            f"cutoff {window.cutoff}: the window would start on {requested}, before {COVERAGE_SOURCE} covers a "
            f"row's history (rows from {coverage.first_day}, so as-of days from {covered}); "
            f"it starts on {window.first_day}"
        )
    history_first = max(window.first_day - timedelta(days=HISTORY_DAYS - 1), coverage.first_day)
    label_last = window.last_day + timedelta(days=LABEL_HORIZON_DAYS)
    for start, end in long_gaps(warehouse, coverage.source, history_first, label_last, training.long_gap_days):
        warnings.append(
            f"cutoff {window.cutoff}: {COVERAGE_SOURCE} has no row on {start}..{end} ({(end - start).days + 1} days) "
            "inside the window's history or labels: a gap in the source reads as a quiet spell"
        )
    return warnings
