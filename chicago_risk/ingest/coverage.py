"""Which days each source covers: the record (`raw_311_coverage`, `weather_daily.filled_by`) and
the one function the rest of the product asks (`source_coverage`).

`raw_311_coverage` holds one row per ingested day: requests accepted and quarantined, how many
times the source was asked, and a `status`:

- `rows`: the source gave requests for the day;
- `quiet`: none, and none were expected (no baseline, or a baseline under 10 a day);
- `empty`: none although the baseline expected some, after fetching again: a degraded day;
- `not_held`: the day is outside what the source holds (a folder of exports ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal, cast

import polars as pl

from chicago_risk.config import IngestChecks
from chicago_risk.storage.warehouse import WarehouseResource

CHECKS = IngestChecks()
RAW_311: Final = "raw_311_requests"
RAW_311_COVERAGE = "raw_311_coverage"
WEATHER: Final = "weather_daily"
SourceTable = Literal["raw_311_requests", "weather_daily"]

COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "requests": pl.UInt32(),
    "quarantined": pl.UInt32(),
    "fetch_attempts": pl.UInt8(),
    "status": pl.String(),
}
ROWS, QUIET, EMPTY, NOT_HELD = "rows", "quiet", "empty", "not_held"


@dataclass(frozen=True)
class Coverage:
    """What the warehouse holds of one source.

    `first_day`..`last_day`: the first and last day with data (311: a day with accepted requests;
    weather: a day the source observed); both None when there is none yet. `degraded_days`: days
    inside that range whose data is not the source's own (311: `empty` after retries; weather:
    filled). `gaps`: runs of at least `IngestChecks.coverage_gap_warn_days` days inside the range
    without data (311: no requests; weather: no row), as (first, last) days.
    """

    source: SourceTable
    first_day: date | None
    last_day: date | None
    degraded_days: tuple[date, ...] = field(default=())
    gaps: tuple[tuple[date, date], ...] = field(default=())

    def clip(self, first: date, last: date) -> tuple[date, date] | None:
        """first..last narrowed to the covered days; None when they do not meet."""
        if self.first_day is None or self.last_day is None:
            return None
        first, last = max(first, self.first_day), min(last, self.last_day)
        return (first, last) if first <= last else None


def source_coverage(warehouse: WarehouseResource, source: SourceTable) -> Coverage:
    """The coverage of `raw_311_requests` or `weather_daily` as the warehouse holds it now."""
    if source == RAW_311:
        if not warehouse.table_exists(RAW_311_COVERAGE):
            return Coverage(source, None, None)
        days = warehouse.query(
            f'SELECT "day" AS day, requests > 0 AS has_data, status = ? AS degraded FROM {RAW_311_COVERAGE}',
            [EMPTY],
        )
    elif source == WEATHER:
        if not warehouse.table_exists(WEATHER):
            return Coverage(source, None, None)
        days = warehouse.query(
            f'SELECT "day" AS day, filled_by IS NULL AS has_data, filled_by IS NOT NULL AS degraded FROM {WEATHER}'
        )
    else:
        raise ValueError(f"no coverage is recorded for {source!r}; use {RAW_311!r} or {WEATHER!r}")
    return _coverage(source, days)


def _coverage(source: SourceTable, days: pl.DataFrame) -> Coverage:
    """`day`, `has_data`, `degraded` rows (days absent: no data) -> Coverage."""
    with_data = days.filter("has_data")["day"]
    if with_data.is_empty():
        return Coverage(source, None, None)
    first, last = cast(date, with_data.min()), cast(date, with_data.max())
    inside = (
        pl.DataFrame({"day": pl.date_range(first, last, eager=True)})
        .join(days, on="day", how="left")
        .with_columns(pl.col("has_data", "degraded").fill_null(False))
    )
    gap = ~pl.col("has_data")
    runs = (
        inside.with_columns(run=(gap != gap.shift(1)).cum_sum())
        .filter(gap)
        .group_by("run")
        .agg(first=pl.col("day").min(), last=pl.col("day").max(), days=pl.len())
        .filter(pl.col("days") >= CHECKS.coverage_gap_warn_days)
        .sort("first")
    )
    return Coverage(
        source,
        first,
        last,
        degraded_days=tuple(inside.filter("degraded")["day"].to_list()),
        gaps=tuple(runs.select("first", "last").rows()),
    )


def coverage_rows(
    volume: pl.DataFrame,
    quarantined: pl.DataFrame,
    attempts: dict[date, int],
    held: tuple[date, date] | None,
) -> pl.DataFrame:
    """`raw_311_coverage` rows of a window from its judged volume (`day`, `requests`,
    `trailing_median`), its stored quarantine rows, the fetches of each re-asked day, and the
    days the source holds (None: every day)."""
    per_day = quarantined.group_by("day").agg(quarantined=pl.len())
    retried = pl.DataFrame(
        {"day": list(attempts), "retries": list(attempts.values())}, schema={"day": pl.Date, "retries": pl.Int64}
    )
    held_first, held_last = held or (date.min, date.max)
    expected = pl.col("trailing_median") >= CHECKS.min_median_for_empty_day
    status = (
        pl.when(~pl.col("day").is_between(held_first, held_last))
        .then(pl.lit(NOT_HELD))
        .when(pl.col("requests") > 0)
        .then(pl.lit(ROWS))
        .when(expected.fill_null(False))
        .then(pl.lit(EMPTY))
        .otherwise(pl.lit(QUIET))
    )
    return (
        volume.join(per_day, on="day", how="left")
        .join(retried, on="day", how="left")
        .with_columns(
            pl.col("quarantined").fill_null(0),
            fetch_attempts=1 + pl.col("retries").fill_null(0),
            status=status,
        )
        .select(pl.col(name).cast(dtype) for name, dtype in COVERAGE_SCHEMA.items())
        .sort("day")
    )



def days_not_held(warehouse: WarehouseResource, first: date, last: date) -> list[date]:
    """Days first..last ingested while the 311 source did not hold them (status `not_held`)."""
    if not warehouse.table_exists(RAW_311_COVERAGE):
        return []
    return warehouse.query(
        f'SELECT "day" AS day FROM {RAW_311_COVERAGE} WHERE "day" BETWEEN ? AND ? AND status = ? ORDER BY 1',
        [first, last, NOT_HELD],
    )["day"].to_list()
