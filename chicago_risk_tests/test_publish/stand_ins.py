"""Stand-ins for the cost assets (`cost_layer`, `recommendation_clusters`,
`recommendation_schedule`) until `chicago_risk.cost` lands: daily assets with exactly the columns
the cost engineer publishes, derived simply from `risk_predictions`.

Each run's rows carry its generation (run tag `GENERATION_TAG`, default 1) in a visible field, so
a reader can tell whether one response mixes the rows of two publications: `leak_volume_m3_mean`
of every cost cell equals the generation, and every `rec_id` starts with `g<generation>-`.
"""

import json
from datetime import timedelta

import dagster as dg
import h3
import polars as pl

from chicago_risk.partitions import daily_partitions, single_run

GENERATION_TAG = "chicago-risk-test/generation"
CLUSTERS_PER_DAY = 3

COST_LAYER_SCHEMA: dict[str, pl.DataType] = {
    "h3_id": pl.String(),
    "day": pl.Date(),
    **{
        name: pl.Float64()
        for name in (
            "p_event_7d", "expected_events", "expected_cost_usd_7d", "p90_cost", "cost_water_usd_mean",
            "cost_energy_usd_mean", "cost_repair_usd_mean", "leak_volume_m3_mean", "cost_quantile",
        )
    },
}
SAVINGS_DTYPE = pl.Struct({"water_usd": pl.Float64(), "energy_usd": pl.Float64(), "repair_usd": pl.Float64()})
RECOMMENDATION_CLUSTERS_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "rec_id": pl.String(),
    "member_h3_ids": pl.List(pl.String()),
    "outline_geojson": pl.String(),
    "action_type": pl.String(),
    "delta_p_psi": pl.Float64(),
    "time_window": pl.String(),
    "expected_savings_usd": pl.Float64(),
    "expected_savings_usd_p90": pl.Float64(),
    "savings_breakdown": SAVINGS_DTYPE,
    "rationale": pl.List(pl.String()),
}
RECOMMENDATION_SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "night": pl.Date(),
    "slot": pl.Int32(),
    "rec_id": pl.String(),
    "delta_p_psi": pl.Float64(),
    "time_window": pl.String(),
    "expected_savings_usd": pl.Float64(),
}
ACTION_TYPES = ("pressure_step_down", "night_pressure_test")


def _generation(context: dg.AssetExecutionContext) -> int:
    return int(context.run.tags.get(GENERATION_TAG, "1"))


@dg.asset(
    io_manager_key="warehouse_io_manager", partitions_def=daily_partitions, backfill_policy=single_run,
    group_name="cost",
)
def cost_layer(context: dg.AssetExecutionContext, risk_predictions: pl.DataFrame) -> pl.DataFrame:
    expected = pl.col("expected_events") * 4_000.0
    return risk_predictions.with_columns(
        expected_cost_usd_7d=expected,
        p90_cost=expected * 2.2,
        cost_water_usd_mean=expected * 0.5,
        cost_energy_usd_mean=expected * 0.2,
        cost_repair_usd_mean=expected * 0.3,
        leak_volume_m3_mean=pl.lit(float(_generation(context))),
        cost_quantile=((expected.rank("ordinal").over("day") - 1) / (pl.len().over("day") - 1)),
    ).select(pl.col(n).cast(t) for n, t in COST_LAYER_SCHEMA.items())


def _cluster_rows(day, cells: list[str], generation: int, city: set[str]) -> list[dict]:
    rows = []
    for rank, centre in enumerate(cells):
        members = sorted(c for c in h3.grid_disk(centre, 1) if c in city)
        savings = {"water_usd": 100.0 * (rank + 1), "energy_usd": 40.0 * (rank + 1), "repair_usd": 260.0 * (rank + 1)}
        rows.append({
            "day": day,
            "rec_id": f"g{generation}-{day:%Y%m%d}-{rank}",
            "member_h3_ids": members,
            "outline_geojson": json.dumps(h3.cells_to_geo(members)),
            "action_type": ACTION_TYPES[rank % len(ACTION_TYPES)],
            "delta_p_psi": -5.0 - rank,
            "time_window": "01:00-05:00",
            "expected_savings_usd": sum(savings.values()),
            "expected_savings_usd_p90": 2 * sum(savings.values()),
            "savings_breakdown": savings,
            "rationale": [f"{len(members)} adjacent cells", f"centre cell ranked {rank + 1} by p_event_7d"],
        })
    return rows


@dg.asset(
    io_manager_key="warehouse_io_manager", partitions_def=daily_partitions, backfill_policy=single_run,
    group_name="cost",
)
def recommendation_clusters(context: dg.AssetExecutionContext, risk_predictions: pl.DataFrame) -> pl.DataFrame:
    city = set(risk_predictions["h3_id"].unique().to_list())
    rows = []
    for (day,), part in risk_predictions.group_by("day", maintain_order=True):
        top = part.sort("p_event_7d", "h3_id", descending=[True, False]).head(CLUSTERS_PER_DAY)["h3_id"].to_list()
        rows += _cluster_rows(day, top, _generation(context), city)
    return pl.DataFrame(rows, schema=RECOMMENDATION_CLUSTERS_SCHEMA)


@dg.asset(
    io_manager_key="warehouse_io_manager", partitions_def=daily_partitions, backfill_policy=single_run,
    group_name="cost",
)
def recommendation_schedule(recommendation_clusters: pl.DataFrame) -> pl.DataFrame:
    return recommendation_clusters.with_columns(
        night=pl.col("day") + timedelta(days=1),
        slot=pl.int_range(pl.len()).over("day").cast(pl.Int32),
    ).select(list(RECOMMENDATION_SCHEDULE_SCHEMA))


STAND_IN_ASSETS = [cost_layer, recommendation_clusters, recommendation_schedule]
