"""From a published partition to GeoJSON bytes, vectorised and done once per partition.

A `LayerView` holds each row's Feature as JSON text plus the columns filters read (the feature's
bounds and a few values), so any filter combination is a boolean mask and a join of texts: the
full city layer costs one `str.join`, not 5,630 `json.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from api import geojson

BOUNDS = ("min_lon", "min_lat", "max_lon", "max_lat")


@dataclass(frozen=True)
class LayerView:
    features: pl.Series  # String: one GeoJSON Feature per row
    columns: pl.DataFrame  # BOUNDS + the layer's filter columns, row-aligned with `features`

    def select(self, mask: pl.Expr) -> pl.Series:
        return self.features.filter(self.columns.select(mask.fill_null(False)).to_series())


def _features(geometry: pl.Series, properties: pl.DataFrame) -> pl.Series:
    texts = pl.DataFrame({"geometry": geometry, "properties": properties.select(
        pl.struct(pl.all()).struct.json_encode()
    ).to_series()})
    return texts.select(
        pl.concat_str(
            pl.lit('{"type":"Feature","geometry":'), "geometry", pl.lit(',"properties":'), "properties", pl.lit("}")
        )
    ).to_series()


def hexagon_bounds(h3_ids: pl.Series) -> pl.DataFrame:
    """BOUNDS of each cell's hexagon, row-aligned with `h3_ids`."""
    return _hexagons(h3_ids)[1]


def _hexagons(h3_ids: pl.Series) -> tuple[pl.Series, pl.DataFrame]:
    shapes = [geojson.hexagon(h) for h in h3_ids.to_list()]
    texts = pl.Series("geometry", [text for text, _ in shapes], dtype=pl.String)
    return texts, pl.DataFrame([b for _, b in shapes], schema=list(BOUNDS), orient="row")


def _money(*names: str) -> list[pl.Expr]:
    return [pl.col(n).fill_nan(None).round(2) for n in names]


COST_COLUMNS = (
    "expected_cost_usd_7d",
    "p90_cost",
    "cost_energy_usd_mean",
    "cost_water_usd_mean",
    "cost_repair_usd_mean",
)


def _drivers() -> pl.Expr:
    return pl.col("drivers").list.eval(
        pl.struct(
            pl.element().struct.field("feature"),
            pl.element().struct.field("value").fill_nan(None).round(4),
            pl.element().struct.field("contribution").round(4),
            pl.element().struct.field("label"),
        )
    )


def risk_values() -> list[pl.Expr]:
    """A cell's risk as numbers and band, rounded as shown everywhere (the compact values route
    leaves the drivers to the drill-down)."""
    return [
        pl.col("p_event_7d").round(4), pl.col("risk_band"), pl.col("confidence").round(3),
        pl.col("expected_events").round(3),
    ]


def risk_properties() -> list[pl.Expr]:
    """A cell's risk as the API shows it (here and in the cell drill-down)."""
    return [*risk_values(), _drivers()]


def cost_properties() -> list[pl.Expr]:
    """A cell's cost as the API shows it (here and in the cell drill-down)."""
    return [
        pl.col("h3_id"), *_money(*COST_COLUMNS), pl.col("leak_volume_m3_mean").fill_nan(None).round(3),
        pl.col("cost_quantile").fill_nan(None).round(4),
    ]


def risk_view(frame: pl.DataFrame) -> LayerView:
    properties = frame.select(pl.col("h3_id"), *risk_properties())
    geometry, bounds = _hexagons(frame["h3_id"])
    return LayerView(_features(geometry, properties), bounds.hstack(frame.select("p_event_7d")))


def cost_view(frame: pl.DataFrame) -> LayerView:
    geometry, bounds = _hexagons(frame["h3_id"])
    return LayerView(_features(geometry, frame.select(cost_properties())), bounds.hstack(frame.select(COST_COLUMNS)))


def recommendations_view(frame: pl.DataFrame) -> LayerView:
    outlines = [geojson.oriented(json.loads(text)) for text in frame["outline_geojson"].to_list()]
    geometry = pl.Series("geometry", [json.dumps(o, separators=(",", ":")) for o in outlines], dtype=pl.String)
    bounds = pl.DataFrame([geojson.bounds(o) for o in outlines], schema=list(BOUNDS), orient="row")
    properties = frame.select(
        "rec_id", "action_type", pl.col("delta_p_psi").round(2), "time_window",
        *_money("expected_savings_usd", "expected_savings_usd_p90"), "member_h3_ids", "rationale",
    )
    return LayerView(
        _features(geometry, properties), bounds.hstack(frame.select("expected_savings_usd", "action_type"))
    )


def event_summary() -> pl.Expr:
    """'Check for Leak at 1200 N CLARK ST': the type, and the street only where the city gave it."""
    street = pl.concat_str(
        pl.col("street_number"), pl.col("street_direction"), pl.col("street_name"), pl.col("street_type"),
        separator=" ", ignore_nulls=True,
    )
    return (
        pl.when(pl.col("street_name").is_not_null())
        .then(pl.concat_str(pl.col("sr_type"), pl.lit(" at "), street))
        .otherwise(pl.col("sr_type"))
    )


EVENT_PROPERTIES: tuple[pl.Expr, ...] = (
    pl.col("sr_number"),
    pl.col("created_at").dt.strftime("%Y-%m-%dT%H:%M:%S").alias("created_date"),
    pl.col("closed_at").dt.strftime("%Y-%m-%dT%H:%M:%S").alias("closed_date"),
    pl.col("status"),
    pl.col("sr_type").alias("type"),
    event_summary().alias("summary"),
    pl.col("h3_id"),
    pl.col("is_duplicate").alias("duplicate"),
)


def events_view(frame: pl.DataFrame) -> LayerView:
    coordinates = frame.select(pl.concat_list(pl.col("lon").round(6), pl.col("lat").round(6)).alias("coordinates"))
    geometry = coordinates.select(
        pl.struct(pl.lit("Point").alias("type"), "coordinates").struct.json_encode()
    ).to_series()
    bounds = frame.select(
        pl.col("lon").alias("min_lon"), pl.col("lat").alias("min_lat"),
        pl.col("lon").alias("max_lon"), pl.col("lat").alias("max_lat"),
    )
    properties = frame.select(EVENT_PROPERTIES)
    return LayerView(_features(geometry, properties), bounds.hstack(frame.select("sr_type", "sr_short_code", "status")))


def feature_collection(head: dict, features: Iterable[pl.Series]) -> bytes:
    """A FeatureCollection with `head`'s members (and `count`), then the features, as bytes."""
    parts = list(features)
    joined = pl.concat(parts) if parts else pl.Series(dtype=pl.String)
    members = json.dumps({"type": "FeatureCollection", **head, "count": joined.len()}, separators=(",", ":"))
    body = joined.str.join(",").item() if joined.len() else ""
    return f'{members[:-1]},"features":[{body}]}}'.encode()
