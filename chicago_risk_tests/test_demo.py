"""`make demo` materializes each planned run in a child process forked from a server that imported
the heavy libraries: the parent gets each run's figures back, a run that fails is a BackfillError
naming it, with the parent still standing to say so, and stopping leaves no child behind.

Run in a fresh interpreter, as `make demo` is.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import json
    from datetime import date
    import dagster as dg
    from chicago_risk import demo
    from chicago_risk.backfill import BackfillError, OutOfProcess, Step, run_steps
    from chicago_risk.instance import dagster_instance
    from chicago_risk.config import Settings
    from chicago_risk.definitions import build_definitions

    settings = Settings.from_env()
    defs, instance = build_definitions(settings), dagster_instance(settings)
    runner = OutOfProcess()
    raw = Step("raw", date(2019, 6, 10), date(2019, 6, 12), ("raw_311_requests", "raw_311_quarantine", "weather_daily"))
    runs = run_steps(defs, [raw], runner, echo=lambda _: None)
    rows = {
        name: instance.get_latest_materialization_event(dg.AssetKey(name)) is not None
        for run in runs
        for name in run.assets
    }
    # Features of a later day need 311 history nobody materialized: that run fails.
    later = Step("later", date(2019, 7, 1), date(2019, 7, 1), ("cell_day_features",))
    try:
        run_steps(defs, [later], runner, echo=lambda _: None)
        failure = None
    except BackfillError as error:
        failure = str(error)
    import psutil
    forked = len(psutil.Process().children(recursive=True))  # the fork server, at least
    demo._stop_groups([])  # what Ctrl-C ends with, here with no servers
    print(json.dumps({"runs": [[list(r.assets), r.partitions, r.rows] for r in runs],
                      "recorded": rows, "failure": failure,
                      "children": [forked, len(psutil.Process().children(recursive=True))]}))
    """
)


def test_each_run_in_a_child_reports_back_and_a_failing_run_is_a_clear_error(short):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHICAGO_RISK_", "DAGSTER_"))},
        "CHICAGO_RISK_DATA_DIR": str(short),
        "DAGSTER_HOME": str(short / "dagster_home"),
        "CHICAGO_RISK_H3_RESOLUTION": "7",
    }
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    by_assets = {tuple(assets): (partitions, rows) for assets, partitions, rows in result["runs"]}
    raw = ("raw_311_coverage", "raw_311_quarantine", "raw_311_requests")
    assert by_assets[raw][0] == 3
    assert by_assets[("weather_daily",)] == (13, 13)  # with the ten days the volume check reads
    assert by_assets[raw][1] > 0
    assert all(result["recorded"].values())  # the children's runs are in the parent's instance
    assert result["failure"].startswith("[1/1] cell_day_features: run ")
    assert "raw_311_requests lacks" in result["failure"]  # the child's own error, for the reader
    forked, left = result["children"]
    assert forked >= 1 and left == 0  # stopping takes the fork server and its helpers along
