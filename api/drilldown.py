"""The data behind the drill-down routes (a cell's history and day, a recommendation), read from
the published partitions they list, with an ETag over exactly those partitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from api.http import etag
from api.render import EVENT_PROPERTIES
from api.store import PublishedLayers
from chicago_risk.publish.layers import COST, EVENTS, RISK, WEATHER, PublishedTable
from chicago_risk.publish.store import PartitionEntry

RECENT_EVENTS_DAYS = 30
RECENT_EVENTS_LIMIT = 50
WEATHER_DAYS = 14
CELL_SERIES_DAYS = 90


@dataclass(frozen=True)
class Inputs:
    """The partitions a response reads, per layer."""

    entries: dict[str, list[PartitionEntry]]

    @classmethod
    def between(cls, reader: PublishedLayers, first: date, last: date, *layers: PublishedTable) -> Inputs:
        return cls({layer.table: reader.entries_between(layer.table, first, last) for layer in layers})

    def tag(self, *parts: object) -> str:
        versions = [f"{layer}:{e.key}:{e.version}" for layer, es in sorted(self.entries.items()) for e in es]
        return etag(*parts, *versions)

    def scan(self, reader: PublishedLayers, layer: PublishedTable) -> pl.LazyFrame | None:
        return reader.scan(self.entries.get(layer.table, []), layer.table)

    def days(self, layer: PublishedTable) -> list[date]:
        return [e.day for e in self.entries.get(layer.table, [])]


def history_inputs(reader: PublishedLayers, last: date, days: int) -> Inputs:
    return Inputs.between(reader, last - timedelta(days=days - 1), last, RISK, COST, EVENTS)


def history(reader: PublishedLayers, inputs: Inputs, h3_id: str) -> list[dict]:
    """Per published risk day: p_event_7d, band, expected cost (null where the cost layer is not
    published) and incidents observed (null where the events layer is not published)."""
    cell = pl.col("h3_id") == h3_id
    points = pl.DataFrame({"date": inputs.days(RISK)}, schema={"date": pl.Date})
    risk = inputs.scan(reader, RISK)
    if risk is not None:
        points = points.join(
            risk.filter(cell).select(pl.col("day").alias("date"), "p_event_7d", "risk_band").collect(),
            on="date", how="left",
        )
    cost = inputs.scan(reader, COST)
    costs = (
        cost.filter(cell)
        .select(pl.col("day").alias("date"), pl.col("expected_cost_usd_7d").alias("expected_cost_usd"))
        .collect()
        if cost is not None
        else pl.DataFrame(schema={"date": pl.Date, "expected_cost_usd": pl.Float64})
    )
    events = inputs.scan(reader, EVENTS)
    counts = (
        events.filter(cell & ~pl.col("is_duplicate")).group_by(pl.col("day").alias("date"))
        .agg(events=pl.col("incident_key").n_unique()).collect()
        if events is not None else pl.DataFrame(schema={"date": pl.Date, "events": pl.UInt32})
    )
    published_event_days = pl.Series(inputs.days(EVENTS), dtype=pl.Date)
    return (
        points.join(costs, on="date", how="left")
        .join(counts, on="date", how="left")
        .with_columns(
            events=pl.when(pl.col("date").is_in(published_event_days.implode()))
            .then(pl.col("events").fill_null(0)).cast(pl.Int64),
            p_event_7d=pl.col("p_event_7d").round(4),
            expected_cost_usd=pl.col("expected_cost_usd").round(2),
        )
        .sort("date")
        .select("date", "p_event_7d", "risk_band", "expected_cost_usd", "events")
        .to_dicts()
    )


def events_in_cells(
    reader: PublishedLayers, inputs: Inputs, cells: list[str], limit: int = RECENT_EVENTS_LIMIT
) -> list[dict]:
    """The newest requests in `cells` over the inputs' event days, newest first."""
    events = inputs.scan(reader, EVENTS)
    if events is None:
        return []
    return (
        events.filter(pl.col("h3_id").is_in(cells)).sort("created_at", "sr_number", descending=True).head(limit)
        .select(EVENT_PROPERTIES).collect().to_dicts()
    )


def weather(reader: PublishedLayers, inputs: Inputs) -> list[dict]:
    rows = inputs.scan(reader, WEATHER)
    if rows is None:
        return []
    return rows.select(pl.col("day").alias("date"), "tmin_c", "precip_mm", "freeze").sort("date").collect().to_dicts()


def _value(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def drivers_summary(risk: dict | None) -> list[str]:
    """Sentences a planner reads: the risk, then each driver and which way it pushes."""
    if risk is None:
        return []
    sentences = [
        f"{risk['risk_band'].capitalize()} risk: {risk['p_event_7d']:.0%} chance of a leak-related 311 "
        f"incident in the next 7 days (confidence {risk['confidence']:.2f})."
    ]
    for driver in risk["drivers"]:
        direction = "raises" if driver["contribution"] > 0 else "lowers"
        sentences.append(f"{driver['label']}: {_value(driver['value'])}, {direction} the risk.")
    return sentences
