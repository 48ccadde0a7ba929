"""The shape of a 311 row as the city's Socrata API gives it (dataset v6vf-nfxy, SODA JSON).

Every source (demo city, Socrata, file exports) hands the ingest a frame with exactly these columns,
so all rows go through one normalisation path. In the JSON every value is a string except
`duplicate` and `legacy_record`; a null field is absent from the object, which is null here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

SODA_STRING_FIELDS: tuple[str, ...] = (
    "sr_number",
    "sr_type",
    "sr_short_code",
    "created_department",
    "owner_department",
    "status",
    "origin",
    "created_date",
    "last_modified_date",
    "closed_date",
    "street_address",
    "zip_code",
    "street_number",
    "street_direction",
    "street_name",
    "street_type",
    "community_area",
    "ward",
    "police_district",
    "created_hour",
    "created_day_of_week",
    "created_month",
    "x_coordinate",
    "y_coordinate",
    "latitude",
    "longitude",
    "parent_sr_number",
)
SODA_BOOLEAN_FIELDS: tuple[str, ...] = ("duplicate", "legacy_record")
LOCATION_SCHEMA = pl.Struct(
    {"latitude": pl.String, "longitude": pl.String, "human_address": pl.String}
)
SODA_SCHEMA: dict[str, pl.DataType] = {
    **{name: pl.String() for name in SODA_STRING_FIELDS},
    **{name: pl.Boolean() for name in SODA_BOOLEAN_FIELDS},
    "location": LOCATION_SCHEMA,
}
# Socrata's own timestamp format: local Chicago time without a zone, e.g. 2021-01-01T05:59:30.000
SODA_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.3f"


def empty_soda_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=SODA_SCHEMA)


def soda_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows parsed from SODA JSON -> a frame in `SODA_SCHEMA`.

    Absent keys become nulls and unknown keys are ignored. Values are kept as the source gave
    them: a field of the wrong JSON type (a number where a string belongs) is turned into its
    string form so that normalisation, not parsing, decides whether the row is usable.
    """
    rows = list(rows)
    if not rows:
        return empty_soda_frame()
    # JSON arrives as Python dicts, so building the columns is one pass per column over them.
    columns = {
        **{
            name: pl.Series(name, [_as_string(row.get(name)) for row in rows], dtype=pl.String)
            for name in SODA_STRING_FIELDS
        },
        **{
            name: pl.Series(name, [_as_bool(row.get(name)) for row in rows], dtype=pl.Boolean)
            for name in SODA_BOOLEAN_FIELDS
        },
        "location": pl.Series(
            "location", [_as_location(row.get("location")) for row in rows], dtype=LOCATION_SCHEMA
        ),
    }
    return pl.DataFrame(columns)


def _as_string(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    return {"true": True, "false": False}.get(text)


def _as_location(value: Any) -> dict[str, str | None] | None:
    if not isinstance(value, Mapping):
        return None
    return {key: _as_string(value.get(key)) for key in ("latitude", "longitude", "human_address")}
