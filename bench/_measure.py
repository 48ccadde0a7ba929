"""Run one bench function in a fresh Python process: its result, wall time and peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {folder!r})
from {module} import {function} as step
began = time.perf_counter()
result = step(*{args!r})
print(json.dumps({{**result, "seconds": time.perf_counter() - began,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(module: str, function: str, *args) -> dict:
    code = CHILD.format(folder=str(Path(__file__).parent), module=module, function=function, args=args)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{module}.{function} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def product_instance(folder: str):
    """The Dagster instance the command line uses (a persistent one under `folder`, with the
    same run settings), so a bench measures what `chicago-risk materialize` costs."""
    import os

    from chicago_risk.cli import dagster_instance
    from chicago_risk.config import Settings

    os.environ["DAGSTER_HOME"] = str(Path(folder) / "dagster_home")
    return dagster_instance(Settings(data_dir=Path(folder)))
