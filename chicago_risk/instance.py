"""The persistent Dagster instance the command line, `make demo` and `dagster dev` share.

It lives in `$DAGSTER_HOME`, by default `<CHICAGO_RISK_DATA_DIR>/dagster_home`, and its
`dagster.yaml` names no path: Dagster's stock SQLite storage derives every path from
`$DAGSTER_HOME` when the instance loads, so a data folder copied or moved elsewhere keeps its
history and writes only inside itself. With `CHICAGO_RISK_DAGSTER_POSTGRES_URL` set, the run, event
log and schedule storages are Dagster's PostgreSQL ones (`dagster-postgres`); the file then holds
only the variable's name, never the URL and its password.

The file is rewritten whenever what it should say changes (a Postgres URL set or unset), so it
always follows the settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from chicago_risk.config import Settings

POSTGRES_URL_VARIABLE = "CHICAGO_RISK_DAGSTER_POSTGRES_URL"

# A single-run backfill of N partitions logs one "planned" event for the range instead of N
# (Dagster's own switch; it cut a two-year backfill of an asset by a third here). Trade-off, as
# Dagster documents it: partitions of a failed run stay "missing" rather than "failed"; the run
# itself shows the failure. DAGSTER_EVENT_BATCH_SIZE: a range run's materializations reach the
# event log in batches, which Dagster's Postgres storage writes in one statement (its SQLite
# storage writes them one by one).
DAGSTER_RUN_ENV = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1", "DAGSTER_EVENT_BATCH_SIZE": "1000"}


def dagster_home(settings: Settings) -> Path:
    """`$DAGSTER_HOME` when set, else `<data_dir>/dagster_home` (absolute)."""
    return Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster_home").resolve()


def instance_yaml(use_postgres: bool) -> str:
    """What `dagster.yaml` says: telemetry off (nothing leaves the machine), and Postgres storage
    when configured; no path, so every local path follows `$DAGSTER_HOME`."""
    text = "telemetry:\n  enabled: false\n"
    if use_postgres:
        text += f"storage:\n  postgres:\n    postgres_url:\n      env: {POSTGRES_URL_VARIABLE}\n"
    return text


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under the data directory, with the command line's run settings
    in this process's environment (runs and step processes started from here inherit them)."""
    home = dagster_home(settings)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.update(DAGSTER_RUN_ENV)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = instance_yaml(settings.dagster_postgres_url is not None)
    if not config.exists() or config.read_text() != wanted:
        config.write_text(wanted)
    return dg.DagsterInstance.get()
