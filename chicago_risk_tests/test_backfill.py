"""The backfill runner: on toy assets, unpartitioned nodes run once, warnings never fail a window,
failed blocking checks do; on the real graph, a window brings the history it reads."""

from datetime import date, timedelta

import dagster as dg
import pytest

from chicago_risk.backfill import BackfillError, OutOfProcess, default_steps, materialize_window, plan_window
from chicago_risk.backfill.execute import run_plan
from chicago_risk.backfill.plan import complete_selection
from chicago_risk.config import MODEL_SETTINGS, Settings
from chicago_risk.config.runs import RunSettings
from chicago_risk.definitions import build_definitions
from chicago_risk.features.registry import HISTORY_DAYS
from chicago_risk.models.assets import TRAINING_READ_DAYS
from chicago_risk.models.windows import first_trainable_cutoff
from chicago_risk.models.windows import plan_window as plan_window_of_model
from chicago_risk.partitions import DATA_FIRST_DAY, FEATURE_RUN_DAYS, RUN_DAYS, daily_partitions, single_run
from chicago_risk_tests.fixtures.toy_runs import TOY_DEFS, read_log


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
    lines: list[str] = []
    runs = materialize_window(defs, date(2024, 1, 1), date(2024, 1, 5), instance, echo=lines.append)
    assert [(run.assets, run.partitions) for run in runs] == [(("lookup_table",), 1), (("daily_table",), 5)]
    assert instance.get_latest_materialization_event(dg.AssetKey("lookup_table")) is not None
    assert any("warning: daily_table:looks_odd did not pass" in line for line in lines)


def test_a_failed_blocking_check_fails_the_window(instance):
    defs = dg.Definitions(assets=[lookup_table, _daily_with_check(dg.AssetCheckSeverity.ERROR)])
    with pytest.raises(BackfillError, match="checks failed: daily_table:looks_odd"):
        materialize_window(defs, date(2024, 1, 1), date(2024, 1, 5), instance, echo=lambda _: None)


def test_map_layers_for_a_few_days_bring_the_history_their_models_read(tmp_path):
    """Predictions for three days need the week's champion and model, which trains on two years of features,
    which count four years of 311 requests: the plan materializes exactly that, nothing later."""
    defs = build_definitions(Settings(data_dir=tmp_path))
    start, end = date(2025, 6, 4), date(2025, 6, 6)  # a Wednesday to a Friday
    select = [
        "risk_predictions", "model_champion", "risk_model", "cell_day_features", "cell_day_labels", "raw_311_requests",
        "raw_311_quarantine", "weather_daily", "feature_registry",
    ]
    plan: dict[tuple[str, ...], tuple[str, ...]] = {}
    for run in plan_window(defs, start, end, select).runs:  # an asset's runs of a year each, joined
        plan[run.names] = plan.get(run.names, ()) + run.partition_keys
    assert plan[("risk_model",)] == ("2025-06-02",)  # the Monday before: its cutoff
    assert plan[("model_champion",)] == ("2025-06-02",)  # and the week's champion
    assert plan[("risk_predictions",)] == ("2025-06-04", "2025-06-05", "2025-06-06")
    features = plan[("cell_day_features",)]
    assert date.fromisoformat(features[0]) <= date(2025, 6, 2) - timedelta(days=TRAINING_READ_DAYS)
    assert features[-1] == "2025-06-06"
    raw = plan[("raw_311_coverage", "raw_311_quarantine", "raw_311_requests")]
    assert date.fromisoformat(raw[0]) == date.fromisoformat(features[0]) - timedelta(days=HISTORY_DAYS - 1)
    labels = plan[("cell_day_labels",)]
    assert date.fromisoformat(labels[-1]) >= date(2025, 6, 2) - timedelta(days=8)
    assert plan[("feature_registry",)] == ()


def test_the_default_steps_build_the_served_days_then_assess_the_newest_model(tmp_path):
    defs = build_definitions(Settings(data_dir=tmp_path))
    layers, evaluation = default_steps(defs, date(2026, 11, 20), date(2026, 11, 26))  # to a Thursday
    assert (layers.start, layers.end) == (date(2026, 11, 20), date(2026, 11, 26))
    assert layers.select is not None
    assert "risk_predictions" in layers.select and "model_evaluation" not in layers.select
    assert evaluation.select == ("demo_truth", "model_evaluation", "model_card")
    assert evaluation.start == date(2026, 11, 23)  # the newest Monday, whose model is served
    planned = plan_window(defs, evaluation.start, evaluation.end, evaluation.select).runs
    assert [run.partition_keys for run in planned if "model_evaluation" in run.names] == [("2026-11-23",)]


