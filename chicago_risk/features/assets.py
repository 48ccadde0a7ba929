"""The feature store's assets: `feature_registry`, `cell_day_features`, `cell_day_labels`."""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import cast

import dagster as dg
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS, FOLLOW_CODE, FOLLOW_UPSTREAM
from chicago_risk.checks import one_row_per_cell_day
from chicago_risk.config import LABEL_HORIZON_DAYS, FeatureChecks
from chicago_risk.features.compute import (
    CELL_DAY_LABELS_SCHEMA,
    build_cell_day_features,
    build_cell_day_labels,
)
from chicago_risk.features.drift import drift_table, weather_z_scores
from chicago_risk.features.incidents import ROW_COLUMNS, orphan_parent_keys, resolve_incidents
from chicago_risk.features.registry import (
    CELL_DAY_FEATURES_SCHEMA,
    CITY_WIDE_WEATHER,
    FEATURES,
    HISTORY_DAYS,
    PER_CELL_FEATURES,
    REQUIRED_FEATURES,
    WEATHER_LOOKBACK_DAYS,
    registry_frame,
    registry_hash,
)
from chicago_risk.ingest.coverage import days_not_held
from chicago_risk.ingest.raw_311 import RAW_311
from chicago_risk.metadata import column_schema, frame_metadata
from chicago_risk.overrides import honour_override
from chicago_risk.partitions import daily_partitions, features_at_a_time, label_partitions
from chicago_risk.resources.city import CityGridResource
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import require_materialized

CHECKS = FeatureChecks()


def load_incidents(raw_rows: pl.DataFrame, warehouse: WarehouseResource) -> pl.DataFrame:
    """Incidents of the loaded rows; a duplicate whose first report is older than the loaded
    window is looked up so the incident keeps its true date and cell."""
    orphans = orphan_parent_keys(raw_rows)
    parents = pl.DataFrame(schema={c: raw_rows.schema[c] for c in ROW_COLUMNS})
    if orphans.len():
        parents = warehouse.query(
            f"SELECT {', '.join(ROW_COLUMNS)} FROM {RAW_311} WHERE sr_number IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [orphans.to_list()],
        )
    return resolve_incidents(raw_rows, parents)


@dg.asset(
    io_manager_key="warehouse_io_manager",
    group_name="features",
    kinds={"duckdb", "polars"},
    code_version=registry_hash(),
    automation_condition=FOLLOW_CODE,
)
def feature_registry() -> dg.Output:
    """Every feature's name, dtype, source, window, version, description and definition hash."""
    registry = registry_frame()
    return dg.Output(
        registry,
        metadata={
            "registry_hash": registry_hash(),
            "features": dg.MetadataValue.md(
                str(registry.select("name", "dtype", "window", "version", "description"))
            ),
        },
    )


feature_check_specs = [
    dg.AssetCheckSpec(name, asset="cell_day_features", blocking=blocking, description=description)
    for name, blocking, description in (
        ("required_not_null", True, "no nulls in required features"),
        ("one_row_per_cell_day", True, "rows per partition equal the number of grid cells"),
        ("value_ranges", True, "counts non-negative, days_since_last in 0..365, calendar in range"),
        ("drift_psi", False, "PSI of the latest day's per-cell features against the trailing training window"),
    )
]


