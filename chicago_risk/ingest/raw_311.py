"""`raw_311_requests`, `raw_311_quarantine` and `raw_311_coverage`: every leak-related 311 request
by created day, the rows that could not be used, and what the source gave for each day."""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS
from chicago_risk.config import LEAK_TYPES, IngestChecks
from chicago_risk.ingest.coverage import (
    COVERAGE_SCHEMA,
    NOT_HELD,
    RAW_311,
    RAW_311_COVERAGE,
    WEATHER,
    coverage_rows,
    source_coverage,
)
from chicago_risk.ingest.normalise import (
    QUARANTINE_SCHEMA,
    RAW_311_SCHEMA,
    normalise_requests,
    parse_local_timestamp,
)
from chicago_risk.ingest.volume import (
    VOLUME_SCHEMA,
    WEATHER_LOOKBACK_DAYS,
    daily_volume,
    expected_but_empty,
    judge_volume,
    weather_multiplier,
)
from chicago_risk.metadata import column_schema, frame_metadata, markdown_table
from chicago_risk.overrides import honour_override
from chicago_risk.partitions import daily_partitions, single_run
from chicago_risk.resources.city import CityGridResource
from chicago_risk.sources.base import RequestSource
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource

QUARANTINE = "raw_311_quarantine"
CHECKS = IngestChecks()
SR_TYPES = tuple(t.sr_type for t in LEAK_TYPES)

raw_311_check_specs = [
    dg.AssetCheckSpec(name, asset=RAW_311, blocking=blocking, description=description)
    for name, blocking, description in (
        ("schema", True, "columns and types are exactly the raw_311_requests schema"),
        ("unique_sr_number", True, "no request appears twice in a partition"),
        ("on_city_grid", True, "every accepted row lies in a cell of the city grid"),
        (
            "daily_volume_plausible",
            True,
            "no day above 20x the volume its weather explains (trailing 28-day median times the "
            "rain multiplier of the wettest of the day and the 3 before), none empty where the "
            "median is 10 or more; accept a verified day with --accept",
        ),
        ("coverage_gaps", False, "no run of 7 or more days without requests inside the data's range"),
    )
]


