"""The nightly path: from a new day's raw data to the served map, timed.

    .venv/bin/python bench/nightly_increment.py [--keep DIR]

Setup (timed apart): the demo city's served window up to the day before yesterday, materialized as
`chicago-risk materialize --end <that day>` does, and the read API serving it. Then what happens
each night, in order, as the schedule and the sensor run it (Chicago time, D = yesterday):
ingest D and re-read the 14 days before it (requests change after they are filed); the labels
those days complete (as-of D-21..D-7); the features, predictions, cost, recommendations and
published copies of D-14..D, all through the same runs and child processes as the command line;
until the API's `/api/meta` names D as its newest day. Target (issue 13): 60 s or less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

RAW = ("raw_311_requests", "weather_daily")
DERIVED = (
    "cell_day_features", "risk_predictions", "cost_layer", "recommendation_clusters", "recommendation_schedule",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _newest(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/meta", timeout=5) as response:
            return json.load(response)["latest_date"]
    except OSError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="use this data directory (set up when empty) and keep it")
    args = parser.parse_args()
    data = args.keep or Path(tempfile.mkdtemp(prefix="chicago-risk-nightly-"))
    os.environ.pop("DAGSTER_HOME", None)
    os.environ["CHICAGO_RISK_DATA_DIR"] = str(data)
    from chicago_risk.backfill import OutOfProcess, Step, default_steps, instance_status, run_steps
    from chicago_risk.config import Settings
    from chicago_risk.definitions import build_definitions
    from chicago_risk.instance import dagster_instance, release_embedded_server
    from chicago_risk.publish.layers import PUBLISHED_TABLES

    settings = Settings.from_env()
    defs = build_definitions(settings)
    instance = dagster_instance(settings)
    runner, status = OutOfProcess(), instance_status(instance)
    d = datetime.now(ZoneInfo("America/Chicago")).date() - timedelta(days=1)
    began = time.monotonic()
    run_steps(defs, default_steps(defs, d - timedelta(days=settings.served_days), d - timedelta(days=1))[:1], runner,
              echo=lambda _: None, is_complete=status)
    setup_s = time.monotonic() - began

    port = _free_port()
    api = subprocess.Popen([str(Path(sys.executable).with_name("chicago-risk")), "serve", "--port", str(port)],
                           env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while _newest(port) != str(d - timedelta(days=1)):
            time.sleep(0.5)
        published = tuple(f"published/{t.table}" for t in PUBLISHED_TABLES if t.daily)
        nightly = [
            Step(f"ingest {d}, re-read 14 days", d - timedelta(days=14), d, RAW),
            Step(
                "labels the re-read days complete", d - timedelta(days=21), d - timedelta(days=7), ("cell_day_labels",)
            ),
            Step("the derived layers of those days", d - timedelta(days=14), d, (*DERIVED, *published)),
        ]
        lines: list[str] = []
        began = time.monotonic()
        runs = run_steps(defs, nightly, runner, echo=lines.append, is_complete=status)
        materialized_s = time.monotonic() - began
        while _newest(port) != str(d):
            time.sleep(0.2)
        served_s = time.monotonic() - began
    finally:
        api.terminate()
        api.wait(10)
    print(f"nightly increment for {d} ({d:%A}) on the demo city, data directory {data}")
    print(f"setup: the served window to {d - timedelta(days=1)} in {setup_s:.1f} s (not part of the figure)")
    for run in runs:
        print(f"  {run.seconds:6.1f} s  {', '.join(run.assets)}: {run.first_partition}..{run.last_partition}")
    print(
        f"raw day to materialized layers: {materialized_s:.1f} s;"
        f" to the API serving {d}: {served_s:.1f} s (target 60 s)"
    )
    if not args.keep:
        release_embedded_server(settings)  # not a folder deleted under a running server
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
