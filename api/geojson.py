"""GeoJSON per RFC 7946: `[lon, lat]` positions, closed rings, exterior rings counter-clockwise
and holes clockwise, no `crs` member. Coordinates are rounded to 6 decimals (about 0.1 m)."""

from __future__ import annotations

import json
from functools import cache

import h3

DECIMALS = 6
Ring = list[list[float]]


def signed_area(ring: Ring) -> float:
    """Shoelace area in degrees squared: > 0 when the ring runs counter-clockwise."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def _closed(ring: Ring) -> Ring:
    return ring if ring[0] == ring[-1] else [*ring, ring[0]]


def _oriented(ring: Ring, counter_clockwise: bool) -> Ring:
    rounded = _closed([[round(float(x), DECIMALS), round(float(y), DECIMALS)] for x, y, *_ in ring])
    return rounded if (signed_area(rounded) > 0) == counter_clockwise else rounded[::-1]


def _polygon(rings: list[Ring]) -> list[Ring]:
    exterior, *holes = rings
    return [_oriented(exterior, True), *(_oriented(h, False) for h in holes)]


def oriented(geometry: dict) -> dict:
    """A Polygon or MultiPolygon rewritten per RFC 7946 (orientation, closure, no `crs`)."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": _polygon(geometry["coordinates"])}
    if kind == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [_polygon(p) for p in geometry["coordinates"]]}
    raise ValueError(f"an outline must be a Polygon or MultiPolygon, not {kind!r}")


def bounds(geometry: dict) -> tuple[float, float, float, float]:
    """min lon, min lat, max lon, max lat of a Polygon or MultiPolygon."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    xs = [x for polygon in polygons for ring in polygon for x, _ in ring]
    ys = [y for polygon in polygons for ring in polygon for _, y in ring]
    return min(xs), min(ys), max(xs), max(ys)


@cache
def hexagon(h3_id: str) -> tuple[str, tuple[float, float, float, float]]:
    """A cell's hexagon as GeoJSON Polygon text, and its bounds (cells are few: cached)."""
    ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(h3_id)]
    geometry = oriented({"type": "Polygon", "coordinates": [ring]})
    return json.dumps(geometry, separators=(",", ":")), bounds(geometry)


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [round(lon, DECIMALS), round(lat, DECIMALS)]}