@dg.asset(
    io_manager_key="warehouse_io_manager",
    partitions_def=daily_partitions,
    backfill_policy=features_at_a_time,
    group_name="features",
    kinds={"duckdb", "polars"},
    code_version=registry_hash(),
    automation_condition=FOLLOW_UPSTREAM,
    freshness_policy=DAILY_FRESHNESS,
    check_specs=feature_check_specs,
    deps=[feature_registry],
    ins={
        RAW_311: dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-(HISTORY_DAYS - 1), allow_nonexistent_upstream_partitions=True
            )
        ),
        "weather_daily": dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-WEATHER_LOOKBACK_DAYS, allow_nonexistent_upstream_partitions=True
            )
        ),
    },
    # Static facts live on the definition, not copied into every partition's materialization.
    metadata={
        "dagster/column_schema": column_schema(CELL_DAY_FEATURES_SCHEMA),
        "features": dg.MetadataValue.md("\n".join(f"- `{f.name}` ({f.window}): {f.description}" for f in FEATURES)),
    },
)
def cell_day_features(
    context: dg.AssetExecutionContext,
    raw_311_requests: pl.DataFrame,
    weather_daily: pl.DataFrame,
    city: CityGridResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """One row per city cell and as-of date t, using only what was known at the end of t."""
    start, end = window_days(context.partition_time_window)
    require_materialized(context, RAW_311, start - timedelta(days=HISTORY_DAYS - 1), end)
    require_materialized(context, "weather_daily", start, end)
    incidents = load_incidents(raw_311_requests, warehouse)
    features = build_cell_day_features(incidents, weather_daily, city.h3_resolution, start, end)
    yield dg.Output(
        features,
        metadata={**frame_metadata(features, start, end), "registry_hash": registry_hash()},
    )
    for result in feature_checks(features, len(city.cells()), _drift_reference(features, warehouse, end)):
        yield honour_override(context, result)


def feature_checks(
    features: pl.DataFrame, cell_count: int, reference: pl.DataFrame
) -> Iterator[dg.AssetCheckResult]:
    nulls = {
        name: count
        for name, count in features.select(pl.col(REQUIRED_FEATURES).null_count()).row(0, named=True).items()
        if count
    }
    yield dg.AssetCheckResult(
        check_name="required_not_null", asset_key="cell_day_features", passed=not nulls,
        metadata={"null_counts": dg.MetadataValue.json(nulls)},
    )
    yield one_row_per_cell_day(features, cell_count, "cell_day_features")
    counts = [f.name for f in FEATURES if f.source.startswith("raw_311")]
    out_of_range = features.filter(
        pl.any_horizontal(pl.col(counts) < 0)
        | ~pl.col("days_since_last").is_between(0, 365)
        | ~pl.col("doy_sin").is_between(-1, 1)
        | ~pl.col("dow").is_between(0, 6)
    )
    yield dg.AssetCheckResult(
        check_name="value_ranges", asset_key="cell_day_features", passed=out_of_range.is_empty(),
        metadata={"rows_out_of_range": out_of_range.height},
    )
    latest = features.filter(pl.col("day") == features["day"].max())
    if reference.is_empty():
        yield dg.AssetCheckResult(
            check_name="drift_psi", asset_key="cell_day_features", passed=True,
            severity=dg.AssetCheckSeverity.WARN, metadata={"reference": "no earlier days yet"},
        )
        return
    drift = drift_table(reference, latest, PER_CELL_FEATURES)
    worst = drift.row(0, named=True)
    yield dg.AssetCheckResult(
        check_name="drift_psi",
        asset_key="cell_day_features",
        passed=not (drift["psi"] > CHECKS.drift_psi_warn).any(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "max_psi": float(worst["psi"] or 0.0),
            "most_drifted": str(worst["feature"]),
            "threshold": CHECKS.drift_psi_warn,
            "reference_days": reference["day"].n_unique(),
            "psi_by_feature": dg.MetadataValue.md(str(drift)),
            "weather_z_scores": dg.MetadataValue.md(str(weather_z_scores(reference, latest, CITY_WIDE_WEATHER))),
        },
    )


def _drift_reference(features: pl.DataFrame, warehouse: WarehouseResource, end: date) -> pl.DataFrame:
    """The trailing training window before the latest day: from this run, then the warehouse."""
    first = end - timedelta(days=CHECKS.drift_reference_days)
    in_run = features.filter(pl.col("day").is_between(first, end - timedelta(days=1)))
    earliest_in_run = cast(date, features["day"].min())
    if earliest_in_run <= first or not warehouse.table_exists("cell_day_features"):
        return in_run
    stored = warehouse.read_partitions("cell_day_features", first, earliest_in_run - timedelta(days=1))
    return pl.concat([stored.select(in_run.columns), in_run])


@dg.asset(
    io_manager_key="warehouse_io_manager",
    partitions_def=label_partitions,
    backfill_policy=features_at_a_time,
    group_name="features",
    kinds={"duckdb", "polars"},
    code_version="1",
    automation_condition=FOLLOW_UPSTREAM,
    freshness_policy=DAILY_FRESHNESS,
    ins={
        RAW_311: dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=1, end_offset=LABEL_HORIZON_DAYS)
        )
    },
    metadata={"dagster/column_schema": column_schema(CELL_DAY_LABELS_SCHEMA)},
)
def cell_day_labels(
    context: dg.AssetExecutionContext,
    raw_311_requests: pl.DataFrame,
    city: CityGridResource,
    warehouse: WarehouseResource,
) -> dg.Output:
    """`y_event_7d` and `n_events_7d`: incidents dated t+1..t+7 in the cell. Never a feature.

    A day whose coming week reaches past what the 311 source holds (a folder of exports ends)
    gets no label yet: it waits for its days instead of counting them as quiet."""
    start, end = window_days(context.partition_time_window)
    require_materialized(context, RAW_311, start + timedelta(days=1), end + timedelta(days=LABEL_HORIZON_DAYS))
    labels = build_cell_day_labels(load_incidents(raw_311_requests, warehouse), city.h3_resolution, start, end)
    not_held = days_not_held(warehouse, start + timedelta(days=1), end + timedelta(days=LABEL_HORIZON_DAYS))
    waiting = pl.DataFrame({"day": not_held}, schema={"day": pl.Date}).select(
        pl.date_ranges(pl.col("day") - timedelta(days=LABEL_HORIZON_DAYS), pl.col("day") - timedelta(days=1))
        .explode()
        .unique()
        .alias("day")
    )["day"]
    labels = labels.filter(~pl.col("day").is_in(waiting.implode()))
    return dg.Output(
        labels,
        metadata={
            **frame_metadata(labels, start, end),
            "positive_share": float(cast(float | None, labels["y_event_7d"].mean()) or 0),
            "days_waiting_for_data": dg.MetadataValue.json(
                sorted(str(day) for day in waiting.to_list() if start <= day <= end)
            ),
        },
    )
