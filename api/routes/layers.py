"""`GET /api/layers/{risk,cost,recommendations,events}`: GeoJSON FeatureCollections of one
published day (a range of days for events), filtered, from bytes cached per partition and filter
combination (gzip included), so the full city layer is served without being rebuilt."""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.context import context
from api.errors import invalid, unknown_date
from api.http import GeoJSONResponse, RenderedBody, etag, matches, not_modified, send_rendered
from api.params import Bbox, DateQuery, IsoDate, bbox_query, types_query
from api.partitions import day_entry, published
from api.render import LayerView, cost_view, events_view, feature_collection, recommendations_view, risk_view
from api.schemas import CostLayer, CostMode, EventsLayer, RecommendationsLayer, RiskLayer
from chicago_risk.publish.layers import COST, EVENTS, RECOMMENDATIONS, RISK, PublishedTable
from chicago_risk.publish.store import PartitionEntry

router = APIRouter(prefix="/api/layers", tags=["layers"])

MAX_EVENT_DAYS = 90
DEFAULT_EVENT_DAYS = 7
COST_FIELDS = {
    "total": "expected_cost_usd_7d",
    "energy": "cost_energy_usd_mean",
    "water": "cost_water_usd_mean",
    "repair": "cost_repair_usd_mean",
}
RESPONSES: dict = {
    304: {"description": "Not Modified: the `If-None-Match` ETag names the current partition"},
    # Errors are plain JSON, not GeoJSON: named explicitly, the route's media type would apply.
    404: {
        "description": "the date is not published: the available range and nearest dates",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    },
}
Threshold = Annotated[float, Query(ge=0, allow_inf_nan=False)]


def _mask(bbox: Bbox | None, *conditions: pl.Expr) -> pl.Expr:
    mask = pl.lit(True)
    for condition in (bbox.intersects() if bbox else None, *conditions):
        if condition is not None:
            mask = mask & condition
    return mask


def _filter_key(**filters: object) -> str:
    return ";".join(f"{name}={value.key() if isinstance(value, Bbox) else value}" for name, value in filters.items())


async def _send_layer(
    request: Request,
    layer: PublishedTable,
    entries: list[PartitionEntry],
    head: dict,
    make_view: Callable[[pl.DataFrame], LayerView],
    mask: Callable[[], pl.Expr],
    filter_key: str,
) -> Response:
    """Bytes from the cache when this partition and filter combination was rendered before (the
    mask is only built when it was not)."""
    api = context(request)
    tag = etag(layer.table, *(e.version for e in entries), filter_key)
    if matches(request, tag):
        return not_modified(tag)
    key = (layer.table, tuple(e.path for e in entries), filter_key)
    body = api.bodies.peek(key)
    if body is None:  # built off the event loop, once however many ask at the same time

        def view(entry: PartitionEntry) -> LayerView:
            return api.views.get_or_build(
                (layer.table, entry.path), lambda: make_view(api.reader.frame(entry, layer.table))
            )

        def build() -> RenderedBody:
            selected = mask()
            return RenderedBody.of(feature_collection(head, [view(e).select(selected) for e in entries]))

        body = await run_in_threadpool(api.bodies.get_or_build, key, build)
    return send_rendered(request, body, tag)


def _day_head(layer: str, entry: PartitionEntry, **extra: object) -> dict:
    return {"layer": layer, "date": entry.key, "partition": entry.version, **extra}


@router.get("/risk", response_model=RiskLayer, response_class=GeoJSONResponse, responses=RESPONSES)
async def risk_layer(
    request: Request,
    date: DateQuery = None,
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
    min_risk: Annotated[float, Query(ge=0, le=1, allow_inf_nan=False, description="lowest p_event_7d shown")] = 0.0,
) -> Response:
    """Every cell's hexagon with its 7-day risk, band, confidence, expected incidents and drivers."""
    entry = day_entry(context(request).reader, RISK, date)

    def mask() -> pl.Expr:
        return _mask(bbox, pl.col("p_event_7d") >= min_risk if min_risk > 0 else None)

    return await _send_layer(
        request, RISK, [entry], _day_head("risk", entry), risk_view, mask, _filter_key(bbox=bbox, min_risk=min_risk)
    )


