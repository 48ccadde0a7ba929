"""Scoring rows of `risk_predictions`: probability, band, expected incidents, confidence, drivers.

Columns (PREDICTIONS_SCHEMA):
- `p_event_7d`: calibrated probability of at least one leak-related 311 incident in the cell in
  the 7 days after `day`.
- `risk_band`: `low` / `medium` / `high` by `RiskBands` thresholds on p_event_7d.
- `expected_events`: expected incidents in those 7 days (an increasing map of p fitted on the
  calibration slice; never below p).
- `confidence`: 1 - (relative uncertainty of p), from how many calibration cell-days back a
  probability like it and how well they agreed with it (see `calibration.ConfidenceTable`):
  0.9 = the calibration data pins p within about 10% of its value.
- `drivers`: the top 3-5 signed contributions {feature, value, contribution (log-odds of the
  uncalibrated score: TreeSHAP plus the offset's terms), label (plain words)}, largest
  first. Computed for every cell of the last `DriverSettings.all_cells_recent_days` days and for
  cells above the low band on older days (TreeSHAP costs ~3.5 s per day of the city); an empty
  list elsewhere and for non-tree models.
- `model_id`, `model_cutoff`: the model that scored the row (its cutoff is on or before `day`).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from chicago_risk.config import ModelSettings, RiskBands, chicago_today
from chicago_risk.models.drivers import DRIVER_DTYPE, explain, no_drivers
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.model import FittedModel

RISK_BANDS = ("low", "medium", "high")

PREDICTIONS_SCHEMA: dict[str, pl.DataType] = {
    "h3_id": pl.String(),
    "day": pl.Date(),
    "p_event_7d": pl.Float64(),
    "risk_band": pl.String(),
    "expected_events": pl.Float64(),
    "confidence": pl.Float64(),
    "drivers": DRIVER_DTYPE,
    "model_id": pl.String(),
    "model_cutoff": pl.Date(),
}


def risk_band(p: pl.Expr, bands: RiskBands) -> pl.Expr:
    return (
        pl.when(p >= bands.high_from).then(pl.lit("high"))
        .when(p >= bands.medium_from).then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )


def drivers_wanted(settings: ModelSettings, today: date | None = None) -> pl.Expr:
    """Rows (with `day` and `risk_band`) that get drivers: every cell of recent days, cells
    above the low band on older days."""
    recent = settings.drivers.all_cells_recent_days
    if recent is None:
        return pl.lit(True)
    first_recent = (today or chicago_today()) - timedelta(days=recent)
    return (pl.col("day") >= first_recent) | (pl.col("risk_band") != "low")


def score(
    model: FittedModel, features: pl.DataFrame, settings: ModelSettings, today: date | None = None
) -> pl.DataFrame:
    """Every row of `features` scored by `model`, in PREDICTIONS_SCHEMA, same row order."""
    predicted = model.predict(features).with_columns(
        risk_band=risk_band(pl.col("p_event_7d"), settings.bands),
        model_cutoff=pl.lit(model.cutoff, dtype=pl.Date),
    )
    if not isinstance(model.scorer, LightGBMScorer):
        return predicted.with_columns(drivers=no_drivers(features.height)).select(
            pl.col(name).cast(dtype) for name, dtype in PREDICTIONS_SCHEMA.items()
        )
    wanted = predicted.select(drivers_wanted(settings, today).alias("wanted"))["wanted"]
    explained = explain(model.scorer, features.filter(wanted), settings.drivers)
    index = pl.int_range(pl.len(), dtype=pl.UInt32).alias("row")
    drivers = pl.DataFrame({"row": wanted.arg_true().cast(pl.UInt32), "drivers": explained})
    return (
        predicted.with_columns(index)
        .join(drivers, on="row", how="left", maintain_order="left")
        .with_columns(pl.col("drivers").fill_null(pl.lit([], dtype=DRIVER_DTYPE)))
        .select(pl.col(name).cast(dtype) for name, dtype in PREDICTIONS_SCHEMA.items())
    )
