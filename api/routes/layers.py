"""`GET /api/layers/{risk,cost,recommendations,events}`: GeoJSON FeatureCollections of one
published day (a range of days for events), filtered; and `GET /api/layers/{risk,cost}/values`:
the same cells' properties as columns (JSON, or Arrow IPC on request) for clients that hold the
shapes from `GET /api/grid`. Bodies are cached per partition, filter combination and format
(gzip included), so a full city layer is served without being rebuilt."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal, cast

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.columns import ValuesView, cost_values_view, risk_values_view, values_arrow, values_json
from api.context import ApiContext, context
from api.errors import NotFoundError, unknown_date
from api.http import (
    ARROW,
    GEOJSON,
    GeoJSONResponse,
    RenderedBody,
    etag,
    matches,
    not_modified,
    send_rendered,
    wants_arrow,
)
from api.params import Bbox, DateQuery, Day, bbox_query, types_query
from api.partitions import day_entry, grid, published, resolve_day
from api.render import LayerView, cost_view, events_view, feature_collection, recommendations_view, risk_view
from api.schemas import CostLayer, CostMode, CostValues, EventsLayer, RecommendationsLayer, RiskLayer, RiskValues
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
_NOT_FOUND = {
    "description": "the date is not published: the available range and nearest dates"
    " (or the newest, for a day not published yet)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
RESPONSES: dict = {
    304: {"description": "Not Modified: the `If-None-Match` ETag names the current partition"},
    # Errors are plain JSON, not GeoJSON: named explicitly, the route's media type would apply.
    404: _NOT_FOUND,
}
VALUES_RESPONSES: dict = {
    200: {
        "description": "one array per property, row-aligned; Arrow IPC (one record batch) when asked",
        "content": {ARROW: {"schema": {"type": "string", "format": "binary"}}},
    },
    304: RESPONSES[304],
    404: _NOT_FOUND,
}
Threshold = Annotated[float, Query(ge=0, allow_inf_nan=False)]


def _mask(bbox: Bbox | None, *conditions: pl.Expr | None) -> pl.Expr:
    mask = pl.lit(True)
    for condition in (bbox.intersects() if bbox else None, *conditions):
        if condition is not None:
            mask = mask & condition
    return mask


def _filter_key(**filters: object) -> str:
    return ";".join(f"{name}={value.key() if isinstance(value, Bbox) else value}" for name, value in filters.items())


def _view(api: ApiContext, layer: PublishedTable, entry: PartitionEntry, make: Callable):
    """A partition made ready to filter, once per partition and kind of view."""
    return api.views.get_or_build(
        (layer.table, entry.path, make.__name__), lambda: make(api.reader.frame(entry, layer.table))
    )


async def _send_cached(
    request: Request, layer: PublishedTable, entries: list[PartitionEntry], filter_key: str,
    build: Callable[[], bytes], media_type: str = GEOJSON, vary: str = "Accept-Encoding",
) -> Response:
    """Bytes from the cache when this partition, filter combination and format were rendered
    before; else built off the event loop, once however many ask at the same time."""
    api = context(request)
    tag = etag(layer.table, *(e.version for e in entries), filter_key, media_type)
    if matches(request, tag):
        return not_modified(tag, vary=vary)
    key = (layer.table, tuple(e.path for e in entries), filter_key, media_type)
    body = api.bodies.peek(key)
    if body is None:
        body = await run_in_threadpool(api.bodies.get_or_build, key, lambda: RenderedBody.of(build()))
    return send_rendered(request, body, tag, media_type, vary=vary)


async def _send_layer(
    request: Request, layer: PublishedTable, entries: list[PartitionEntry], head: dict,
    make_view: Callable[[pl.DataFrame], LayerView], mask: Callable[[], pl.Expr], filter_key: str,
) -> Response:
    api = context(request)

    def build() -> bytes:
        selected = mask()
        return feature_collection(head, [_view(api, layer, e, make_view).select(selected) for e in entries])

    return await _send_cached(request, layer, entries, filter_key, build)


async def _send_values(
    request: Request, layer: PublishedTable, entry: PartitionEntry, head: dict,
    make_view: Callable[[pl.DataFrame], ValuesView], mask: Callable[[], pl.Expr], filter_key: str,
) -> Response:
    api = context(request)
    arrow = wants_arrow(request)
    head = {**head, "grid_version": grid(api.reader).version}

    def build() -> bytes:
        values = _view(api, layer, entry, make_view).select(mask())
        return values_arrow(head, values) if arrow else values_json(head, values)

    return await _send_cached(
        request, layer, [entry], filter_key, build, ARROW if arrow else "application/json", "Accept, Accept-Encoding"
    )


def _day_head(layer: str, entry: PartitionEntry, **extra: object) -> dict:
    return {"layer": layer, "date": entry.key, "partition": entry.version, **extra}


@dataclass(frozen=True)
class DaySelection:
    """What a request picks from a day's layer: its partition, the body's head, the filter."""

    entry: PartitionEntry
    head: dict
    mask: Callable[[], pl.Expr]
    key: str


async def risk_selection(
    request: Request,
    date: DateQuery = None,
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
    min_risk: Annotated[float, Query(ge=0, le=1, allow_inf_nan=False, description="lowest p_event_7d shown")] = 0.0,
) -> DaySelection:
    entry = day_entry(context(request).reader, RISK, date)
    return DaySelection(
        entry, _day_head("risk", entry),
        lambda: _mask(bbox, pl.col("p_event_7d") >= min_risk if min_risk > 0 else None),
        _filter_key(bbox=bbox, min_risk=min_risk),
    )


async def cost_selection(
    request: Request,
    date: DateQuery = None,
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
    min_cost_usd: Annotated[Threshold, Query(description="lowest cost (of `cost_mode`) shown, USD")] = 0.0,
    cost_mode: CostMode = "total",
) -> DaySelection:
    entry = day_entry(context(request).reader, COST, date)
    field = COST_FIELDS[cost_mode]
    return DaySelection(
        entry, _day_head("cost", entry, cost_mode=cost_mode, cost_field=field),
        lambda: _mask(bbox, pl.col(field) >= min_cost_usd if min_cost_usd > 0 else None),
        _filter_key(bbox=bbox, min=min_cost_usd, mode=cost_mode),
    )


RiskSelection = Annotated[DaySelection, Depends(risk_selection)]
CostSelection = Annotated[DaySelection, Depends(cost_selection)]


@router.get("/risk", response_model=RiskLayer, response_class=GeoJSONResponse, responses=RESPONSES)
async def risk_layer(request: Request, day: RiskSelection) -> Response:
    """Every cell's hexagon with its 7-day risk, band, confidence, expected incidents and drivers."""
    return await _send_layer(request, RISK, [day.entry], day.head, risk_view, day.mask, day.key)


