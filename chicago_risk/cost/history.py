"""The 311 history the cost layer reads: the trailing window of `raw_311_requests`, every day
required, only the columns severity and the pressure headroom use."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from chicago_risk.config.cost import CostSettings
from chicago_risk.ingest.raw_311 import RAW_311
from chicago_risk.models.data import require_days
from chicago_risk.partitions import DATA_FIRST_DAY
from chicago_risk.storage.warehouse import WarehouseResource

HISTORY_COLUMNS = (
    "sr_number", "sr_type", "type_group", "status", "created_at", "closed_at", "day", "h3_id", "incident_key",
)
# Severity is refreshed weekly: day t uses the history as of the Monday of its week (on or
# before t, so never its future), which keeps a two-year backfill to ~100 evaluations.
SEVERITY_REFRESH = "1w"


def severity_as_of(day: pl.Expr) -> pl.Expr:
    """The as-of day of the severity a day uses: the Monday of its week."""
    return day.dt.truncate(SEVERITY_REFRESH)


def history_window(start: date, end: date, settings: CostSettings) -> tuple[date, date]:
    """Days of raw 311 the cost of days start..end reads: a year before the first as-of day
    (the Monday of start's week), through end; nothing before the warehouse's first day."""
    first_as_of = start - timedelta(days=start.weekday())
    first = first_as_of - timedelta(days=settings.severity.history_days - 1)
    return max(first, DATA_FIRST_DAY), end


def history_offset_days(settings: CostSettings) -> int:
    """How many days before a partition its history starts, at most (for the partition mapping)."""
    return settings.severity.history_days - 1 + 6


def load_history(warehouse: WarehouseResource, start: date, end: date, settings: CostSettings) -> pl.DataFrame:
    """Raw 311 rows of the history window, every day present (else a clear error)."""
    first, last = history_window(start, end, settings)
    require_days(warehouse, RAW_311, first, last)
    columns = ", ".join(f'"{name}"' for name in HISTORY_COLUMNS)
    return warehouse.query(
        f'SELECT {columns} FROM {RAW_311} WHERE "day" BETWEEN ? AND ? ORDER BY created_at, sr_number',
        [first, last],
    )


def first_reports(history: pl.DataFrame) -> pl.DataFrame:
    """One row per incident: its first report (a duplicate's incident key is its parent's number)."""
    return history.filter(pl.col("sr_number") == pl.col("incident_key"))


def repeat_reports(history: pl.DataFrame) -> pl.DataFrame:
    """Reports filed again for an incident already reported: `incident_key`, `day`."""
    return history.filter(pl.col("sr_number") != pl.col("incident_key")).select("incident_key", "day")
