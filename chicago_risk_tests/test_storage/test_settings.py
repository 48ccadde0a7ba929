"""Settings come from the environment through pydantic-settings: CHICAGO_RISK_STORAGE and
CHICAGO_RISK_STORAGE_URL choose the warehouse, the published layers follow it, bad values fail
early naming the variable and what it accepts, and secrets reach Dagster as variable names."""

from pathlib import Path

import dagster as dg
import pytest

from chicago_risk.config import Settings
from chicago_risk.config.serving import ServingSettings
from chicago_risk.definitions import build_definitions


def test_the_duckdb_file_is_the_default():
    settings = Settings.from_env({"CHICAGO_RISK_DATA_DIR": "/srv/city"})
    assert settings.storage == "duckdb" and settings.warehouse_location == "/srv/city/warehouse.duckdb"
    assert settings.published_location == "/srv/city/published" and settings.files_dir == Path("/srv/city/exports")
    assert ServingSettings.from_env({"CHICAGO_RISK_DATA_DIR": "/srv/city"}).published_url == "/srv/city/published"


def test_delta_lives_under_the_data_dir_or_the_url_and_publishes_beside_it():
    beside = Settings.from_env({"CHICAGO_RISK_DATA_DIR": "/srv/city", "CHICAGO_RISK_STORAGE": "delta"})
    assert (
        beside.warehouse_location == "/srv/city/warehouse"
        and beside.published_location == "/srv/city/warehouse/published"
    )
    env = {"CHICAGO_RISK_STORAGE": "delta", "CHICAGO_RISK_STORAGE_URL": "s3://city-bucket/warehouse/"}
    settings = Settings.from_env(env)
    assert settings.warehouse_location == "s3://city-bucket/warehouse/"
    assert settings.published_location == "s3://city-bucket/warehouse/published"
    assert ServingSettings.from_env(env).published_url == settings.published_location  # the API reads there
    moved = env | {"CHICAGO_RISK_PUBLISHED_URL": "file:///mnt/serving/published"}
    assert Settings.from_env(moved).published_location == ServingSettings.from_env(moved).published_url


@pytest.mark.parametrize(("env", "message"), [
    ({"CHICAGO_RISK_STORAGE": "parquet"}, "CHICAGO_RISK_STORAGE='parquet': .*set CHICAGO_RISK_STORAGE=delta"),
    ({"CHICAGO_RISK_STORAGE": "motherduck"}, "CHICAGO_RISK_STORAGE='motherduck': Input should be 'duckdb' or 'delta'"),
    ({"CHICAGO_RISK_STORAGE_URL": "/mnt/shared"}, "only with CHICAGO_RISK_STORAGE=delta"),
    ({"CHICAGO_RISK_STORAGE": "delta", "CHICAGO_RISK_STORAGE_URL": "gs://city/warehouse"},
     "CHICAGO_RISK_STORAGE_URL='gs://city/warehouse': is not a storage location; use a folder .* or s3://"),
    ({"CHICAGO_RISK_H3_RESOLUTION": "12"}, "CHICAGO_RISK_H3_RESOLUTION='12': .*less than or equal to 10"),
    ({"CHICAGO_RISK_SOURCE": "kafka"}, "CHICAGO_RISK_SOURCE='kafka': Input should be 'demo', 'socrata' or 'files'"),
    ({"CHICAGO_RISK_SERVED_DAYS": "0"}, "CHICAGO_RISK_SERVED_DAYS='0': .*greater than or equal to 1"),
])
def test_bad_settings_fail_naming_the_variable_and_what_it_accepts(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize("env", [
    {"CHICAGO_RISK_STORAGE": "parquet"},
    {"CHICAGO_RISK_STORAGE": "delta", "CHICAGO_RISK_STORAGE_URL": "https://city/warehouse"},
])
def test_the_api_refuses_the_same_storage_settings(env):
    with pytest.raises(ValueError, match="CHICAGO_RISK_STORAGE"):
        ServingSettings.from_env(env)


def test_settings_alone_read_no_environment(monkeypatch):
    monkeypatch.setenv("CHICAGO_RISK_SOURCE", "socrata")
    assert Settings().source == "demo" and Settings.from_env().source == "socrata"


def test_secrets_are_never_printed_and_reach_dagster_as_variable_names(tmp_path: Path, monkeypatch):
    env = {
        "CHICAGO_RISK_DATA_DIR": str(tmp_path), "CHICAGO_RISK_STORAGE": "delta", "CHICAGO_RISK_SOURCE": "socrata",
        "CHICAGO_RISK_SOCRATA_APP_TOKEN": "app-token-value", "AWS_SECRET_ACCESS_KEY": "bucket-secret-value",
        "AWS_ACCESS_KEY_ID": "bucket-key-id", "AWS_REGION": "us-east-2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert "secret-value" not in repr(settings) and "app-token-value" not in repr(settings)
    resources = build_definitions(settings).resources
    assert resources is not None
    # What the definitions (and so the UI) hold: the variables' names ...
    configured = resources["warehouse"].object_store
    assert (
        isinstance(configured.secret_access_key, dg.EnvVar) and configured.secret_access_key == "AWS_SECRET_ACCESS_KEY"
    )
    assert resources["requests_source"].app_token == "CHICAGO_RISK_SOCRATA_APP_TOKEN"
    # ... and what a run gets: the values, read from the environment when the resource is built.
    with dg.build_resources({"warehouse": resources["warehouse"]}) as built:
        assert built.warehouse.object_store.storage_options()["AWS_SECRET_ACCESS_KEY"] == "bucket-secret-value"
        assert built.warehouse.object_store.region == "us-east-2"


def test_the_definitions_wire_the_chosen_storage(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, storage="delta", storage_url=str(tmp_path / "shared"))
    resources = build_definitions(settings).resources
    assert resources is not None
    assert (resources["warehouse"].storage, resources["warehouse"].url) == ("delta", str(tmp_path / "shared"))
    assert resources["warehouse_io_manager"].warehouse.storage == "delta"
    assert resources["published_store"].url == str(tmp_path / "shared" / "published")
    duckdb = (build_definitions(Settings(data_dir=tmp_path)).resources or {})["warehouse"]
    assert (duckdb.storage, duckdb.path) == ("duckdb", str(tmp_path / "warehouse.duckdb"))


def test_the_duckdb_memory_limit_is_a_size_and_reaches_the_warehouse(tmp_path: Path):
    settings = Settings.from_env({"CHICAGO_RISK_DATA_DIR": str(tmp_path), "CHICAGO_RISK_DUCKDB_MEMORY_LIMIT": "256MiB"})
    warehouse = (build_definitions(settings).resources or {})["warehouse"]
    with warehouse.connect() as connection:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "256.0 MiB"
    with pytest.raises(ValueError, match="CHICAGO_RISK_DUCKDB_MEMORY_LIMIT='lots': must be a size"):
        Settings.from_env({"CHICAGO_RISK_DUCKDB_MEMORY_LIMIT": "lots"})
