"""The instance's SQLite event log writes a range run's materializations as one batch, and keeps
exactly what Dagster's own SQLite storage keeps for the same run."""

from pathlib import Path

import dagster as dg
import pytest

from chicago_risk.cli import dagster_instance
from chicago_risk.config import Settings
from chicago_risk.resources.event_log import BatchingSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-21")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily_rows(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})


def _materialize_range(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [daily_rows], instance=instance,
        tags={"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-01-20"},
    )


def _what_is_kept(instance: dg.DagsterInstance, run_id: str) -> dict:
    key = dg.AssetKey("daily_rows")
    records = instance.fetch_materializations(key, limit=100).records
    return {
        "partitions": sorted(instance.get_materialized_partitions(key)),
        "by_partition": sorted((r.partition_key, r.run_id == run_id) for r in records),
        "latest": instance.get_latest_materialization_event(key).dagster_event.partition,
        "events_in_run": sum(
            e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION for e in instance.all_logs(run_id)
        ),
        "row_count": {r.partition_key: r.asset_materialization.metadata["dagster/row_count"].value for r in records},
    }


@pytest.fixture
def product_instance(tmp_path, monkeypatch) -> dg.DagsterInstance:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "product"))
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    instance = dagster_instance(Settings(data_dir=tmp_path))  # sets the batch size, as the CLI does
    yield instance
    instance.dispose()


def test_the_product_instance_batches_a_range_runs_materializations(product_instance, monkeypatch):
    storage = product_instance.event_log_storage
    assert isinstance(storage, BatchingSqliteEventLogStorage)
    batches = []
    original = BatchingSqliteEventLogStorage.store_event_batch
    monkeypatch.setattr(
        BatchingSqliteEventLogStorage, "store_event_batch",
        lambda self, events: (batches.append([e.dagster_event_type for e in events]), original(self, events)),
    )
    result = _materialize_range(product_instance)
    assert result.success
    assert [dg.DagsterEventType.ASSET_MATERIALIZATION] * 20 in batches  # one write for the range


def test_it_keeps_what_dagsters_sqlite_storage_keeps(product_instance, tmp_path, monkeypatch):
    batched = _materialize_range(product_instance)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    (tmp_path / "dagster_default").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_default")) as default:
        assert type(default.event_log_storage).__name__ == "SqliteEventLogStorage"
        plain = _materialize_range(default)
        expected = _what_is_kept(default, plain.run_id)
    kept = _what_is_kept(product_instance, batched.run_id)
    assert kept == expected
    assert kept["partitions"] == [f"2024-01-{d:02d}" for d in range(1, 21)] and kept["latest"] == "2024-01-20"


def test_the_dagster_ui_reads_the_same_configuration(product_instance):
    config = (Path(product_instance.root_directory) / "dagster.yaml").read_text()
    assert "BatchingSqliteEventLogStorage" in config and "telemetry" in config
    reopened = dg.DagsterInstance.from_config(product_instance.root_directory)
    assert isinstance(reopened.event_log_storage, BatchingSqliteEventLogStorage)
    reopened.dispose()
