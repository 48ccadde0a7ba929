"""`POST /api/v1/predict/flood` (the CityAssist shape): score one cell as of a moment with the
published features of that day (the latest on or before it), optional overrides, and the served
model as published; TreeSHAP explains the score. Requires an API key or a JWT, checked (with the
rate limit) before the body is read."""

import time
import uuid
from bisect import bisect_right
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Request

from api.auth import AuthenticatedRoute, Client, current_client
from api.context import context
from api.errors import unknown_date
from api.observability import log
from api.partitions import city_cell, published
from api.schemas import ErrorBody, PredictRequest, PredictResponse
from chicago_risk.config import CHICAGO_TZ, MODEL_SETTINGS
from chicago_risk.models.drivers import explain
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.predict import risk_band
from chicago_risk.publish.layers import FEATURES

router = APIRouter(prefix="/api/v1", tags=["scoring"], route_class=AuthenticatedRoute)
RESPONSES: dict = {
    400: {"description": "the body is not text (JSON that does not parse is a 422)"},
    401: {"description": "no API key or bearer token, or a token that is not accepted"},
    403: {"description": "the API key is not accepted"},
    404: {"model": ErrorBody, "description": "unknown cell, or no published features on or before the timestamp"},
    413: {"description": "the body is larger than CHICAGO_RISK_API_MAX_BODY_BYTES"},
    429: {"description": "this client's rate limit is exceeded; see Retry-After"},
    503: {"description": "no model is published yet, or the token issuer's keys cannot be fetched"},
}
_CHICAGO = ZoneInfo(CHICAGO_TZ)


def _local_day(moment: datetime) -> date:
    """The Chicago day of `moment`; a moment so near year 1 or 9999 that the conversion leaves
    the calendar is the first or last day (no features are published there: a 404)."""
    try:
        return (moment.astimezone(_CHICAGO) if moment.tzinfo else moment).date()
    except OverflowError:
        return date.min if moment.year == 1 else date.max


@router.post(
    "/predict/flood",
    response_model=PredictResponse,
    responses=RESPONSES,
)
def predict_flood(
    request: Request, query: PredictRequest, client: Annotated[Client, Depends(current_client)]
) -> PredictResponse:
    api = context(request)
    model = api.reader.model()
    if model is None:
        raise HTTPException(
            503, "no model is published yet: materialize published/model_registry", {"Retry-After": "60"}
        )
    zone = city_cell(api.reader, "zone_id", query.zone_id, FEATURES)
    manifest = published(api.reader, FEATURES)
    days = manifest.days()
    as_of = _local_day(query.timestamp)
    at = bisect_right(days, as_of)
    if at == 0:
        raise unknown_date(FEATURES.table, "timestamp", as_of, days)
    features_day = days[at - 1]
    overrides = query.features.model_dump(exclude_none=True) if query.features else {}
    entry = manifest.partitions[features_day.isoformat()]
    row = api.reader.frame(entry, FEATURES.table).filter(pl.col("h3_id") == zone)
    row = row.with_columns(pl.lit(value, dtype=pl.Float64).alias(name) for name, value in overrides.items())
    began = time.perf_counter()
    probability = float(model.predict_proba(row)[0])
    drivers: list[dict] = (
        explain(model.scorer, row, MODEL_SETTINGS.drivers)[0] if isinstance(model.scorer, LightGBMScorer) else []
    )
    api.metrics.inference.observe(time.perf_counter() - began)
    band = pl.select(risk_band(pl.lit(probability), MODEL_SETTINGS.bands)).item()
    prediction_id = f"pred-{uuid.uuid4().hex[:16]}"
    log.info(
        "prediction",
        extra={"fields": {"prediction_id": prediction_id, "model": model.model_id, "client_id": client.id}},
    )
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
            "overridden": sorted(set(overrides) & set(model.feature_names)),
            "not_read_by_model": sorted(set(overrides) - set(model.feature_names)),
        },
    )
