"""What is published for readers: which warehouse tables, which of their columns, in what order.

Daily layers are published one Parquet file per day; `model_registry`, `model_champion` and
`feature_registry` as one `current` partition (the registry rows of the newest week's champion and
challenger, that week's decision, the feature definitions).
"""

from __future__ import annotations

from dataclasses import dataclass

from chicago_risk.models.aliases import CHALLENGER, CHAMPION
from chicago_risk.models.champion import MODEL_CHAMPION
from chicago_risk.models.registry import MODEL_REGISTRY


@dataclass(frozen=True)
class PublishedTable:
    table: str  # the warehouse table, and the published layer's name
    upstream: str  # the asset that writes the table
    description: str
    columns: tuple[str, ...] = ()  # () = every column
    sort_by: tuple[str, ...] = ()
    facets: tuple[str, ...] = ()  # columns whose distinct values each manifest entry records
    daily: bool = True
    order_by: str = ""
    limit: int | None = None
    query: str = ""  # one-partition tables: the whole query, when the rows are not one table's

    def select_sql(self) -> str:
        """The warehouse query; a daily table takes the days as two parameters."""
        if self.query:
            return self.query
        columns = ", ".join(f'"{c}"' for c in self.columns) if self.columns else "*"
        keys = ("day", *self.sort_by) if self.daily else self.sort_by
        order = self.order_by or ", ".join(f'"{c}"' for c in keys)
        sql = f'SELECT {columns} FROM "{self.table}"'
        if self.daily:
            sql += ' WHERE "day" BETWEEN ? AND ?'
        if order:
            sql += f" ORDER BY {order}"
        return sql + (f" LIMIT {self.limit}" if self.limit else "")


# Fields of a 311 request that readers get. Nothing personal: the request's type, status, times
# and place (coordinates, and the street number and name only where the city published them);
# the free-text and administrative fields stay in the warehouse.
EVENT_COLUMNS: tuple[str, ...] = (
    "sr_number", "sr_type", "sr_short_code", "type_group", "status", "created_at", "closed_at", "day",
    "lat", "lon", "h3_id", "incident_key", "is_duplicate",
    "street_number", "street_direction", "street_name", "street_type", "community_area", "ward",
)

RISK = PublishedTable(
    "risk_predictions", "risk_predictions",
    "p_event_7d, risk band, expected incidents, confidence and drivers of every cell",
    sort_by=("h3_id",), facets=("model_id",),
)
COST = PublishedTable(
    "cost_layer", "cost_layer", "expected 7-day cost per cell: water, energy, repair, mean and p90",
    sort_by=("h3_id",),
)
RECOMMENDATIONS = PublishedTable(
    "recommendation_clusters", "recommendation_clusters",
    "clusters of adjacent high-risk cells with their pressure step, window, savings and reasons",
    sort_by=("rec_id",), facets=("action_type",),
)
SCHEDULE = PublishedTable(
    "recommendation_schedule", "recommendation_schedule",
    "the nights and slots at which each recommendation is planned", sort_by=("night", "slot", "rec_id"),
)
EVENTS = PublishedTable(
    "raw_311_requests", "raw_311_requests", "leak-related 311 requests, non-personal fields only",
    columns=EVENT_COLUMNS, sort_by=("created_at", "sr_number"), facets=("sr_type",),
)
WEATHER = PublishedTable("weather_daily", "weather_daily", "city weather and its stressors")
COVERAGE = PublishedTable(
    "raw_311_coverage", "raw_311_coverage",
    "per ingested day: requests accepted and quarantined, fetches, and whether the 311 source covered it",
)
FEATURES = PublishedTable(
    "cell_day_features", "cell_day_features", "the feature rows the served model scores", sort_by=("h3_id",)
)
CHAMPION_DECISION = PublishedTable(
    MODEL_CHAMPION, MODEL_CHAMPION,
    "the newest week's champion and challenger, the decision, its reason and the shadow scores behind it",
    daily=False, order_by="cutoff DESC", limit=1,
)
# The registry rows of the newest week's champion and challenger, each named by its `alias`.
MODEL = PublishedTable(
    MODEL_REGISTRY, MODEL_CHAMPION,
    "the served model (alias champion) and the one scored in shadow beside it (alias challenger): their registry rows",
    daily=False,
    query=(
        f"WITH week AS (SELECT * FROM {MODEL_CHAMPION} ORDER BY cutoff DESC LIMIT 1), "
        f"named AS (SELECT '{CHAMPION}' AS alias, champion_model_id AS model_id FROM week "
        f"UNION ALL SELECT '{CHALLENGER}', challenger_model_id FROM week) "
        f"SELECT r.*, named.alias FROM {MODEL_REGISTRY} r JOIN named USING (model_id) "
        f"ORDER BY named.alias = '{CHALLENGER}'"
    ),
)
REGISTRY = PublishedTable(
    "feature_registry", "feature_registry", "every feature's definition and hash", daily=False
)

PUBLISHED_TABLES: tuple[PublishedTable, ...] = (
    RISK, COST, RECOMMENDATIONS, SCHEDULE, EVENTS, WEATHER, COVERAGE, FEATURES, MODEL, CHAMPION_DECISION, REGISTRY
)
# The layers without which the map cannot be drawn: `/ready` waits for them.
MAP_LAYERS: tuple[PublishedTable, ...] = (RISK, COST, RECOMMENDATIONS, EVENTS)
