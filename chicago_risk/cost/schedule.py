"""The `recommendation_schedule` frame: the plan made on `day` for nights day+1 .. day+nights.

A pressure step tested on its night is kept on the following nights of the horizon, so a
cluster first stepped on night n of N saves (N - n + 1) / N of its 7-day expected savings.
Giving the earliest nights to the largest savings therefore maximises the plan's total (any
swap of two clusters across nights lowers it), which is what assigning by savings in order
does: rank r (0-based) goes to night r // capacity + 1, slot r % capacity + 1. Clusters beyond
nights x capacity, and leak surveys (no step), are not planned; each cluster appears once.
"""

from __future__ import annotations

import polars as pl

from chicago_risk.config.cost import ScheduleSettings
from chicago_risk.cost.pressure import PRESSURE_STEP

SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "night": pl.Date(),
    "night_index": pl.Int32(),  # 1 = the night after the plan date
    "slot": pl.Int32(),
    "rec_id": pl.String(),
    "action_type": pl.String(),
    "delta_p_psi": pl.Float64(),
    "time_window": pl.String(),
    # The cluster's 7-day savings times the share of the horizon the step then holds.
    "expected_savings_usd": pl.Float64(),
    "cluster_savings_usd_7d": pl.Float64(),
}


def build_schedule(clusters: pl.DataFrame, settings: ScheduleSettings) -> pl.DataFrame:
    capacity, nights = settings.tests_per_night, settings.nights
    planned = (
        clusters.filter((pl.col("action_type") == PRESSURE_STEP) & (pl.col("expected_savings_usd") > 0))
        .sort("day", "expected_savings_usd", "rec_id", descending=[False, True, False])
        .with_columns(order=pl.int_range(pl.len()).over("day"))
        .filter(pl.col("order") < capacity * nights)
        .with_columns(
            night_index=(pl.col("order") // capacity + 1).cast(pl.Int32),
            slot=(pl.col("order") % capacity + 1).cast(pl.Int32),
        )
    )
    return planned.with_columns(
        night=pl.col("day") + pl.duration(days=pl.col("night_index")),
        cluster_savings_usd_7d=pl.col("expected_savings_usd"),
        expected_savings_usd=pl.col("expected_savings_usd") * (nights - pl.col("night_index") + 1) / nights,
    ).select(pl.col(name).cast(dtype) for name, dtype in SCHEDULE_SCHEMA.items())
