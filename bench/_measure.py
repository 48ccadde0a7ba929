"""Run one bench function in a fresh Python process: its result, wall time and peak memory.

`preload` modules are imported before the clock starts, and their import time is reported
apart (`import_seconds`): what every process pays once (Dagster and the code location take
seconds to import, more with no bytecode cache), not what the measured work costs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

CHILD = """
import importlib, json, resource, sys, time
sys.path.insert(0, {folder!r})
imports_began = time.perf_counter()
for name in {preload!r}:
    importlib.import_module(name)
import_seconds = time.perf_counter() - imports_began
from {module} import {function} as step
began = time.perf_counter()
result = step(*{args!r})
print(json.dumps({{**result, "seconds": time.perf_counter() - began, "import_seconds": import_seconds,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(module: str, function: str, *args, preload: Sequence[str] = ()) -> dict:
    code = CHILD.format(
        folder=str(Path(__file__).parent), module=module, function=function, args=args, preload=list(preload)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{module}.{function} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def product_instance(folder: str):
    """The Dagster instance the command line uses (a persistent one under `folder`, with the
    same run settings), so a bench measures what `chicago-risk materialize` costs."""
    import os

    from chicago_risk.config import Settings
    from chicago_risk.instance import dagster_instance

    os.environ["DAGSTER_HOME"] = str(Path(folder) / "dagster_home")
    return dagster_instance(Settings(data_dir=Path(folder)))
