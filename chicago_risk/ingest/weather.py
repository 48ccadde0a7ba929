"""`weather_daily`: city weather per day with the stressors that drive leak reports.

A day the source lacks is filled, flagged in the row (`filled_by`), listed in the materialization
and reported by the `every_day_observed` warning; the run goes on. The source's own fallback comes
first (Open-Meteo: the forecast API's past days, `forecast_api`); what is still missing is
interpolated linearly between the nearest observed days (`interpolated`), up to
`WeatherFill.max_gap_days` in a row.
"""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS
from chicago_risk.config import HEAVY_RAIN_MM, WeatherFill, WeatherRanges
from chicago_risk.metadata import column_schema, frame_metadata
from chicago_risk.overrides import honour_override
from chicago_risk.partitions import DATA_FIRST_DAY, daily_partitions, single_run
from chicago_risk.sources.base import FILLED_BY, SourceUnavailableError, WeatherSource
from chicago_risk.storage.io_manager import window_days

WEATHER = "weather_daily"
RANGES = WeatherRanges()
FILL = WeatherFill()
INTERPOLATED = "interpolated"
OBSERVED = ("tmin_c", "tmax_c", "precip_mm")

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
    # Null where the source observed the day; else how it was filled (`forecast_api`, `interpolated`).
    FILLED_BY: pl.String(),
}


def fill_missing_days(weather: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    """Source weather (consecutive days) with every null observation of days first..last filled.

    Raises SourceUnavailableError naming the days when a run of missing days reaching into
    first..last is longer than `FILL.max_gap_days`, or when nothing around it was observed.
    """
    if FILLED_BY not in weather.columns:
        weather = weather.with_columns(pl.lit(None, pl.String).alias(FILLED_BY))
    missing = pl.any_horizontal(pl.col(OBSERVED).is_null())
    weather = weather.sort("day").with_columns(_missing=missing, _run=(missing != missing.shift(1)).cum_sum())
    gaps = (
        weather.filter("_missing")
        .group_by("_run")
        .agg(first=pl.col("day").min(), last=pl.col("day").max(), days=pl.len())
        .filter(pl.col("last") >= first, pl.col("first") <= last)
        .sort("first")
    )
    unfillable = gaps.filter(pl.col("days") > FILL.max_gap_days)
    if not unfillable.is_empty() or (not gaps.is_empty() and weather["_missing"].all()):
        runs = ", ".join(f"{a}..{b} ({n} days)" for a, b, n in unfillable.select("first", "last", "days").rows())
        raise SourceUnavailableError(
            f"The weather source has no weather for {runs or 'any day around ' + str(gaps['first'][0])}; "
            f"weather_daily fills at most {FILL.max_gap_days} missing days in a row from the days "
            "around them. Check the weather source (its settings, or the files' weather.csv)."
        )
    return weather.with_columns(
        *(pl.col(name).interpolate().forward_fill().backward_fill() for name in OBSERVED),
        pl.when("_missing").then(pl.lit(INTERPOLATED)).otherwise(pl.col(FILLED_BY)).alias(FILLED_BY),
    ).drop("_missing", "_run")


def derive_stressors(observed: pl.DataFrame) -> pl.DataFrame:
    """Source weather (sorted, consecutive days, every observation present) -> WEATHER_SCHEMA.

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
    dg.AssetCheckSpec(name, asset=WEATHER, blocking=blocking, description=description)
    for name, blocking, description in (
        ("one_row_per_day", True, "exactly one row for every day of the window"),
        ("physical_ranges", True, "temperatures and precipitation within Chicago's physical ranges"),
        ("every_day_observed", False, "no day filled from a fallback (the forecast API's past days, interpolation)"),
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
    code_version="2",
    freshness_policy=DAILY_FRESHNESS,
    metadata={"dagster/column_schema": column_schema(WEATHER_SCHEMA)},
)
def weather_daily(
    context: dg.AssetExecutionContext, weather_source: WeatherSource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """City-wide daily weather: tmin, tmax, tmean, precipitation, derived stressors, the coming
    week's forecast where the source has one, and how a day the source lacked was filled."""
    start, end = window_days(context.partition_time_window)
    # The day before the window gives the first temperature drop; the week before it, the
    # neighbours a missing first day is interpolated from.
    fetch_start = max(start - timedelta(days=1 + FILL.max_gap_days), DATA_FIRST_DAY)
    fetched = weather_source.fetch_weather(fetch_start, end)
    weather = derive_stressors(fill_missing_days(fetched, start, end)).filter(pl.col("day") >= start)
    filled = weather.filter(pl.col(FILLED_BY).is_not_null()).select("day", FILLED_BY)
    filled_days = {str(day): how for day, how in filled.rows()}
    if filled_days:
        context.log.warning(f"weather_daily filled {len(filled_days)} day(s) the source lacked: {filled_days}")
    yield dg.Output(
        weather,
        metadata={
            **frame_metadata(weather, start, end),
            **weather_source.dataset_info().as_metadata(),
            "filled_days": dg.MetadataValue.json(filled_days),
        },
    )
    expected_days = (end - start).days + 1
    yield honour_override(context, dg.AssetCheckResult(
        check_name="one_row_per_day",
        passed=weather.height == expected_days and weather["day"].n_unique() == expected_days,
        metadata={"rows": weather.height, "expected": expected_days},
    ))
    out_of_range = weather.filter(
        ~pl.col("tmin_c").is_between(*RANGES.tmin_c)
        | ~pl.col("tmax_c").is_between(*RANGES.tmax_c)
        | ~pl.col("precip_mm").is_between(*RANGES.precip_mm)
        | (pl.col("tmax_c") < pl.col("tmin_c"))
        | pl.any_horizontal(pl.col("tmin_c", "tmax_c", "precip_mm").is_null())
    )
    yield honour_override(
        context,
        dg.AssetCheckResult(
            check_name="physical_ranges",
            passed=out_of_range.is_empty(),
            metadata={"days_out_of_range": out_of_range.height, "first": str(out_of_range.head(5))},
        ),
        out_of_range["day"].to_list(),
    )
    yield dg.AssetCheckResult(
        check_name="every_day_observed",
        passed=not filled_days,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"filled_days": dg.MetadataValue.json(filled_days)},
    )
