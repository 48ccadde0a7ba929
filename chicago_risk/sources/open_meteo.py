"""City-wide daily weather from Open-Meteo: the archive API for past days, the forecast API for
the days the archive does not have yet and for the coming week's forecast, and the Historical
Forecast API (archived forecasts) for the forecast features of past days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import polars as pl

from chicago_risk.config import CHICAGO_TZ, CITY_LAT, CITY_LON, LIVE_CLIENTS
from chicago_risk.sources.base import (
    FILLED_BY,
    WEATHER_SOURCE_SCHEMA,
    DatasetInfo,
    SourceUnavailableError,
    WeatherSource,
)
from chicago_risk.sources.http_client import Upstream, get_json
from chicago_risk.window_sums import window_sum

# Open-Meteo daily variable -> our column.
_DAILY: dict[str, str] = {
    "temperature_2m_max": "tmax_c",
    "temperature_2m_min": "tmin_c",
    "precipitation_sum": "precip_mm",
}
_OBSERVED = list(_DAILY.values())
FORECAST_DAYS = 8  # today..today+7: enough for the week after today and after yesterday
MAX_PAST_DAYS = 92  # the forecast API's limit on past_days
OUTLOOK_DAYS = 7  # the forecast features cover day+1..day+7
# The Historical Forecast API's "best match" forecasts for North America start in 2022; before
# that the forecast features of past days are null (unknown), never made up.
HISTORICAL_FORECAST_START = "2022-01-01"
FORECAST_API = "forecast_api"  # `filled_by` of a day the archive lacked
_SETTINGS = (
    "CHICAGO_RISK_OPEN_METEO_URL, CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL and "
    "CHICAGO_RISK_OPEN_METEO_HISTORICAL_FORECAST_URL"
)


class OpenMeteoSource(WeatherSource):
    """Observed daily weather at one point; the week's forecast on today and yesterday from the
    forecast API, on earlier days from the archived forecasts."""

    forecast_url: str
    archive_url: str
    historical_forecast_url: str | None = None  # None: no forecast features for past days
    historical_forecast_start: str = HISTORICAL_FORECAST_START
    latitude: float = CITY_LAT
    longitude: float = CITY_LON
    today: str | None = None  # ISO date; None is the current date in Chicago (tests pin it)
    max_retries: int = LIVE_CLIENTS.max_retries
    backoff_s: float = LIVE_CLIENTS.backoff_s
    timeout_s: float = 60.0
    breaker_failures: int = LIVE_CLIENTS.breaker_failures
    breaker_reset_s: float = LIVE_CLIENTS.breaker_reset_s

    def fetch_weather(self, start: date, end: date) -> pl.DataFrame:
        """Days start..end; a day neither the archive nor the forecast API's past days have keeps
        null observations (`weather_daily` fills and flags it). Days after today are refused:
        they have no weather yet, and none is made up."""
        today = self._today()
        if end > today:
            raise SourceUnavailableError(
                f"Open-Meteo has no weather yet for {today + timedelta(days=1)}..{end}: days after "
                f"today ({today}) cannot be ingested; ask for days up to yesterday."
            )
        # Today is never in the archive (the day is not over), so ask it up to yesterday at most.
        archive_end = min(end, today - timedelta(days=1))
        issue_days = [d for d in (today - timedelta(days=1), today) if start <= d <= end]
        with httpx.Client(timeout=self.timeout_s) as client:
            archive = (
                self._archive(client, start, archive_end) if start <= archive_end else _no_days()
            )
            weather = pl.DataFrame({"day": pl.date_range(start, end, eager=True)}).join(
                archive, on="day", how="left"
            )
            gaps = _incomplete_days(weather.filter(pl.col("day") <= today))
            forecast = (
                self._forecast(client, past_days=(today - min(gaps)).days if gaps else 0)
                if gaps or issue_days
                else _no_days()
            )
            archived = self._archived_outlooks(client, start, min(end, today - timedelta(days=2)))
        current = _week_ahead(forecast).filter(pl.col("day").is_in(issue_days))
        outlooks = pl.concat([archived.filter(~pl.col("day").is_in(issue_days)), current])
        return (
            _fill(weather, forecast.filter(pl.col("day") <= today))
            .join(outlooks, on="day", how="left")
            .select(
                *(pl.col(name).cast(dtype) for name, dtype in WEATHER_SOURCE_SCHEMA.items()),
                FILLED_BY,
            )
        )

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo(
            name="Open-Meteo historical weather, forecast and historical forecast APIs",
            licence="CC BY 4.0 (Open-Meteo)",
            url=self.archive_url,
        )

    def _today(self) -> date:
        if self.today:
            return date.fromisoformat(self.today)
        return datetime.now(ZoneInfo(CHICAGO_TZ)).date()

    def _archive(self, client: httpx.Client, start: date, end: date) -> pl.DataFrame:
        url = f"{self.archive_url.rstrip('/')}/v1/archive"
        window = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        return _daily_frame(url, get_json(client, url, self._params(window), self._upstream()))

    def _forecast(self, client: httpx.Client, past_days: int) -> pl.DataFrame:
        url = f"{self.forecast_url.rstrip('/')}/v1/forecast"
        window = {"past_days": min(past_days, MAX_PAST_DAYS), "forecast_days": FORECAST_DAYS}
        return _daily_frame(url, get_json(client, url, self._params(window), self._upstream()))

    def _archived_outlooks(self, client: httpx.Client, start: date, end: date) -> pl.DataFrame:
        """The forecast features of days start..end from the archived forecasts of their coming
        weeks: null before the archive's first day, or where a week is incomplete."""
        first = max(start, date.fromisoformat(self.historical_forecast_start) - timedelta(days=1))
        if self.historical_forecast_url is None or first > end:
            return _week_ahead(_no_days())
        url = f"{self.historical_forecast_url.rstrip('/')}/v1/forecast"
        window = {
            "start_date": (first + timedelta(days=1)).isoformat(),
            "end_date": (end + timedelta(days=OUTLOOK_DAYS)).isoformat(),
        }
        days = _daily_frame(url, get_json(client, url, self._params(window), self._upstream()))
        return _week_ahead(days).filter(pl.col("day").is_between(first, end))

    def _params(self, window: Mapping[str, str | int]) -> dict[str, str | int]:
        return {
            "latitude": str(self.latitude),
            "longitude": str(self.longitude),
            **window,
            "daily": ",".join(_DAILY),
            "timezone": CHICAGO_TZ,
        }

    def _upstream(self) -> Upstream:
        return Upstream(
            "Open-Meteo", _SETTINGS, self.max_retries, self.backoff_s,
            breaker_failures=self.breaker_failures, breaker_reset_s=self.breaker_reset_s,
        )


