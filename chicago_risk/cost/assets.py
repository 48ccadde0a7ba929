"""The cost domain's assets and their checks: `cost_layer`, `recommendation_clusters`,
`recommendation_schedule` (all daily, group `cost`).

- `cost_layer`: every cell of risk_predictions, its 7-day cost in dollars (mean, p90, tail
  mean, split into water, energy and repair), from a severity mix learned from the trailing
  year of raw_311_requests (read from the warehouse, point in time: see `severity`).
- `recommendation_clusters`: connected clusters of high-risk cells, each with the night
  pressure step that saves the most while the critical point stays above the service floor.
- `recommendation_schedule`: the next 7 nights' tests under the crew capacity.
"""

from collections.abc import Iterator
from datetime import date
from typing import Any, cast

import dagster as dg
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS, FOLLOW_UPSTREAM
from chicago_risk.config.cost import COST_SETTINGS
from chicago_risk.cost.clusters import members_connected, rfc7946_problems
from chicago_risk.cost.costs import PREDICTION_COLUMNS, cost_layer_frame, cost_layer_schema
from chicago_risk.cost.history import first_reports, history_offset_days, load_history, severity_as_of
from chicago_risk.cost.pressure import LEAK_SURVEY, PRESSURE_STEP, recent_low_pressure
from chicago_risk.cost.recommendations import RECOMMENDATIONS_SCHEMA, build_recommendations
from chicago_risk.cost.schedule import SCHEDULE_SCHEMA, build_schedule
from chicago_risk.cost.severity import cell_severity
from chicago_risk.ingest.raw_311 import RAW_311
from chicago_risk.metadata import column_schema, frame_metadata, markdown_table
from chicago_risk.models.data import require_days
from chicago_risk.partitions import daily_partitions, single_run, year_at_a_time
from chicago_risk.resources.city import CityGridResource
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import require_materialized

SETTINGS = COST_SETTINGS
COST_CODE_VERSION = "1"
PREDICTIONS = "risk_predictions"
# Costs and savings agree with their parts to a cent.
_CENTS = 0.01
# Every cost asset: daily, a warehouse table named after it (each names its backfill policy).
DAILY_COST_ASSET: dict[str, Any] = {
    "partitions_def": daily_partitions,
    "io_manager_key": "warehouse_io_manager",
    "group_name": "cost",
    "kinds": {"duckdb", "polars"},
    "code_version": COST_CODE_VERSION,
    "automation_condition": FOLLOW_UPSTREAM,
    "freshness_policy": DAILY_FRESHNESS,
}


def _specs(asset: str, specs: tuple[tuple[str, str], ...]) -> list[dg.AssetCheckSpec]:
    """Blocking checks: a failing one stops what reads the asset."""
    return [dg.AssetCheckSpec(name, asset=asset, blocking=True, description=text) for name, text in specs]


def _md(frame: pl.DataFrame) -> dg.MetadataValue:
    """A small table (up to 8 rows) as markdown."""
    return dg.MetadataValue.md(markdown_table(frame))


def _check(asset: str, name: str, failing: pl.DataFrame, **metadata) -> dg.AssetCheckResult:
    """Passes when `failing` is empty; shows its first rows otherwise."""
    shown = {"failing_rows": failing.height, **metadata}
    if failing.height:
        shown["examples"] = _md(failing.head(5))
    return dg.AssetCheckResult(check_name=name, asset_key=asset, passed=failing.is_empty(), metadata=shown)


def load_predictions(warehouse: WarehouseResource, start: date, end: date) -> pl.DataFrame:
    """The columns of risk_predictions the cost layer uses, every day required."""
    require_days(warehouse, PREDICTIONS, start, end)
    columns = ", ".join(f'"{name}"' for name in PREDICTION_COLUMNS)
    return warehouse.query(
        f'SELECT {columns} FROM {PREDICTIONS} WHERE "day" BETWEEN ? AND ? ORDER BY "day", h3_id', [start, end]
    )


