"""OpenMeteoSource against a local server answering in Open-Meteo's real shapes."""

from collections.abc import Set as AbstractSet
from datetime import date, timedelta

import polars as pl
import pytest

from chicago_risk.sources.base import FILLED_BY, WEATHER_SOURCE_SCHEMA, SourceUnavailableError
from chicago_risk.sources.open_meteo import OpenMeteoSource
from chicago_risk_tests.fixtures.servers import Reply

TODAY = date(2024, 3, 10)
YESTERDAY = TODAY - timedelta(days=1)
ARCHIVE, FORECAST = "/v1/archive", "/v1/forecast"
DAILY = "temperature_2m_max,temperature_2m_min,precipitation_sum"


def archive_day(day: date) -> tuple[float, float, float]:
    """(tmin, tmax, precip) the fake archive gives; tmax below 30 tells it from the forecast."""
    return -float(day.day), float(day.day), day.day / 10


def forecast_day(day: date) -> tuple[float, float, float]:
    """(tmin, tmax, precip) the fake forecast gives: freezing on even offsets from today."""
    offset = (day - TODAY).days
    return (-1.0 if offset % 2 == 0 else 3.0), 30.0, 0.5 * (offset + 10)


def answer(days: list[date], values, holes: AbstractSet[date]) -> Reply:
    rows = [(None, None, None) if day in holes else values(day) for day in days]
    return Reply(body={
        "latitude": 41.87, "longitude": -87.63, "generationtime_ms": 0.08,
        "utc_offset_seconds": -21600, "timezone": "America/Chicago",
        "timezone_abbreviation": "CST", "elevation": 181.0,
        "daily_units": {"time": "iso8601", "temperature_2m_max": "°C",
                        "temperature_2m_min": "°C", "precipitation_sum": "mm"},
        "daily": {
            "time": [day.isoformat() for day in days],
            "temperature_2m_max": [tmax for _, tmax, _ in rows],
            "temperature_2m_min": [tmin for tmin, _, _ in rows],
            "precipitation_sum": [precip for _, _, precip in rows],
        },
    })


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def historical_day(day: date) -> tuple[float, float, float]:
    """(tmin, tmax, precip) the fake Historical Forecast API gives: freezing on even dates."""
    return (-1.0 if day.day % 2 == 0 else 2.0), 10.0, 1.0