def test_a_window_from_the_datas_first_day_serves_models_from_the_first_trainable_cutoff(tmp_path):
    """The first weeks of the data leave no labelled history to train on: the model and every
    layer reading it start at the first cutoff that trains (and the plan says so), while the data
    and features start with the window."""
    defs = build_definitions(Settings(data_dir=tmp_path))
    first_cutoff = first_trainable_cutoff(DATA_FIRST_DAY, MODEL_SETTINGS.training, MODEL_SETTINGS.calibration)
    assert DATA_FIRST_DAY + timedelta(days=28) < first_cutoff < DATA_FIRST_DAY + timedelta(days=182)
    plan = plan_window(defs, DATA_FIRST_DAY, first_cutoff + timedelta(days=20))
    first = {run.names: run.partition_keys[0] for run in plan.runs if run.partition_keys}
    for names in (("risk_model",), ("model_champion",), ("risk_predictions",), ("cost_layer",),
                  ("recommendation_schedule",), ("published/risk_predictions",)):
        assert first[names] == first_cutoff.isoformat(), names
    assert first[("cell_day_features",)] == first[("published/weather_daily",)] == DATA_FIRST_DAY.isoformat()
    [note] = [note for note in plan.notes if "first cutoff" in note]
    assert f"start on {first_cutoff}" in note and "risk_predictions" in note and "cell_day_features" not in note
    # the first cutoff trains: the model's own check of its window agrees with the planner's
    plan_window_of_model(first_cutoff, DATA_FIRST_DAY, MODEL_SETTINGS.training, MODEL_SETTINGS.calibration)
    # a window that starts later is not cut, and says nothing about it
    later = plan_window(defs, first_cutoff + timedelta(days=7), first_cutoff + timedelta(days=9))
    assert not [note for note in later.notes if "first cutoff" in note]
    assert {run.partition_keys[0] for run in later.runs if "risk_predictions" in run.names} == {
        str(first_cutoff + timedelta(days=7))
    }


def test_a_window_ending_before_any_model_can_be_trained_leaves_the_model_layers_out_and_says_so(tmp_path):
    """Six weeks from the data's first day: raw data, features and labels only; no model run, no
    published model table (it would have nothing to publish) and no backtest step; a selection
    of predictions alone says why it builds nothing of them."""
    defs = build_definitions(Settings(data_dir=tmp_path))
    first_cutoff = first_trainable_cutoff(DATA_FIRST_DAY, MODEL_SETTINGS.training, MODEL_SETTINGS.calibration)
    end = DATA_FIRST_DAY + timedelta(days=45)
    assert end < first_cutoff
    steps = default_steps(defs, DATA_FIRST_DAY, end)
    assert len(steps) == 1
    plan = plan_window(defs, DATA_FIRST_DAY, end, steps[0].select)
    names = {name for run in plan.runs for name in run.names}
    assert "cell_day_features" in names and "cell_day_labels" in names
    assert not names & {"risk_model", "model_champion", "risk_predictions", "published/model_registry",
                        "published/model_champion", "cost_layer"}
    [note] = [note for note in plan.notes if "left out" in note]
    assert "risk_predictions" in note and str(first_cutoff) in note
    alone = plan_window(defs, DATA_FIRST_DAY, end, ["risk_predictions"])
    assert "risk_predictions" not in {name for run in alone.runs for name in run.names}
    assert any(note.startswith("risk_predictions left out") for note in alone.notes)


def test_every_cell_of_every_day_is_backfilled_a_year_a_run_one_run_after_the_other(tmp_path):
    """Two years of map layers: the layers held per cell and day (predictions, cost, their
    published copies) run a year at a time, features and labels 900 days, as Dagster's own
    backfills of their policy would, one run of an asset after the other; their readers wait
    for every one. The demo's 28 days need one run of features and one of labels."""
    defs = build_definitions(Settings(data_dir=tmp_path))
    plan = plan_window(defs, date(2023, 1, 1), date(2024, 12, 31)).runs
    runs: dict[tuple[str, ...], list[int]] = {}
    for index, run in enumerate(plan):
        runs.setdefault(run.names, []).append(index)
    most_days: dict[tuple[str, ...], int] = {
        ("cell_day_features",): FEATURE_RUN_DAYS, ("cell_day_labels",): FEATURE_RUN_DAYS,
        ("risk_predictions",): RUN_DAYS, ("cost_layer",): RUN_DAYS, ("published/risk_predictions",): RUN_DAYS,
    }
    for names, days_a_run in most_days.items():
        chunks = [plan[i].partition_keys for i in runs[names]]
        assert len(chunks) >= 2 and all(len(keys) <= days_a_run for keys in chunks), names
        days = [date.fromisoformat(key) for keys in chunks for key in keys]
        assert days == [days[0] + timedelta(days=n) for n in range(len(days))]  # every day once, in order
        assert all(runs[names][i - 1] in plan[runs[names][i]].after for i in range(1, len(chunks)))
    single: tuple[tuple[str, ...], ...] = (
        ("risk_model",), ("raw_311_coverage", "raw_311_quarantine", "raw_311_requests"), ("recommendation_schedule",)
    )
    for names in single:
        assert len(runs[names]) == 1, names
    assert set(runs[("risk_predictions",)]) <= plan[runs[("cost_layer",)][0]].after
    assert set(runs[("cell_day_features",)]) | set(runs[("cell_day_labels",)]) <= plan[runs[("risk_model",)][0]].after
    demo = plan_window(defs, date(2026, 11, 8), date(2026, 12, 5)).runs
    assert [len(run.partition_keys) > RUN_DAYS for run in demo if run.names == ("cell_day_features",)] == [True]
    assert [len(run.partition_keys) > RUN_DAYS for run in demo if run.names == ("cell_day_labels",)] == [True]


