"""The real graph in Delta mode on the S3 server, chosen by configuration (the environment) alone:
two days of map layers (with the history they need, clipped at the data's first day) materialized
through Dagster at H3 resolution 7 into Delta tables in a bucket; the DuckDB file gives the same
rows from the same inputs; and the API answers the layer routes from the published layers beside
the warehouse."""

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable
from fastapi.testclient import TestClient
from polars.testing import assert_frame_equal

from api.app import create_app
from chicago_risk.backfill import EVALUATION_ASSETS, materialize_window
from chicago_risk.config import Settings
from chicago_risk.config.serving import ServingSettings
from chicago_risk.definitions import build_definitions
from chicago_risk.storage.delta_tables import table_names
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.instances import fast_test_instance

pytestmark = pytest.mark.slow

START, END = date(2019, 4, 29), date(2019, 4, 30)  # a Monday (a model's cutoff) and the next day
# Recomputed in the DuckDB file from the Delta warehouse's inputs, then compared row for row.
RECOMPUTED = ("risk_model", "model_champion", "risk_predictions", "cost_layer")
COMPARED = ("model_registry", "risk_predictions", "cost_layer")


@dataclass(frozen=True)
class DeltaCity:
    root: Path
    env: dict[str, str]
    settings: Settings
    defs: dg.Definitions

    @property
    def warehouse(self) -> WarehouseResource:
        return (self.defs.resources or {})["warehouse"]


def environment(root: Path, s3_server) -> dict[str, str]:
    return {
        "CHICAGO_RISK_DATA_DIR": str(root),
        "CHICAGO_RISK_H3_RESOLUTION": "7",
        "CHICAGO_RISK_STORAGE": "delta",
        "CHICAGO_RISK_STORAGE_URL": f"s3://{s3_server.new_bucket()}/warehouse",
        **s3_server.env,
    }


def layer_assets(defs: dg.Definitions) -> list[str]:
    """What `make demo` builds first: every asset but the backtest (too little history in 2019)."""
    known = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    return sorted(known - set(EVALUATION_ASSETS))


@pytest.fixture(scope="module")
def city(tmp_path_factory, s3_server) -> Iterator[DeltaCity]:
    root = tmp_path_factory.mktemp("delta_city")
    env = environment(root, s3_server)
    with pytest.MonkeyPatch.context() as patch:  # the process environment is the configuration
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings.from_env()
        defs = build_definitions(settings)
        with fast_test_instance() as instance:
            materialize_window(defs, START, END, instance, layer_assets(defs), echo=lambda _: None)
        yield DeltaCity(root, env, settings, defs)


# What differs between two fits on the same rows, whatever the storage: the clock (`created_at`, a
# fit's seconds) and the last bits of floats summed in parallel (and `model_id`, a hash of them).
NOT_COMPARED = ("created_at", "model_id", "fit_seconds")
JSON_COLUMNS = ("metrics", "calibration_map", "params")


def close(left, right) -> bool:
    """Equal, floats to 1e-9 relative, through nested JSON."""
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(left, dict) and isinstance(right, dict):
        keys = set(left) - set(NOT_COMPARED)
        return keys == set(right) - set(NOT_COMPARED) and all(close(left[k], right[k]) for k in keys)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(close, left, right))
    return left == right


def assert_same_rows(table: str, left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert left.schema == right.schema and left.height == right.height > 0, table
    key = [c for c, t in left.schema.items() if not (t.is_nested() or t.is_float() or c in NOT_COMPARED + JSON_COLUMNS)]
    left, right = left.sort(key), right.sort(key)
    for column in set(JSON_COLUMNS) & set(left.columns):
        pairs = zip(map(json.loads, left[column]), map(json.loads, right[column]), strict=True)
        assert all(close(a, b) for a, b in pairs), f"{table}.{column}"
    ignored = [c for c in (*NOT_COMPARED, *JSON_COLUMNS) if c in left.columns]
    assert_frame_equal(left.drop(ignored), right.drop(ignored), rel_tol=1e-9, abs_tol=1e-12)


def test_every_table_is_a_delta_table_in_the_bucket_partitioned_by_its_day(city):
    assert not (city.root / "warehouse.duckdb").exists(), "nothing is written to the DuckDB file"
    root, options = city.settings.warehouse_url, city.warehouse.object_store.storage_options()
    tables = table_names(root, options)
    assert {"raw_311_requests", "weather_daily", "cell_day_features", "cell_day_labels", "feature_registry",
            "model_registry", "model_champion", "model_aliases", "risk_predictions", "cost_layer",
            "recommendation_clusters", "recommendation_schedule", "published"} <= tables
    assert DeltaTable(f"{root}/risk_predictions", storage_options=options).metadata().partition_columns == ["day"]
    assert DeltaTable(f"{root}/model_registry", storage_options=options).metadata().partition_columns == ["cutoff"]
    predictions = city.warehouse.read_partitions("risk_predictions", START, END)
    assert predictions.height == 2 * 160 and predictions["day"].unique().sort().to_list() == [START, END]
    published = table_names(f"{root}/published", options)
    assert {"risk_predictions", "cost_layer", "recommendation_clusters", "raw_311_requests"} <= published


def test_the_duckdb_file_gives_the_same_rows_from_the_same_inputs(city, tmp_path):
    """The model, its predictions and the cost layer, recomputed in the DuckDB file from the
    Delta warehouse's other tables, are the same rows (up to what differs between any two fits:
    the clock, the last bits of parallel float sums, see NOT_COMPARED)."""
    settings = Settings(data_dir=tmp_path, h3_resolution=7)
    defs = build_definitions(settings)
    duckdb_file: WarehouseResource = (defs.resources or {})["warehouse"]
    recomputed_tables = {"model_registry", "model_champion", "model_aliases", "risk_predictions", "cost_layer",
                         "recommendation_clusters", "recommendation_schedule", "model_misses"}
    tables = table_names(city.settings.warehouse_url, city.warehouse.object_store.storage_options())
    for table in sorted(tables - recomputed_tables - {"published"}):
        duckdb_file.replace_table(table, city.warehouse.read_table(table))
    with fast_test_instance() as instance:
        materialize_window(defs, START, END, instance, list(RECOMPUTED), echo=lambda _: None)
    for table in COMPARED:
        assert_same_rows(table, city.warehouse.read_table(table), duckdb_file.read_table(table))


def test_the_api_answers_the_layer_routes_from_the_published_url(city):
    serving = ServingSettings.from_env(city.env)  # the API's own settings, from the same environment
    assert serving.published_url == f"{city.settings.warehouse_url}/published"
    with TestClient(create_app(serving, static_dir=None)) as client:
        assert client.get("/ready").status_code == 200
        meta = client.get("/api/meta").json()
        assert "2019-04-30" in str(meta)
        for layer in ("risk", "cost", "recommendations"):
            response = client.get(f"/api/layers/{layer}", params={"date": "2019-04-30"})
            assert response.status_code == 200, (layer, response.text[:300])
            assert response.json()["features"], layer
        risk = client.get("/api/layers/risk", params={"date": "2019-04-29"}).json()
        assert len(risk["features"]) == 160
        events = client.get("/api/layers/events", params={"start_date": "2019-04-29", "end_date": "2019-04-30"})
        assert events.status_code == 200 and events.json()["features"]
