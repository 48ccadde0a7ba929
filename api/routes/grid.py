"""`GET /api/grid`: every cell of the published grid with its hexagon, fetched once by map clients
that then ask only for values (`/api/layers/{risk,cost}/values`). Its ETag is the grid's version
(derived from the cells), and clients may keep it a day without asking again."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.context import context
from api.grid import served_grid
from api.http import GeoJSONResponse, send_conditional
from api.routes.meta import DEFAULT_RESOLUTION
from api.schemas import GridLayer
from chicago_risk.publish.layers import RISK

router = APIRouter(prefix="/api", tags=["layers"])

ROUTE_NAME = "grid"
# The grid changes only with a deploy (resolution, city limits): a day's caching saves every
# page load's 200 KB, and `grid_version` in every values response tells a client to refetch sooner.
CACHE_CONTROL = "public, max-age=86400"


@router.get(
    "/grid",
    name=ROUTE_NAME,
    response_model=GridLayer,
    response_class=GeoJSONResponse,
    responses={304: {"description": "Not Modified: the `If-None-Match` ETag is the current grid's"}},
)
def grid_shapes(request: Request) -> Response:
    """Every cell's `h3_id` and hexagon (RFC 7946), and the grid's `grid_version`."""
    manifest = context(request).reader.manifest(RISK.table)
    grid = served_grid(manifest.h3_resolution if manifest else DEFAULT_RESOLUTION)
    return send_conditional(request, grid.body(), f'W/"grid-{grid.version}"', cache_control=CACHE_CONTROL)
