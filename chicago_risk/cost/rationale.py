"""Short reasons a planner reads with each recommendation, as polars expressions.

The model's reasons come from the member cells' drivers (risk_predictions): the features that
push most cells' risk up, summed over the cluster. Then one line on the money and one on the
pressure step.
"""

from __future__ import annotations

import polars as pl

from chicago_risk.config.cost import PressureSettings
from chicago_risk.cost.pressure import LEAK_SURVEY

DRIVER_REASONS = 3


def number(value: pl.Expr) -> pl.Expr:
    """3, 12.5, 0.25: a few significant digits, no trailing .0."""
    magnitude = value.abs()
    rounded = (
        pl.when(magnitude >= 100)
        .then(value.round(0))
        .when(magnitude >= 10)
        .then(value.round(1))
        .otherwise(value.round(2))
    )
    return rounded.cast(pl.String).str.strip_suffix(".0")


def usd(value: pl.Expr) -> pl.Expr:
    """$850, $12.3k."""
    return pl.when(value.abs() >= 1_000).then(
        pl.concat_str(pl.lit("$"), number(value / 1_000), pl.lit("k"))
    ).otherwise(pl.concat_str(pl.lit("$"), value.round(0).cast(pl.Int64).cast(pl.String)))


def driver_reasons(members: pl.DataFrame, drivers: pl.DataFrame) -> pl.DataFrame:
    """(cluster, h3_id, day) members and (h3_id, day, drivers) -> (cluster, driver_reasons):
    the features raising risk in the most cells, by their summed contribution."""
    cells = members.group_by("cluster").agg(cells=pl.len())
    exploded = (
        members.join(drivers, on=["h3_id", "day"], how="left")
        .explode("drivers")
        .drop_nulls("drivers")
        .unnest("drivers")
        .filter(pl.col("contribution") > 0)
    )
    ranked = (
        exploded.group_by("cluster", "feature", "label")
        .agg(in_cells=pl.col("h3_id").n_unique(), value=pl.col("value").mean(), weight=pl.col("contribution").sum())
        .join(cells, on="cluster")
        .sort("cluster", "weight", "feature", descending=[False, True, False])
        .group_by("cluster", maintain_order=True)
        .head(DRIVER_REASONS)
    )
    text = pl.concat_str(
        pl.col("label"), pl.lit(": "), number(pl.col("value")).fill_null("n/a"),
        pl.lit(" on average (raises risk in "), pl.col("in_cells").cast(pl.String), pl.lit(" of "),
        pl.col("cells").cast(pl.String), pl.lit(" cells)"),
    )
    return ranked.group_by("cluster", maintain_order=True).agg(driver_reasons=text)


def cost_reason() -> pl.Expr:
    """From the cluster's expected loss columns."""
    return pl.concat_str(
        pl.lit("Expected 7-day loss "), usd(pl.col("expected_loss_usd")), pl.lit(" (p90 "), usd(pl.col("loss_p90_usd")),
        pl.lit("), "), (100 * pl.col("pressure_share")).round(0).cast(pl.Int64).cast(pl.String),
        pl.lit("% of incidents from mains, street leaks and hydrants, which pressure acts on"),
    )


def pressure_reason(settings: PressureSettings) -> pl.Expr:
    """From the chosen step's columns."""
    complaints = pl.when(pl.col("low_pressure_reports") > 0).then(
        pl.concat_str(
            pl.lit("; "), pl.col("low_pressure_reports").cast(pl.String),
            pl.lit(f" low-pressure complaint(s) in the last {settings.low_pressure_days} days limit the step"),
        )
    ).otherwise(pl.lit(""))
    stepping = pl.concat_str(
        pl.lit("Lower pressure by "), number(pl.col("delta_p_psi")), pl.lit(" psi "), pl.col("time_window"),
        pl.lit(": the critical point stays at "), number(pl.col("min_pressure_psi")),
        pl.lit(f" psi or more (floor {settings.floor_psi:g} psi)"), complaints,
    )
    surveying = pl.concat_str(
        pl.lit(f"No pressure step keeps the critical point above {settings.floor_psi:g} psi at night"),
        complaints, pl.lit(": survey for leaks instead"),
    )
    return pl.when(pl.col("action_type") == LEAK_SURVEY).then(surveying).otherwise(stepping)
