"""`/health` (the process answers), `/ready` (the map layers are published and readable) and
`/metrics` (Prometheus text)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.context import ApiContext, context
from api.schemas import Health, Ready, ReadyLayer
from chicago_risk.publish.layers import MAP_LAYERS

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready", response_model=Ready, responses={503: {"model": Ready, "description": "a map layer is not published"}}
)
def ready(api: Annotated[ApiContext, Depends(context)]) -> JSONResponse:
    layers = {}
    for layer in MAP_LAYERS:
        manifest = api.reader.manifest(layer.table)
        latest = manifest.latest() if manifest else None
        layers[layer.table] = ReadyLayer(
            published=latest is not None,
            readable=latest is not None and api.reader.store.storage.exists(latest.path),
            date_max=manifest.days()[-1] if manifest and latest else None,
        )
    ok = all(status.readable for status in layers.values())
    body = Ready(status="ready" if ok else "not_ready", layers=layers)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}},
)
def metrics(api: Annotated[ApiContext, Depends(context)]) -> Response:
    return Response(api.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
