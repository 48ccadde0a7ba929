"""The Dagster instance the command line, `make demo` and `dagster dev` share: Dagster's stock
storage, configured without a path (a moved data folder keeps working and writes only inside
itself), or PostgreSQL when configured, where the multiprocess executor writes partitions from
parallel step processes."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from chicago_risk.cli import main
from chicago_risk.config import Settings
from chicago_risk.instance import POSTGRES_URL_VARIABLE, dagster_instance, instance_yaml
from chicago_risk_tests.fixtures.postgres import postgres_server

pytestmark = pytest.mark.slow

RAW = "raw_311_requests,weather_daily"


def test_the_instance_configuration_names_no_path_and_keeps_secrets_out():
    assert instance_yaml(False) == "telemetry:\n  enabled: false\n"
    with_postgres = instance_yaml(True)
    assert f"env: {POSTGRES_URL_VARIABLE}" in with_postgres and "postgresql://" not in with_postgres
    assert "/" not in with_postgres  # nothing tied to where the folder is


def test_a_moved_data_folder_keeps_its_history_and_writes_only_inside_itself(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    first, moved = tmp_path / "first", tmp_path / "elsewhere" / "data"
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(first))
    monkeypatch.setenv("CHICAGO_RISK_H3_RESOLUTION", "7")
    assert main(["materialize", "--start", "2024-03-01", "--end", "2024-03-02", "--select", RAW]) == 0
    moved.parent.mkdir()
    shutil.move(first, moved)
    monkeypatch.delenv("DAGSTER_HOME")  # the command set it for its runs; a new shell has none
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(moved))
    assert main(["materialize", "--start", "2024-03-03", "--end", "2024-03-03", "--select", RAW]) == 0
    assert not first.exists()  # nothing was written where the folder used to be
    instance = dagster_instance(Settings.from_env())
    assert len(instance.get_runs()) == 4  # two runs before the move, two after
    assert {"2024-03-01", "2024-03-02", "2024-03-03"} <= instance.get_materialized_partitions(
        dg.AssetKey("raw_311_requests")
    )


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def test_a_window_on_the_postgres_instance_with_the_multiprocess_executor(tmp_path, monkeypatch, postgres_url):
    """A window of three assets in one run: after the weather, the multiprocess executor writes the
    311 requests and the published weather from two step processes at once into Dagster's
    PostgreSQL storage; the run history shows it."""
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CHICAGO_RISK_H3_RESOLUTION", "7")
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, postgres_url)
    instance = dagster_instance(Settings.from_env())
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert "postgresql" not in (tmp_path / "dagster_home" / "dagster.yaml").read_text()
    job = dg.build_reconstructable_job(
        "chicago_risk_tests.fixtures.jobs", "window_job",
        reconstructable_kwargs={"assets": ["weather_daily", "raw_311_requests", "published/weather_daily"]},
        reconstructor_working_directory=str(Path(__file__).parent.parent),  # where the tests import from
    )
    result = dg.execute_job(
        job, instance,
        run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
        tags={"dagster/asset_partition_range_start": "2024-03-01", "dagster/asset_partition_range_end": "2024-03-07"},
    )
    assert result.success
    [run] = instance.get_runs()
    assert run.run_id == result.run_id and run.status == dg.DagsterRunStatus.SUCCESS
    for asset in ("raw_311_requests", "weather_daily", "published/weather_daily"):
        assert len(instance.get_materialized_partitions(dg.AssetKey.from_user_string(asset))) == 7
    # each step ran in its own process, and the executor had the two writers running at once: both
    # workers were launched before either finished (with one slot the second starts after the first
    # ends). Launches, not step timings, so a slow process start on a busy machine cannot flake it.
    records = instance.get_records_for_run(
        result.run_id,
        of_type={dg.DagsterEventType.STEP_WORKER_STARTING, dg.DagsterEventType.STEP_SUCCESS},
    ).records
    launched: dict[str, int] = {}
    finished: dict[str, int] = {}
    pids = set()
    for record in records:
        entry = record.event_log_entry
        assert entry.step_key is not None and entry.dagster_event is not None
        if entry.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            finished[entry.step_key] = record.storage_id
            pids.add(entry.dagster_event.pid)
        else:
            launched[entry.step_key] = record.storage_id
    assert len(finished) == 3 and len(pids) == 3
    writers = ("raw_311", "published__weather_daily")
    assert max(launched[step] for step in writers) < min(finished[step] for step in writers), (
        f"the second writer was launched only after the first finished: {launched}, {finished}"
    )
