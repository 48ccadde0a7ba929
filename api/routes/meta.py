"""`GET /api/meta`: what the map UI needs to set itself up: the grid, the published dates, the
versions behind each layer, the 311 types and action types it can filter on."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.context import ApiContext, context
from api.http import etag, matches, not_modified, send_model
from api.schemas import LayerStatus, Meta
from chicago_risk.config import LABEL_HORIZON_DAYS, LEAK_TYPES
from chicago_risk.grid import city_cells
from chicago_risk.publish.layers import COST, MAP_LAYERS, RECOMMENDATIONS, RISK
from chicago_risk.publish.store import Manifest

router = APIRouter(prefix="/api", tags=["meta"])
CITY = "Chicago"
DEFAULT_RESOLUTION = 9  # shown until a layer is published (Settings.h3_resolution's default)


def _status(manifest: Manifest | None) -> LayerStatus:
    days = manifest.days() if manifest else []
    latest = manifest.latest() if manifest else None
    return LayerStatus(
        date_min=days[0] if days else None,
        date_max=days[-1] if days else None,
        partitions=len(manifest.partitions) if manifest else 0,
        latest_partition=latest.version if latest else None,
        source_version=latest.source_version if latest else None,
    )


@router.get("/meta", response_model=Meta, responses={304: {"description": "Not Modified"}})
def meta(request: Request, api: Annotated[ApiContext, Depends(context)]) -> Response:
    manifests = {layer.table: api.reader.manifest(layer.table) for layer in MAP_LAYERS}
    model = api.reader.model()
    tag_parts = [m.updated_at if m else "-" for m in manifests.values()]
    tag = etag("meta", *tag_parts, model.model_id if model else "-")
    if matches(request, tag):
        return not_modified(tag)
    layers = {name: _status(m) for name, m in manifests.items()}
    risk = manifests[RISK.table]
    recommendations = manifests[RECOMMENDATIONS.table]
    resolution = risk.h3_resolution if risk else DEFAULT_RESOLUTION
    refreshed = [datetime.fromisoformat(m.updated_at) for m in manifests.values() if m]
    # The model behind the latest risk layer (its partition's facet), else the served one.
    layer_models = risk.latest().facets.get("model_id", []) if risk else []
    body = Meta(
        city=CITY,
        grid={"h3_resolution": resolution, "cells": len(city_cells(resolution))},
        date_min=layers[RISK.table].date_min,
        date_max=layers[RISK.table].date_max,
        horizons_days=[LABEL_HORIZON_DAYS],
        last_refresh_utc=max(refreshed) if refreshed else None,
        risk_model_version=layer_models[-1] if layer_models else (model.model_id if model else None),
        pricing_model_version=layers[COST.table].source_version,
        recommendation_version=layers[RECOMMENDATIONS.table].source_version,
        leak_311_types=[t.sr_type for t in LEAK_TYPES],
        recommendation_action_types=sorted(
            {a for e in (recommendations.partitions.values() if recommendations else []) for a in e.facets.get("action_type", [])}
        ),
        layers=layers,
    )
    return send_model(body, tag)
