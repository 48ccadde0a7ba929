"""End to end through Dagster on the demo city: cost_layer, recommendation_clusters and
recommendation_schedule materialized for June 2024 (every cell at resolution 9) into a temporary
warehouse holding a year of demo raw_311_requests and demo-derived risk_predictions."""

import json
import re
from datetime import date, datetime, timedelta

import dagster as dg
import h3
import polars as pl
import pytest

from chicago_risk.config.cost import COST_SETTINGS
from chicago_risk.cost.assets import COST_ASSETS, cost_layer, recommendation_schedule
from chicago_risk.cost.costs import class_costs
from chicago_risk.cost.history import history_window
from chicago_risk.cost.pressure import ACTION_TYPES, PRESSURE_STEP
from chicago_risk.grid import city_cells
from chicago_risk.partitions import partition_range_tags
from chicago_risk.resources.city import CityGridResource
from chicago_risk.storage.io_manager import WarehouseIOManager
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures import demo_inputs
from chicago_risk_tests.fixtures.instances import fast_test_instance

FIRST, LAST = date(2024, 6, 1), date(2024, 6, 30)
OBSERVED = datetime(2024, 7, 1, 8, 0)  # the raw table as re-read after the month
RESOLUTION = demo_inputs.RESOLUTION


def _resources(warehouse: WarehouseResource) -> dict:
    return {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "city": CityGridResource(h3_resolution=RESOLUTION),
    }


def _materialize(assets, warehouse, instance, first: date, last: date, raise_on_error: bool = True, selection=None):
    return dg.materialize(
        assets, resources=_resources(warehouse), instance=instance, selection=selection,
        tags=partition_range_tags(str(first), str(last)), raise_on_error=raise_on_error,
    )


def _failure(result) -> str:
    error = result.get_step_failure_events()[0].event_specific_data.error
    return error.cause.message if error.cause else error.message


def _warehouse(folder, raw: pl.DataFrame, predictions: pl.DataFrame) -> WarehouseResource:
    warehouse = WarehouseResource(path=str(folder / "warehouse.duckdb"))
    warehouse.replace_table("raw_311_requests", raw)
    warehouse.replace_table("risk_predictions", predictions)
    return warehouse


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    history_first, _ = history_window(FIRST, LAST, COST_SETTINGS)
    raw = demo_inputs.raw_requests(history_first, LAST, OBSERVED)
    predictions = demo_inputs.predictions(raw, FIRST, LAST)
    warehouse = _warehouse(tmp_path_factory.mktemp("cost"), raw, predictions)
    with fast_test_instance() as instance:
        result = _materialize(COST_ASSETS, warehouse, instance, FIRST, LAST)
        yield {
            "warehouse": warehouse, "instance": instance, "result": result, "predictions": predictions,
            "costs": warehouse.read_table("cost_layer"),
            "clusters": warehouse.read_table("recommendation_clusters"),
            "schedule": warehouse.read_table("recommendation_schedule"),
        }


def test_every_asset_materializes_and_every_check_passes(run):
    result = run["result"]
    assert result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert len(evaluations) == 11 and all(evaluations.values()), evaluations
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert metadata["cost_layer"]["city_expected_cost_usd_7d_last_day"].value > 0
    assert "share_major" in metadata["cost_layer"]["severity_mix_latest"].value
    assert "rec-" in metadata["recommendation_clusters"]["top_clusters_last_day"].value
    assert metadata["recommendation_schedule"]["planned_savings_usd_last_plan"].value > 0


