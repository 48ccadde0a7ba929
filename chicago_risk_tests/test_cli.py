"""The `chicago-risk` command line."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from chicago_risk.cli import main

RAW = "raw_311_requests,raw_311_quarantine,weather_daily"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CHICAGO_RISK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return tmp_path / "data"


def test_materialize_runs_single_run_backfills_into_the_persistent_instance(data_dir, capsys):
    assert main(["materialize", "--start", "2024-03-01", "--end", "2024-03-05", "--select", RAW]) == 0
    out = capsys.readouterr().out
    assert "2024-03-01..2024-03-05 (5 partitions) ..." in out and out.count("done in") == 2
    assert (data_dir / "warehouse.duckdb").exists()
    instance = dg.DagsterInstance.get()
    assert not instance.telemetry_enabled  # the dagster.yaml it wrote keeps usage data local
    assert len(instance.get_runs()) == 2
    # weather_daily also covers the ten days before: the volume check of raw_311_requests reads them
    assert len(instance.get_materialized_partitions(dg.AssetKey("weather_daily"))) == 15
    planned = instance.get_event_records(
        dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=dg.AssetKey("weather_daily"))
    )
    assert len(planned) == 1  # one for the range, not one per partition


def test_materialize_rejects_bad_input_with_a_clear_message(data_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["materialize", "--start", "2024-02-30"])
    assert exit_info.value.code == 2
    assert "'2024-02-30' is not a date; use YYYY-MM-DD" in capsys.readouterr().err
    assert main(["materialize", "--start", "2024-03-05", "--end", "2024-03-01"]) == 2
    assert main(["materialize", "--start", "2024-03-01", "--end", "2024-03-01", "--select", "nope"]) == 1
    assert "unknown asset(s) nope" in capsys.readouterr().err


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("chicago-risk")
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout
    assert "materialize" in help_text and "discover-types" in help_text


def test_a_dry_run_prints_the_default_steps_and_runs_nothing(data_dir, capsys):
    assert main(["materialize", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "step 1/2: map layers" in out and "step 2/2: backtest and model card" in out
    assert "] risk_model: " in out and "] published/risk_predictions: " in out and "(after " in out
    assert not (data_dir / "warehouse.duckdb").exists()


def test_accepting_a_check_needs_a_reason_and_tags_every_run_with_it(data_dir, capsys):
    assert main(["materialize", "--dry-run", "--accept", "daily_volume_plausible"]) == 2
    assert "--accept needs --reason" in capsys.readouterr().err

    assert main(["materialize", "--start", "2024-03-01", "--end", "2024-03-02", "--select", RAW,
                 "--accept", "daily_volume_plausible@2024-03-01", "--reason", "storm checked in the portal"]) == 0
    assert "run tag chicago-risk/accept.daily_volume_plausible = 2024-03-01" in capsys.readouterr().out
    runs = dg.DagsterInstance.get().get_runs()
    assert len(runs) == 2
    for run in runs:
        assert run.tags["chicago-risk/accept.daily_volume_plausible"] == "2024-03-01"
        assert run.tags["chicago-risk/accept-reason"] == "storm checked in the portal"
        assert run.tags["chicago-risk/accepted-by"]
