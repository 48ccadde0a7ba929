"""The backfill runner: on toy assets, unpartitioned nodes run once, warnings never fail a window,
failed blocking checks do; on the real graph, a window brings the history it reads."""

from datetime import date, timedelta

import dagster as dg
import pytest

from chicago_risk.backfill import BackfillError, default_steps, materialize_window, plan_backfill
from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.features.registry import HISTORY_DAYS
from chicago_risk.models.assets import TRAINING_READ_DAYS
from chicago_risk.partitions import daily_partitions, single_run


@dg.asset
def lookup_table() -> int:
    return 1


def _daily_with_check(severity: dg.AssetCheckSeverity):
    @dg.asset(
        name="daily_table",
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        deps=[lookup_table],
        check_specs=[dg.AssetCheckSpec("looks_odd", asset="daily_table", blocking=True)],
    )
    def daily_table(context: dg.AssetExecutionContext):
        yield dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})
        yield dg.AssetCheckResult(check_name="looks_odd", passed=False, severity=severity)

    return daily_table


def test_unpartitioned_assets_run_once_and_warnings_are_reported(instance):
    defs = dg.Definitions(assets=[lookup_table, _daily_with_check(dg.AssetCheckSeverity.WARN)])
    lines = []
    runs = materialize_window(defs, date(2024, 1, 1), date(2024, 1, 5), instance, echo=lines.append)
    assert [(run.assets, run.partitions) for run in runs] == [(("lookup_table",), 1), (("daily_table",), 5)]
    assert instance.get_latest_materialization_event(dg.AssetKey("lookup_table")) is not None
    assert any("warning: daily_table:looks_odd did not pass" in line for line in lines)


def test_a_failed_blocking_check_fails_the_window(instance):
    defs = dg.Definitions(assets=[lookup_table, _daily_with_check(dg.AssetCheckSeverity.ERROR)])
    with pytest.raises(BackfillError, match="checks failed: daily_table:looks_odd"):
        materialize_window(defs, date(2024, 1, 1), date(2024, 1, 5), instance, echo=lambda _: None)


def test_map_layers_for_a_few_days_bring_the_history_their_models_read(tmp_path):
    """Predictions for three days need the week's model, which trains on two years of features,
    which count four years of 311 requests: the plan materializes exactly that, nothing later."""
    defs = build_definitions(Settings(data_dir=tmp_path))
    start, end = date(2025, 6, 4), date(2025, 6, 6)  # a Wednesday to a Friday
    select = [
        "risk_predictions", "risk_model", "cell_day_features", "cell_day_labels", "raw_311_requests",
        "raw_311_quarantine", "weather_daily", "feature_registry",
    ]
    plan = {run.names: run for run in plan_backfill(defs, start, end, select)}
    assert plan[("risk_model",)].partition_keys == ("2025-06-02",)  # the Monday before: its cutoff
    assert plan[("risk_predictions",)].partition_keys == ("2025-06-04", "2025-06-05", "2025-06-06")
    features = plan[("cell_day_features",)].partition_keys
    assert date.fromisoformat(features[0]) <= date(2025, 6, 2) - timedelta(days=TRAINING_READ_DAYS)
    assert features[-1] == "2025-06-06"
    raw = plan[("raw_311_coverage", "raw_311_quarantine", "raw_311_requests")].partition_keys
    assert date.fromisoformat(raw[0]) == date.fromisoformat(features[0]) - timedelta(days=HISTORY_DAYS - 1)
    labels = plan[("cell_day_labels",)].partition_keys
    assert date.fromisoformat(labels[-1]) >= date(2025, 6, 2) - timedelta(days=8)
    assert plan[("feature_registry",)].partition_keys == ()


def test_the_default_steps_build_the_served_days_then_assess_the_newest_model(tmp_path):
    defs = build_definitions(Settings(data_dir=tmp_path))
    layers, evaluation = default_steps(defs, date(2026, 11, 20), date(2026, 11, 26))  # to a Thursday
    assert (layers.start, layers.end) == (date(2026, 11, 20), date(2026, 11, 26))
    assert "risk_predictions" in layers.select and "model_evaluation" not in layers.select
    assert evaluation.select == ("demo_truth", "model_evaluation", "model_card")
    assert evaluation.start == date(2026, 11, 23)  # the newest Monday, whose model is served
    planned = plan_backfill(defs, evaluation.start, evaluation.end, evaluation.select)
    assert [run.partition_keys for run in planned if run.names == ("model_evaluation",)] == [("2026-11-23",)]
