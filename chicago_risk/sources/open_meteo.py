"""City-wide daily weather from Open-Meteo: the archive API for past days, the forecast API for
the days the archive does not have yet and for the coming week's forecast."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import polars as pl

from chicago_risk.config import CHICAGO_TZ, CITY_LAT, CITY_LON
from chicago_risk.sources.http_client import Upstream, get_json
from chicago_risk.sources.base import (
    WEATHER_SOURCE_SCHEMA,
    DatasetInfo,
    SourceUnavailableError,
    WeatherSource,
)

# Open-Meteo daily variable -> our column.
_DAILY: dict[str, str] = {
    "temperature_2m_max": "tmax_c",
    "temperature_2m_min": "tmin_c",
    "precipitation_sum": "precip_mm",
}
_OBSERVED = list(_DAILY.values())
FORECAST_DAYS = 8  # today..today+7: enough for the week after today and after yesterday
MAX_PAST_DAYS = 92  # the forecast API's limit on past_days
_SETTINGS = "CHICAGO_RISK_OPEN_METEO_URL and CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL"


class OpenMeteoSource(WeatherSource):
    """Observed daily weather at one point, plus the week's forecast on today and yesterday."""

    forecast_url: str
    archive_url: str
    latitude: float = CITY_LAT
    longitude: float = CITY_LON
    today: str | None = None  # ISO date; None is the current date in Chicago (tests pin it)
    max_retries: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 60.0

    def fetch_weather(self, start: date, end: date) -> pl.DataFrame:
        today = self._today()
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
        weather = _fill(weather, forecast.filter(pl.col("day") <= today)).join(
            _outlooks(forecast, issue_days), on="day", how="left"
        )
        missing = _incomplete_days(weather)
        if missing:
            raise SourceUnavailableError(
                f"Open-Meteo has no complete weather for {', '.join(map(str, missing))}. The "
                f"archive lags a few days, the forecast API reaches back {MAX_PAST_DAYS} days and "
                f"days after today ({today}) have no weather yet; check {_SETTINGS}."
            )
        return weather.select(pl.col(name).cast(t) for name, t in WEATHER_SOURCE_SCHEMA.items())

    def dataset_info(self) -> DatasetInfo:
        return DatasetInfo(
            name="Open-Meteo historical weather and forecast API",
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

    def _params(self, window: Mapping[str, str | int]) -> dict[str, str | int]:
        return {
            "latitude": str(self.latitude),
            "longitude": str(self.longitude),
            **window,
            "daily": ",".join(_DAILY),
            "timezone": CHICAGO_TZ,
        }

    def _upstream(self) -> Upstream:
        return Upstream("Open-Meteo", _SETTINGS, self.max_retries, self.backoff_s)


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
    """Values the archive lacks, taken from the forecast API's past and current days."""
    return weather.join(forecast, on="day", how="left", suffix="_fc").select(
        "day", *(pl.coalesce(name, f"{name}_fc").alias(name) for name in _OBSERVED)
    )


def _outlooks(forecast: pl.DataFrame, issue_days: list[date]) -> pl.DataFrame:
    """fc_* columns for the days whose forecast is the one the API gives now (today, yesterday).

    A day whose coming week the forecast does not fully cover gets nulls, as do all other days.
    """
    rows = []
    for day in issue_days:
        week = forecast.filter(
            pl.col("day").is_between(day + timedelta(days=1), day + timedelta(days=7))
        ).select("tmin_c", "precip_mm").drop_nulls()
        if week.height == 7:
            rows.append((day, week["precip_mm"].sum(), float((week["tmin_c"] <= 0).sum())))
    return pl.DataFrame(
        rows,
        schema={"day": pl.Date, "fc_precip_7d_mm": pl.Float64, "fc_freeze_days_7d": pl.Float64},
        orient="row",
    )
