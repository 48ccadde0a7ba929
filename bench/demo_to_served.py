"""`make demo` from an empty data directory to a served city: wall time, peak memory, clean stop.

    .venv/bin/python bench/demo_to_served.py [--keep DIR]

Runs `make demo` (after install) with a fresh CHICAGO_RISK_DATA_DIR, samples the memory of its
whole process tree, and times when the read API's `/ready` answers 200 (every map layer
published), when the Dagster UI answers, and when the demo reports the whole graph materialized
(the backtest and model card finish while the map is served). Then it sends Ctrl-C (SIGINT to
the process group, as a terminal does) and checks that every process the demo started is gone.
Ports 3000 and 8000 must be free.
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

ROOT = Path(__file__).resolve().parent.parent
API_READY = "http://127.0.0.1:8000/ready"
DAGSTER_UI = "http://127.0.0.1:3000/server_info"
PAGE = 4096
WHOLE_GRAPH = "the whole graph is materialized"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _tree(root: int) -> dict[int, int]:
    """RSS in bytes of `root` and every descendant, by pid (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rss[int(entry.name)] = int(stat[21]) * PAGE
            children.setdefault(int(stat[1]), []).append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in rss:
            found[pid] = rss[pid]
            stack.extend(children.get(pid, []))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="use this (empty) data directory and keep it")
    parser.add_argument("--timeout-s", type=float, default=3600)
    args = parser.parse_args()
    data = args.keep or Path(tempfile.mkdtemp(prefix="chicago-risk-demo-"))
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["CHICAGO_RISK_DATA_DIR"] = str(data)
    subprocess.run(["make", "install"], cwd=ROOT, check=True, capture_output=True)

    began = time.monotonic()
    log = (data.parent / f"{data.name}.log").open("w")
    demo = subprocess.Popen(["make", "demo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    peak_total = peak_single = 0
    seen: set[int] = set()
    served_at = ui_at = whole_at = None
    log_path = Path(log.name)
    while time.monotonic() - began < args.timeout_s and demo.poll() is None:
        tree = _tree(demo.pid)
        seen |= set(tree)
        peak_total = max(peak_total, sum(tree.values()))
        peak_single = max(peak_single, max(tree.values(), default=0))
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
    left = sorted(pid for pid in seen if Path(f"/proc/{pid}").exists())
    print(f"make demo, empty data directory {data}: log {log.name}")
    print(f"read API ready (every map layer published): {served_at:6.1f} s")
    print(f"Dagster UI answering:                        {ui_at:6.1f} s")
    print(f"whole graph materialized (backtest, card):   {whole_at:6.1f} s" if whole_at else "whole graph: not reported")
    print(f"peak memory of the process tree: {peak_total / 2**30:.2f} GiB (largest process {peak_single / 2**30:.2f} GiB)")
    print(f"Ctrl-C: stopped in {stop_s:.1f} s; processes left running: {left or 'none'}")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