def test_cost_layer_prices_every_cell_by_its_risk(run):
    costs, predictions = run["costs"], run["predictions"]
    assert costs.height == len(city_cells(RESOLUTION)) * 30 == predictions.height
    assert costs.select("h3_id", "day").is_unique().all()
    for column in ("p_event_7d", "expected_events", "expected_cost_usd_7d", "p90_cost", "cost_water_usd_mean",
                   "cost_energy_usd_mean", "cost_repair_usd_mean", "leak_volume_m3_mean", "cost_quantile"):
        assert costs.schema[column] == pl.Float64, column
    assert costs["cost_quantile"].is_between(0, 1, closed="right").all()
    # the cost per expected incident lies between a minor and a major incident's cost
    per_incident = costs["expected_cost_usd_7d"] / costs["expected_events"]
    water, energy, repair = class_costs(COST_SETTINGS)
    cheapest, dearest = (float(x) for x in (water + energy + repair)[[0, -1]])
    assert per_incident.is_between(cheapest, dearest).all()
    # more expected incidents, more cost: the ranks agree almost everywhere
    assert costs.select(pl.corr("expected_events", "expected_cost_usd_7d", method="spearman")).item() > 0.95
    quiet = costs.filter(pl.col("p_event_7d") <= 0.1)
    assert quiet.height and (quiet["p90_cost"] == 0).all()
    busy = costs.filter(pl.col("p_event_7d") >= 0.5)
    assert busy.height and (busy["p90_cost"] >= busy["expected_cost_usd_7d"]).all()
    assert (costs["tail_cost_usd_7d"] >= costs["expected_cost_usd_7d"]).all()


def test_clusters_cover_the_high_risk_cells_in_connected_capped_groups(run):
    clusters, costs = run["clusters"], run["costs"]
    threshold, cap = COST_SETTINGS.clusters.min_p_event_7d, COST_SETTINGS.clusters.max_cells
    members = clusters.select("day", h3_id="member_h3_ids").explode("h3_id")
    high = costs.filter(pl.col("p_event_7d") >= threshold).select("day", "h3_id")
    assert members.sort("day", "h3_id").equals(high.sort("day", "h3_id"))
    assert clusters["cells"].max() <= cap and clusters["rec_id"].is_unique().all()
    assert clusters["rec_id"].str.contains(r"^rec-202406\d\d-\d{3}$").all()
    for row in clusters.sample(60, seed=0).iter_rows(named=True):
        outline = json.loads(row["outline_geojson"])
        assert outline["type"] == "Polygon"  # a connected set of hexagons has one outline
        assert h3.cells_to_geo(row["member_h3_ids"])["type"] == "Polygon"
    assert (clusters["expected_savings_usd"] <= clusters["expected_loss_usd"]).all()
    assert (clusters["expected_savings_usd"] >= 0).all() and (clusters["expected_savings_usd_p90"] >= 0).all()
    assert set(clusters["action_type"].unique()) <= set(ACTION_TYPES)
    steps = clusters.filter(pl.col("action_type") == PRESSURE_STEP)
    assert steps["delta_p_psi"].n_unique() > 1  # the step follows each cluster's headroom
    assert (steps["min_pressure_psi"] >= COST_SETTINGS.pressure.floor_psi).all()
    assert steps["time_window"].str.contains(r"^\d\d:00-\d\d:00$").all()
    breakdown = steps["savings_breakdown"].struct.unnest()
    assert (breakdown.sum_horizontal() - steps["expected_savings_usd"]).abs().max() < 0.01


def test_rationale_names_the_member_cells_drivers(run):
    first = run["clusters"].filter(pl.col("rank") == 1).row(0, named=True)
    reasons = first["rationale"]
    assert any(r.startswith("The cell's usual incidents per week") for r in reasons)
    assert any(r.startswith("Expected 7-day loss $") for r in reasons)
    assert any(re.match(r"Lower pressure by \d+ psi \d\d:00-\d\d:00", r) for r in reasons)


def test_schedule_plans_the_next_nights_by_savings_within_capacity(run):
    schedule, clusters = run["schedule"], run["clusters"]
    capacity = COST_SETTINGS.schedule.tests_per_night
    assert schedule["day"].n_unique() == 30
    assert schedule.group_by("day", "night").len()["len"].max() <= capacity
    assert schedule.select("day", "rec_id").is_unique().all()
    assert (schedule["night"] - schedule["day"]).dt.total_days().is_between(1, 7).all()
    plan = schedule.filter(pl.col("day") == LAST).sort("night", "slot")
    best = clusters.filter((pl.col("day") == LAST) & (pl.col("action_type") == PRESSURE_STEP)).sort(
        "expected_savings_usd", descending=True
    )
    assert plan["rec_id"].to_list() == best["rec_id"].head(plan.height).to_list()


