"""The real graph in Parquet mode, chosen by configuration alone: two days of map layers (with the
history they need, clipped at the data's first day) materialized through Dagster at H3 resolution
7 into a temporary Parquet warehouse; the DuckDB file gives the same rows from the same inputs; and
the API answers the layer routes from the published layers beside the warehouse."""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from chicago_risk.backfill import EVALUATION_ASSETS, materialize_window
from chicago_risk.config import Settings
from chicago_risk.config.serving import ServingSettings
from chicago_risk.definitions import build_definitions
from chicago_risk.resources.warehouse import WarehouseResource
from chicago_risk_tests.instances import fast_test_instance

START, END = date(2019, 4, 29), date(2019, 4, 30)  # a Monday (a model's cutoff) and the next day
# Recomputed in the DuckDB file from the Parquet warehouse's inputs, then compared row for row.
RECOMPUTED = ("risk_model", "risk_predictions", "cost_layer")
COMPARED = ("model_registry", "risk_predictions", "cost_layer")


@dataclass(frozen=True)
class ParquetCity:
    root: Path
    env: dict[str, str]
    settings: Settings
    defs: dg.Definitions

    @property
    def warehouse(self) -> WarehouseResource:
        return self.defs.resources["warehouse"]


def environment(root: Path) -> dict[str, str]:
    return {
        "CHICAGO_RISK_DATA_DIR": str(root),
        "CHICAGO_RISK_H3_RESOLUTION": "7",
        "CHICAGO_RISK_STORAGE": "parquet",
        "CHICAGO_RISK_STORAGE_URL": f"file://{root}/shared/warehouse",
    }


def layer_assets(defs: dg.Definitions) -> list[str]:
    """What `make demo` builds first: every asset but the backtest (too little history in 2019)."""
    known = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    return sorted(known - set(EVALUATION_ASSETS))


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> ParquetCity:
    root = tmp_path_factory.mktemp("parquet_city")
    env = environment(root)
    settings = Settings.from_env(env)
    defs = build_definitions(settings)
    with fast_test_instance() as instance:
        materialize_window(defs, START, END, instance, layer_assets(defs), echo=lambda _: None)
    return ParquetCity(root, env, settings, defs)


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows in a fixed order, without what the clock sets (a model's `created_at`, the
    seconds its fit took)."""
    if "created_at" in frame.columns:
        without_clock = pl.col("metrics").map_elements(
            lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "fit_seconds"}, sort_keys=True),
            return_dtype=pl.String,
        )
        frame = frame.drop("created_at").with_columns(without_clock)
    return frame.sort([c for c, dtype in frame.schema.items() if not dtype.is_nested()])


def test_every_table_is_parquet_partitions_behind_a_manifest(city):
    warehouse_dir = city.root / "shared" / "warehouse"
    assert not (city.root / "warehouse.duckdb").exists(), "nothing is written to the DuckDB file"
    tables = {p.parent.name for p in warehouse_dir.glob("*/manifest.json")}
    assert {"raw_311_requests", "weather_daily", "cell_day_features", "cell_day_labels", "feature_registry",
            "model_registry", "risk_predictions", "cost_layer", "recommendation_clusters",
            "recommendation_schedule"} <= tables
    assert sorted(p.name for p in (warehouse_dir / "risk_predictions").iterdir() if p.is_dir()) == [
        "2019-04-29", "2019-04-30", "_schema"
    ]
    assert (warehouse_dir / "model_registry" / "2019-04-29").is_dir()  # filed by its `cutoff`
    predictions = city.warehouse.read_partitions("risk_predictions", START, END)
    assert predictions.height == 2 * 115 and predictions["day"].unique().sort().to_list() == [START, END]
    published = {p.parent.name for p in (warehouse_dir / "published").glob("*/manifest.json")}
    assert {"risk_predictions", "cost_layer", "recommendation_clusters", "raw_311_requests"} <= published


def test_the_duckdb_file_gives_the_same_rows_from_the_same_inputs(city, tmp_path):
    """The model, its predictions and the cost layer, recomputed in the DuckDB file from the
    Parquet warehouse's other tables, are the same rows."""
    settings = Settings(data_dir=tmp_path, h3_resolution=7)
    defs = build_definitions(settings)
    duckdb_file: WarehouseResource = defs.resources["warehouse"]
    recomputed_tables = {"model_registry", "risk_predictions", "cost_layer", "recommendation_clusters",
                         "recommendation_schedule", "model_misses"}
    tables = {p.parent.name for p in Path(city.settings.warehouse_url.removeprefix("file://")).glob("*/manifest.json")}
    for table in sorted(tables - recomputed_tables - {"published"}):
        duckdb_file.replace_table(table, city.warehouse.read_table(table))
    with fast_test_instance() as instance:
        materialize_window(defs, START, END, instance, list(RECOMPUTED), echo=lambda _: None)
    for table in COMPARED:
        parquet_rows, duckdb_rows = city.warehouse.read_table(table), duckdb_file.read_table(table)
        assert parquet_rows.schema == duckdb_rows.schema, table
        assert parquet_rows.height > 0 and comparable(parquet_rows).equals(comparable(duckdb_rows)), table


def test_the_api_answers_the_layer_routes_from_the_published_url(city):
    serving = ServingSettings.from_env(city.env)  # the API's own settings, from the same environment
    assert serving.published_url == f"file://{city.root}/shared/warehouse/published"
    with TestClient(create_app(serving, static_dir=None)) as client:
        assert client.get("/ready").status_code == 200
        meta = client.get("/api/meta").json()
        assert "2019-04-30" in str(meta)
        for layer in ("risk", "cost", "recommendations"):
            response = client.get(f"/api/layers/{layer}", params={"date": "2019-04-30"})
            assert response.status_code == 200, (layer, response.text[:300])
            assert response.json()["features"], layer
        risk = client.get("/api/layers/risk", params={"date": "2019-04-29"}).json()
        assert len(risk["features"]) == 115
        events = client.get("/api/layers/events", params={"start_date": "2019-04-29", "end_date": "2019-04-30"})
        assert events.status_code == 200 and events.json()["features"]
