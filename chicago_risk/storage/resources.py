"""The storage resources a `Settings` configures: the warehouse, its IO manager and the
published store, reaching a bucket with the `AWS_*` settings (secrets as `dg.EnvVar`)."""

from __future__ import annotations

from chicago_risk.config.settings import Settings
from chicago_risk.publish.resource import PublishedStoreResource
from chicago_risk.storage.io_manager import WarehouseIOManager
from chicago_risk.storage.warehouse import WarehouseResource


def storage_resources(settings: Settings) -> dict:
    """`warehouse`, `warehouse_io_manager` and `published_store`, as `CHICAGO_RISK_STORAGE` says."""
    object_store = settings.object_store.config(as_env_vars=True)
    if settings.storage == "delta":
        warehouse = WarehouseResource(
            storage="delta", url=settings.warehouse_url, object_store=object_store,
            memory_limit=settings.duckdb_memory_limit,
        )
    else:
        warehouse = WarehouseResource(
            path=str(settings.warehouse_path), lock_timeout_s=settings.writer_lock_timeout_s,
            memory_limit=settings.duckdb_memory_limit,
        )
    return {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "published_store": PublishedStoreResource(url=settings.published_location, object_store=object_store),
    }
