"""Every map layer of a window from an empty data directory, as an operator runs it: wall time,
peak memory of the whole process tree, and where the time went.

    .venv/bin/python bench/window_from_empty.py                       # 2023-01-01..2024-12-31
    .venv/bin/python bench/window_from_empty.py --start 2019-01-01 --end 2025-12-31   # seven years
    .venv/bin/python bench/window_from_empty.py --storage sqlite    # the instance on SQLite

Runs `chicago-risk materialize --start S --end E` (the map layers of the window with their
history, then the newest model's backtest and card) on the demo city in a fresh
CHICAGO_RISK_DATA_DIR. Targets (issue 13, 2 cores): two years in 10 minutes or less and 3 GB or
less; seven years in 30 minutes or less. Prints each run's time as the command reported it and
the ratio of the model's time (`risk_model`) to the features' (`cell_day_features`).
`--storage` says where the Dagster instance keeps its runs and events (bench/_instance_storage.py);
the default is the product's, an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path

from _instance_storage import STORAGES, instance_storage
from _tree import run_sampled

DONE = re.compile(
    r"^\[\d+/\d+\] (?P<assets>.+?): done in (?P<time>[\d.]+ s|\d+ min \d+ s|\d+ h \d+ min), (?P<rows>[\d,]+) rows"
)

IN_ALL = re.compile(r"\(\d+/\d+ runs, (?P<time>[^)]+) in all\)")


def seconds(text: str) -> float:
    if text.endswith(" s") and " min " not in text:
        return float(text[:-2])
    if " h " in text:
        hours, minutes = re.findall(r"\d+", text)
        return int(hours) * 3600 + int(minutes) * 60
    minutes, rest = re.findall(r"\d+", text)
    return int(minutes) * 60 + int(rest)


def summarise(log: Path) -> None:
    """Each step's wall time (its last run's "(i/n runs, T in all)"), each asset's time (its runs
    of a year each added up) and the model's time against the features'."""
    step, step_times = "", {}
    per_asset: defaultdict[str, float] = defaultdict(float)
    for line in log.read_text().splitlines():
        if line.startswith("step "):
            step = line
        elif match := IN_ALL.search(line):
            step_times[step] = match["time"]
            if done := DONE.match(line):
                per_asset[done["assets"]] += seconds(done["time"])
    for step, spent in step_times.items():
        print(f"  {step}: {spent}")
    for assets, total in sorted(per_asset.items(), key=lambda item: -item[1]):
        print(f"  {total:8.1f} s  {assets}")
    model, features = per_asset.get("risk_model"), per_asset.get("cell_day_features")
    if model and features:
        print(f"risk_model / cell_day_features time: {model / features:.2f} ({model:.1f} s / {features:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2024, 12, 31))
    parser.add_argument("--keep", type=Path, help="use this (empty) data directory and keep it")
    parser.add_argument("--storage", choices=STORAGES, default=STORAGES[0], help="the Dagster instance's storage")
    parser.add_argument("--log", type=Path, help="only summarise the log of an earlier run")
    args = parser.parse_args()
    if args.log:
        summarise(args.log)
        return
    data = args.keep or Path(tempfile.mkdtemp(prefix="chicago-risk-window-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHICAGO_RISK_", "DAGSTER_"))}
    command = [
        str(Path(sys.executable).with_name("chicago-risk")),
        "materialize",
        "--start",
        str(args.start),
        "--end",
        str(args.end),
    ]
    log = data.parent / f"{data.name}.log"
    with instance_storage(args.storage, env, data) as servers:
        wall, peaks, code = run_sampled(command, env, log, servers=servers)
    if code:
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}; see {log}")
    print(f"{' '.join(command[1:])} from an empty data directory ({data}, log {log}), Dagster storage {args.storage}")
    print(f"wall time {wall:.1f} s ({wall / 60:.1f} min); peak memory {peaks['all'].describe()}")
    for step, step_peaks in peaks.items():
        if step != "all":
            print(f"  {step}: peak memory {step_peaks.describe()}, during {step_peaks.during!r}")
    summarise(log)
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
