"""Partition definitions, declared once for the whole graph."""

import os
from datetime import timedelta

import dagster as dg

from chicago_risk.config import CHICAGO_TZ, LABEL_HORIZON_DAYS
from chicago_risk.config.settings import read_data_start

# The first day of the data (CHICAGO_RISK_DATA_START), read once: every definition below and
# every history window clipped at the data's start uses this day.
DATA_FIRST_DAY = read_data_start(os.environ)

# One partition per Chicago local day, up to yesterday (the last complete day).
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=DATA_FIRST_DAY.isoformat(), timezone=CHICAGO_TZ
)

# Assets that compute a whole window at once are backfilled in one run, not one run per day.
single_run = dg.BackfillPolicy.single_run()

# The memory-heavy daily layers (every cell of every day: predictions, cost and their published
# copies; features and labels below) are backfilled a year at a time: a run holds a year of the
# city, not a whole window (seven years of predictions held 5-8 GiB in one run). Each day of them
# depends on other assets only, so the runs of one window are independent; `chicago-risk
# materialize` splits its runs the same way (chicago_risk.backfill.plan).
RUN_DAYS = 366
year_at_a_time = dg.BackfillPolicy.multi_run(max_partitions_per_run=RUN_DAYS)

# Features and labels go 900 days a run: each run of features recomputes the 730 days of history
# before its first day (about 4 s here), and 874 days of features held 2.1 GiB in one run (a
# year: 1.4 GiB), under the model's fit. The demo's features are then one run, two years' two.
FEATURE_RUN_DAYS = 900
features_at_a_time = dg.BackfillPolicy.multi_run(max_partitions_per_run=FEATURE_RUN_DAYS)

# A label for as-of date t needs the seven days after t, so its partitions end a week earlier.
label_partitions = dg.DailyPartitionsDefinition(
    start_date=DATA_FIRST_DAY.isoformat(), timezone=CHICAGO_TZ, end_offset=-LABEL_HORIZON_DAYS
)

# The risk model: one partition per weekly training cutoff C, a Monday (Chicago time). A model of
# partition C is trained at the start of C on rows whose label windows end before C (as-of days
# <= C - 8) and serves the days of its week, C..C+6. `end_offset=1` makes the current week a
# partition, so Monday's retraining uses the data up to Sunday rather than waiting a week.
MODEL_PARTITIONS_START = DATA_FIRST_DAY + timedelta(days=-DATA_FIRST_DAY.weekday() % 7)  # the first Monday
model_partitions = dg.WeeklyPartitionsDefinition(
    start_date=MODEL_PARTITIONS_START.isoformat(), day_offset=1, end_offset=1, timezone=CHICAGO_TZ
)


def partition_range_tags(start: str, end: str) -> dict[str, str]:
    """Tags that make one run materialize every partition start..end (a single-run backfill)."""
    # The run tags Dagster documents for a run over a range of partitions.
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
