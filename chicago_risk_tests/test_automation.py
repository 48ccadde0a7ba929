"""How derived assets follow their inputs: old partitions too, never past a failed blocking check,
and one running sensor for the whole graph."""


import dagster as dg
import pytest

from chicago_risk.automation import FOLLOW_UPSTREAM
from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.partitions import daily_partitions, partition_range_tags, single_run

OLD_DAYS = ("2024-03-01", "2024-03-02", "2024-03-03")


def _graph(check_passes: bool) -> list[dg.AssetsDefinition]:
    @dg.asset(
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        check_specs=[dg.AssetCheckSpec("plausible", asset="upstream_day", blocking=True)],
    )
    def upstream_day(context: dg.AssetExecutionContext):
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="plausible", passed=check_passes)

    @dg.asset(
        partitions_def=daily_partitions, backfill_policy=single_run, deps=[upstream_day],
        automation_condition=FOLLOW_UPSTREAM,
    )
    def derived_day() -> None: ...

    return [upstream_day, derived_day]


@pytest.mark.parametrize("check_passes", [True, False])
def test_old_partitions_follow_their_inputs_unless_a_blocking_check_failed(instance, check_passes):
    assets = _graph(check_passes)
    first = dg.evaluate_automation_conditions(defs=assets, instance=instance)
    assert first.total_requested == 0
    # a backfill of old days upstream (a failed blocking check fails its run: raise_on_error off)
    dg.materialize(
        assets[:1], instance=instance, tags=partition_range_tags(OLD_DAYS[0], OLD_DAYS[-1]), raise_on_error=False
    )
    second = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=first.cursor)
    requested = second.get_requested_partitions(dg.AssetKey("derived_day"))
    assert requested == (set(OLD_DAYS) if check_passes else set())


def test_one_running_sensor_evaluates_every_asset_that_follows_its_inputs(tmp_path):
    defs = build_definitions(Settings(data_dir=tmp_path))
    graph = defs.resolve_asset_graph()
    (sensor,) = [s for s in defs.sensors or () if s.name == "follow_upstream_sensor"]
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    automated = {key for key in graph.get_all_asset_keys() if graph.get(key).automation_condition is not None}
    assert sensor.asset_selection is not None and automated <= sensor.asset_selection.resolve(graph)
    names = {key.to_user_string() for key in automated}
    # every derived daily layer follows; ingest runs on its schedule, models on theirs
    assert {"cell_day_features", "cell_day_labels", "risk_predictions", "cost_layer", "recommendation_clusters",
            "recommendation_schedule", "published/risk_predictions", "feature_registry"} <= names
    assert not names & {"raw_311_requests", "weather_daily", "risk_model", "model_evaluation"}


def test_a_first_evaluation_over_old_history_requests_nothing(instance):
    """The sensor's first tick in a warehouse with years of upstream history and a few derived
    days (what make demo leaves) must not backfill every derived day never built."""
    assets = _graph(check_passes=True)
    dg.materialize(assets[:1], instance=instance, tags=partition_range_tags("2024-01-01", "2024-03-31"))
    dg.materialize(assets, instance=instance, tags=partition_range_tags("2024-03-29", "2024-03-31"))
    assert dg.evaluate_automation_conditions(defs=assets, instance=instance).total_requested == 0
