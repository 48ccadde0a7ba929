"""`GET /api/city`: the city limits the grid is cut from, as GeoJSON (RFC 7946), for the map to
draw under the hexagons (it has no tiles). The outline is part of the code, not of the published
layers: it is served even before anything is published, and its ETag is its content's digest."""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256

from fastapi import APIRouter, Request, Response

from api import geojson
from api.http import GeoJSONResponse, RenderedBody, etag, send_conditional
from api.schemas import CityOutline
from chicago_risk.grid import city_limits_geojson

router = APIRouter(prefix="/api", tags=["city"])

ROUTE_NAME = "city_outline"  # /api/meta names the route's path through it
# The credit a map showing the outline owes (chicago_risk's file names its source, no credit line).
ATTRIBUTION = "City limits: City of Chicago (Chicago Data Portal, community areas, dataset cauq-8yn6)"


@lru_cache(maxsize=1)
def outline_body() -> tuple[RenderedBody, str]:
    """The outline's bytes (plain and gzip) and ETag, built once: rings re-oriented per RFC 7946
    (the source file's exterior ring runs clockwise), properties with the attribution."""
    features = [
        {
            "type": "Feature",
            "geometry": geojson.oriented(feature["geometry"]),
            "properties": {
                "name": feature["properties"]["name"],
                "source": feature["properties"]["source"],
                "attribution": ATTRIBUTION,
            },
        }
        for feature in city_limits_geojson()["features"]
    ]
    raw = CityOutline.model_validate({"type": "FeatureCollection", "features": features}).model_dump_json().encode()
    return RenderedBody.of(raw), etag("city", sha256(raw).hexdigest())


@router.get(
    "/city",
    name=ROUTE_NAME,
    response_model=CityOutline,
    response_class=GeoJSONResponse,
    responses={304: {"description": "Not Modified: the `If-None-Match` ETag is current"}},
)
def city_outline(request: Request) -> Response:
    """The city outline: one feature, with its source and the attribution a map owes."""
    body, tag = outline_body()
    return send_conditional(request, body, tag)
