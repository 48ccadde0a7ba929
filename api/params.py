"""Query and path parameters, validated: a bad value is a 422 that names the parameter."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import h3
import polars as pl
from fastapi import Query
from pydantic import BeforeValidator

from api.errors import invalid
from api.render import BOUNDS
from chicago_risk.config import LEAK_TYPES

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _strict_day(value: object) -> object:
    # pydantic would also take a Unix time or a datetime for a date; the contract says YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_strict_day)]
DateQuery = Annotated[IsoDate | None, Query(description="YYYY-MM-DD (default: the latest published date)")]


@dataclass(frozen=True)
class Bbox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def intersects(self) -> pl.Expr:
        """Rows (with BOUNDS columns) whose bounds meet this box."""
        min_lon, min_lat, max_lon, max_lat = (pl.col(c) for c in BOUNDS)
        return (max_lon >= self.min_lon) & (min_lon <= self.max_lon) & (max_lat >= self.min_lat) & (min_lat <= self.max_lat)

    def key(self) -> str:
        return f"{self.min_lon},{self.min_lat},{self.max_lon},{self.max_lat}"


async def bbox_query(  # async: FastAPI runs a plain def dependency in a thread

    bbox: Annotated[
        str | None,
        Query(max_length=200, description="minLon,minLat,maxLon,maxLat (WGS 84 degrees)", examples=["-87.7,41.8,-87.6,41.9"]),
    ] = None,
) -> Bbox | None:
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise invalid("query", "bbox", "bbox must be four numbers: minLon,minLat,maxLon,maxLat", bbox)
    box = Bbox(*values)
    if not (-180 <= box.min_lon <= 180 and -180 <= box.max_lon <= 180):
        raise invalid("query", "bbox", "bbox longitudes must lie in [-180, 180]", bbox)
    if not (-90 <= box.min_lat <= 90 and -90 <= box.max_lat <= 90):
        raise invalid("query", "bbox", "bbox latitudes must lie in [-90, 90]", bbox)
    if box.min_lon > box.max_lon or box.min_lat > box.max_lat:
        raise invalid("query", "bbox", "bbox must be ordered minLon,minLat,maxLon,maxLat (min <= max)", bbox)
    return box


def validate_cell(location: str, name: str, value: str, resolution: int) -> str:
    """A valid H3 cell id at the published resolution, or a 422 naming the parameter."""
    if not h3.is_valid_cell(value):
        raise invalid(location, name, "not an H3 cell id (15 hexadecimal characters, e.g. 89264... )", value)
    if h3.get_resolution(value) != resolution:
        raise invalid(location, name, f"an H3 cell of resolution {resolution} is needed, got {h3.get_resolution(value)}", value)
    return value


H3_PATTERN = "^[0-9a-fA-F]{15}$"

# `types` accepts sr_type names or short codes, comma-separated.
_TYPE_BY_NAME = {t.sr_type.lower(): t.sr_type for t in LEAK_TYPES} | {t.short_code.lower(): t.sr_type for t in LEAK_TYPES}


async def types_query(
    types: Annotated[
        str | None,
        Query(max_length=1000, description="comma-separated 311 types (sr_type names or short codes, e.g. WM3,AAE)"),
    ] = None,
) -> tuple[str, ...] | None:
    if types is None:
        return None
    wanted = [t.strip() for t in types.split(",") if t.strip()]
    unknown = [t for t in wanted if t.lower() not in _TYPE_BY_NAME]
    if unknown or not wanted:
        allowed = ", ".join(f"{t.short_code} ({t.sr_type})" for t in LEAK_TYPES)
        raise invalid("query", "types", f"unknown 311 type(s) {unknown or types!r}; allowed: {allowed}", types)
    return tuple(sorted({_TYPE_BY_NAME[t.lower()] for t in wanted}))