def test_a_day_only_uses_what_was_known_at_its_end(run, tmp_path):
    """The same day computed from the raw table as the city showed it at the end of that day
    (later closures absent, later requests not filed) gives the same rows."""
    day = date(2024, 6, 12)
    first, _ = history_window(day, day, COST_SETTINGS)
    seen_then = demo_inputs.raw_requests(first, day, datetime.combine(day + timedelta(days=1), datetime.min.time()))
    warehouse = _warehouse(tmp_path, seen_then, run["predictions"].filter(pl.col("day") == day))
    with fast_test_instance() as instance:
        _materialize([cost_layer], warehouse, instance, day, day)
    then = warehouse.read_table("cost_layer").sort("h3_id")
    assert then.equals(run["costs"].filter(pl.col("day") == day).sort("h3_id"))


def test_rematerializing_a_day_replaces_it_identically(run):
    day = date(2024, 6, 15)
    before = {name: run[name].filter(pl.col("day") == day).sort(pl.all().exclude(pl.List, pl.Struct))
              for name in ("costs", "clusters", "schedule")}
    _materialize(COST_ASSETS, run["warehouse"], run["instance"], day, day)
    tables = {"costs": "cost_layer", "clusters": "recommendation_clusters", "schedule": "recommendation_schedule"}
    for name, table in tables.items():
        after = run["warehouse"].read_table(table)
        assert after.height == run[name].height, table
        assert after.filter(pl.col("day") == day).sort(pl.all().exclude(pl.List, pl.Struct)).equals(before[name]), table


def test_a_day_without_predictions_fails_naming_the_command(run):
    day = LAST + timedelta(days=10)
    result = _materialize([cost_layer], run["warehouse"], run["instance"], day, day, raise_on_error=False)
    assert not result.success
    message = _failure(result)
    assert "risk_predictions lacks 1 day(s)" in message
    assert f"chicago-risk materialize --start {day} --end {day} --select risk_predictions" in message


def test_a_schedule_without_its_clusters_fails_naming_the_command(run):
    day = LAST + timedelta(days=3)
    result = _materialize(COST_ASSETS, run["warehouse"], run["instance"], day, day, raise_on_error=False,
                          selection=[recommendation_schedule])
    assert not result.success
    assert f"run: chicago-risk materialize --start {day} --end {day} --select recommendation_clusters" in _failure(
        result
    )


def test_a_short_history_fails_naming_raw_311(run, tmp_path):
    predictions = run["predictions"].filter(pl.col("day") == LAST)
    raw = run["warehouse"].read_partitions("raw_311_requests", LAST - timedelta(days=30), LAST)
    warehouse = _warehouse(tmp_path, raw, predictions)
    with fast_test_instance() as instance:
        result = _materialize([cost_layer], warehouse, instance, LAST, LAST, raise_on_error=False)
    assert not result.success
    assert "raw_311_requests lacks" in _failure(result) and "--select raw_311_requests" in _failure(result)


def test_a_quiet_day_gives_no_cluster_and_no_plan_and_every_check_passes(run, tmp_path):
    """A day with no cell at or above the threshold (issue 12: an older day where every cell is
    in the low band) materializes empty clusters and an empty plan, not an error."""
    day = date(2024, 6, 20)
    threshold = COST_SETTINGS.clusters.min_p_event_7d
    quiet = run["predictions"].filter(pl.col("day") == day).with_columns(
        p_event_7d=pl.col("p_event_7d").clip(upper_bound=threshold / 2), risk_band=pl.lit("low")
    ).with_columns(expected_events=pl.max_horizontal("expected_events", "p_event_7d"))
    raw = run["warehouse"].read_partitions("raw_311_requests", history_window(day, day, COST_SETTINGS)[0], day)
    warehouse = _warehouse(tmp_path, raw, quiet)
    with fast_test_instance() as instance:
        result = _materialize(COST_ASSETS, warehouse, instance, day, day)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert warehouse.read_table("cost_layer").height == quiet.height
    assert warehouse.read_table("recommendation_clusters").is_empty()
    assert warehouse.read_table("recommendation_schedule").is_empty()
