"""`make demo` from an empty data directory to a served city: wall time, peak memory, clean stop.

    .venv/bin/python bench/demo_to_served.py [--keep DIR] [--storage embedded-postgres|postgres|sqlite]

Runs `make demo` (after install) with a fresh CHICAGO_RISK_DATA_DIR, samples the memory of its
whole process tree, and times when the read API's `/ready` answers 200 (every map layer
published), when the Dagster UI answers, and when the demo reports the whole graph materialized
(the backtest and model card finish while the map is served). Then it sends Ctrl-C (SIGINT to
the process group, as a terminal does) and checks that every process the demo started is gone.
Ports 3000 and 8000 must be free. `--storage` says where the Dagster instance keeps its runs and
events (bench/_instance_storage.py); the default is the product's, an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from _instance_storage import STORAGES, Servers, instance_storage
from _tree import tree_memory

ROOT = Path(__file__).resolve().parent.parent
API_READY = "http://127.0.0.1:8000/ready"
DAGSTER_UI = "http://127.0.0.1:3000/server_info"
WHOLE_GRAPH = "the whole graph is materialized"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _last_progress(path: Path) -> str:
    """The demo's latest progress line ("[i/n] asset: ..."), not the servers' logs."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.startswith("[")]
    return lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="use this (empty) data directory and keep it")
    parser.add_argument("--timeout-s", type=float, default=3600)
    parser.add_argument("--storage", choices=STORAGES, default=STORAGES[0], help="the Dagster instance's storage")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    data = args.keep or Path(tempfile.mkdtemp(prefix="chicago-risk-demo-"))
    with instance_storage(args.storage, env, data) as servers:
        measure(args, env, data, servers)


def measure(args: argparse.Namespace, env: dict, data: Path, servers: Servers) -> None:
    subprocess.run(["make", "install"], cwd=ROOT, check=True, capture_output=True)

    began = time.monotonic()
    log = (data.parent / f"{data.name}.log").open("w")
    demo = subprocess.Popen(
        ["make", "demo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    peaks = {"served": [0, 0, 0], "whole": [0, 0, 0]}  # RSS sum, PSS sum, largest RSS
    peak_during = ""  # the demo's last log line when the largest process peaked
    seen: set[psutil.Process] = set()
    served_at = ui_at = whole_at = None
    log_path = Path(log.name)
    root = psutil.Process(demo.pid)
    while time.monotonic() - began < args.timeout_s and demo.poll() is None:
        # The server's memory counts; "processes left running" is about the demo's own.
        own = tree_memory(root)
        seen |= set(own)
        tree = {**own, **{process: memory for server in servers() for process, memory in tree_memory(server).items()}}
        largest = max((rss for rss, _ in tree.values()), default=0)
        if largest > peaks["whole"][2]:
            peak_during = _last_progress(log_path)
        for phase in ("whole",) if served_at is not None else ("served", "whole"):
            figures = peaks[phase]
            figures[0] = max(figures[0], sum(rss for rss, _ in tree.values()))
            figures[1] = max(figures[1], sum(pss for _, pss in tree.values()))
            figures[2] = max(figures[2], largest)
        now = time.monotonic() - began
        if served_at is None and _answers(API_READY):
            served_at = now
        if ui_at is None and _answers(DAGSTER_UI):
            ui_at = now
        if whole_at is None and WHOLE_GRAPH in log_path.read_text(errors="replace"):
            whole_at = now
        if None not in (served_at, ui_at, whole_at):
            break
        time.sleep(0.5)
    if served_at is None:
        os.killpg(demo.pid, signal.SIGKILL)
        raise SystemExit(f"the API never became ready; see {log.name}")

    stop_began = time.monotonic()
    os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    demo.wait(timeout=120)
    stop_s = time.monotonic() - stop_began
    time.sleep(1)
    # is_running() also tells a reused pid from the process the demo started.
    left = sorted(process.pid for process in seen if process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    print(f"make demo, empty data directory {data}: log {log.name}, Dagster storage {args.storage}")
    print(f"read API ready (every map layer published): {served_at:6.1f} s")
    print(f"Dagster UI answering:                        {ui_at:6.1f} s")
    print(
        f"whole graph materialized (backtest, card):   {whole_at:6.1f} s" if whole_at else "whole graph: not reported"
    )
    for phase, title in (("served", "empty directory to a served API"), ("whole", "to the whole graph, serving")):
        rss, pss, largest_gib = (figure / 2**30 for figure in peaks[phase])
        print(f"peak memory, {title}: PSS {pss:.2f} GiB, RSS {rss:.2f} GiB (largest process {largest_gib:.2f} GiB)")
    print(f"the largest process peaked during: {peak_during}")
    print(f"Ctrl-C: stopped in {stop_s:.1f} s; processes left running: {left or 'none'}")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
