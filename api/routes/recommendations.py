"""`GET /api/recommendations/{rec_id}`: one recommended pressure test, with what it saves, the
requests that motivated it and when it is planned."""

import json
from datetime import timedelta
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Path, Request, Response

from api import drilldown, geojson
from api.context import ApiContext, context
from api.errors import NotFoundError
from api.http import matches, not_modified, send_model
from api.partitions import published
from api.schemas import ErrorBody, RecommendationDetail
from chicago_risk.publish.layers import EVENTS, RECOMMENDATIONS, SCHEDULE
from chicago_risk.publish.store import PartitionEntry

router = APIRouter(prefix="/api/recommendations", tags=["recommendations"])

RESPONSES: dict = {
    304: {"description": "Not Modified: the `If-None-Match` ETag is current"},
    404: {"model": ErrorBody, "description": "unknown recommendation, with the available date range"},
}


def _entry_of(api: ApiContext, rec_id: str) -> PartitionEntry:
    """The newest published partition holding `rec_id` (an index over all of them, rebuilt when
    the layer's manifest changes)."""
    manifest = published(api.reader, RECOMMENDATIONS)
    entries = [manifest.partitions[d.isoformat()] for d in manifest.days()]

    def build() -> dict:
        scanned = api.reader.scan(entries, RECOMMENDATIONS.table)
        assert scanned is not None  # never None: `published` has partitions
        ids = scanned.select("rec_id", "day").collect()
        return dict(ids.sort("day").iter_rows())

    day = api.indexes.get_or_build(("rec_id", tuple(e.path for e in entries)), build).get(rec_id)
    if day is None:
        raise NotFoundError(
            "unknown_recommendation", f"no published recommendation has rec_id {rec_id!r}", "rec_id", manifest.days()
        )
    return manifest.partitions[day.isoformat()]


@router.get("/{rec_id}", response_model=RecommendationDetail, responses=RESPONSES)
def recommendation(
    request: Request,
    rec_id: Annotated[str, Path(max_length=128, description="a `rec_id` of the recommendations layer")],
) -> Response:
    api = context(request)
    entry = _entry_of(api, rec_id)
    day = entry.day
    schedule_manifest = api.reader.manifest(SCHEDULE.table)
    schedule_entry = schedule_manifest.entry(day) if schedule_manifest else None
    linked = drilldown.Inputs.between(api.reader, day - timedelta(days=drilldown.RECENT_EVENTS_DAYS - 1), day, EVENTS)
    tag = linked.tag("recommendation", rec_id, entry.version, schedule_entry.version if schedule_entry else "")
    if matches(request, tag):
        return not_modified(tag)
    row = api.reader.frame(entry, RECOMMENDATIONS.table).filter(pl.col("rec_id") == rec_id).row(0, named=True)
    plan = (
        api.reader.frame(schedule_entry, SCHEDULE.table).filter(pl.col("rec_id") == rec_id).sort("night", "slot")
        .head(1).to_dicts() if schedule_entry else []
    )
    body = RecommendationDetail(
        rec_id=rec_id,
        date=day,
        action_type=row["action_type"],
        member_h3_ids=row["member_h3_ids"],
        savings_breakdown=row["savings_breakdown"],
        expected_savings_usd=row["expected_savings_usd"],
        expected_savings_usd_p90=row["expected_savings_usd_p90"],
        linked_events=drilldown.events_in_cells(api.reader, linked, row["member_h3_ids"]),
        plan_params={
            "delta_p_psi": row["delta_p_psi"],
            "time_window": row["time_window"],
            "night": plan[0]["night"] if plan else None,
            "slot": plan[0]["slot"] if plan else None,
        },
        why=row["rationale"],
        outline=geojson.oriented(json.loads(row["outline_geojson"])),
    )
    return send_model(body, tag)
