"""Jobs, schedules and sensors of the whole graph, declared once.

- `nightly_ingest` (02:30 Chicago): ingest yesterday and re-read the trailing 14 days (requests
  change after they are filed: closures, status), as one run. Everything downstream (features,
  labels that became complete, predictions, cost, recommendations, publication) follows through
  `follow_upstream_sensor`.
- `weekly_retrain` (Mondays 05:00): train every kind of model at the week's cutoff, decide the
  week's champion and challenger (`model_champion`), backtest, write the model card; the week's
  predictions follow the champion the same way.
- `drift_retrain_sensor`: a drift warning from the feature store requests `weekly_retrain` for
  the current week, once per warning.
- `follow_upstream_sensor`: evaluates the automation conditions of `chicago_risk.automation`
  and launches what they request, as backfills by each asset's policy.

Jobs select assets by key, so this module imports no asset code.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from chicago_risk.config import CHICAGO_TZ
from chicago_risk.partitions import daily_partitions, model_partitions, partition_range_tags

# Requests change after they are filed (closures, status), so each night re-reads two weeks.
REREAD_DAYS = 14

nightly_ingest_job = dg.define_asset_job(
    "nightly_ingest",
    selection=dg.AssetSelection.groups("ingest", "demo_city"),
    partitions_def=daily_partitions,
    description="Ingest yesterday and re-read the trailing 14 days, as one run; the derived layers follow.",
)


@dg.schedule(job=nightly_ingest_job, cron_schedule="30 2 * * *", execution_timezone=CHICAGO_TZ)
def nightly_ingest_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    start = max(yesterday - timedelta(days=REREAD_DAYS), daily_partitions.start.date())
    return dg.RunRequest(
        run_key=f"nightly-ingest-{yesterday}",
        tags=partition_range_tags(start.isoformat(), yesterday.isoformat()),
    )


DRIFT_CHECK = dg.AssetCheckKey(dg.AssetKey("cell_day_features"), "drift_psi")
RETRAIN_REASON_TAG = "chicago-risk/retrain-reason"

weekly_retrain_job = dg.define_asset_job(
    "weekly_retrain",
    selection=dg.AssetSelection.assets("risk_model", "model_champion", "model_evaluation", "model_card"),
    partitions_def=model_partitions,
    description="Train every kind of model at the week's cutoff, decide its champion and challenger, backtest "
    "it, write its model card.",
)


def week_cutoff(day: date) -> date:
    """The Monday on or before `day`: the cutoff (partition key) of its week."""
    return day - timedelta(days=day.weekday())


@dg.schedule(job=weekly_retrain_job, cron_schedule="0 5 * * 1", execution_timezone=CHICAGO_TZ)
def weekly_retrain_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    cutoff = week_cutoff(context.scheduled_execution_time.date())
    return dg.RunRequest(
        run_key=f"weekly-retrain-{cutoff}",
        partition_key=cutoff.isoformat(),
        tags={RETRAIN_REASON_TAG: "schedule"},
    )


@dg.sensor(job=weekly_retrain_job, minimum_interval_seconds=15 * 60)
def drift_retrain_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    record = context.instance.get_latest_asset_check_evaluation_record(DRIFT_CHECK)
    evaluation = record.evaluation if record is not None else None
    if record is None or evaluation is None or evaluation.passed:
        return dg.SkipReason("the feature store's drift check has not warned")
    if context.cursor and int(context.cursor) >= record.id:
        return dg.SkipReason(f"drift evaluation {record.id} already requested a retraining")
    context.update_cursor(str(record.id))
    cutoff = week_cutoff(datetime.now(ZoneInfo(CHICAGO_TZ)).date())
    return dg.RunRequest(
        run_key=f"drift-retrain-{record.id}",
        partition_key=cutoff.isoformat(),
        tags={RETRAIN_REASON_TAG: f"feature drift (check evaluation {record.id}, run {record.run_id})"},
    )


# Running from the start: Dagster's default automation sensor would have to be switched on in
# the UI first, and until then no layer would follow its inputs.
follow_upstream_sensor = dg.AutomationConditionSensorDefinition(
    "follow_upstream_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)

JOBS = [nightly_ingest_job, weekly_retrain_job]
SCHEDULES = [nightly_ingest_schedule, weekly_retrain_schedule]
SENSORS = [drift_retrain_sensor, follow_upstream_sensor]