def serve_weather(server, archive_lag_days: int = 3, holes: frozenset[date] = frozenset()):
    """The archive has nulls for its last `archive_lag_days` days before today; every API has
    nulls on `holes`. The forecast and historical forecast APIs share a path (on different hosts
    in production): the historical one is asked with start and end dates."""
    def archive(params: dict[str, str]) -> Reply:
        days = days_between(date.fromisoformat(params["start_date"]),
                            date.fromisoformat(params["end_date"]))
        lagging = {d for d in days if d >= TODAY - timedelta(days=archive_lag_days)}
        return answer(days, archive_day, holes | lagging)

    def forecast(params: dict[str, str]) -> Reply:
        if "start_date" in params:
            days = days_between(date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"]))
            return answer(days, historical_day, set(holes))
        first = TODAY - timedelta(days=int(params["past_days"]))
        last = TODAY + timedelta(days=int(params["forecast_days"]) - 1)
        return answer(days_between(first, last), forecast_day, set(holes))

    server.routes[ARCHIVE], server.routes[FORECAST] = archive, forecast


def open_meteo(server, **fields) -> OpenMeteoSource:
    defaults = {"forecast_url": server.url, "archive_url": server.url, "today": TODAY.isoformat(),
                "max_retries": 3, "backoff_s": 0.001, "timeout_s": 2.0}
    return OpenMeteoSource(**{**defaults, **fields})


def test_a_past_window_is_read_from_the_archive_alone(server):
    serve_weather(server)

    weather = open_meteo(server).fetch_weather(date(2024, 1, 1), date(2024, 1, 5))

    assert weather.schema == pl.Schema({**WEATHER_SOURCE_SCHEMA, FILLED_BY: pl.String()})
    assert weather["day"].to_list() == days_between(date(2024, 1, 1), date(2024, 1, 5))
    assert weather.row(2) == (date(2024, 1, 3), -3.0, 3.0, 0.3, None, None, None)
    assert weather["fc_precip_7d_mm"].null_count() == weather.height
    assert server.requests_to(FORECAST) == []
    (request,) = server.requests_to(ARCHIVE)
    assert request.params == {
        "latitude": "41.8781", "longitude": "-87.6298", "start_date": "2024-01-01",
        "end_date": "2024-01-05", "daily": DAILY, "timezone": "America/Chicago",
    }


def test_days_the_archive_lacks_come_from_the_forecast(server):
    serve_weather(server, archive_lag_days=2)

    weather = open_meteo(server).fetch_weather(date(2024, 3, 1), TODAY)

    assert weather.height == 10
    assert weather.filter(pl.col("day") < date(2024, 3, 8))["tmax_c"].to_list() == [
        float(d) for d in range(1, 8)
    ]
    recent = weather.filter(pl.col("day") >= date(2024, 3, 8))
    assert recent.select("tmin_c", "tmax_c", "precip_mm", FILLED_BY).rows() == [
        (-1.0, 30.0, 4.0, "forecast_api"), (3.0, 30.0, 4.5, "forecast_api"), (-1.0, 30.0, 5.0, "forecast_api")
    ]
    assert weather.filter(pl.col("day") < date(2024, 3, 8))[FILLED_BY].null_count() == 7
    assert server.requests_to(ARCHIVE)[0].params["end_date"] == YESTERDAY.isoformat()
    (request,) = server.requests_to(FORECAST)
    assert (request.params["past_days"], request.params["forecast_days"]) == ("2", "8")
    assert (request.params["daily"], request.params["timezone"]) == (DAILY, "America/Chicago")


def test_forecast_columns_are_set_on_today_and_yesterday_only(server):
    serve_weather(server)

    weather = open_meteo(server).fetch_weather(date(2024, 3, 1), TODAY)

    outlooks = weather.filter(pl.col("fc_precip_7d_mm").is_not_null())
    # Yesterday's week is today..today+6, today's is today+1..today+7 (see `forecast_day`).
    assert outlooks.select("day", "fc_precip_7d_mm", "fc_freeze_days_7d").rows() == [
        (YESTERDAY, 45.5, 4.0), (TODAY, 49.0, 3.0)
    ]
    assert weather["fc_freeze_days_7d"].null_count() == weather.height - 2


def test_a_complete_archive_still_leaves_yesterdays_outlook_to_the_forecast(server):
    serve_weather(server, archive_lag_days=0)

    weather = open_meteo(server).fetch_weather(YESTERDAY, YESTERDAY)

    assert weather.rows() == [(YESTERDAY, *archive_day(YESTERDAY), 45.5, 4.0, None)]
    assert server.requests_to(FORECAST)[0].params["past_days"] == "0"


def test_errors_and_timeouts_are_retried(server):
    serve_weather(server)
    server.queue(ARCHIVE, Reply(500), Reply(429, {"reason": "Too many requests"}))
    server.queue(FORECAST, Reply(body={}, delay_s=0.6))

    weather = open_meteo(server, timeout_s=0.2).fetch_weather(date(2024, 3, 1), TODAY)

    assert weather.height == 10
    assert len(server.requests_to(ARCHIVE)) == 3 and len(server.requests_to(FORECAST)) == 2


def test_persistent_failure_names_open_meteo_and_its_settings(server):
    server.routes[ARCHIVE] = lambda params: Reply(502)

    with pytest.raises(SourceUnavailableError) as raised:
        open_meteo(server, max_retries=1).fetch_weather(date(2024, 1, 1), date(2024, 1, 5))

    assert "Open-Meteo" in str(raised.value) and "HTTP 502" in str(raised.value)
    assert "CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL" in str(raised.value)


def test_a_day_neither_api_has_keeps_null_observations_after_asking_the_forecast(server):
    serve_weather(server, holes=frozenset({date(2024, 1, 3)}))

    weather = open_meteo(server).fetch_weather(date(2024, 1, 1), date(2024, 1, 5))

    hole = weather.filter(pl.col("day") == date(2024, 1, 3))
    assert hole.select("tmin_c", "tmax_c", "precip_mm", FILLED_BY).rows() == [(None, None, None, None)]
    assert weather.drop_nulls("tmin_c").height == 4
    past_days = server.requests_to(FORECAST)[0].params["past_days"]
    assert past_days == str((TODAY - date(2024, 1, 3)).days)


def test_the_forecast_is_not_asked_further_back_than_it_reaches(server):
    serve_weather(server, holes=frozenset({date(2023, 6, 1)}))

    weather = open_meteo(server).fetch_weather(date(2023, 6, 1), date(2023, 6, 2))

    assert weather["tmin_c"].to_list() == [None, -2.0]
    assert server.requests_to(FORECAST)[0].params["past_days"] == "92"


def test_days_after_today_are_an_error_not_a_forecast(server):
    serve_weather(server)

    with pytest.raises(SourceUnavailableError, match=r"no weather yet for 2024-03-11..2024-03-12"):
        open_meteo(server).fetch_weather(TODAY, TODAY + timedelta(days=2))
    assert server.seen == []


def test_an_answer_of_the_wrong_shape_is_an_error(server):
    server.routes[ARCHIVE] = lambda params: Reply(body={"daily": {"time": ["2024-01-01"]}})

    with pytest.raises(SourceUnavailableError, match="unexpected shape"):
        open_meteo(server).fetch_weather(date(2024, 1, 1), date(2024, 1, 1))


def test_a_400_reports_open_meteos_reason_without_retrying(server):
    server.routes[ARCHIVE] = lambda params: Reply(
        400, {"error": True, "reason": "Parameter 'start_date' is out of allowed range"}
    )

    with pytest.raises(SourceUnavailableError, match=r"HTTP 400.*out of allowed range"):
        open_meteo(server).fetch_weather(date(1900, 1, 1), date(1900, 1, 1))

    assert len(server.seen) == 1


def test_past_days_get_their_forecast_features_from_the_archived_forecasts(server):
    serve_weather(server)

    weather = open_meteo(server, historical_forecast_url=server.url).fetch_weather(
        date(2024, 1, 1), date(2024, 1, 5)
    )

    # The week after 2024-01-01 is 01-02..01-08: 7 mm, freezing on the 2nd, 4th, 6th and 8th.
    assert weather.select("day", "fc_precip_7d_mm", "fc_freeze_days_7d").rows()[:2] == [
        (date(2024, 1, 1), 7.0, 4.0), (date(2024, 1, 2), 7.0, 3.0)
    ]
    assert weather["fc_precip_7d_mm"].null_count() == 0
    (request,) = server.requests_to(FORECAST)
    assert (request.params["start_date"], request.params["end_date"]) == ("2024-01-02", "2024-01-12")
    assert request.params["daily"] == DAILY


def test_archived_forecasts_are_null_before_their_coverage_and_around_a_hole(server):
    serve_weather(server, holes=frozenset({date(2024, 1, 9)}))

    weather = open_meteo(
        server, historical_forecast_url=server.url, historical_forecast_start="2024-01-03"
    ).fetch_weather(date(2024, 1, 1), date(2024, 1, 10))

    known = weather.filter(pl.col("fc_precip_7d_mm").is_not_null())["day"].to_list()
    # 01-01's week starts before the coverage; the weeks of 01-02..01-08 contain the hole.
    assert known == [date(2024, 1, 9), date(2024, 1, 10)]
    (historical,) = [seen for seen in server.requests_to(FORECAST) if "start_date" in seen.params]
    assert historical.params["start_date"] == "2024-01-03"


def test_today_and_yesterday_keep_the_current_forecast_and_older_days_the_archived_one(server):
    serve_weather(server)

    weather = open_meteo(server, historical_forecast_url=server.url).fetch_weather(TODAY - timedelta(days=3), TODAY)

    assert weather.select("day", "fc_precip_7d_mm").rows() == [
        (TODAY - timedelta(days=3), 7.0), (TODAY - timedelta(days=2), 7.0), (YESTERDAY, 45.5), (TODAY, 49.0)
    ]
    historical = [seen for seen in server.requests_to(FORECAST) if "start_date" in seen.params]
    assert historical[0].params["end_date"] == (TODAY + timedelta(days=5)).isoformat()


def test_without_a_historical_forecast_url_past_forecast_features_stay_null(server):
    serve_weather(server)

    weather = open_meteo(server).fetch_weather(date(2024, 1, 1), date(2024, 1, 5))

    assert weather["fc_precip_7d_mm"].null_count() == 5 and server.requests_to(FORECAST) == []