@dg.multi_asset(
    outs={
        RAW_311: dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            description="Leak-related 311 requests created that day: the source's fields plus "
            "normalised ones (timestamps, coordinates, H3 cell, type group, incident key, flags).",
            metadata={"dagster/column_schema": column_schema(RAW_311_SCHEMA)},
            kinds={"duckdb", "polars"},
            code_version="2",
            freshness_policy=DAILY_FRESHNESS,
        ),
        QUARANTINE: dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            description="Source rows that could not be used, with the reason and the row as "
            "received; a row is stored once, whatever windows are run.",
            metadata={"dagster/column_schema": column_schema(QUARANTINE_SCHEMA)},
            kinds={"duckdb", "polars"},
            code_version="2",
        ),
        RAW_311_COVERAGE: dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            description="One row per ingested day: requests accepted and quarantined, fetches, and "
            "whether the source covered it (rows, quiet, empty after retries, not held).",
            metadata={"dagster/column_schema": column_schema(COVERAGE_SCHEMA)},
            kinds={"duckdb", "polars"},
            code_version="1",
        ),
    },
    # The volume check reads the weather of the window and the days before it.
    deps=[
        dg.AssetDep(
            WEATHER,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-WEATHER_LOOKBACK_DAYS, allow_nonexistent_upstream_partitions=True
            ),
        )
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    group_name="ingest",
    check_specs=raw_311_check_specs,
)
def raw_311(
    context: dg.AssetExecutionContext,
    requests_source: RequestSource,
    city: CityGridResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    start, end = window_days(context.partition_time_window)
    held = requests_source.days_held()
    trailing = _trailing_daily_volume(warehouse, start - timedelta(days=CHECKS.trailing_days), start)
    fetched, attempts = _fetch_with_empty_days_again(context, requests_source, held, trailing, start, end)
    accepted, quarantined = normalise_requests(fetched, start, end, city.h3_resolution)
    quarantined = _not_stored_elsewhere(quarantined, warehouse, start, end)
    weather = _stored_weather(warehouse, start - timedelta(days=WEATHER_LOOKBACK_DAYS), end)
    volume = judge_volume(daily_volume(accepted, trailing, start, end), weather_multiplier(weather, start, end))
    coverage = coverage_rows(volume, quarantined, attempts, held)
    context.log.info(
        f"{start}..{end}: {fetched.height} rows fetched, {accepted.height} accepted, "
        f"{quarantined.height} quarantined"
    )
    statuses = dict(coverage.group_by("status").len().sort("status").iter_rows())
    reasons = dict(quarantined.group_by("reason").len().sort("reason").iter_rows())
    yield dg.Output(
        accepted,
        output_name=RAW_311,
        metadata={
            **frame_metadata(accepted, start, end),
            **requests_source.dataset_info().as_metadata(),
            "quarantined_rows": quarantined.height,
            "quarantine_reasons": dg.MetadataValue.json(reasons),
            "days_by_status": dg.MetadataValue.json(statuses),
        },
    )
    yield dg.Output(quarantined, output_name=QUARANTINE, metadata=frame_metadata(quarantined, start, end))
    yield dg.Output(
        coverage,
        output_name=RAW_311_COVERAGE,
        metadata={
            **frame_metadata(coverage, start, end),
            "days_by_status": dg.MetadataValue.json(statuses),
            "degraded_days": dg.MetadataValue.json(
                [str(day) for day in coverage.filter(pl.col("status") == "empty")["day"].to_list()]
            ),
        },
    )
    judged = volume.join(coverage.select("day", "status"), on="day")
    for result, failing_days in raw_311_checks(accepted, judged, city.cells()):
        yield honour_override(context, result, failing_days)
    yield _coverage_gaps(warehouse)


def raw_311_checks(
    accepted: pl.DataFrame, judged_volume: pl.DataFrame, cells: tuple[str, ...]
) -> Iterator[tuple[dg.AssetCheckResult, list[date] | None]]:
    """The blocking checks on the rows about to be stored, each with the days it found wrong
    (None for a check that does not judge days one by one)."""
    mismatched = {
        name: f"{dict(accepted.schema).get(name)} != {dtype}"
        for name, dtype in RAW_311_SCHEMA.items()
        if dict(accepted.schema).get(name) != dtype
    }
    extra = sorted(set(accepted.columns) - set(RAW_311_SCHEMA))
    yield _result("schema", not mismatched and not extra, mismatched=mismatched, extra=extra), None

    repeated = accepted.group_by("day", "sr_number").len().filter(pl.col("len") > 1)
    yield (
        _result("unique_sr_number", repeated.is_empty(), repeated_sr_numbers=repeated.height),
        repeated["day"].unique().sort().to_list(),
    )

    off_grid = accepted.filter(~pl.col("h3_id").is_in(pl.Series(cells, dtype=pl.String)))
    yield (
        _result("on_city_grid", off_grid.is_empty(), rows_off_grid=off_grid.height),
        off_grid["day"].unique().sort().to_list(),
    )

    # A day the source does not hold (after a folder of exports ends) is not judged.
    implausible = judged_volume.filter(pl.col("implausible").fill_null(False) & (pl.col("status") != NOT_HELD))
    explained = judged_volume.filter(
        (pl.col("requests") > pl.col("allowed_dry")) & ~pl.col("implausible").fill_null(False)
    )
    shown = ("day", "requests", "trailing_median", "effective_rain_mm", "weather_multiplier", "allowed")
    yield (
        _result(
            "daily_volume_plausible",
            implausible.is_empty(),
            days_flagged=implausible.height,
            implausible_days=dg.MetadataValue.md(markdown_table(implausible.select(shown).head(20))),
            spikes_explained_by_weather=dg.MetadataValue.md(markdown_table(explained.select(shown).head(20))),
        ),
        implausible["day"].to_list(),
    )


def _fetch_with_empty_days_again(
    context: dg.AssetExecutionContext,
    source: RequestSource,
    held: tuple[date, date] | None,
    trailing: pl.DataFrame,
    start: date,
    end: date,
) -> tuple[pl.DataFrame, dict[date, int]]:
    """The window's source rows; days that came back empty though their baseline expects
    requests are asked again (`empty_day_retries` times) before they are judged. Returns the
    rows and, per re-asked day, how many times it was asked again."""
    fetched = source.fetch_requests(start, end, SR_TYPES)
    held_first, held_last = held or (date.min, date.max)
    retries: dict[date, int] = {}
    for _ in range(CHECKS.empty_day_retries):
        by_day = fetched.select(day=parse_local_timestamp("created_date").dt.date())
        empty = [
            day
            for day in expected_but_empty(daily_volume(by_day, trailing, start, end))
            if held_first <= day <= held_last
        ]
        if not empty:
            break
        context.log.warning(f"the 311 source gave no request for {_days(empty)}; asking again")
        again = [source.fetch_requests(first, last, SR_TYPES) for first, last in _runs(empty)]
        fetched = pl.concat([fetched, *again], how="vertical_relaxed")
        retries.update({day: retries.get(day, 0) + 1 for day in empty})
    return fetched, retries


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days -> runs of consecutive days as (first, last)."""
    frame = pl.DataFrame({"day": days}, schema={"day": pl.Date})
    new_run = (pl.col("day").diff().dt.total_days() != 1).fill_null(True)
    return (
        frame.with_columns(run=new_run.cum_sum())
        .group_by("run", maintain_order=True)
        .agg(first=pl.col("day").min(), last=pl.col("day").max())
        .select("first", "last")
        .rows()
    )


def _days(days: list[date]) -> str:
    return ", ".join(f"{a}..{b}" if a != b else str(a) for a, b in _runs(days))


def _not_stored_elsewhere(
    quarantined: pl.DataFrame, warehouse: WarehouseResource, start: date, end: date
) -> pl.DataFrame:
    """Quarantine rows not already stored on a day outside this window, once each. A row whose
    created day is unknown is filed under its window's first day, so without this every window
    of a different start would store it again; this window's own days are replaced whole."""
    quarantined = quarantined.unique(subset=["record"], keep="first", maintain_order=True)
    if quarantined.is_empty() or not warehouse.table_exists(QUARANTINE):
        return quarantined
    stored = warehouse.query(
        f'SELECT DISTINCT record FROM {QUARANTINE} WHERE "day" NOT BETWEEN ? AND ? '
        "AND record IN (SELECT unnest(?::VARCHAR[]))",
        [start, end, quarantined["record"].to_list()],
    )["record"]
    return quarantined.filter(~pl.col("record").is_in(stored.implode()))


def _stored_weather(warehouse: WarehouseResource, first: date, last: date) -> pl.DataFrame:
    """weather_daily's `day`, `tmax_c`, `precip_mm` for first..last as stored (none: empty)."""
    if not warehouse.table_exists(WEATHER):
        return pl.DataFrame(schema={"day": pl.Date, "tmax_c": pl.Float64, "precip_mm": pl.Float64})
    return warehouse.query(
        f'SELECT "day" AS day, tmax_c, precip_mm FROM {WEATHER} WHERE "day" BETWEEN ? AND ?', [first, last]
    )


def _trailing_daily_volume(warehouse: WarehouseResource, start: date, end: date) -> pl.DataFrame:
    """Requests per day already stored for days start..end-1 (none on a first run)."""
    if not warehouse.table_exists(RAW_311):
        return pl.DataFrame(schema=VOLUME_SCHEMA)
    return warehouse.query(
        f"SELECT day, count(*)::UINTEGER AS requests FROM {RAW_311} "
        "WHERE day >= ? AND day < ? GROUP BY day",
        [start, end],
    )


def _coverage_gaps(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Warns of long runs without requests inside the data's range (read after this run's
    coverage rows are stored)."""
    coverage = source_coverage(warehouse, RAW_311)
    return dg.AssetCheckResult(
        check_name="coverage_gaps",
        asset_key=RAW_311,
        passed=not coverage.gaps,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "first_day": str(coverage.first_day),
            "last_day": str(coverage.last_day),
            "gaps": dg.MetadataValue.json([f"{a}..{b}" for a, b in coverage.gaps]),
            "degraded_days": len(coverage.degraded_days),
        },
    )


def _result(check_name: str, passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name, asset_key=RAW_311, passed=bool(passed), metadata=metadata
    )
