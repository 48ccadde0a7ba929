"""Inputs of the cost assets from the demo city: raw_311_requests (real rows: the demo's SODA
reports through the ingest normalisation) and a realistic risk_predictions table (the demo's own
ex-ante truth as the probabilities, its intensities over the next week as expected events, and
drivers from the cells' recent incidents)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from chicago_risk.config import LEAK_TYPES, MODEL_SETTINGS
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.ingest.normalise import normalise_requests
from chicago_risk.models.drivers import DRIVER_DTYPE, feature_labels
from chicago_risk.models.predict import PREDICTIONS_SCHEMA, risk_band

RESOLUTION = 9
BASE_RATE = 0.13  # the demo's 7-day base rate at resolution 9


def raw_requests(first: date, last: date, observed_at: datetime, resolution: int = RESOLUTION) -> pl.DataFrame:
    """raw_311_requests rows created first..last as the city showed them at `observed_at`."""
    source = DemoCitySource(h3_resolution=resolution, as_of=observed_at.isoformat())
    fetched = source.fetch_requests(first, last, tuple(t.sr_type for t in LEAK_TYPES))
    accepted, _ = normalise_requests(fetched, first, last, resolution)
    return accepted


def predictions(raw: pl.DataFrame, first: date, last: date, resolution: int = RESOLUTION) -> pl.DataFrame:
    """risk_predictions rows for days first..last in PREDICTIONS_SCHEMA."""
    source = DemoCitySource(h3_resolution=resolution)
    truth = source.truth(first, last + timedelta(days=7))
    week_ahead = (
        truth.sort("h3_id", "day")
        .with_columns(
            expected_events=pl.col("mu").rolling_sum(7).shift(-7).over("h3_id"),
        )
        .filter(pl.col("day").is_between(first, last))
    )
    recent = (
        raw.filter(pl.col("sr_number") == pl.col("incident_key"))
        .select("h3_id", day=pl.date_ranges("day", pl.col("day") + pl.duration(days=29)))
        .explode("day")
        .group_by("h3_id", "day")
        .agg(cnt_30d=pl.len().cast(pl.Float64))
    )
    labels = feature_labels()
    rows = (
        week_ahead.join(recent, on=["h3_id", "day"], how="left")
        .with_columns(
            p_event_7d=pl.col("p_oracle_7d").clip(1e-4, 1 - 1e-4),
            cnt_30d=pl.col("cnt_30d").fill_null(0.0),
        )
        .with_columns(
            expected_events=pl.max_horizontal("expected_events", "p_event_7d"),
            risk_band=risk_band(pl.col("p_event_7d"), MODEL_SETTINGS.bands),
            confidence=pl.lit(0.8),
            model_id=pl.lit("lightgbm-demo-truth"),
            model_cutoff=pl.lit(first),
        )
    )
    # Drivers of the cells above the low band (as risk_predictions keeps for older days), built
    # long then gathered per row: a list literal per row is slow in polars.
    explained = rows.with_row_index("row").filter(pl.col("risk_band") != "low")
    long = pl.concat(
        [
            explained.select("row", feature=pl.lit(name), value=value, contribution=contribution, label=pl.lit(labels[name]))
            for name, value, contribution in (
                ("rate_7d_shrunk", pl.col("mu") * 7, (pl.col("p_event_7d") / BASE_RATE).log()),
                ("cnt_30d", pl.col("cnt_30d"), 0.4 * pl.col("cnt_30d") - 0.2),
                ("days_since_last", pl.lit(3.0), pl.lit(0.1)),
            )
        ]
    ).sort("row", maintain_order=True)
    drivers = long.group_by("row", maintain_order=True).agg(drivers=pl.struct("feature", "value", "contribution", "label"))
    return (
        rows.with_row_index("row")
        .join(drivers, on="row", how="left", maintain_order="left")
        .with_columns(pl.col("drivers").fill_null(pl.lit([], dtype=DRIVER_DTYPE)))
        .select(pl.col(name).cast(dtype) for name, dtype in PREDICTIONS_SCHEMA.items())
        .sort("day", "h3_id")
    )
