"""A small published city for the publish, API and notebook tests, built once per test process.

160 cells (H3 resolution 7): a synthetic feature store, the real `risk_model` trained at
`CUTOFF`, two weeks of demo-city 311 requests and weather, the real `risk_predictions`, the cost
stand-ins and every publish asset, all materialized through Dagster into a temporary warehouse and
published store.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from unittest import mock

import dagster as dg

from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.features.assets import feature_registry
from chicago_risk.ingest.raw_311 import raw_311
from chicago_risk.ingest.weather import weather_daily
from chicago_risk.models import assets as model_assets
from chicago_risk.models.assets import risk_model
from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.test_models.synthetic import quick_settings, synthetic_city
from chicago_risk_tests.test_publish.map_layers import (
    CURRENT_PUBLISH,
    CUTOFF,
    DAILY_PUBLISH,
    FIRST_DAY,
    LAST_DAY,
    MAP_LAYER_ASSETS,
    RESOLUTION,
    layer_resources,
    materialize,
)


def resources(root: Path) -> dict:
    """The map layers' resources and the demo city as the 311 and weather source."""
    city = DemoCitySource(h3_resolution=RESOLUTION, as_of="2024-06-15T00:00:00")
    return {**layer_resources(root), "requests_source": city, "weather_source": city}


@dataclass(frozen=True)
class SmallCity:
    root: Path
    instance: dg.DagsterInstance

    @property
    def published_url(self) -> str:
        return str(self.root / "published")

    def store(self) -> PublishedStore:
        return PublishedStore(self.published_url)

    def copy_to(self, target: Path) -> Path:
        """The warehouse and the published store copied under `target` (for tests that write)."""
        for name in ("warehouse.duckdb", "published"):
            source = self.root / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / name)
        return target


def build_small_city(root: Path) -> SmallCity:
    features, labels, truth = synthetic_city(
        days=530, resolution=RESOLUTION, base_rate=0.015, burst_sd=1.3, rain_effect=0.08
    )
    warehouse = resources(root)["warehouse"]
    warehouse.replace_table("cell_day_features", features)
    warehouse.replace_table("cell_day_labels", labels)
    warehouse.replace_table("demo_truth", truth)
    instance = dg.DagsterInstance.ephemeral()
    with mock.patch.object(model_assets, "SETTINGS", quick_settings(rounds=40)):
        materialize([risk_model], resources(root), instance, first=CUTOFF, last=CUTOFF)
    # `cell_day_features` was written straight into the warehouse: record its days for the
    # publish asset, which publishes only materialized days.
    for day in range((LAST_DAY - FIRST_DAY).days + 1):
        instance.report_runless_asset_event(
            dg.AssetMaterialization("cell_day_features", partition=str(FIRST_DAY + timedelta(days=day)))
        )
    materialize([raw_311, weather_daily, *MAP_LAYER_ASSETS, *DAILY_PUBLISH], resources(root), instance)
    materialize([feature_registry, *CURRENT_PUBLISH], resources(root), instance, daily=False)
    return SmallCity(root, instance)


_BUILT: dict[str, SmallCity] = {}


def shared_small_city(tmp_path_factory) -> SmallCity:
    """The one small city of this test process (the API and publish tests share it)."""
    if "city" not in _BUILT:
        _BUILT["city"] = build_small_city(tmp_path_factory.mktemp("small_city"))
    return _BUILT["city"]
