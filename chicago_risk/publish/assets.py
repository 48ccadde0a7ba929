"""The `publish` group: after each map layer materializes, its days are copied to the published
store for the API and notebooks (see `chicago_risk.publish.store`).

- `published/<table>` (daily, backfilled a year a run): one file per day of the run's window that
  the upstream layer has materialized, read from the warehouse a chunk of days at a time, then
  made visible together by one Delta commit.
- `published/model_registry`, `published/feature_registry`: the served model's newest registry
  row and the feature definitions, one `current` partition each.

Each follows its upstream (`chicago_risk.automation`, evaluated by `follow_upstream_sensor`): any
updated upstream partition, old or new (a backfill), is published on the next evaluation, as one
backfill run. A run that selects a layer and its published copy together (`chicago-risk
materialize`, a backfill of the asset graph) publishes in the same run.
"""

import time
from dataclasses import dataclass

import dagster as dg

from chicago_risk.automation import DAILY_FRESHNESS, FOLLOW_ANY_UPSTREAM, FOLLOW_UPSTREAM
from chicago_risk.partitions import daily_partitions, year_at_a_time
from chicago_risk.publish.layers import PUBLISHED_TABLES, PublishedTable
from chicago_risk.publish.resource import PublishedStoreResource
from chicago_risk.publish.store import CURRENT, Manifest, PublishedStore, Written
from chicago_risk.resources.city import CityGridResource
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import materialize_command, materialized_days

PUBLISH_CODE_VERSION = "2"
# Days read from the warehouse (and held in memory) per query.
CHUNK_DAYS = 31


class NothingToPublishError(RuntimeError):
    """The upstream table has no materialized data for the requested window."""


def published_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["published", table])


def _source_version(context: dg.AssetExecutionContext, upstream: str) -> str:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(upstream))
    materialization = event.asset_materialization if event else None
    code_version = (materialization.tags or {}).get("dagster/code_version") if materialization else None
    return f"{upstream}@{code_version or 'unknown'}"


@dataclass(frozen=True)
class Published:
    """What one run published."""

    manifest: Manifest
    keys: list[str]
    written: list[Written]
    skipped_days: int = 0

    def metadata(self, spec: PublishedTable, began: float) -> dict:
        keys = self.keys
        return {
            "dagster/row_count": sum(w.rows for w in self.written),
            "published_partitions": len(keys),
            "published_range": f"{keys[0]}..{keys[-1]}" if len(keys) > 1 else keys[0],
            "skipped_days": self.skipped_days,
            "bytes": sum(w.bytes for w in self.written),
            "layer_partitions": len(self.manifest.partitions),
            "table_version": self.manifest.table_version,
            "seconds": round(time.perf_counter() - began, 3),
            "source": spec.table,
        }


def _publish_days(
    context: dg.AssetExecutionContext, spec: PublishedTable, warehouse: WarehouseResource, store: PublishedStore,
    resolution: int,
) -> Published:
    """Every day of the run's window that the upstream materialized, made visible at once."""
    start, end = window_days(context.partition_time_window)
    days = materialized_days(context, spec.upstream, start, end)
    if not days:
        raise NothingToPublishError(
            f"{spec.upstream} has no materialized day in {start}..{end}: run: "
            f"{materialize_command([spec.upstream, published_key(spec.table).to_user_string()], start, end)}"
        )
    version, written = _source_version(context, spec.upstream), []
    for first in range(0, len(days), CHUNK_DAYS):
        chunk = days[first:first + CHUNK_DAYS]
        frame = warehouse.query(spec.select_sql(), [chunk[0], chunk[-1]])
        by_day = {key[0]: part for key, part in frame.partition_by("day", as_dict=True).items()}
        empty = frame.clear()  # a materialized day without rows is published as empty
        written += [
            store.write_partition(spec.table, d.isoformat(), by_day.get(d, empty), version, spec.facets) for d in chunk
        ]
    manifest = store.commit(spec.table, written, resolution)
    skipped = (end - start).days + 1 - len(days)
    if skipped:
        context.log.warning(f"{skipped} day(s) of {start}..{end} not materialized in {spec.upstream}: not published")
    return Published(manifest, [d.isoformat() for d in days], written, skipped)


def _publish_current(
    context: dg.AssetExecutionContext, spec: PublishedTable, warehouse: WarehouseResource, store: PublishedStore,
    resolution: int,
) -> Published:
    """The table's chosen rows (the served model, the registry) as the one `current` partition."""
    if not warehouse.table_exists(spec.table):
        raise NothingToPublishError(f"the warehouse has no {spec.table} table: materialize {spec.upstream} first")
    frame = warehouse.query(spec.select_sql())
    if frame.is_empty():
        raise NothingToPublishError(f"{spec.table} holds no row to publish ({spec.description})")
    written = [store.write_partition(spec.table, CURRENT, frame, _source_version(context, spec.upstream))]
    return Published(store.commit(spec.table, written, resolution), [CURRENT], written)


def publish_asset(spec: PublishedTable) -> dg.AssetsDefinition:
    """`published/<table>`: daily like its upstream, or one `current` partition."""
    schedule = (
        {"partitions_def": daily_partitions, "backfill_policy": year_at_a_time, "automation_condition": FOLLOW_UPSTREAM,
         "freshness_policy": DAILY_FRESHNESS}
        if spec.daily else {"automation_condition": FOLLOW_ANY_UPSTREAM}
    )
    publish_rows = _publish_days if spec.daily else _publish_current

    @dg.asset(
        key=published_key(spec.table),
        deps=[spec.upstream],
        group_name="publish",
        kinds={"deltalake"},
        code_version=PUBLISH_CODE_VERSION,
        description=f"Published copy of {spec.table}: {spec.description}.",
        metadata={"published_layer": spec.table},
        **schedule,
    )
    def publish(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        published_store: PublishedStoreResource,
        city: CityGridResource,
    ) -> dg.MaterializeResult:
        began = time.perf_counter()
        published = publish_rows(context, spec, warehouse, published_store.store(), city.h3_resolution)
        return dg.MaterializeResult(metadata=published.metadata(spec, began))

    return publish


PUBLISH_ASSETS: list[dg.AssetsDefinition] = [publish_asset(spec) for spec in PUBLISHED_TABLES]