# --- cost_layer ------------------------------------------------------------------------------

cost_layer_checks = _specs(
    "cost_layer",
    (
        ("one_row_per_prediction", "exactly one row per (h3_id, day) of risk_predictions, nothing dropped"),
        ("costs_non_negative",
         "every cost, volume and p90 is finite and >= 0, and water + energy + repair = expected_cost_usd_7d"),
        ("p90_consistent",
         "0 <= p90_cost <= tail_cost_usd_7d and expected_cost_usd_7d <= tail_cost_usd_7d; p90_cost = 0 exactly "
         "where p_event_7d <= 10%. (p90_cost >= the mean is not a property of this distribution: see "
         "chicago_risk.cost.compound)"),
    ),
)


@dg.asset(
    **DAILY_COST_ASSET,
    backfill_policy=year_at_a_time,  # every cell of every day: a year a run
    deps=[
        dg.AssetDep(PREDICTIONS),
        # Severity reads the trailing year before the Monday of each day's week.
        dg.AssetDep(
            RAW_311,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-history_offset_days(SETTINGS), allow_nonexistent_upstream_partitions=True
            ),
        ),
    ],
    check_specs=cost_layer_checks,
    metadata={"dagster/column_schema": column_schema(cost_layer_schema(SETTINGS))},
)
def cost_layer(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Per city cell and day: the 7-day cost of its leak-related incidents, a compound
    distribution of the model's incident count and a cost per incident by severity class
    (`expected_cost_usd_7d`, `p90_cost`, water / energy / repair means, leak volume) and the
    cell's rank among the day's cells (`cost_quantile`)."""
    start, end = window_days(context.partition_time_window)
    predictions = load_predictions(warehouse, start, end).with_columns(severity_as_of=severity_as_of(pl.col("day")))
    history = load_history(warehouse, start, end, SETTINGS)
    probabilities, shares = cell_severity(
        history, predictions.select(pl.col("severity_as_of").alias("as_of"), "h3_id"), SETTINGS
    )
    low_pressure = recent_low_pressure(first_reports(history), predictions, SETTINGS.pressure)
    costs = cost_layer_frame(predictions, probabilities, low_pressure, SETTINGS)
    last_day = costs.filter(pl.col("day") == end)
    yield dg.Output(
        costs,
        metadata={
            **frame_metadata(costs, start, end),
            "costliest_cells_last_day": _md(
                last_day.top_k(5, by="expected_cost_usd_7d").select(
                    "h3_id", "p_event_7d", "expected_events", "expected_cost_usd_7d", "p90_cost", "cost_repair_usd_mean"
                )
            ),
            "history_rows": history.height,
            "city_expected_cost_usd_7d_last_day": float(last_day["expected_cost_usd_7d"].sum()),
            "city_leak_volume_m3_7d_last_day": float(last_day["leak_volume_m3_mean"].sum()),
            "mean_cost_per_cell_usd_7d": float(cast(float, costs["expected_cost_usd_7d"].mean())),
            "share_of_cells_with_p90_zero": float(cast(float, (costs["p90_cost"] == 0).mean())),
            "severity_mix_latest": _md(shares.filter(pl.col("as_of") == shares["as_of"].max())),
        },
    )
    yield from _cost_layer_checks(costs, predictions)


def _cost_layer_checks(costs: pl.DataFrame, predictions: pl.DataFrame) -> Iterator[dg.AssetCheckResult]:
    keys = ["h3_id", "day"]
    dropped = predictions.select(keys).join(costs.select(keys), on=keys, how="anti")
    duplicated = costs.filter(pl.struct(keys).is_duplicated()).select(keys)
    yield _check("cost_layer", "one_row_per_prediction", pl.concat([dropped, duplicated]),
                 rows=costs.height, prediction_rows=predictions.height)
    amounts = ["expected_cost_usd_7d", "p90_cost", "tail_cost_usd_7d", "cost_water_usd_mean",
               "cost_energy_usd_mean", "cost_repair_usd_mean", "leak_volume_m3_mean"]
    parts = pl.col("cost_water_usd_mean") + pl.col("cost_energy_usd_mean") + pl.col("cost_repair_usd_mean")
    negative = costs.filter(
        pl.any_horizontal(pl.col(amounts).is_null() | ~pl.col(amounts).is_finite() | (pl.col(amounts) < 0))
        | ((parts - pl.col("expected_cost_usd_7d")).abs() > _CENTS)
    ).select(keys, *amounts)
    yield _check("cost_layer", "costs_non_negative", negative)
    level = SETTINGS.quantile
    tail = pl.col("tail_cost_usd_7d") + _CENTS
    inconsistent = costs.filter(
        (pl.col("p90_cost") > tail)
        | (pl.col("expected_cost_usd_7d") > tail)
        | ((pl.col("p_event_7d") <= 1 - level) & (pl.col("p90_cost") != 0))
    ).select(keys, "p_event_7d", "expected_cost_usd_7d", "p90_cost", "tail_cost_usd_7d")
    yield _check("cost_layer", "p90_consistent", inconsistent,
                 cells_with_p90_below_mean=int((costs["p90_cost"] < costs["expected_cost_usd_7d"]).sum()))


# --- recommendation_clusters -----------------------------------------------------------------

cluster_checks = _specs(
    "recommendation_clusters",
    (
        ("clusters_connected",
         "every cluster's cells form one edge-connected group and its outline is one RFC 7946 Polygon "
         "(closed rings, exterior counter-clockwise, holes clockwise)"),
        ("clusters_within_cap", "every cluster has 1 to max_cells cells and rec_id is unique"),
        ("every_candidate_clustered",
         "every cell at or above the risk threshold is in exactly one cluster of its day, no other cell is"),
        ("pressure_floor_respected",
         "every pressure step is a configured step whose window keeps the critical point at or above the "
         "floor; a leak survey has no step"),
        ("savings_within_loss",
         "0 <= expected savings <= the cluster's expected loss, the breakdown adds up, the p90 is >= 0"),
    ),
)


@dg.asset(
    **DAILY_COST_ASSET,
    backfill_policy=single_run,
    # Only the cells above the threshold are read (a twentieth of the city), and the drivers of
    # risk_predictions for the rationale.
    deps=[dg.AssetDep(cost_layer), dg.AssetDep(PREDICTIONS)],
    check_specs=cluster_checks,
    metadata={"dagster/column_schema": column_schema(RECOMMENDATIONS_SCHEMA)},
)
def recommendation_clusters(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, city: CityGridResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Per day, connected clusters of cells with p_event_7d at or above the threshold (split at
    the size cap), each with its outline, the night pressure step and window that save the most
    while keeping the service floor, the expected savings (mean, p90, water / energy / repair)
    and short reasons from the member cells' drivers."""
    start, end = window_days(context.partition_time_window)
    require_materialized(context, "cost_layer", start, end)
    threshold = SETTINGS.clusters.min_p_event_7d
    above = 'WHERE "day" BETWEEN ? AND ? AND p_event_7d >= ?'
    candidates = warehouse.query(f"SELECT * FROM cost_layer {above}", [start, end, threshold])
    drivers = warehouse.query(
        f'SELECT h3_id, "day" AS day, drivers FROM {PREDICTIONS} {above}', [start, end, threshold]
    )
    clusters = build_recommendations(candidates, drivers, city.h3_resolution, SETTINGS)
    actions = dict(clusters.group_by("action_type").len().sort("action_type").iter_rows())
    last_day = clusters.filter(pl.col("day") == end)
    yield dg.Output(
        clusters,
        metadata={
            **frame_metadata(clusters.drop("outline_geojson"), start, end),
            "dagster/column_schema": column_schema(RECOMMENDATIONS_SCHEMA),
            "days_with_clusters": clusters["day"].n_unique(),
            "actions": dg.MetadataValue.json(actions),
            "expected_savings_usd_last_day": float(last_day["expected_savings_usd"].sum()),
            "top_clusters_last_day": _md(
                last_day.head(5).select("rec_id", "cells", "action_type", "delta_p_psi", "time_window",
                                         "expected_savings_usd", "expected_savings_usd_p90", "expected_loss_usd")
            ),
            "threshold_p_event_7d": threshold,
            "max_cells": SETTINGS.clusters.max_cells,
        },
    )
    yield from _cluster_checks(clusters, candidates, city.h3_resolution)


def _cluster_checks(clusters: pl.DataFrame, candidates: pl.DataFrame, resolution: int) -> Iterator[dg.AssetCheckResult]:
    name = "recommendation_clusters"
    members = clusters.select("rec_id", "day", h3_id="member_h3_ids").explode("h3_id")
    pieces = members_connected(members, resolution) if members.height else pl.DataFrame(
        schema={"rec_id": pl.String, "pieces": pl.UInt32}
    )
    disconnected = (
        clusters.select("rec_id", "outline_geojson")
        .join(pieces, on="rec_id", how="left")
        .with_columns(
            problems=pl.col("outline_geojson").map_elements(
                lambda text: "; ".join(rfc7946_problems(text)), return_dtype=pl.String
            )
        )
        .filter(
            (pl.col("pieces") != 1) | (pl.col("problems") != "")
            | ~pl.col("outline_geojson").str.starts_with('{"type":"Polygon"')
        )
        .select("rec_id", "pieces", "problems")
    )
    yield _check(name, "clusters_connected", disconnected, clusters=clusters.height)
    cap = SETTINGS.clusters.max_cells
    oversized = clusters.filter(
        ~pl.col("cells").is_between(1, cap) | (pl.col("member_h3_ids").list.len() != pl.col("cells"))
        | pl.col("rec_id").is_duplicated()
    ).select("rec_id", "cells")
    yield _check(name, "clusters_within_cap", oversized, max_cells=cap,
                 largest=int(cast(int, clusters["cells"].max() or 0)))
    candidates = candidates.select("day", "h3_id")
    counted = members.group_by("day", "h3_id").agg(times=pl.len())
    misplaced = pl.concat(
        [
            candidates.join(counted, on=["day", "h3_id"], how="anti").with_columns(times=pl.lit(0, pl.UInt32)),
            counted.filter(pl.col("times") > 1),
            counted.join(candidates, on=["day", "h3_id"], how="anti"),  # a member below the threshold
        ]
    )
    yield _check(name, "every_candidate_clustered", misplaced, candidate_cells=candidates.height)
    pressure = SETTINGS.pressure
    stepping = pl.col("action_type") == PRESSURE_STEP
    unsafe = clusters.filter(
        (
            stepping
            & (
                (pl.col("min_pressure_psi") < pressure.floor_psi)
                | ~pl.col("delta_p_psi").is_in(list(pressure.steps_psi))
                | (pl.col("window_hours") < 1)
                | pl.col("time_window").is_null()
            )
        )
        | (
            (pl.col("action_type") == LEAK_SURVEY)
            & ((pl.col("delta_p_psi") != 0) | (pl.col("expected_savings_usd") != 0))
        )
        | ~pl.col("action_type").is_in([PRESSURE_STEP, LEAK_SURVEY])
    ).select("rec_id", "action_type", "delta_p_psi", "time_window", "min_pressure_psi")
    yield _check(name, "pressure_floor_respected", unsafe, floor_psi=pressure.floor_psi,
                 lowest_pressure_psi=float(cast(float, clusters.filter(stepping)["min_pressure_psi"].min() or 0.0)))
    breakdown = pl.col("savings_breakdown").struct
    parts = breakdown.field("water_usd") + breakdown.field("energy_usd") + breakdown.field("repair_usd")
    excessive = clusters.filter(
        (pl.col("expected_savings_usd") < 0) | (pl.col("expected_savings_usd") > pl.col("expected_loss_usd") + _CENTS)
        | ((parts - pl.col("expected_savings_usd")).abs() > _CENTS) | (pl.col("expected_savings_usd_p90") < 0)
        | ~pl.col("expected_savings_usd").is_finite()
    ).select("rec_id", "expected_savings_usd", "expected_loss_usd", "expected_savings_usd_p90")
    yield _check(name, "savings_within_loss", excessive)


# --- recommendation_schedule -----------------------------------------------------------------

schedule_checks = _specs(
    "recommendation_schedule",
    (
        ("tests_per_night_within_capacity", "no night of a plan has more tests than the crew capacity"),
        ("no_cluster_twice", "no cluster appears twice in a plan, and slots of a night are distinct"),
        ("nights_within_horizon",
         "every night is one of the plan's next nights and every planned cluster is a pressure step of that day"),
    ),
)


@dg.asset(
    **DAILY_COST_ASSET,
    backfill_policy=single_run,
    check_specs=schedule_checks,
    metadata={"dagster/column_schema": column_schema(SCHEDULE_SCHEMA)},
)
def recommendation_schedule(
    context: dg.AssetExecutionContext, recommendation_clusters: pl.DataFrame
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The plan made on each day for its next nights: pressure steps by expected savings, at most
    `tests_per_night` a night, each cluster once."""
    start, end = window_days(context.partition_time_window)
    # A day may have no cluster at all, so an unmaterialized day would look like a quiet one.
    require_materialized(context, "recommendation_clusters", start, end)
    schedule = build_schedule(recommendation_clusters, SETTINGS.schedule)
    last_plan = schedule.filter(pl.col("day") == end)
    yield dg.Output(
        schedule,
        metadata={
            **frame_metadata(schedule, start, end),
            "tests_per_night": SETTINGS.schedule.tests_per_night,
            "planned_savings_usd_last_plan": float(last_plan["expected_savings_usd"].sum()),
            "last_plan_first_nights": _md(
                last_plan.head(6).select(
                    "night", "slot", "rec_id", "delta_p_psi", "time_window", "expected_savings_usd"
                )
            ),
        },
    )
    yield from _schedule_checks(schedule, recommendation_clusters)


def _schedule_checks(schedule: pl.DataFrame, clusters: pl.DataFrame) -> Iterator[dg.AssetCheckResult]:
    name = "recommendation_schedule"
    capacity, nights = SETTINGS.schedule.tests_per_night, SETTINGS.schedule.nights
    crowded = schedule.group_by("day", "night").agg(tests=pl.len()).filter(pl.col("tests") > capacity)
    yield _check(name, "tests_per_night_within_capacity", crowded, capacity=capacity)
    twice = schedule.filter(
        pl.struct("day", "rec_id").is_duplicated() | pl.struct("day", "night", "slot").is_duplicated()
    ).select("day", "night", "slot", "rec_id")
    yield _check(name, "no_cluster_twice", twice)
    steps = clusters.filter(pl.col("action_type") == PRESSURE_STEP).select("day", "rec_id")
    outside = (
        schedule.join(steps, on=["day", "rec_id"], how="anti")
        .vstack(
            schedule.filter(
                ~pl.col("night_index").is_between(1, nights)
                | (pl.col("night") != pl.col("day") + pl.duration(days=pl.col("night_index")))
            )
        )
        .select("day", "night", "rec_id")
    )
    yield _check(name, "nights_within_horizon", outside, nights=nights)


COST_ASSETS = [cost_layer, recommendation_clusters, recommendation_schedule]
