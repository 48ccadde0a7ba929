"""Partition definitions, declared once for the whole graph."""

import dagster as dg

from chicago_risk.config import CHICAGO_TZ, DATA_START

# One partition per Chicago local day, up to yesterday (the last complete day).
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=DATA_START.isoformat(), timezone=CHICAGO_TZ
)

# Assets that compute a whole window at once are backfilled in one run, not one run per day.
single_run = dg.BackfillPolicy.single_run()

# A label for as-of date t needs the seven days after t, so its partitions end a week earlier.
LABEL_HORIZON_DAYS = 7
label_partitions = dg.DailyPartitionsDefinition(
    start_date=DATA_START.isoformat(), timezone=CHICAGO_TZ, end_offset=-LABEL_HORIZON_DAYS
)
