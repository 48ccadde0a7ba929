"""The `publish` group: after each map layer materializes, its days are copied to the published
store for the API and notebooks (see `chicago_risk.publish.store`).

- `published/<table>` (daily, single-run backfills): one Parquet file per day of the run's window
  that the upstream layer has materialized, then one manifest replacement per chunk of days.
- `published/model_registry`, `published/feature_registry`: the served model's newest registry
  row and the feature definitions, one `current` partition each.

Each follows its upstream by an automation condition: any updated upstream partition, old or new
(a backfill), is published on the next evaluation, as one backfill run.
"""

import time
from datetime import date, timedelta

import dagster as dg
import polars as pl

from chicago_risk.partitions import daily_partitions, single_run
from chicago_risk.publish.layers import PUBLISHED_TABLES, PublishedTable
from chicago_risk.publish.resource import PublishedStoreResource
from chicago_risk.publish.store import CURRENT, Manifest
from chicago_risk.resources.city import CityGridResource
from chicago_risk.resources.io_manager import window_days
from chicago_risk.resources.warehouse import WarehouseResource

PUBLISH_CODE_VERSION = "1"
# Days read from the warehouse per query, and made visible per manifest replacement.
CHUNK_DAYS = 31
# `eager` without its latest-window restriction, so backfilled days are published too.
FOLLOW_DAILY_UPSTREAM = dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())
# An unpartitioned copy of a partitioned table (the model) must not wait for every partition.
FOLLOW_ANY_UPSTREAM = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


class NothingToPublishError(RuntimeError):
    """The upstream table has no materialized data for the requested window."""


def published_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["published", table])


def _source_version(context: dg.AssetExecutionContext, upstream: str) -> str:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(upstream))
    materialization = event.asset_materialization if event else None
    code_version = (materialization.tags or {}).get("dagster/code_version") if materialization else None
    return f"{upstream}@{code_version or 'unknown'}"


def _metadata(spec: PublishedTable, manifest: Manifest, keys: list[str], rows: int, bytes_: int, began: float) -> dict:
    return {
        "dagster/row_count": rows,
        "published_partitions": len(keys),
        "published_range": f"{keys[0]}..{keys[-1]}" if len(keys) > 1 else keys[0],
        "bytes": bytes_,
        "layer_partitions": len(manifest.partitions),
        "manifest": dg.MetadataValue.path(f"{manifest.layer}/manifest.json"),
        "seconds": round(time.perf_counter() - began, 3),
        "source": spec.table,
    }


def _materialized_days(context: dg.AssetExecutionContext, upstream: str, start: date, end: date) -> list[date]:
    done = context.instance.get_materialized_partitions(dg.AssetKey(upstream))
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return [d for d in days if d.isoformat() in done]


def daily_publish_asset(spec: PublishedTable) -> dg.AssetsDefinition:
    @dg.asset(
        key=published_key(spec.table),
        deps=[spec.upstream],
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        automation_condition=FOLLOW_DAILY_UPSTREAM,
        group_name="publish",
        kinds={"parquet"},
        code_version=PUBLISH_CODE_VERSION,
        description=f"Published copy of {spec.table}: {spec.description}.",
        metadata={"published_layer": spec.table},
    )
    def publish_daily(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        published_store: PublishedStoreResource,
        city: CityGridResource,
    ) -> dg.MaterializeResult:
        began = time.perf_counter()
        start, end = window_days(context.partition_time_window)
        days = _materialized_days(context, spec.upstream, start, end)
        if not days:
            raise NothingToPublishError(
                f"{spec.upstream} has no materialized day in {start}..{end}: run chicago-risk materialize "
                f"--start {start} --end {end} --select {spec.upstream} first"
            )
        store, version = published_store.store(), _source_version(context, spec.upstream)
        rows = bytes_ = 0
        for first in range(0, len(days), CHUNK_DAYS):
            chunk = days[first:first + CHUNK_DAYS]
            frame = warehouse.query(spec.select_sql(), [chunk[0], chunk[-1]])
            by_day = {key[0]: part for key, part in frame.partition_by("day", as_dict=True).items()}
            empty = frame.clear()  # a materialized day without rows is published as empty
            parts = [(d.isoformat(), by_day.get(d, empty)) for d in chunk]
            entries = [store.write_partition(spec.table, k, p, version, spec.facets) for k, p in parts]
            manifest = store.commit(spec.table, entries, city.h3_resolution)
            rows += sum(e.rows for e in entries)
            bytes_ += sum(e.bytes for e in entries)
        skipped = (end - start).days + 1 - len(days)
        if skipped:
            context.log.warning(f"{skipped} day(s) of {start}..{end} not materialized in {spec.upstream}: not published")
        keys = [d.isoformat() for d in days]
        return dg.MaterializeResult(
            metadata={**_metadata(spec, manifest, keys, rows, bytes_, began), "skipped_days": skipped}
        )

    return publish_daily


def current_publish_asset(spec: PublishedTable) -> dg.AssetsDefinition:
    @dg.asset(
        key=published_key(spec.table),
        deps=[spec.upstream],
        automation_condition=FOLLOW_ANY_UPSTREAM,
        group_name="publish",
        kinds={"parquet"},
        code_version=PUBLISH_CODE_VERSION,
        description=f"Published copy of {spec.table}: {spec.description}.",
        metadata={"published_layer": spec.table},
    )
    def publish_current(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        published_store: PublishedStoreResource,
        city: CityGridResource,
    ) -> dg.MaterializeResult:
        began = time.perf_counter()
        if not warehouse.table_exists(spec.table):
            raise NothingToPublishError(
                f"the warehouse has no {spec.table} table: materialize {spec.upstream} first"
            )
        frame: pl.DataFrame = warehouse.query(spec.select_sql())
        if frame.is_empty():
            raise NothingToPublishError(f"{spec.table} holds no row to publish ({spec.description})")
        store = published_store.store()
        manifest = store.publish(
            spec.table, [(CURRENT, frame)], city.h3_resolution, _source_version(context, spec.upstream)
        )
        entry = manifest.partitions[CURRENT]
        return dg.MaterializeResult(metadata=_metadata(spec, manifest, [CURRENT], entry.rows, entry.bytes, began))

    return publish_current


PUBLISH_ASSETS: list[dg.AssetsDefinition] = [
    daily_publish_asset(spec) if spec.daily else current_publish_asset(spec) for spec in PUBLISHED_TABLES
]
