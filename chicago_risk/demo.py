"""`make demo`: materialize the graph (the default steps of `chicago_risk.backfill`), then serve
it (the Dagster UI and the read API) until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psutil

from chicago_risk.backfill import BackfillError, OutOfProcess, default_steps, run_steps
from chicago_risk.config import ServingSettings, Settings, chicago_today
from chicago_risk.instance import InstanceStorageError, dagster_instance


def _restore_default_signals() -> None:
    # A child inherits ignored signals; `dagster dev` started from a script (or from `make` in the
    # background) would then ignore Ctrl-C and SIGTERM and outlive us.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ.copy(),
        preexec_fn=_restore_default_signals,
        start_new_session=True,
    )


def serve(settings: Settings, meanwhile: Callable[[], None] | None = None) -> int:
    """Run the Dagster UI against the same warehouse and instance, and the read API beside it,
    then `meanwhile` (work that can finish while they serve); stop both and their children on
    Ctrl-C or SIGTERM, or when either exits."""
    dagster_instance(settings)  # what `dagster dev` reads: DAGSTER_HOME, its storage up while we serve
    serving = ServingSettings.from_env()
    host, port = serving.host, serving.dagster_ui_port
    children = [
        _start([sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", host, "-p", str(port)]),
        _start([sys.executable, "-m", "chicago_risk.cli", "serve"]),  # host and port from the same settings
    ]
    print(f"Dagster UI: http://{host}:{port}  (warehouse {settings.warehouse_path})")
    print(f"map:        http://{serving.host}:{serving.port}/  (API docs at /docs); Ctrl-C stops both")

    def stop(signum: int, _frame) -> None:
        raise KeyboardInterrupt

    # SIGINT too: started in the background by a script, this process inherits SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        if meanwhile is not None:
            meanwhile()
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return _stop_groups(children)


def _stop_groups(processes: list[subprocess.Popen]) -> int:
    """Ask politely, then firmly; finally sweep whatever each leader left in its process group,
    any process they started outside it (no longer ours once their parent is gone, so listed
    first), and this process's own children."""
    started = [d for process in processes for d in _descendants(process.pid)]
    for sig, grace_s in ((signal.SIGINT, 20), (signal.SIGTERM, 10)):
        for process in processes:
            _signal_group(process.pid, sig)
        deadline = time.monotonic() + grace_s
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        if all(process.poll() is not None for process in processes):
            break
    for process in processes:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    # What is left: what the servers started elsewhere, and our own fork server and its helpers.
    leftovers = started + psutil.Process().children(recursive=True)
    for signal_them in (psutil.Process.terminate, psutil.Process.kill):
        for leftover in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                signal_them(leftover)
        leftovers = psutil.wait_procs(leftovers, timeout=5)[1]
    print("stopped")
    return 0


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def main() -> int:
    settings = Settings.from_env()
    try:
        dagster_instance(settings)  # its dagster.yaml and DAGSTER_HOME, read by every run's process
    except InstanceStorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    runner = OutOfProcess()  # its fork server imports the code location while this process does
    from chicago_risk.definitions import defs

    yesterday = chicago_today() - timedelta(days=1)
    first = yesterday - timedelta(days=settings.served_days - 1)
    layers, assessment = default_steps(defs, first, yesterday)
    print(f"chicago-risk demo: the {settings.source} city, {settings.served_days} days of map layers to {yesterday}")
    try:
        run_steps(defs, [layers], runner)
    except BackfillError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    def assess() -> None:
        # The map is served as soon as its layers are published; the backtest behind the model
        # card takes a few minutes more and needs no reader to wait for it.
        print("serving the map; meanwhile the newest model's backtest and model card:")
        try:
            run_steps(defs, [assessment], runner)
        except BackfillError as error:
            print(f"the backtest failed ({error}); the map keeps serving", file=sys.stderr)
        else:
            print(f"the whole graph is materialized; model card: {settings.reports_dir / 'model_card.md'}")

    return serve(settings, meanwhile=assess)


if __name__ == "__main__":
    sys.exit(main())
