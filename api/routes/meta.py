"""`GET /api/meta`: what the map UI needs to set itself up: the grid and the city outline's
route, the published dates (and the days every map layer has), the risk bands, the versions behind
each layer, the 311 types and action types it can filter on."""

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.context import ApiContext, context
from api.grid import served_grid
from api.http import etag, matches, not_modified, send_model
from api.partitions import days_of_every_layer
from api.routes import city
from api.schemas import (
    AliasedModel,
    ChampionModel,
    DateRun,
    LayerStatus,
    Meta,
    ModelAliases,
    RiskBandThresholds,
    ShadowComparison,
    ShadowScore,
)
from chicago_risk.config import LABEL_HORIZON_DAYS, LEAK_TYPES, MODEL_SETTINGS
from chicago_risk.cost.pressure import ACTION_TYPES
from chicago_risk.publish.layers import CHAMPION_DECISION, COST, COVERAGE, MAP_LAYERS, RECOMMENDATIONS, RISK, WEATHER
from chicago_risk.publish.store import Manifest

GRID_ROUTE = "grid"  # api.routes.grid's route name

router = APIRouter(prefix="/api", tags=["meta"])
CITY = "Chicago"
DEFAULT_RESOLUTION = 9  # shown until a layer is published (Settings.h3_resolution's default)
# What the body holds besides the manifests: a deploy that changes it changes the ETag.
CONFIGURED = (MODEL_SETTINGS.bands, ACTION_TYPES, tuple(t.sr_type for t in LEAK_TYPES), LABEL_HORIZON_DAYS)


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


def date_runs(days: list[date]) -> list[DateRun]:
    """Sorted days as runs of consecutive days: as many runs as gaps + 1, however long the
    history (a list of two years of days would be 730 dates, growing every day)."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [DateRun(first=first, last=last) for first, last in runs]


def action_types(published: Manifest | None) -> list[str]:
    """The configured actions in their order (clients colour by position), then any other action a
    published partition names (one configured before a change of settings)."""
    seen = {a for e in (published.partitions.values() if published else []) for a in e.facets.get("action_type", [])}
    return [*ACTION_TYPES, *sorted(seen - set(ACTION_TYPES))]


def model_aliases(decision: dict | None) -> ModelAliases | None:
    """The published decision of the newest week (`model_champion`'s row) as the API names it."""
    if decision is None:
        return None
    compared = decision["candidate_model_id"] is not None
    return ModelAliases(
        week=decision["cutoff"],
        champion=ChampionModel(
            model_id=decision["champion_model_id"], cutoff=decision["champion_cutoff"],
            since=decision["champion_since"],
            pinned=decision["pinned"], set_by=decision["set_by"],
        ),
        challenger=AliasedModel(model_id=decision["challenger_model_id"], cutoff=decision["challenger_cutoff"])
        if decision["challenger_model_id"] else None,
        decision=decision["decision"],
        reason=decision["reason"],
        shadow=ShadowComparison(
            first_day=decision["shadow_first_day"], last_day=decision["shadow_last_day"], days=decision["shadow_days"],
            event_rate=decision["shadow_event_rate"],
            **{side: ShadowScore(model_id=decision[f"{side}_model_id"], log_loss=decision[f"{side}_log_loss"],
                                 ece=decision[f"{side}_ece"]) for side in ("candidate", "incumbent")},
        ) if compared else None,
    )


@router.get("/meta", response_model=Meta, responses={304: {"description": "Not Modified"}})
def meta(request: Request, api: Annotated[ApiContext, Depends(context)]) -> Response:
    manifests = {layer.table: api.reader.manifest(layer.table) for layer in MAP_LAYERS}
    inputs = [api.reader.manifest(layer.table) for layer in (WEATHER, COVERAGE, CHAMPION_DECISION)]
    model = api.reader.model()
    tag_parts = [m.updated_at if m else "-" for m in [*manifests.values(), *inputs]]
    tag = etag("meta", *tag_parts, model.model_id if model else "-", *CONFIGURED)
    if matches(request, tag):
        return not_modified(tag)
    layers = {name: _status(m) for name, m in manifests.items()}
    risk = manifests[RISK.table]
    recommendations = manifests[RECOMMENDATIONS.table]
    resolution = risk.h3_resolution if risk else DEFAULT_RESOLUTION
    refreshed = [datetime.fromisoformat(m.updated_at) for m in manifests.values() if m]
    # The model behind the latest risk layer (its partition's facet), else the served one.
    latest = risk.latest() if risk else None  # (a layer may be created with no partition yet)
    layer_models = latest.facets.get("model_id", []) if latest else []
    grid = served_grid(resolution)
    common = days_of_every_layer(manifests.values())
    body = Meta(
        city=CITY,
        city_outline_path=str(request.app.url_path_for(city.ROUTE_NAME)),
        grid={
            "h3_resolution": resolution,
            "cells": len(grid.cells),
            "version": grid.version,
            "path": str(request.app.url_path_for(GRID_ROUTE)),
        },
        date_min=layers[RISK.table].date_min,
        date_max=layers[RISK.table].date_max,
        latest_date=common[-1] if common else None,
        published_dates=date_runs(common),
        risk_bands=RiskBandThresholds(
            medium_from=MODEL_SETTINGS.bands.medium_from, high_from=MODEL_SETTINGS.bands.high_from
        ),
        horizons_days=[LABEL_HORIZON_DAYS],
        last_refresh_utc=max(refreshed) if refreshed else None,
        risk_model_version=layer_models[-1] if layer_models else (model.model_id if model else None),
        models=model_aliases(api.reader.champion_decision()),
        pricing_model_version=layers[COST.table].source_version,
        recommendation_version=layers[RECOMMENDATIONS.table].source_version,
        leak_311_types=[t.sr_type for t in LEAK_TYPES],
        recommendation_action_types=action_types(recommendations),
        layers=layers,
        degraded_days=api.degraded.between(common[0], common[-1]) if common else [],
    )
    return send_model(body, tag)