def _daily_frame(url: str, body: Any) -> pl.DataFrame:
    """An Open-Meteo answer's `daily` block -> day plus our observed columns."""
    try:
        daily = body["daily"]
        return pl.DataFrame(
            {"day": daily["time"], **{ours: daily[theirs] for theirs, ours in _DAILY.items()}},
            schema={"day": pl.String, **{ours: pl.Float64 for ours in _OBSERVED}},
        ).with_columns(pl.col("day").str.to_date("%Y-%m-%d"))
    except (KeyError, TypeError, pl.exceptions.PolarsError) as exc:
        raise SourceUnavailableError(
            f"Open-Meteo {urlsplit(url).path} answered an unexpected shape ({exc!r}): "
            f"{str(body)[:300]}. Check {_SETTINGS}."
        ) from exc


def _no_days() -> pl.DataFrame:
    return pl.DataFrame(schema={"day": pl.Date, **{ours: pl.Float64 for ours in _OBSERVED}})


def _incomplete_days(weather: pl.DataFrame) -> list[date]:
    return weather.filter(pl.any_horizontal(pl.col(_OBSERVED).is_null()))["day"].to_list()


def _fill(weather: pl.DataFrame, forecast: pl.DataFrame) -> pl.DataFrame:
    """Values the archive lacks, taken from the forecast API's past and current days, flagged."""
    joined = weather.join(forecast, on="day", how="left", suffix="_fc")
    archived = pl.all_horizontal(pl.col(_OBSERVED).is_not_null())
    filled = pl.all_horizontal(pl.coalesce(name, f"{name}_fc").is_not_null() for name in _OBSERVED)
    return joined.select(
        "day",
        *(pl.coalesce(name, f"{name}_fc").alias(name) for name in _OBSERVED),
        pl.when(~archived & filled).then(pl.lit(FORECAST_API)).alias(FILLED_BY),
    )


def _week_ahead(days: pl.DataFrame) -> pl.DataFrame:
    """For each day d before a run of forecast days: the precipitation and freezing days (tmin
    at or below 0) forecast for d+1..d+7, null unless all seven are there."""
    if days.is_empty():
        return pl.DataFrame(
            schema={"day": pl.Date, "fc_precip_7d_mm": pl.Float64, "fc_freeze_days_7d": pl.Float64}
        )
    first, last = cast(date, days["day"].min()), cast(date, days["day"].max())
    calendar = pl.DataFrame(
        {"day": pl.date_range(first - timedelta(days=1), last, eager=True)}
    ).join(days, on="day", how="left")
    return calendar.sort("day").select(
        "day",
        fc_precip_7d_mm=window_sum(pl.col("precip_mm"), 1, OUTLOOK_DAYS),
        fc_freeze_days_7d=window_sum((pl.col("tmin_c") <= 0).cast(pl.Float64), 1, OUTLOOK_DAYS),
    )
