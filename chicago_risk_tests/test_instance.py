"""The Dagster instance the command line, `make demo` and `chicago-risk ui` share: by default Dagster's
PostgreSQL storage on an embedded server in the instance's folder, up while a command holds it;
Dagster's SQLite storage when chosen or already there; or a PostgreSQL server of one's own, where
the multiprocess executor writes partitions from parallel step processes. Configured without a
path, so a moved data folder keeps working and writes only inside itself."""

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from chicago_risk.cli import main
from chicago_risk.config import Settings
from chicago_risk.instance import (
    EMBEDDED_URL_VARIABLE,
    POSTGRES_URL_VARIABLE,
    InstanceStorageError,
    dagster_instance,
    instance_yaml,
    storage_kind,
)
from chicago_risk_tests.fixtures.postgres import postgres_server

pytestmark = pytest.mark.slow

RAW = "raw_311_requests,weather_daily"


def test_the_instance_configuration_names_no_path_and_keeps_secrets_out():
    assert instance_yaml(None) == "telemetry:\n  enabled: false\n"
    for variable in (POSTGRES_URL_VARIABLE, EMBEDDED_URL_VARIABLE):
        with_postgres = instance_yaml(variable)
        assert f"env: {variable}" in with_postgres and "postgresql" not in with_postgres
        assert "/" not in with_postgres  # nothing tied to where the folder is


def test_a_new_instance_is_on_embedded_postgres_an_old_sqlite_one_stays_and_a_setting_or_url_decides(tmp_path):
    home = tmp_path / "dagster_home"
    assert storage_kind(Settings(), home) == "embedded-postgres"
    (home / "history").mkdir(parents=True)  # where Dagster's SQLite storage keeps its files
    assert storage_kind(Settings(), home) == "sqlite"
    (home / "postgres").mkdir()
    (home / "postgres" / "PG_VERSION").write_text("16\n")  # an embedded server's cluster beside it
    with pytest.raises(InstanceStorageError, match="holds runs in both"):  # two histories: the operator says which
        storage_kind(Settings(), home)
    assert storage_kind(Settings(dagster_storage="sqlite"), home) == "sqlite"
    shutil.rmtree(home / "history")
    assert storage_kind(Settings(), home) == "embedded-postgres"  # an embedded cluster stays in use
    shutil.rmtree(home / "postgres")
    (home / "history").mkdir()
    assert storage_kind(Settings(dagster_storage="embedded-postgres"), home) == "embedded-postgres"
    url = Settings(dagster_postgres_url="postgresql+psycopg2://dagster:secret@db/dagster", dagster_storage="sqlite")
    assert storage_kind(url, home) == "postgres"
    with pytest.raises(ValueError, match="CHICAGO_RISK_DAGSTER_STORAGE"):
        Settings.from_env({"CHICAGO_RISK_DAGSTER_STORAGE": "mysql"})


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


# --- the default: an embedded PostgreSQL server, each command a process of its own -------------

CLI = [sys.executable, "-m", "chicago_risk.cli"]
HOLD = (  # a command that holds the instance until its input closes
    "from chicago_risk.config import Settings; from chicago_risk.instance import dagster_instance; "
    "dagster_instance(Settings.from_env()); print('holding', flush=True); input()"
)
REPORT = (
    "import json, dagster as dg; from chicago_risk.config import Settings; "
    "from chicago_risk.instance import dagster_instance; instance = dagster_instance(Settings.from_env()); "
    "print(json.dumps([type(instance.run_storage).__name__, len(instance.get_runs()), "
    "sorted(instance.get_materialized_partitions(dg.AssetKey('raw_311_requests')))]))"
)


def _clean_env(data: Path) -> dict[str, str]:
    """A new shell's environment: no setting but the data folder (and a small grid)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHICAGO_RISK_", "DAGSTER_"))},
        "CHICAGO_RISK_DATA_DIR": str(data),
        "CHICAGO_RISK_H3_RESOLUTION": "7",
    }


def _run(command: list[str], data: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=_clean_env(data), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _server_up(data: Path) -> bool:
    # PostgreSQL's own record of a running server; a clean stop removes it.
    return (data / "dagster_home" / "postgres" / "postmaster.pid").exists()


def _hold(data: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD], env=_clean_env(data), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def test_the_default_instance_keeps_its_history_on_its_own_postgres_server_up_only_while_commands_hold_it(short):
    """The first command starts the server, a second one joins it, the last to leave stops it; the
    history is Dagster's PostgreSQL storage's, with no SQLite file, and it moves with the folder."""
    first, moved = short / "first", short / "elsewhere" / "data"
    done = _run([*CLI, "materialize", "--start", "2024-03-01", "--end", "2024-03-02", "--select", RAW], first)
    assert "(embedded PostgreSQL, in its postgres/ folder)" in done.stdout  # the command says where its runs go
    assert not _server_up(first)  # stopped with the command that started it
    assert not (first / "dagster_home" / "history").exists()  # no SQLite storage beside it

    holder = _hold(first)
    try:
        assert _server_up(first)
        _run([*CLI, "materialize", "--start", "2024-03-03", "--end", "2024-03-03", "--select", RAW], first)
        assert _server_up(first)  # the holder still holds it
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0 and not _server_up(first)

    moved.parent.mkdir()
    shutil.move(first, moved)
    _run([*CLI, "materialize", "--start", "2024-03-04", "--end", "2024-03-04", "--select", RAW], moved)
    storage, runs, days = json.loads(_run([sys.executable, "-c", REPORT], moved).stdout.splitlines()[-1])
    assert storage == "PostgresRunStorage" and runs == 6  # two runs a command (the weather, then the 311 requests)
    assert days == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    assert not first.exists() and not _server_up(moved)


def test_a_killed_holder_is_forgotten_and_the_next_command_to_exit_stops_the_server(short):
    data = short / "data"
    for sig in (signal.SIGKILL, signal.SIGTERM):  # neither lets it stop the server
        holder = _hold(data)
        holder.send_signal(sig)
        holder.wait(timeout=30)
        assert _server_up(data)
    _run([*CLI, "materialize", "--start", "2024-03-01", "--end", "2024-03-01", "--select", RAW], data)
    assert not _server_up(data)  # the dead holders no longer count
    storage, runs, days = json.loads(_run([sys.executable, "-c", REPORT], data).stdout.splitlines()[-1])
    assert (storage, runs, days) == ("PostgresRunStorage", 2, ["2024-03-01"])


def test_an_embedded_server_that_cannot_start_is_a_clear_error_before_any_run(short, tmp_path):
    unusable, deep, spaced = short / "data", tmp_path / ("deep" * 12) / "data", short / "my data"
    (unusable / "dagster_home").mkdir(parents=True)
    (unusable / "dagster_home" / "postgres").write_text("not a folder")  # where the cluster should be
    for data, says in (
        (unusable, "embedded PostgreSQL did not start"),
        (deep, "too deep for its embedded PostgreSQL"),
        (spaced, "cannot start from (it holds ' '"),  # pg_ctl would split the socket's folder at the space
    ):
        for command in (["materialize", "--start", "2024-03-01", "--end", "2024-03-01", "--select", RAW], ["ui"]):
            done = subprocess.run([*CLI, *command], env=_clean_env(data), capture_output=True, text=True, timeout=300)
            assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
            assert says in done.stderr and "CHICAGO_RISK_DAGSTER_STORAGE=sqlite" in done.stderr
            assert not (data / "warehouse.duckdb").exists()  # nothing ran
