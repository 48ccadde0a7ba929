"""The `cost_layer` frame: each cell's 7-day cost from its predictions and its severity mix.

An incident of severity class k loses leak_volume_k m3, worth water_usd_per_m3 each and
energy_kwh_per_m3 * electricity price in energy, and costs repair_usd_k to repair. The cell's
incidents over the 7 days follow the hurdle count of `compound` (from p_event_7d and
expected_events), each of class k with the cell's probability q_k (see `severity`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chicago_risk.config.cost import CostSettings
from chicago_risk.cost.compound import compound
from chicago_risk.cost.severity import class_columns

PREDICTION_COLUMNS = ("h3_id", "day", "p_event_7d", "risk_band", "expected_events", "model_id")


def incidents_dtype(settings: CostSettings) -> pl.Struct:
    return pl.Struct({name: pl.Float64() for name in settings.class_names})


def class_costs(settings: CostSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Water, energy and repair cost in USD of one incident of each severity class."""
    volume = np.array([c.leak_volume_m3 for c in settings.classes])
    prices = settings.prices
    energy = volume * prices.energy_kwh_per_m3 * prices.electricity_usd_per_kwh
    return volume * prices.water_usd_per_m3, energy, np.array([c.repair_usd for c in settings.classes])


def cost_layer_schema(settings: CostSettings) -> dict[str, pl.DataType]:
    return {
        "h3_id": pl.String(),
        "day": pl.Date(),
        "p_event_7d": pl.Float64(),
        "risk_band": pl.String(),
        "expected_events": pl.Float64(),
        "expected_cost_usd_7d": pl.Float64(),
        "p90_cost": pl.Float64(),
        # Mean cost of the worst 10% of weeks (expected shortfall): at least the mean and the p90.
        "tail_cost_usd_7d": pl.Float64(),
        "cost_water_usd_mean": pl.Float64(),
        "cost_energy_usd_mean": pl.Float64(),
        "cost_repair_usd_mean": pl.Float64(),
        "leak_volume_m3_mean": pl.Float64(),
        "cost_quantile": pl.Float64(),
        # Expected incidents of each severity class over the 7 days, and those of them from
        # pressure-sensitive groups (mains, street, hydrants), which a pressure step acts on.
        "expected_incidents": incidents_dtype(settings),
        "pressure_incidents": incidents_dtype(settings),
        "low_pressure_reports": pl.Int32(),
        "severity_as_of": pl.Date(),
        "model_id": pl.String(),
    }


def cost_layer_frame(
    predictions: pl.DataFrame, probabilities: pl.DataFrame, low_pressure: pl.DataFrame, settings: CostSettings
) -> pl.DataFrame:
    """One row per prediction row. `probabilities`: (as_of, h3_id, q_<class>, qp_<class>) with
    `as_of` the prediction day's severity as-of day (column `severity_as_of` of `predictions`);
    `low_pressure`: (day, h3_id, low_pressure_reports)."""
    names = settings.class_names
    rows = (
        predictions.join(
            probabilities.rename({"as_of": "severity_as_of"}), on=["severity_as_of", "h3_id"], how="left"
        )
        .join(low_pressure, on=["day", "h3_id"], how="left")
        .sort("day", "h3_id")
    )
    missing = rows.filter(pl.any_horizontal(pl.col(class_columns(settings, "q_")).is_null()))
    if missing.height:
        raise ValueError(f"{missing.height} prediction rows have no severity mix, e.g. {missing.row(0, named=True)}")
    water, energy, repair = class_costs(settings)
    volume = np.array([c.leak_volume_m3 for c in settings.classes])
    expected = rows["expected_events"].to_numpy()
    q = rows.select(class_columns(settings, "q_")).to_numpy()
    qp = rows.select(class_columns(settings, "qp_")).to_numpy()
    incidents = expected[:, None] * q
    distribution = compound(rows["p_event_7d"].to_numpy(), expected, q, water + energy + repair, settings.quantile)
    return rows.with_columns(
        expected_cost_usd_7d=distribution.mean,
        p90_cost=distribution.quantile,
        tail_cost_usd_7d=distribution.tail_mean,
        cost_water_usd_mean=(incidents * water).sum(axis=1),
        cost_energy_usd_mean=(incidents * energy).sum(axis=1),
        cost_repair_usd_mean=(incidents * repair).sum(axis=1),
        leak_volume_m3_mean=(incidents * volume).sum(axis=1),
        expected_incidents=pl.DataFrame(incidents, schema=list(names)).to_struct(),
        pressure_incidents=pl.DataFrame(expected[:, None] * qp, schema=list(names)).to_struct(),
    ).with_columns(
        cost_quantile=pl.col("expected_cost_usd_7d").rank("max").over("day") / pl.len().over("day"),
    ).select(pl.col(name).cast(dtype) for name, dtype in cost_layer_schema(settings).items())