@pytest.fixture
def toy_log(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("TOY_RUNS_LOG", str(tmp_path / "runs.log"))
    return tmp_path / "runs.log"


@pytest.mark.parametrize("heavy", [(), ("left", "right")])
def test_independent_runs_run_at_the_same_time_in_processes_unless_both_are_memory_heavy(toy_log, heavy):
    plan = plan_window(TOY_DEFS, date(2024, 1, 8), date(2024, 1, 14), ["left", "right", "after_both"]).runs
    assert [(run.names, sorted(run.after)) for run in plan] == [
        (("left",), []),
        (("right",), []),
        (("after_both",), [0, 1]),
    ]
    settings = RunSettings(parallel_runs=2, memory_heavy=heavy)
    lines: list[str] = []
    runs = run_plan(
        plan, OutOfProcess("chicago_risk_tests.fixtures.toy_runs:TOY_DEFS", settings), lines.append, settings=settings
    )
    assert [run.assets for run in runs] == [("left",), ("right",), ("after_both",)]
    log = read_log(toy_log)
    (l0, l1), (r0, r1) = log["left"], log["right"]
    assert (l0 < r1 and r0 < l1) is (not heavy)
    assert log["after_both"][0] >= max(l1, r1)  # waited for both
    recorded = dg.DagsterInstance.get().get_runs()
    assert len(recorded) == 3 and {r.run_id for r in recorded} == {run.run_id for run in runs}


def test_a_failed_run_stops_the_runs_after_it_and_names_itself(toy_log):
    plan = plan_window(TOY_DEFS, date(2024, 1, 1), date(2024, 1, 1), ["left", "broken", "after_broken"]).runs
    with pytest.raises(BackfillError, match=r"\] broken: run \S+ failed: broken: .*the upstream is down"):
        run_plan(plan, OutOfProcess("chicago_risk_tests.fixtures.toy_runs:TOY_DEFS"), echo=lambda _: None)
    assert set(read_log(toy_log)) == {"left"}  # the independent run finished; the one after never ran


def test_a_run_waits_for_every_run_it_reads_from_and_runs_are_listed_in_that_order(tmp_path):
    defs = build_definitions(Settings(data_dir=tmp_path))
    plan = plan_window(defs, date(2026, 11, 20), date(2026, 11, 26)).runs
    position = {name: index for index, run in enumerate(plan) for name in run.names}
    assert all(max(run.after, default=-1) < index for index, run in enumerate(plan))
    for child, parent in (("risk_model", "cell_day_labels"), ("model_champion", "risk_model"),
                          ("risk_predictions", "model_champion"),
                          ("published/risk_predictions", "risk_predictions"), ("cell_day_features", "weather_daily")):
        assert position[parent] in plan[position[child]].after
    # a published copy waits only for its own layer: it runs beside the next layer's computation
    assert plan[position["published/risk_predictions"]].after == {position["risk_predictions"]}


def test_one_output_of_a_multi_asset_brings_the_other(tmp_path):
    defs = build_definitions(Settings(data_dir=tmp_path))
    wanted, notes = complete_selection(defs, ["raw_311_requests"])
    assert wanted == {"raw_311_requests", "raw_311_quarantine", "raw_311_coverage"}
    assert notes == ["raw_311_coverage, raw_311_quarantine added: materialized together with raw_311_requests"]
    planned = plan_window(defs, date(2024, 3, 1), date(2024, 3, 2), ["raw_311_requests"]).runs
    assert planned[-1].names == ("raw_311_coverage", "raw_311_quarantine", "raw_311_requests")
