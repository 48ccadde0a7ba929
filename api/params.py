"""Query and path parameters, validated: a bad value is a 422 that names the parameter.

Each parameter's OpenAPI schema says exactly what it accepts (patterns and bounds that are the
validation itself), so a request valid by the schema is never refused with a 422: a well-formed
cell id outside the grid, or a date that is not published, is a 404 instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import polars as pl
from fastapi import Query
from pydantic import AfterValidator, WithJsonSchema

from api.render import BOUNDS
from chicago_risk.config import LEAK_TYPES

LATEST = "latest"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: str) -> date | str:
    # Only YYYY-MM-DD: pydantic would also take a Unix time or a datetime for a date.
    if value == LATEST:
        return value
    if not _ISO_DAY.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD, or 'latest'")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a day of the calendar") from None


# A day, or `latest`: the newest day on which every map layer is published. One type (not a
# union) so that an error names the parameter alone.
Day = Annotated[
    str,
    AfterValidator(_day),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "enum": [LATEST]}]}),
]
DateQuery = Annotated[
    Day | None,
    Query(description="YYYY-MM-DD, or `latest` (the default): the newest day every map layer is published"),
]

# H3 ids are 15 hexadecimal characters; one that is no cell of the published grid is a 404.
H3_PATTERN = "^[0-9a-fA-F]{15}$"

# Degrees as decimals: longitudes in [-180, 180], latitudes in [-90, 90], written out exactly so
# that the schema accepts no box the API would refuse.
_FRACTION = r"(\.[0-9]+)?"
_LON = rf"-?(180(\.0+)?|(1[0-7][0-9]|[0-9]{{1,2}}){_FRACTION})"
_LAT = rf"-?(90(\.0+)?|[0-8]?[0-9]{_FRACTION})"
BBOX_PATTERN = f"^{_LON},{_LAT},{_LON},{_LAT}$"


@dataclass(frozen=True)
class Bbox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def intersects(self) -> pl.Expr:
        """Rows (with BOUNDS columns) whose bounds meet this box."""
        min_lon, min_lat, max_lon, max_lat = (pl.col(c) for c in BOUNDS)
        return (
            (max_lon >= self.min_lon)
            & (min_lon <= self.max_lon)
            & (max_lat >= self.min_lat)
            & (min_lat <= self.max_lat)
        )

    def key(self) -> str:
        return f"{self.min_lon},{self.min_lat},{self.max_lon},{self.max_lat}"


async def bbox_query(  # async: FastAPI runs a plain def dependency in a thread
    bbox: Annotated[
        str | None,
        Query(
            pattern=BBOX_PATTERN,
            description=(
                "two opposite corners lon,lat,lon,lat in WGS 84 degrees (usually minLon,minLat,maxLon,maxLat; "
                "the box spans both corners whatever their order)"
            ),
            examples=["-87.7,41.8,-87.6,41.9"],
        ),
    ] = None,
) -> Bbox | None:
    if bbox is None:
        return None
    lon_a, lat_a, lon_b, lat_b = (float(part) for part in bbox.split(","))
    return Bbox(min(lon_a, lon_b), min(lat_a, lat_b), max(lon_a, lon_b), max(lat_a, lat_b))


# `types`: sr_type names or short codes, comma-separated.
_TYPE_BY_NAME = {t.sr_type.lower(): t.sr_type for t in LEAK_TYPES} | {
    t.short_code.lower(): t.sr_type for t in LEAK_TYPES
}
_TYPE = "(" + "|".join(sorted({t.short_code for t in LEAK_TYPES} | {t.sr_type for t in LEAK_TYPES})) + ")"
TYPES_PATTERN = f"^{_TYPE}(,{_TYPE})*$"


async def types_query(
    types: Annotated[
        str | None,
        Query(
            pattern=TYPES_PATTERN, max_length=1000,
            description="comma-separated 311 types: short codes or sr_type names, e.g. WM3,AAE",
        ),
    ] = None,
) -> tuple[str, ...] | None:
    if types is None:
        return None
    return tuple(sorted({_TYPE_BY_NAME[t.lower()] for t in types.split(",")}))


# What a 422 says instead of echoing a long pattern.
PATTERN_HINTS = {
    H3_PATTERN: "an H3 cell id is 15 hexadecimal characters, e.g. 8926641b2ffffff",
    BBOX_PATTERN: (
        "bbox must be four decimal numbers lon,lat,lon,lat (longitudes in [-180, 180], latitudes in [-90, 90])"
    ),
    TYPES_PATTERN: "types must be comma-separated 311 types: " + ", ".join(
        f"{t.short_code} ({t.sr_type})" for t in LEAK_TYPES
    ),
}
