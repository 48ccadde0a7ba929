"""The small city's map layers and their publication, as a backfill recomputes them: light enough
to import in the separate process of the concurrency test (no demo city, no ingest)."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from chicago_risk.backfill.execute import QUIET_RUN_CONFIG
from chicago_risk.models.assets import risk_predictions
from chicago_risk.publish.assets import PUBLISH_ASSETS, published_key
from chicago_risk.publish.layers import MODEL, REGISTRY
from chicago_risk.publish.resource import PublishedStoreResource
from chicago_risk.resources.city import CityGridResource
from chicago_risk.storage.io_manager import WarehouseIOManager
from chicago_risk.resources.reports import ReportsResource
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.partitions import partition_range_tags
from chicago_risk_tests.test_publish.stand_ins import GENERATION_TAG, STAND_IN_ASSETS

RESOLUTION = 7
CUTOFF = date(2024, 5, 13)  # a Monday: the one model's training cutoff
FIRST_DAY, LAST_DAY = CUTOFF, CUTOFF + timedelta(days=13)
CURRENT_KEYS = {published_key(MODEL.table), published_key(REGISTRY.table)}
DAILY_PUBLISH = [a for a in PUBLISH_ASSETS if not a.keys & CURRENT_KEYS]
CURRENT_PUBLISH = [a for a in PUBLISH_ASSETS if a.keys & CURRENT_KEYS]
# The map layers a backfill recomputes: predictions, the cost stand-ins, and their publication.
MAP_LAYER_ASSETS = [risk_predictions, *STAND_IN_ASSETS]
MAP_PUBLISH = [a for a in DAILY_PUBLISH if a.key in {published_key(t.key.path[-1]) for t in MAP_LAYER_ASSETS}]


def layer_resources(root: Path) -> dict:
    warehouse = WarehouseResource(path=str(root / "warehouse.duckdb"))
    return {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "city": CityGridResource(h3_resolution=RESOLUTION),
        "reports": ReportsResource(folder=str(root / "reports")),
        "published_store": PublishedStoreResource(url=str(root / "published"), retain_superseded_s=3600),
    }


def materialize(
    assets: list, resources: dict, instance: dg.DagsterInstance, generation: int = 1, daily: bool = True,
    first: date = FIRST_DAY, last: date = LAST_DAY,
) -> dg.ExecuteInProcessResult:
    """One run of `assets`: a single-run backfill of first..last when `daily`."""
    tags = {GENERATION_TAG: str(generation)} | (partition_range_tags(str(first), str(last)) if daily else {})
    return dg.materialize(assets, resources=resources, instance=instance, tags=tags, run_config=QUIET_RUN_CONFIG)
