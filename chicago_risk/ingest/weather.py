"""`weather_daily`: city weather per day with the stressors that drive leak reports."""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS
from chicago_risk.config import DATA_START, HEAVY_RAIN_MM, WeatherRanges
from chicago_risk.metadata import column_schema, frame_metadata
from chicago_risk.partitions import daily_partitions, single_run
from chicago_risk.sources.base import WeatherSource
from chicago_risk.storage.io_manager import window_days

WEATHER = "weather_daily"
RANGES = WeatherRanges()

WEATHER_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Date(),
    "tmin_c": pl.Float64(),
    "tmax_c": pl.Float64(),
    "tmean_c": pl.Float64(),
    "precip_mm": pl.Float64(),
    "freeze": pl.Boolean(),  # tmin <= 0
    "freeze_thaw": pl.Boolean(),  # tmin <= 0 < tmax: a crossing that stresses mains
    "temp_drop_c": pl.Float64(),  # tmean of the day before minus tmean of the day
    "heavy_rain": pl.Boolean(),  # precipitation >= HEAVY_RAIN_MM
    # What a forecast issued on `day` said of day+1..day+7; null where the source had none.
    "fc_precip_7d_mm": pl.Float64(),
    "fc_freeze_days_7d": pl.Float64(),
}


def derive_stressors(observed: pl.DataFrame) -> pl.DataFrame:
    """Source weather (sorted, consecutive days) -> WEATHER_SCHEMA.

    The first row's temperature drop needs the day before; callers pass one extra leading day and
    drop it, except at the first day of the data, where the drop is 0.
    """
    tmean = (pl.col("tmin_c") + pl.col("tmax_c")) / 2
    return (
        observed.sort("day")
        .with_columns(tmean_c=tmean)
        .with_columns(
            freeze=pl.col("tmin_c") <= 0,
            freeze_thaw=(pl.col("tmin_c") <= 0) & (pl.col("tmax_c") > 0),
            temp_drop_c=(pl.col("tmean_c").shift(1) - pl.col("tmean_c")).fill_null(0.0),
            heavy_rain=pl.col("precip_mm") >= HEAVY_RAIN_MM,
        )
        .select(pl.col(name).cast(dtype) for name, dtype in WEATHER_SCHEMA.items())
    )


weather_check_specs = [
    dg.AssetCheckSpec(name, asset=WEATHER, blocking=True, description=description)
    for name, description in (
        ("one_row_per_day", "exactly one row for every day of the window"),
        ("physical_ranges", "temperatures and precipitation within Chicago's physical ranges"),
    )
]


@dg.asset(
    name=WEATHER,
    io_manager_key="warehouse_io_manager",
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    group_name="ingest",
    check_specs=weather_check_specs,
    kinds={"duckdb", "polars"},
    code_version="1",
    freshness_policy=DAILY_FRESHNESS,
    metadata={"dagster/column_schema": column_schema(WEATHER_SCHEMA)},
)
def weather_daily(
    context: dg.AssetExecutionContext, weather_source: WeatherSource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """City-wide daily weather: tmin, tmax, tmean, precipitation, derived stressors and the coming
    week's forecast where the source has one."""
    start, end = window_days(context.partition_time_window)
    fetch_start = max(start - timedelta(days=1), DATA_START)
    weather = derive_stressors(weather_source.fetch_weather(fetch_start, end)).filter(
        pl.col("day") >= start
    )
    yield dg.Output(
        weather,
        metadata={
            **frame_metadata(weather, start, end),
            **weather_source.dataset_info().as_metadata(),
        },
    )
    expected_days = (end - start).days + 1
    yield dg.AssetCheckResult(
        check_name="one_row_per_day",
        passed=weather.height == expected_days and weather["day"].n_unique() == expected_days,
        metadata={"rows": weather.height, "expected": expected_days},
    )
    out_of_range = weather.filter(
        ~pl.col("tmin_c").is_between(*RANGES.tmin_c)
        | ~pl.col("tmax_c").is_between(*RANGES.tmax_c)
        | ~pl.col("precip_mm").is_between(*RANGES.precip_mm)
        | (pl.col("tmax_c") < pl.col("tmin_c"))
        | pl.any_horizontal(pl.col("tmin_c", "tmax_c", "precip_mm").is_null())
    )
    yield dg.AssetCheckResult(
        check_name="physical_ranges",
        passed=out_of_range.is_empty(),
        metadata={"days_out_of_range": out_of_range.height, "first": str(out_of_range.head(5))},
    )
