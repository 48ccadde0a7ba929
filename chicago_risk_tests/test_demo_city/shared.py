"""Helpers shared by the demo city's tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from chicago_risk.config import LEAK_TYPES
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.sources.soda import SODA_TIMESTAMP_FORMAT

YEAR_START, YEAR_END = date(2019, 1, 1), date(2019, 12, 31)
ALL_TYPES = tuple(t.sr_type for t in LEAK_TYPES)


@dataclass(frozen=True)
class DemoYear:
    source: DemoCitySource
    requests: pl.DataFrame  # 2019 plus the first week of 2020 (for the 7-day labels)
    weather: pl.DataFrame  # 2019, with rain_mm = max(today's, yesterday's) precipitation
    truth: pl.DataFrame  # 2019

    @property
    def year_requests(self) -> pl.DataFrame:
        return self.requests.filter(pl.col("created").dt.year() == 2019)


def parsed(requests: pl.DataFrame) -> pl.DataFrame:
    """Rows with their created time parsed (null where malformed) and created day."""
    created = pl.col("created_date").str.strptime(
        pl.Datetime("ms"), SODA_TIMESTAMP_FORMAT, strict=False
    )
    return requests.with_columns(created=created).with_columns(day=pl.col("created").dt.date())
