"""`make demo`: materialize the graph for the demo window, then serve it until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from chicago_risk.backfill import BackfillError, default_window, materialize_window
from chicago_risk.cli import chicago_today, dagster_instance
from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions

DAGSTER_UI = ("127.0.0.1", 3000)


def _restore_default_signals() -> None:
    # A child inherits ignored signals; `dagster dev` started from a script (or from `make` in the
    # background) would then ignore Ctrl-C and SIGTERM and outlive us.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def serve(settings: Settings) -> int:
    """Run the Dagster UI against the same warehouse and instance; stop it and its children on
    Ctrl-C or SIGTERM."""
    host, port = DAGSTER_UI
    command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", host, "-p", str(port)]
    ui = subprocess.Popen(
        command,
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ.copy(),
        preexec_fn=_restore_default_signals,
        start_new_session=True,
    )
    print(f"Dagster UI: http://{host}:{port}  (warehouse {settings.warehouse_path}); Ctrl-C stops it")

    def stop(signum: int, _frame) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return ui.wait()
    except KeyboardInterrupt:
        return _stop_group(ui)


def _stop_group(process: subprocess.Popen) -> int:
    """Ask politely, then firmly; finally sweep whatever the leader left in its process group."""
    for sig, grace_s in ((signal.SIGINT, 20), (signal.SIGTERM, 10)):
        _signal_group(process.pid, sig)
        try:
            process.wait(timeout=grace_s)
            break
        except subprocess.TimeoutExpired:
            continue
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()
    print("stopped")
    return 0


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass


def main() -> int:
    settings = Settings.from_env()
    start, end = default_window(chicago_today())
    print(f"chicago-risk demo: materializing {start}..{end} of the {settings.source} city")
    try:
        materialize_window(build_definitions(settings), start, end, dagster_instance(settings))
    except BackfillError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
