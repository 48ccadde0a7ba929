"""Retraining: the weekly schedule targets the week's cutoff; a drift warning from the feature
store requests a retraining run, once per warning."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from chicago_risk.partitions import model_partitions
from chicago_risk.schedules import (
    RETRAIN_REASON_TAG,
    drift_retrain_sensor,
    week_cutoff,
    weekly_retrain_job,
    weekly_retrain_schedule,
)

CHICAGO = ZoneInfo("America/Chicago")


def test_weekly_schedule_trains_the_cutoff_of_its_monday():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 9, 5, 0, tzinfo=CHICAGO))
    request = weekly_retrain_schedule(context)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-03-09"
    # the week's own partition already exists on its Monday morning (end_offset=1)
    keys = model_partitions.get_partition_keys(current_time=datetime(2026, 3, 9, 5, tzinfo=CHICAGO))
    assert keys[-1] == request.partition_key
    assert request.tags[RETRAIN_REASON_TAG] == "schedule"
    assert weekly_retrain_job.name == "weekly_retrain"


def _features_with_drift(drifted: bool) -> dg.AssetsDefinition:
    @dg.asset(name="cell_day_features", check_specs=[dg.AssetCheckSpec("drift_psi", asset="cell_day_features")])
    def features():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="drift_psi", passed=not drifted, severity=dg.AssetCheckSeverity.WARN)

    return features


def test_a_drift_warning_requests_one_retraining_of_the_current_week():
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(drift_retrain_sensor(context), dg.SkipReason)
        dg.materialize([_features_with_drift(False)], instance=instance)
        assert isinstance(drift_retrain_sensor(context), dg.SkipReason)
        dg.materialize([_features_with_drift(True)], instance=instance)
        request = drift_retrain_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.partition_key == week_cutoff(datetime.now(CHICAGO).date()).isoformat()
        assert "feature drift" in request.tags[RETRAIN_REASON_TAG]
        # the same warning does not ask twice
        again = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        assert isinstance(drift_retrain_sensor(again), dg.SkipReason)
