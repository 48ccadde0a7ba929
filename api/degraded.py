"""Which published days rest on degraded inputs: weather the source lacked (filled, see
`weather_daily.filled_by`) or a 311 day the source left empty after retries or did not hold
(`raw_311_coverage.status`). `/api/meta` lists them and the map page says so on such a day.

Computed once per published version of the two layers (they change with the nightly ingest).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from api.cache import LruCache
from api.schemas import DegradedDay
from api.store import PublishedLayers
from chicago_risk.ingest.coverage import EMPTY, NOT_HELD
from chicago_risk.publish.layers import COVERAGE, WEATHER
from chicago_risk.sources.base import FILLED_BY

_REASONS = {
    EMPTY: "the 311 source returned no requests after retries",
    NOT_HELD: "the 311 source does not hold this day",
}


class DegradedDays:
    def __init__(self, reader: PublishedLayers) -> None:
        self.reader = reader
        self.cache: LruCache[list[DegradedDay]] = LruCache("degraded_days", 2)

    def between(self, first: date, last: date) -> list[DegradedDay]:
        """Degraded days first..last, in date order, each with its reasons."""
        versions = tuple(
            m.table_version if m else None for m in map(self.reader.manifest, (WEATHER.table, COVERAGE.table))
        )
        return self.cache.get_or_build((first, last, versions), lambda: self._build(first, last))

    def _build(self, first: date, last: date) -> list[DegradedDay]:
        reasons = []
        weather = self.reader.scan(self.reader.entries_between(WEATHER.table, first, last), WEATHER.table)
        if weather is not None:
            reasons.append(
                weather.filter(pl.col(FILLED_BY).is_not_null()).select(
                    "day",
                    reason=pl.lit("weather filled (") + pl.col(FILLED_BY) + pl.lit("): the source lacked the day"),
                )
            )
        coverage = self.reader.scan(self.reader.entries_between(COVERAGE.table, first, last), COVERAGE.table)
        if coverage is not None:
            reasons.append(
                coverage.filter(pl.col("status").is_in(list(_REASONS)))
                .select("day", reason=pl.col("status").replace_strict(_REASONS, return_dtype=pl.String))
            )
        if not reasons:
            return []
        by_day = (
            pl.concat([frame.collect() for frame in reasons]).group_by("day").agg(pl.col("reason").sort()).sort("day")
        )
        return [DegradedDay(date=row["day"], reasons=row["reason"]) for row in by_day.iter_rows(named=True)]
