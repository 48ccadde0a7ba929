"""One normalisation path for every 311 source: SODA-shaped rows -> accepted rows + quarantine.

Accepted rows keep the source's fields and gain typed, normalised ones (timestamps, coordinates,
H3 cell, type group, incident key, quality flags). A row that cannot be used goes to the
quarantine with the first reason that applies; nothing is dropped silently.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from chicago_risk.config import TYPE_GROUP_BY_SR_TYPE
from chicago_risk.grid import cells_for_points, city_cells
from chicago_risk.sources.soda import SODA_BOOLEAN_FIELDS, SODA_SCHEMA, SODA_STRING_FIELDS

# Socrata's JSON/CSV format, and the portal's Export button format (CHICAGO_FACTS).
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%m/%d/%Y %I:%M:%S %p")

NORMALISED_SCHEMA: dict[str, pl.DataType] = {
    "sr_number": pl.String(),
    "sr_type": pl.String(),
    "type_group": pl.String(),
    "status": pl.String(),
    "created_at": pl.Datetime("us"),
    "closed_at": pl.Datetime("us"),
    "day": pl.Date(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
    "h3_id": pl.String(),
    "incident_key": pl.String(),
    "is_duplicate": pl.Boolean(),
    "quality_flags": pl.List(pl.String()),
}
# The source's fields follow the normalised ones; `location` repeats latitude/longitude and an
# address, so it is not stored.
SOURCE_COLUMNS = tuple(
    name for name in (*SODA_STRING_FIELDS, *SODA_BOOLEAN_FIELDS) if name not in NORMALISED_SCHEMA
)
RAW_311_SCHEMA: dict[str, pl.DataType] = {
    **NORMALISED_SCHEMA,
    **{name: SODA_SCHEMA[name] for name in SOURCE_COLUMNS},
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "sr_number": pl.String(),
    "reason": pl.String(),
    "record": pl.String(),  # the source row as JSON, exactly as received
}


def parse_local_timestamp(column: str) -> pl.Expr:
    """A source timestamp string -> naive Chicago local datetime, null if it fits no format."""
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        [text.str.strptime(pl.Datetime("us"), fmt, strict=False) for fmt in TIMESTAMP_FORMATS]
    )


def _coordinate(field: str) -> pl.Expr:
    """The row's coordinate text: the field itself, else the `location` object's copy."""
    return pl.coalesce(pl.col(field), pl.col("location").struct.field(field)).str.strip_chars()


def normalise_requests(
    frame: pl.DataFrame, start: date, end: date, resolution: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split SODA rows fetched for days start..end into (accepted, quarantined) frames."""
    lat_text, lon_text = _coordinate("latitude"), _coordinate("longitude")
    parsed = frame.with_columns(
        created_at=parse_local_timestamp("created_date"),
        closed_at=parse_local_timestamp("closed_date"),
        lat=lat_text.cast(pl.Float64, strict=False),
        lon=lon_text.cast(pl.Float64, strict=False),
        type_group=pl.col("sr_type").replace_strict(TYPE_GROUP_BY_SR_TYPE, default=None),
        has_coordinates=lat_text.is_not_null() & lon_text.is_not_null(),
    ).with_columns(
        day=pl.col("created_at").dt.date(),
        coordinates_valid=pl.col("lat").is_between(-90, 90) & pl.col("lon").is_between(-180, 180),
    )
    valid = parsed.select(
        pl.when("coordinates_valid").then(axis).alias(axis) for axis in ("lat", "lon")
    )
    parsed = parsed.with_columns(h3_id=cells_for_points(valid["lat"], valid["lon"], resolution))
    in_city = pl.col("h3_id").is_in(pl.Series(city_cells(resolution), dtype=pl.String))
    # Paging over a changing dataset can return a request twice: keep its latest version.
    latest_version = (
        pl.int_range(pl.len()).sort_by(
            parse_local_timestamp("last_modified_date"), descending=True, nulls_last=True
        )
        == 0
    ).over("sr_number")
    reason = (
        pl.when(pl.col("sr_number").is_null())
        .then(pl.lit("missing_sr_number"))
        .when(pl.col("created_at").is_null())
        .then(pl.lit("unparseable_created_date"))
        .when(~pl.col("day").is_between(start, end))
        .then(pl.lit("created_outside_requested_window"))
        .when(pl.col("type_group").is_null())
        .then(pl.lit("unknown_sr_type"))
        .when(~pl.col("has_coordinates"))
        .then(pl.lit("missing_coordinates"))
        .when(~pl.col("coordinates_valid").fill_null(False))
        .then(pl.lit("malformed_coordinates"))
        .when(~in_city)
        .then(pl.lit("outside_city"))
        .when(~latest_version)
        .then(pl.lit("repeated_sr_number"))
    )
    parsed = parsed.with_columns(reason=reason)
    return _accepted(parsed.filter(pl.col("reason").is_null())), _quarantined(
        parsed.filter(pl.col("reason").is_not_null()), start, end
    )


def _accepted(rows: pl.DataFrame) -> pl.DataFrame:
    flagged_duplicate = pl.col("duplicate").fill_null(False)
    has_parent = pl.col("parent_sr_number").is_not_null()
    quality_flags = pl.concat_list(
        pl.when(pl.col("closed_date").is_not_null() & pl.col("closed_at").is_null()).then(
            pl.lit("unparseable_closed_date")
        ),
        pl.when(flagged_duplicate & ~has_parent).then(pl.lit("duplicate_without_parent")),
        pl.when(pl.col("closed_at") < pl.col("created_at")).then(pl.lit("closed_before_created")),
    ).list.drop_nulls()
    return (
        rows.with_columns(
            incident_key=pl.when(flagged_duplicate & has_parent)
            .then(pl.col("parent_sr_number"))
            .otherwise(pl.col("sr_number")),
            is_duplicate=flagged_duplicate,
            quality_flags=quality_flags,
        )
        .select(pl.col(name).cast(dtype) for name, dtype in RAW_311_SCHEMA.items())
        .sort("day", "created_at", "sr_number")
    )


def _quarantined(rows: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Quarantined rows are filed under their created day, or the window's first day if that is
    unknown or outside the window."""
    return (
        rows.with_columns(
            day=pl.when(pl.col("day").is_between(start, end))
            .then(pl.col("day"))
            .otherwise(pl.lit(start)),
            record=pl.struct(*SODA_SCHEMA).struct.json_encode(),
        )
        .select(pl.col(name).cast(dtype) for name, dtype in QUARANTINE_SCHEMA.items())
        .sort("day", "reason", "sr_number", "record")
    )
