"""When the model retrains: every Monday, and whenever the feature store reports drift.

- `weekly_retrain_schedule`: Mondays 05:00 Chicago, after the nightly ingest, runs
  `weekly_retrain` (risk_model, model_evaluation, model_card) for the week's cutoff.
- `drift_retrain_sensor`: when the latest evaluation of `cell_day_features`' `drift_psi` check
  failed (a feature's PSI above the warning threshold), requests the same job for the current
  week's cutoff, once per failed evaluation, tagged with the reason.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from chicago_risk.config import CHICAGO_TZ
from chicago_risk.models.assets import model_card, model_evaluation, risk_model
from chicago_risk.partitions import model_partitions

DRIFT_CHECK = dg.AssetCheckKey(dg.AssetKey("cell_day_features"), "drift_psi")
RETRAIN_REASON_TAG = "chicago-risk/retrain-reason"

weekly_retrain_job = dg.define_asset_job(
    "weekly_retrain",
    selection=dg.AssetSelection.assets(risk_model, model_evaluation, model_card),
    partitions_def=model_partitions,
    description="Train every kind of model at the week's cutoff, backtest it, write its model card.",
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
    if record is None or record.status != AssetCheckExecutionRecordStatus.FAILED:
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


MODEL_JOBS = [weekly_retrain_job]
MODEL_SCHEDULES = [weekly_retrain_schedule]
MODEL_SENSORS = [drift_retrain_sensor]
