"""Storage is configuration: CHICAGO_RISK_STORAGE and CHICAGO_RISK_STORAGE_URL choose the
warehouse, the published layers follow it, and bad values fail early and clearly."""

from pathlib import Path

import pytest

from chicago_risk.config import Settings
from chicago_risk.config.serving import ServingSettings
from chicago_risk.definitions import build_definitions


def test_the_duckdb_file_is_the_default():
    settings = Settings.from_env({"CHICAGO_RISK_DATA_DIR": "/srv/city"})
    assert settings.storage == "duckdb" and settings.warehouse_location == "/srv/city/warehouse.duckdb"
    assert settings.published_location == "/srv/city/published"
    assert ServingSettings.from_env({"CHICAGO_RISK_DATA_DIR": "/srv/city"}).published_url == "/srv/city/published"


def test_parquet_lives_under_the_data_dir_or_the_url_and_publishes_beside_it():
    beside = Settings.from_env({"CHICAGO_RISK_DATA_DIR": "/srv/city", "CHICAGO_RISK_STORAGE": "parquet"})
    assert beside.warehouse_location == "/srv/city/warehouse" and beside.published_location == "/srv/city/warehouse/published"
    env = {"CHICAGO_RISK_STORAGE": "parquet", "CHICAGO_RISK_STORAGE_URL": "file:///mnt/shared/warehouse/"}
    settings = Settings.from_env(env)
    assert settings.warehouse_location == "file:///mnt/shared/warehouse/"
    assert settings.published_location == "file:///mnt/shared/warehouse/published"
    assert ServingSettings.from_env(env).published_url == settings.published_location  # the API reads there
    moved = env | {"CHICAGO_RISK_PUBLISHED_URL": "/mnt/serving/published"}
    assert Settings.from_env(moved).published_location == ServingSettings.from_env(moved).published_url == "/mnt/serving/published"


@pytest.mark.parametrize(("env", "message"), [
    ({"CHICAGO_RISK_STORAGE": "motherduck"}, "use duckdb .* or parquet"),
    ({"CHICAGO_RISK_STORAGE_URL": "/mnt/shared"}, "only with CHICAGO_RISK_STORAGE=parquet"),
    ({"CHICAGO_RISK_STORAGE": "parquet", "CHICAGO_RISK_STORAGE_URL": "s3://city/warehouse"}, "not implemented here"),
    ({"CHICAGO_RISK_STORAGE": "parquet", "CHICAGO_RISK_STORAGE_URL": "https://city/warehouse"}, "not a storage location"),
])
def test_bad_storage_settings_fail_with_what_to_do(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)
    with pytest.raises(ValueError, match=message):  # the API refuses the same environment
        ServingSettings.from_env(env)


def test_the_definitions_wire_the_chosen_storage(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, storage="parquet", storage_url=str(tmp_path / "shared"))
    resources = build_definitions(settings).resources
    assert (resources["warehouse"].storage, resources["warehouse"].url) == ("parquet", str(tmp_path / "shared"))
    assert resources["warehouse_io_manager"].warehouse.storage == "parquet"
    assert resources["published_store"].url == str(tmp_path / "shared" / "published")
    duckdb = build_definitions(Settings(data_dir=tmp_path)).resources["warehouse"]
    assert (duckdb.storage, duckdb.path) == ("duckdb", str(tmp_path / "warehouse.duckdb"))


def test_the_duckdb_memory_limit_is_a_size_and_reaches_the_warehouse(tmp_path: Path):
    settings = Settings.from_env({"CHICAGO_RISK_DATA_DIR": str(tmp_path), "CHICAGO_RISK_DUCKDB_MEMORY_LIMIT": "256MiB"})
    warehouse = build_definitions(settings).resources["warehouse"]
    with warehouse.connect() as connection:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "256.0 MiB"
    with pytest.raises(ValueError, match="CHICAGO_RISK_DUCKDB_MEMORY_LIMIT='lots' must be a size"):
        Settings.from_env({"CHICAGO_RISK_DUCKDB_MEMORY_LIMIT": "lots"})
