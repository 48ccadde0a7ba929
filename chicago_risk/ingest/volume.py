"""When a day's 311 volume is plausible: judged against the weeks before it and the weather.

The rule (thresholds in `chicago_risk.config.IngestChecks`):

- A day's baseline is the median volume of the 28 days before it (at least 7 of them known; a
  day without a baseline, as at the start of an empty warehouse, is not judged).
- Its weather explains a multiple of that baseline: the wettest of the day and the 3 days before
  it (storm tails), with 25 mm added on a thaw day (snowmelt), mapped through CHICAGO_FACTS's
  rain -> calls relation: x1 dry, x1.4 from 0.1 mm, x2.2 from 5 mm, x6.4 from 15 mm, x9.6 from
  25 mm, x24.8 from 40 mm, x31 from 60 mm.
- A day is implausible above 20 times what its weather explains, and never below 500 requests.
- An empty day is implausible where the baseline is at least 10 requests: it is fetched again
  first (`empty_day_retries`), then judged.

Days without weather in the warehouse count as dry: the spike is then unexplained, and says so.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from chicago_risk.config import IngestChecks

CHECKS = IngestChecks()
# Days of weather before a day that the rule reads: the storm tail, and the week a thaw needs.
WEATHER_LOOKBACK_DAYS = CHECKS.storm_tail_days + 7

VOLUME_SCHEMA: dict[str, pl.DataType] = {"day": pl.Date(), "requests": pl.UInt32()}


def daily_volume(
    accepted: pl.DataFrame, trailing_volume: pl.DataFrame, start: date, end: date
) -> pl.DataFrame:
    """`day`, `requests`, `trailing_median` for days start..end: window days absent from
    `accepted` are real zeros, earlier days absent from `trailing_volume` are unknown."""
    calendar = pl.DataFrame(
        {"day": pl.date_range(start - timedelta(days=CHECKS.trailing_days), end, eager=True)}
    )
    window_volume = accepted.group_by("day").agg(requests=pl.len())
    volume = pl.concat(
        [
            trailing_volume.filter(pl.col("day") < start),
            calendar.filter(pl.col("day") >= start)
            .join(window_volume, on="day", how="left")
            .with_columns(pl.col("requests").fill_null(0)),
        ],
        how="vertical_relaxed",
    )
    median = pl.col("requests").shift(1).rolling_median(CHECKS.trailing_days, min_samples=7)
    return (
        calendar.join(volume, on="day", how="left")
        .sort("day")
        .with_columns(trailing_median=median)
        .filter(pl.col("day") >= start)
    )


def weather_multiplier(weather: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """`day`, `effective_rain_mm`, `weather_multiplier` for days start..end from weather_daily
    rows (`day`, `tmax_c`, `precip_mm`) of the days before and in the window; 1 where unknown."""
    calendar = pl.DataFrame(
        {"day": pl.date_range(start - timedelta(days=WEATHER_LOOKBACK_DAYS), end, eager=True)}
    )
    ice_day = (pl.col("tmax_c") <= 0).cast(pl.Int32)
    ice_days_before = ice_day.shift(1).rolling_sum(7, min_samples=1).fill_null(0)
    thaw = (pl.col("tmax_c") > 0) & (ice_days_before >= CHECKS.thaw_after_ice_days)
    rain = pl.col("precip_mm").fill_null(0) + pl.when(thaw.fill_null(False)).then(
        CHECKS.thaw_rain_equivalent_mm
    ).otherwise(0.0)
    multiplier = pl.lit(1.0)
    for rain_from, factor in CHECKS.rain_multipliers:
        multiplier = pl.when(pl.col("effective_rain_mm") >= rain_from).then(factor).otherwise(multiplier)
    return (
        calendar.join(weather.select("day", "tmax_c", "precip_mm"), on="day", how="left")
        .sort("day")
        .with_columns(rain_mm=rain)
        .with_columns(
            effective_rain_mm=pl.col("rain_mm").rolling_max(CHECKS.storm_tail_days + 1, min_samples=1)
        )
        .with_columns(weather_multiplier=multiplier)
        .filter(pl.col("day") >= start)
        .select("day", "effective_rain_mm", "weather_multiplier")
    )


def judge_volume(volume: pl.DataFrame, multipliers: pl.DataFrame) -> pl.DataFrame:
    """`daily_volume` rows with `allowed` (the most the day's weather makes plausible),
    `allowed_dry` (the most a dry day would), and `implausible` (true, false, or null where the
    day has no baseline)."""

    def most_plausible(expected: pl.Expr) -> pl.Expr:
        return pl.max_horizontal(expected * CHECKS.max_ratio_to_explained, pl.lit(CHECKS.max_floor))

    return (
        volume.join(multipliers, on="day", how="left")
        .with_columns(pl.col("weather_multiplier").fill_null(1.0))
        .with_columns(
            allowed=most_plausible(pl.col("trailing_median") * pl.col("weather_multiplier")),
            allowed_dry=most_plausible(pl.col("trailing_median")),
        )
        .with_columns(
            implausible=pl.when(pl.col("trailing_median").is_null())
            .then(None)
            .when(pl.col("requests") == 0)
            .then(pl.col("trailing_median") >= CHECKS.min_median_for_empty_day)
            .otherwise(pl.col("requests") > pl.col("allowed"))
        )
    )


def expected_but_empty(volume: pl.DataFrame) -> list[date]:
    """Days with no requests where the baseline expects some: to fetch again before judging."""
    return volume.filter(
        (pl.col("requests") == 0) & (pl.col("trailing_median") >= CHECKS.min_median_for_empty_day)
    )["day"].to_list()
