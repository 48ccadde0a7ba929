"""`--postgres` for the benchmarks: the Dagster instance's storage on a throwaway PostgreSQL
server (Debian's package, as `make test` installs it), its commits synced as in production.

Dagster's SQLite event log writes each partition's materialization on its own (about 12 ms each
on the development machine); its PostgreSQL one writes a range run's materializations in batches
(`chicago_risk.instance.DAGSTER_RUN_ENV`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from chicago_risk_tests.fixtures.postgres import postgres_server  # the tests' server, durable here


@contextmanager
def instance_storage(postgres: bool, env: dict) -> Iterator[tuple[psutil.Process, ...]]:
    """With `postgres`, a server whose URL `env` passes to the command
    (CHICAGO_RISK_DAGSTER_POSTGRES_URL); yields the server's processes, whose memory counts with
    the command's. Without, nothing (the instance stays on SQLite)."""
    if not postgres:
        yield ()
        return
    with postgres_server(durable=True) as url:
        env["CHICAGO_RISK_DAGSTER_POSTGRES_URL"] = url
        port = url.rsplit(":", 1)[1].split("/")[0]
        yield tuple(
            process for process in psutil.process_iter(["cmdline"])
            if (command := process.info["cmdline"] or [""])[0].endswith("/postgres")
            and f"-p {port}" in " ".join(command)
        )
