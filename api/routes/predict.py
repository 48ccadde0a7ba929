"""`POST /api/v1/predict/flood` (the CityAssist shape): score one cell as of a moment with the
published features of that day (the latest on or before it), optional overrides, and the served
model as published; TreeSHAP explains the score. Requires an API key."""

import math
import time
import uuid
from bisect import bisect_right
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Request

from api.auth import require_api_key
from api.context import context
from api.errors import invalid, unknown_date
from api.observability import log
from api.partitions import city_cell, published
from api.schemas import ErrorBody, PredictRequest, PredictResponse
from chicago_risk.config import CHICAGO_TZ, MODEL_SETTINGS
from chicago_risk.models.drivers import explain
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.predict import risk_band
from chicago_risk.publish.layers import FEATURES

router = APIRouter(prefix="/api/v1", tags=["scoring"])
RESPONSES: dict = {
    400: {"description": "the body is not text (JSON that does not parse is a 422)"},
    401: {"description": "no API key in the X-API-Key header"},
    403: {"description": "the API key is not accepted"},
    404: {"model": ErrorBody, "description": "unknown cell, or no published features on or before the timestamp"},
    429: {"description": "this key's rate limit is exceeded; see Retry-After"},
    503: {"description": "no model is published yet"},
}
_CHICAGO = ZoneInfo(CHICAGO_TZ)


def _local_day(moment: datetime):
    return (moment.astimezone(_CHICAGO) if moment.tzinfo else moment).date()


def _overrides(requested: dict[str, float] | None, known: tuple[str, ...]) -> dict[str, float]:
    for name, value in (requested or {}).items():
        if name not in known:
            raise invalid("body", f"features.{name}", f"unknown feature {name!r}; the model reads {', '.join(known)}", name)
        if not math.isfinite(value):
            raise invalid("body", f"features.{name}", "feature overrides must be finite numbers", value)
    return dict(requested or {})


@router.post(
    "/predict/flood",
    response_model=PredictResponse,
    responses=RESPONSES,
)
def predict_flood(
    request: Request, query: PredictRequest, key_id: Annotated[str, Depends(require_api_key)]
) -> PredictResponse:
    api = context(request)
    model = api.reader.model()
    if model is None:
        raise HTTPException(503, "no model is published yet: materialize published/model_registry", {"Retry-After": "60"})
    zone = city_cell(api.reader, "body", "zone_id", query.zone_id, FEATURES)
    manifest = published(api.reader, FEATURES)
    days = manifest.days()
    as_of = _local_day(query.timestamp)
    at = bisect_right(days, as_of)
    if at == 0:
        raise unknown_date(FEATURES.table, "timestamp", as_of, days)
    features_day = days[at - 1]
    overrides = _overrides(query.features, model.feature_names)
    row = api.reader.frame(manifest.entry(features_day), FEATURES.table).filter(pl.col("h3_id") == zone)
    row = row.with_columns(pl.lit(value, dtype=pl.Float64).alias(name) for name, value in overrides.items())
    began = time.perf_counter()
    probability = float(model.predict_proba(row)[0])
    drivers = (
        explain(model.scorer, row, MODEL_SETTINGS.drivers)[0] if isinstance(model.scorer, LightGBMScorer) else []
    )
    api.metrics.inference.observe(time.perf_counter() - began)
    band = pl.select(risk_band(pl.lit(probability), MODEL_SETTINGS.bands)).item()
    prediction_id = f"pred-{uuid.uuid4().hex[:16]}"
    log.info("prediction", extra={"fields": {"prediction_id": prediction_id, "model": model.model_id, "api_key_id": key_id}})
    return PredictResponse(
        prediction_id=prediction_id,
        risk_score=round(probability, 4),
        probability=round(probability, 4),
        explain=[
            {"feature": d["feature"], "contrib": round(d["contribution"], 4), "value": d["value"], "label": d["label"]}
            for d in drivers
        ],
        meta={
            "model": model.model_id,
            "model_cutoff": model.cutoff,
            "features_date": features_day,
            "zone_id": zone,
            "risk_band": band,
            "overridden": sorted(overrides),
        },
    )
