"""The demo city as a Dagster resource: 311 requests, weather and the truth of a synthetic Chicago.

Deterministic for a given seed and resolution: a day's rows, weather and truth are identical
whatever window is asked for. The simulation is cached in-process, so asking for requests, weather
and truth over the same window simulates once (8 years of the whole city in a few seconds).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from chicago_risk.config import CHICAGO_TZ
from chicago_risk.demo_city.reports import report_frame
from chicago_risk.demo_city.simulate import truth_frame
from chicago_risk.demo_city.weather import weather_frame
from chicago_risk.sources.base import DatasetInfo, RequestSource, WeatherSource


class DemoCitySource(RequestSource, WeatherSource):
    """A seeded synthetic Chicago that knows its own truth.

    `as_of` is the moment (ISO local Chicago datetime, e.g. "2024-06-01T08:00:00") at which the
    city is observed: requests created later are not there yet, and requests closed later are
    still "Open". Default: now in Chicago.
    """

    seed: int = 20190101
    h3_resolution: int = 9
    as_of: str | None = None

    def observed_at(self) -> datetime:
        """`as_of` as a naive local Chicago datetime."""
        if self.as_of is None:
            return datetime.now(ZoneInfo(CHICAGO_TZ)).replace(tzinfo=None)
        try:
            moment = datetime.fromisoformat(self.as_of)
        except ValueError as error:
            raise ValueError(
                f"as_of={self.as_of!r} is not an ISO datetime; use e.g. '2024-06-01T08:00:00'"
            ) from error
        if moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(CHICAGO_TZ)).replace(tzinfo=None)
        return moment

    def fetch_requests(self, start: date, end: date, sr_types: tuple[str, ...]) -> pl.DataFrame:
        return report_frame(
            self.seed, self.h3_resolution, start, end, tuple(sr_types), self.observed_at()
        )

    def fetch_weather(self, start: date, end: date) -> pl.DataFrame:
        return weather_frame(self.seed, start, end)

    def truth(self, start: date, end: date) -> pl.DataFrame:
        """One row per city cell per day: h3_id, day, mu (expected incidents of all leak types that
        day, including the excitation from past incidents) and p_oracle_7d (the best possible
        probability, made at the end of day t, of at least one incident on t+1..t+7)."""
        return truth_frame(self.seed, self.h3_resolution, start, end)

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo(
            name=f"chicago-risk demo city (synthetic, seed {self.seed})",
            licence="synthetic data, CC0",
            url=f"demo-city://chicago-risk?seed={self.seed}&h3_resolution={self.h3_resolution}",
        )
