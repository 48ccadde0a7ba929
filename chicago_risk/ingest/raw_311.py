"""`raw_311_requests` and `raw_311_quarantine`: every leak-related 311 request, by created day."""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS
from chicago_risk.config import LEAK_TYPES, IngestChecks
from chicago_risk.ingest.normalise import RAW_311_SCHEMA, normalise_requests
from chicago_risk.metadata import column_schema, frame_metadata
from chicago_risk.partitions import daily_partitions, single_run
from chicago_risk.resources.city import CityGridResource
from chicago_risk.sources.base import RequestSource
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource

RAW_311 = "raw_311_requests"
CHECKS = IngestChecks()

raw_311_check_specs = [
    dg.AssetCheckSpec(name, asset=RAW_311, blocking=True, description=description)
    for name, description in (
        ("schema", "columns and types are exactly the raw_311_requests schema"),
        ("unique_sr_number", "no request appears twice in a partition"),
        ("on_city_grid", "every accepted row lies in a cell of the city grid"),
        (
            "daily_volume_plausible",
            "no empty day where the trailing weeks were busy, no day far above their median",
        ),
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
            code_version="1",
            freshness_policy=DAILY_FRESHNESS,
        ),
        "raw_311_quarantine": dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            description="Source rows that could not be used, with the reason and the row as received.",
            kinds={"duckdb", "polars"},
            code_version="1",
        ),
    },
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
    fetched = requests_source.fetch_requests(start, end, tuple(t.sr_type for t in LEAK_TYPES))
    accepted, quarantined = normalise_requests(fetched, start, end, city.h3_resolution)
    context.log.info(
        f"{start}..{end}: {fetched.height} rows fetched, {accepted.height} accepted, "
        f"{quarantined.height} quarantined"
    )
    reasons = dict(quarantined.group_by("reason").len().sort("reason").iter_rows())
    yield dg.Output(
        accepted,
        output_name=RAW_311,
        metadata={
            **frame_metadata(accepted, start, end),
            **requests_source.dataset_info().as_metadata(),
            "quarantined_rows": quarantined.height,
            "quarantine_reasons": dg.MetadataValue.json(reasons),
        },
    )
    yield dg.Output(
        quarantined, output_name="raw_311_quarantine", metadata=frame_metadata(quarantined, start, end)
    )
    trailing = _trailing_daily_volume(warehouse, start - timedelta(days=CHECKS.trailing_days), start)
    yield from raw_311_checks(accepted, trailing, city.cells(), start, end)


def raw_311_checks(
    accepted: pl.DataFrame,
    trailing_volume: pl.DataFrame,
    cells: tuple[str, ...],
    start: date,
    end: date,
) -> Iterator[dg.AssetCheckResult]:
    """The blocking checks, computed on the rows about to be stored."""
    mismatched = {
        name: f"{dict(accepted.schema).get(name)} != {dtype}"
        for name, dtype in RAW_311_SCHEMA.items()
        if dict(accepted.schema).get(name) != dtype
    }
    extra = sorted(set(accepted.columns) - set(RAW_311_SCHEMA))
    yield _result("schema", not mismatched and not extra, mismatched=mismatched, extra=extra)

    repeated = accepted.group_by("day", "sr_number").len().filter(pl.col("len") > 1)
    yield _result("unique_sr_number", repeated.is_empty(), repeated_sr_numbers=repeated.height)

    off_grid = accepted.filter(~pl.col("h3_id").is_in(pl.Series(cells, dtype=pl.String)))
    yield _result("on_city_grid", off_grid.is_empty(), rows_off_grid=off_grid.height)

    implausible = implausible_volume_days(accepted, trailing_volume, start, end)
    yield _result(
        "daily_volume_plausible",
        implausible.is_empty(),
        implausible_days=dg.MetadataValue.md(str(implausible.head(20))),
        days_flagged=implausible.height,
    )


def implausible_volume_days(
    accepted: pl.DataFrame, trailing_volume: pl.DataFrame, start: date, end: date
) -> pl.DataFrame:
    """Days of the window whose volume is implausible against the median of the days before."""
    calendar = pl.DataFrame(
        {"day": pl.date_range(start - timedelta(days=CHECKS.trailing_days), end, eager=True)}
    )
    window_volume = accepted.group_by("day").agg(requests=pl.len())
    # Window days are real zeros when absent; earlier days are unknown when absent.
    window_calendar = calendar.filter(pl.col("day") >= start)
    volume = pl.concat(
        [
            trailing_volume.filter(pl.col("day") < start),
            window_calendar.join(window_volume, on="day", how="left").with_columns(
                pl.col("requests").fill_null(0)
            ),
        ],
        how="vertical_relaxed",
    )
    median = pl.col("requests").shift(1).rolling_median(CHECKS.trailing_days, min_samples=7)
    return (
        calendar.join(volume, on="day", how="left")
        .sort("day")
        .with_columns(trailing_median=median)
        .filter(pl.col("day") >= start)
        .filter(
            (
                (pl.col("requests") == 0)
                & (pl.col("trailing_median") >= CHECKS.min_median_for_empty_day)
            )
            # A day is judged against the weeks before it only when there are some: the first
            # days of an empty warehouse may hold a storm.
            | (
                pl.col("trailing_median").is_not_null()
                & (
                    pl.col("requests")
                    > pl.max_horizontal(
                        pl.col("trailing_median") * CHECKS.max_ratio_to_median, CHECKS.max_floor
                    )
                )
            )
        )
    )


def _trailing_daily_volume(warehouse: WarehouseResource, start: date, end: date) -> pl.DataFrame:
    """Requests per day already stored for days start..end-1 (none on a first run)."""
    if not warehouse.table_exists(RAW_311):
        return pl.DataFrame(schema={"day": pl.Date, "requests": pl.UInt32})
    return warehouse.query(
        f"SELECT day, count(*)::UINTEGER AS requests FROM {RAW_311} "
        "WHERE day >= ? AND day < ? GROUP BY day",
        [start, end],
    )


def _result(check_name: str, passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name, asset_key=RAW_311, passed=bool(passed), metadata=metadata
    )