@router.get("/cost", response_model=CostLayer, response_class=GeoJSONResponse, responses=RESPONSES)
async def cost_layer(
    request: Request,
    date: DateQuery = None,
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
    min_cost_usd: Annotated[Threshold, Query(description="lowest cost (of `cost_mode`) shown, USD")] = 0.0,
    cost_mode: CostMode = "total",
) -> Response:
    """Every cell's expected 7-day cost: total mean and p90, energy, water, repair, leak volume."""
    entry = day_entry(context(request).reader, COST, date)
    field = COST_FIELDS[cost_mode]

    def mask() -> pl.Expr:
        return _mask(bbox, pl.col(field) >= min_cost_usd if min_cost_usd > 0 else None)

    head = _day_head("cost", entry, cost_mode=cost_mode, cost_field=field)
    return await _send_layer(
        request, COST, [entry], head, cost_view, mask, _filter_key(bbox=bbox, min=min_cost_usd, mode=cost_mode)
    )


@router.get(
    "/recommendations", response_model=RecommendationsLayer, response_class=GeoJSONResponse, responses=RESPONSES
)
async def recommendations_layer(
    request: Request,
    date: DateQuery = None,
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
    min_savings_usd: Annotated[Threshold, Query(description="lowest expected savings shown, USD")] = 0.0,
    action_type: Annotated[str | None, Query(max_length=64, description="only this action type")] = None,
) -> Response:
    """One feature per recommended cluster: its outline, pressure step, window, savings and why."""
    entry = day_entry(context(request).reader, RECOMMENDATIONS, date)

    def mask() -> pl.Expr:
        return _mask(
            bbox,
            pl.col("expected_savings_usd") >= min_savings_usd if min_savings_usd > 0 else None,
            pl.col("action_type") == action_type if action_type is not None else None,
        )

    key = _filter_key(bbox=bbox, min=min_savings_usd, action=action_type)
    return await _send_layer(
        request, RECOMMENDATIONS, [entry], _day_head("recommendations", entry), recommendations_view, mask, key
    )


def _event_window(start_date: date | None, end_date: date | None, latest: date) -> tuple[date, date]:
    end = end_date or (start_date + timedelta(days=DEFAULT_EVENT_DAYS - 1) if start_date else latest)
    start = start_date or end - timedelta(days=DEFAULT_EVENT_DAYS - 1)
    if start > end:
        raise invalid("query", "start_date", f"start_date {start} is after end_date {end}", str(start))
    if (end - start).days + 1 > MAX_EVENT_DAYS:
        raise invalid("query", "end_date", f"at most {MAX_EVENT_DAYS} days from start_date {start}", str(end))
    return start, end


@router.get("/events", response_model=EventsLayer, response_class=GeoJSONResponse, responses=RESPONSES)
async def events_layer(
    request: Request,
    start_date: Annotated[IsoDate | None, Query(description="first day (default: 6 days before end_date)")] = None,
    end_date: Annotated[IsoDate | None, Query(description=f"last day, at most {MAX_EVENT_DAYS} days after start_date")] = None,
    types: Annotated[tuple[str, ...] | None, Depends(types_query)] = None,
    status: Literal["open", "closed", "all"] = "all",
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
) -> Response:
    """Leak-related 311 requests as points, without personal data."""
    api = context(request)
    manifest = published(api.reader, EVENTS)
    start, end = _event_window(start_date, end_date, manifest.days()[-1])
    entries = api.reader.entries_between(EVENTS.table, start, end)
    if not entries:
        raise unknown_date(EVENTS.table, "start_date", start, manifest.days())

    def mask() -> pl.Expr:
        return _mask(
            bbox,
            pl.col("sr_type").is_in(list(types)) if types else None,
            {"open": pl.col("status") == "Open", "closed": pl.col("status") != "Open"}.get(status),
        )

    head = {"layer": "events", "start_date": str(start), "end_date": str(end), "dates_published": [e.key for e in entries]}
    key = _filter_key(bbox=bbox, types=types, status=status, start=start, end=end)
    return await _send_layer(request, EVENTS, entries, head, events_view, mask, key)
