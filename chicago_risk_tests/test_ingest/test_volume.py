"""The plausible-volume rule on Chicago's real extremes (CHICAGO_FACTS): storms, their tails, a thaw,
an unexplained spike, an empty day."""

from datetime import date, timedelta

import polars as pl

from chicago_risk.ingest.volume import (
    VOLUME_SCHEMA,
    daily_volume,
    expected_but_empty,
    judge_volume,
    weather_multiplier,
)

START = date(2010, 7, 21)  # a window of a week; the 28 days before it are stored history
MEDIAN_DAY = 19  # flooding calls on the median day of 2010-2016


def history(days: int = 28, volume: int = MEDIAN_DAY) -> pl.DataFrame:
    return pl.DataFrame(
        {"day": [START - timedelta(days=i) for i in range(days, 0, -1)], "requests": [volume] * days},
        schema=VOLUME_SCHEMA,
    )


def rows(volume_by_day: dict[date, int], ordinary: int = MEDIAN_DAY, days: int = 7) -> pl.DataFrame:
    """Accepted rows (only `day` matters) for START..START+days-1."""
    window = [START + timedelta(days=i) for i in range(days)]
    return pl.DataFrame(
        {"day": [d for d in window for _ in range(volume_by_day.get(d, ordinary))]}, schema={"day": pl.Date}
    )


def weather(rain_by_day: dict[date, float], tmax_by_day: dict[date, float] | None = None) -> pl.DataFrame:
    days = [START - timedelta(days=20) + timedelta(days=i) for i in range(30)]
    return pl.DataFrame(
        {
            "day": days,
            "tmax_c": [(tmax_by_day or {}).get(d, 25.0) for d in days],
            "precip_mm": [rain_by_day.get(d, 0.0) for d in days],
        }
    )


def judged(
    accepted: pl.DataFrame, rain: pl.DataFrame, trailing: pl.DataFrame | None = None, days: int = 7
) -> pl.DataFrame:
    end = START + timedelta(days=days - 1)
    trailing = history() if trailing is None else trailing
    return judge_volume(daily_volume(accepted, trailing, START, end), weather_multiplier(rain, START, end))


def flagged(frame: pl.DataFrame) -> list[date]:
    return frame.filter(pl.col("implausible").fill_null(False))["day"].to_list()


STORM = START + timedelta(days=3)  # 2010-07-24: 3,380 calls, 178 times the median day


def test_the_worst_real_storm_and_its_tail_are_plausible_when_it_rained():
    tail = {STORM + timedelta(days=i): calls for i, calls in ((1, 1_020), (2, 980), (3, 940))}
    accepted = rows({STORM: 3_380, **tail})

    assert flagged(judged(accepted, weather({STORM: 80.0}))) == []
    # The same calls on dry days are a broken feed, not weather.
    assert flagged(judged(accepted, weather({}))) == [STORM, *tail]


def test_a_storm_tail_is_explained_for_three_days_only():
    late = STORM + timedelta(days=3)
    later = STORM + timedelta(days=4)
    accepted = rows({late: 940, later: 940}, days=8)

    assert flagged(judged(accepted, weather({STORM: 80.0}), days=8)) == [later]


def test_rain_on_snow_in_a_thaw_is_plausible_and_the_same_volume_without_the_thaw_is_not():
    thaw = START + timedelta(days=2)  # as 2014-02-20: 29 mm on snow, 1,181 street calls plus basements
    ice_week = {thaw - timedelta(days=i): -5.0 for i in range(1, 8)}
    accepted = rows({thaw: 1_400}, ordinary=12)
    winter = history(volume=12)

    assert flagged(judged(accepted, weather({thaw: 29.0}, {**ice_week, thaw: 6.0}), winter)) == []
    assert judged(accepted, weather({thaw: 29.0}, {**ice_week, thaw: 6.0}), winter).filter(
        pl.col("day") == thaw
    )["effective_rain_mm"].item() == 54.0
    # 29 mm in summer explains 9.6x the median: 20 x 9.6 x 12 = 2,304 would pass, so take a dry thawless day.
    assert flagged(judged(accepted, weather({}), winter)) == [thaw]


def test_an_unexplained_spike_is_judged_against_20_times_the_median_and_a_floor_of_500():
    city_wide = history(volume=165)  # every leak type on an ordinary day
    spike = START + timedelta(days=1)

    assert flagged(judged(rows({spike: 3_300}, ordinary=165), weather({}), city_wide)) == []  # exactly 20x
    assert flagged(judged(rows({spike: 3_301}, ordinary=165), weather({}), city_wide)) == [spike]
    assert flagged(judged(rows({spike: 499}), weather({}))) == []  # 26x a quiet median, under the floor


def test_an_empty_day_is_implausible_only_where_requests_were_expected():
    empty = START + timedelta(days=4)
    busy = judged(rows({empty: 0}), weather({}))
    quiet = judged(rows({empty: 0}, ordinary=3), weather({}), history(volume=3))

    assert flagged(busy) == [empty] and expected_but_empty(busy) == [empty]
    assert flagged(quiet) == [] and expected_but_empty(quiet) == []


def test_days_without_a_baseline_are_not_judged_and_missing_weather_counts_as_dry():
    # The first days of an empty warehouse may hold a storm.
    first_week = judged(
        rows({START + timedelta(days=1): 5_000}),
        pl.DataFrame(schema={"day": pl.Date, "tmax_c": pl.Float64, "precip_mm": pl.Float64}),
        history(days=0),
    )
    assert first_week["implausible"].null_count() >= 6 and flagged(first_week) == []
    assert first_week["weather_multiplier"].to_list() == [1.0] * 7
