"""The `recommendation_clusters` frame: clusters of high-risk cells with their step and savings.

A cluster's 7-day loss is the sum of its cells' (`cost_layer`). Its savings distribution is a
compound distribution again: the cluster's incidents follow a hurdle count with P(none) =
prod(1 - p_i) and the summed expected events (cells independent; both matched exactly), each of
class k with the cluster's share of class-k incidents and saving, on average over the
cluster's groups, `savings_per_incident_k * pressure share of class k`. So the p90 of savings
is exact for that model (a pressure-insensitive incident saves its class's average rather than
zero: a slight understatement of the spread).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chicago_risk.config.cost import CostSettings
from chicago_risk.cost.clusters import find_clusters, outline_geojson
from chicago_risk.cost.compound import compound
from chicago_risk.cost.costs import class_costs
from chicago_risk.cost.pressure import choose_steps
from chicago_risk.cost.rationale import cost_reason, driver_reasons, pressure_reason

SAVINGS_BREAKDOWN = pl.Struct({"water_usd": pl.Float64(), "energy_usd": pl.Float64(), "repair_usd": pl.Float64()})

RECOMMENDATIONS_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "rec_id": pl.String(),
    "rank": pl.Int32(),  # by expected savings within the day, 1 = largest
    "member_h3_ids": pl.List(pl.String()),
    "cells": pl.Int32(),
    "outline_geojson": pl.String(),
    "action_type": pl.String(),
    "delta_p_psi": pl.Float64(),
    "time_window": pl.String(),  # "22:00-06:00"; null for a leak survey
    "window_hours": pl.Int32(),
    "min_pressure_psi": pl.Float64(),
    "low_pressure_reports": pl.Int32(),
    # Over the 7 days of the predictions, the step held in its window every night.
    "expected_savings_usd": pl.Float64(),
    "expected_savings_usd_p90": pl.Float64(),
    "savings_breakdown": SAVINGS_BREAKDOWN,
    "expected_loss_usd": pl.Float64(),
    "loss_p90_usd": pl.Float64(),
    "pressure_share": pl.Float64(),  # expected incidents from pressure-sensitive groups / all
    "mean_p_event_7d": pl.Float64(),
    "p_any_event_7d": pl.Float64(),
    "expected_events": pl.Float64(),
    "rationale": pl.List(pl.String()),
}


def _per_class_sums(column: str, names: tuple[str, ...]) -> list[pl.Expr]:
    return [pl.col(column).struct.field(name).sum().alias(f"{column}_{name}") for name in names]


def build_recommendations(
    costs: pl.DataFrame, drivers: pl.DataFrame, resolution: int, settings: CostSettings
) -> pl.DataFrame:
    """Clusters of the cells of `costs` (cost_layer rows) at or above the risk threshold, with
    `drivers` (h3_id, day, drivers) of risk_predictions for the rationale."""
    names = settings.class_names
    candidates = costs.filter(pl.col("p_event_7d") >= settings.clusters.min_p_event_7d)
    if candidates.is_empty():
        return pl.DataFrame(schema=RECOMMENDATIONS_SCHEMA)
    members = find_clusters(candidates, resolution, settings.clusters.max_cells).join(
        candidates, on=["day", "h3_id"]
    )
    clusters = (
        members.sort("h3_id")
        .group_by("cluster")
        .agg(
            pl.col("day").first(),
            *_per_class_sums("expected_incidents", names),
            *_per_class_sums("pressure_incidents", names),
            member_h3_ids=pl.col("h3_id"),
            cells=pl.len().cast(pl.Int32),
            mean_p_event_7d=pl.col("p_event_7d").mean(),
            p_any_event_7d=1.0 - (-pl.col("p_event_7d")).log1p().sum().exp(),
            expected_events=pl.col("expected_events").sum(),
            expected_loss_usd=pl.col("expected_cost_usd_7d").sum(),
            low_pressure_reports=pl.col("low_pressure_reports").sum().cast(pl.Int32),
        )
        .sort("cluster")
    )
    incidents = clusters.select(f"expected_incidents_{n}" for n in names).to_numpy()
    pressure_incidents = clusters.select(f"pressure_incidents_{n}" for n in names).to_numpy()
    choice = choose_steps(clusters["low_pressure_reports"].to_numpy(), pressure_incidents, settings)
    total = incidents.sum(axis=1)
    shares = incidents / np.where(total > 0, total, 1.0)[:, None]
    pressure_of_class = pressure_incidents / np.where(incidents > 0, incidents, 1.0)
    p_any = clusters["p_any_event_7d"].to_numpy()
    savings = compound(p_any, total, shares, choice.savings_per_incident * pressure_of_class, settings.quantile)
    water, energy, repair = class_costs(settings)
    loss = compound(p_any, total, shares, water + energy + repair, settings.quantile)
    clusters = clusters.with_columns(
        action_type=pl.Series(choice.action_type, dtype=pl.String),
        delta_p_psi=choice.delta_p_psi,
        time_window=choice.time_window,
        window_hours=pl.Series(choice.window_hours).cast(pl.Int32),
        min_pressure_psi=choice.min_pressure_psi,
        expected_savings_usd=choice.savings_usd,
        expected_savings_usd_p90=savings.quantile,
        savings_breakdown=pl.DataFrame(
            {"water_usd": choice.water_usd, "energy_usd": choice.energy_usd, "repair_usd": choice.repair_usd}
        ).to_struct(),
        loss_p90_usd=loss.quantile,
        pressure_share=pressure_incidents.sum(axis=1) / np.where(total > 0, total, 1.0),
    )
    return _identify(clusters, members, drivers, settings)


def _identify(
    clusters: pl.DataFrame, members: pl.DataFrame, drivers: pl.DataFrame, settings: CostSettings
) -> pl.DataFrame:
    """Rank within the day by savings (then loss, then first member), rec ids, outline, rationale."""
    ordered = clusters.with_columns(first_member=pl.col("member_h3_ids").list.first()).sort(
        "day", "expected_savings_usd", "expected_loss_usd", "first_member", descending=[False, True, True, False]
    ).with_columns(rank=pl.int_range(1, pl.len() + 1).over("day").cast(pl.Int32))
    reasons = driver_reasons(members.select("cluster", "h3_id", "day"), drivers)
    return (
        ordered.join(reasons, on="cluster", how="left")
        .with_columns(
            rec_id=pl.concat_str(
                pl.lit("rec-"), pl.col("day").dt.strftime("%Y%m%d"), pl.lit("-"),
                pl.col("rank").cast(pl.String).str.zfill(3),
            ),
            outline_geojson=pl.col("member_h3_ids").map_elements(
                lambda cells: outline_geojson(tuple(cells)), return_dtype=pl.String
            ),
            rationale=pl.concat_list(
                pl.col("driver_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                cost_reason(),
                pressure_reason(settings.pressure),
            ),
        )
        .select(pl.col(name).cast(dtype) for name, dtype in RECOMMENDATIONS_SCHEMA.items())
    )
