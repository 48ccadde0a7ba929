"""The two kinds of outside data the product reads, as interfaces every source implements.

Assets depend on `requests_source` and `weather_source`; `definitions.py` binds them to the demo
city, the live APIs or file exports according to `CHICAGO_RISK_SOURCE`, so asset code never
changes with the source.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date

import dagster as dg
import polars as pl

# What every weather source returns: one row per day of the asked window, in this order.
# Observed columns are null on a day the source has nothing for (`weather_daily` fills it and
# says so). The forecast columns hold what a forecast issued on `day` said of days day+1..day+7,
# or null where the source has no forecast issued on that day.
WEATHER_SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "tmin_c": pl.Float64(),
    "tmax_c": pl.Float64(),
    "precip_mm": pl.Float64(),
    "fc_precip_7d_mm": pl.Float64(),
    "fc_freeze_days_7d": pl.Float64(),
}
# A source that fills a day its own record lacks from a fallback (Open-Meteo: the forecast API's
# past days) adds this column, naming the fallback; null where the record has the day.
FILLED_BY = "filled_by"


class SourceUnavailableError(RuntimeError):
    """An upstream could not be read after retries; the message says which and what to do."""


@dataclass(frozen=True)
class DatasetInfo:
    """Registry facts shown on each raw asset's materialization."""

    name: str
    licence: str
    url: str

    def as_metadata(self) -> dict[str, str]:
        return {"source": self.name, "licence": self.licence, "source_url": self.url}


class RequestSource(dg.ConfigurableResource, ABC):
    """Leak-related 311 requests."""

    @abstractmethod
    def fetch_requests(self, start: date, end: date, sr_types: tuple[str, ...]) -> pl.DataFrame:
        """Requests of `sr_types` created on days start..end (inclusive, Chicago local), as a
        frame in `chicago_risk.sources.soda.SODA_SCHEMA`. Raises SourceUnavailableError."""

    @abstractmethod
    def dataset_info(self) -> DatasetInfo: ...

    def days_held(self) -> tuple[date, date] | None:
        """The first and last day the source holds requests for, when it is a fixed set (file
        exports); None for a live source, which holds every day up to yesterday."""
        return None


class WeatherSource(dg.ConfigurableResource, ABC):
    """City-wide daily weather, plus the coming week's forecast where the source has one."""

    @abstractmethod
    def fetch_weather(self, start: date, end: date) -> pl.DataFrame:
        """Days start..end inclusive in `WEATHER_SOURCE_SCHEMA`, a day the source lacks with null
        observations. Raises SourceUnavailableError when the source cannot be read."""

    @abstractmethod
    def dataset_info(self) -> DatasetInfo: ...
