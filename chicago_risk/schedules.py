"""Jobs and schedules, declared once."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from chicago_risk.config import CHICAGO_TZ
from chicago_risk.partitions import daily_partitions

# Requests change after they are filed (closures, status), so each night re-reads two weeks.
REREAD_DAYS = 14

nightly_ingest_job = dg.define_asset_job(
    "nightly_ingest",
    selection=dg.AssetSelection.groups("ingest", "demo_city"),
    partitions_def=daily_partitions,
    description="Ingest yesterday and re-read the trailing 14 days, as one run.",
)


def partition_range_tags(start: str, end: str) -> dict[str, str]:
    """Tags that make one run materialize every partition start..end (a single-run backfill)."""
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}


@dg.schedule(job=nightly_ingest_job, cron_schedule="30 2 * * *", execution_timezone=CHICAGO_TZ)
def nightly_ingest_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    start = max(yesterday - timedelta(days=REREAD_DAYS), daily_partitions.start.date())
    return dg.RunRequest(
        run_key=f"nightly-ingest-{yesterday}",
        tags=partition_range_tags(start.isoformat(), yesterday.isoformat()),
    )
