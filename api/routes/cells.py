"""`GET /api/cell/{h3_id}/history` and `GET /api/cell/{h3_id}`: one cell over time and on a day."""

from datetime import timedelta
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Path, Query, Request, Response

from api import drilldown
from api.context import context
from api.http import matches, not_modified, send_model
from api.params import H3_PATTERN, DateQuery, Day
from api.partitions import city_cell, day_entry
from api.render import cost_properties, risk_properties
from api.schemas import CellDetail, CellHistory, ErrorBody
from chicago_risk.publish.layers import COST, EVENTS, RISK, WEATHER

router = APIRouter(prefix="/api/cell", tags=["cells"])

RESPONSES: dict = {
    304: {"description": "Not Modified: the `If-None-Match` ETag is current"},
    404: {"model": ErrorBody, "description": "unknown cell or date, with the available date range"},
}
CellId = Annotated[str, Path(pattern=H3_PATTERN, description="an H3 cell of the published grid (404 otherwise)")]


@router.get("/{h3_id}/history", response_model=CellHistory, responses=RESPONSES)
def cell_history(
    request: Request,
    h3_id: CellId,
    days: Annotated[int, Query(ge=1, le=365, description="calendar days ending at `end_date`")] = 180,
    end_date: Annotated[
        Day | None, Query(description="YYYY-MM-DD, a published date, or `latest` (the default): the window's last day")
    ] = None,
) -> Response:
    """Per published date of the `days` ending at `end_date`: p_event_7d, risk band, expected cost
    and observed incidents."""
    reader = context(request).reader
    h3_id = city_cell(reader, "h3_id", h3_id)
    end = day_entry(reader, RISK, end_date, parameter="end_date").day
    inputs = drilldown.history_inputs(reader, end, days)
    tag = inputs.tag("history", h3_id, days, end)
    if matches(request, tag):
        return not_modified(tag)
    body = CellHistory(h3_id=h3_id, days=days, end_date=end, history=drilldown.history(reader, inputs, h3_id))
    return send_model(body, tag)


@router.get("/{h3_id}", response_model=CellDetail, responses=RESPONSES)
def cell_detail(request: Request, h3_id: CellId, date: DateQuery = None) -> Response:
    """The cell on a day: its risk and cost, the last 90 days, the weather, recent requests and
    its drivers in sentences."""
    reader = context(request).reader
    h3_id = city_cell(reader, "h3_id", h3_id)
    entry = day_entry(reader, RISK, date)
    day = entry.day
    series = drilldown.history_inputs(reader, day, drilldown.CELL_SERIES_DAYS)
    recent = drilldown.Inputs.between(reader, day - timedelta(days=drilldown.RECENT_EVENTS_DAYS - 1), day, EVENTS)
    weather = drilldown.Inputs.between(reader, day - timedelta(days=drilldown.WEATHER_DAYS - 1), day, WEATHER)
    cost_manifest = reader.manifest(COST.table)
    cost_entry = cost_manifest.entry(day) if cost_manifest else None
    tag = series.tag(
        "cell", h3_id, entry.version, cost_entry.version if cost_entry else "", recent.tag(), weather.tag()
    )
    if matches(request, tag):
        return not_modified(tag)
    cell = pl.col("h3_id") == h3_id
    risk = reader.frame(entry, RISK.table).filter(cell).select(risk_properties()).to_dicts()
    cost = reader.frame(cost_entry, COST.table).filter(cell).select(cost_properties()).to_dicts() if cost_entry else []
    body = CellDetail(
        h3_id=h3_id,
        date=day,
        risk=risk[0] if risk else None,
        cost=cost[0] if cost else None,
        series=drilldown.history(reader, series, h3_id),
        weather=drilldown.weather(reader, weather),
        recent_events=drilldown.events_in_cells(reader, recent, [h3_id]),
        drivers_summary=drilldown.drivers_summary(risk[0] if risk else None),
    )
    return send_model(body, tag)