@router.get("/risk/values", response_model=RiskValues, responses=VALUES_RESPONSES)
async def risk_values(request: Request, day: RiskSelection) -> Response:
    """The risk layer's cells as columns: `h3_id`, `p_event_7d`, `risk_band`, `confidence`,
    `expected_events` (drivers: `GET /api/cell/{h3_id}`); the shapes come from `GET /api/grid`."""
    return await _send_values(request, RISK, day.entry, day.head, risk_values_view, day.mask, day.key)


@router.get("/cost", response_model=CostLayer, response_class=GeoJSONResponse, responses=RESPONSES)
async def cost_layer(request: Request, day: CostSelection) -> Response:
    """Every cell's expected 7-day cost: total mean and p90, energy, water, repair, leak volume."""
    return await _send_layer(request, COST, [day.entry], day.head, cost_view, day.mask, day.key)


@router.get("/cost/values", response_model=CostValues, responses=VALUES_RESPONSES)
async def cost_values(request: Request, day: CostSelection) -> Response:
    """The cost layer's cells as columns (every property of `GET /api/layers/cost`)."""
    return await _send_values(request, COST, day.entry, day.head, cost_values_view, day.mask, day.key)


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


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, kept inside the calendar (year 1 to 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def event_window(start_date: date | None, end_date: date | None, latest: date) -> tuple[date, date]:
    """The days asked for: `end_date` (default: `start_date` + 6, or the newest day) and the
    days back to `start_date` (default: 6 before `end_date`), at most the last MAX_EVENT_DAYS."""
    end = end_date or (_shift(start_date, DEFAULT_EVENT_DAYS - 1) if start_date else latest)
    start = start_date or _shift(end, -(DEFAULT_EVENT_DAYS - 1))
    return max(start, _shift(end, -(MAX_EVENT_DAYS - 1))), end


@router.get("/events", response_model=EventsLayer, response_class=GeoJSONResponse, responses=RESPONSES)
async def events_layer(
    request: Request,
    start_date: Annotated[
        Day | None, Query(description="first day (default: 6 days before end_date); `latest`: the newest day")
    ] = None,
    end_date: Annotated[
        Day | None,
        Query(
            description=f"last day (default: the newest); a window longer than {MAX_EVENT_DAYS} days"
            f" keeps its last {MAX_EVENT_DAYS}"
        ),
    ] = None,
    types: Annotated[tuple[str, ...] | None, Depends(types_query)] = None,
    status: Literal["open", "closed", "all"] = "all",
    bbox: Annotated[Bbox | None, Depends(bbox_query)] = None,
) -> Response:
    """Leak-related 311 requests as points, without personal data. The response's `start_date`
    and `end_date` are the window served."""
    api = context(request)
    manifest = published(api.reader, EVENTS)
    latest = resolve_day(api.reader, "latest") or manifest.days()[-1]
    # A Day is a date once validated, or "latest" (typed str for its error messages).
    start, end = event_window(
        latest if start_date == "latest" else cast(date | None, start_date),
        latest if end_date == "latest" else cast(date | None, end_date),
        latest,
    )
    if start > end:
        raise NotFoundError(
            "empty_window", f"start_date {start} is after end_date {end}: the window holds no day", "start_date",
            manifest.days(),
        )
    entries = api.reader.entries_between(EVENTS.table, start, end)
    if not entries:
        raise unknown_date(
            EVENTS.table, "end_date" if start > manifest.days()[-1] else "start_date", start, manifest.days()
        )

    def mask() -> pl.Expr:
        return _mask(
            bbox,
            pl.col("sr_type").is_in(list(types)) if types else None,
            {"open": pl.col("status") == "Open", "closed": pl.col("status") != "Open"}.get(status),
        )

    head = {
        "layer": "events",
        "start_date": str(start),
        "end_date": str(end),
        "dates_published": [e.key for e in entries],
    }
    key = _filter_key(bbox=bbox, types=types, status=status, start=start, end=end)
    return await _send_layer(request, EVENTS, entries, head, events_view, mask, key)
