"""The persistent Dagster instance the command line, `make demo` and `chicago-risk ui` share.

It lives in `$DAGSTER_HOME`, by default `<data_dir>/dagster_home`, and its
`dagster.yaml` names no path and no secret, so a data folder copied or moved elsewhere keeps its
history and writes only inside itself. Its storage (runs, event log, schedules) is one of:
- **embedded PostgreSQL**, the default for a new instance: Dagster's PostgreSQL storage
  (`dagster-postgres`) on a server that `pgserver` runs from the instance's `postgres/` folder,
  on a Unix socket there (no TCP port; the folder's owner only). The first chicago-risk command
  that needs the instance starts it, and the last one to exit stops it. Dagster's SQLite storage
  writes each partition's materialization on its own, with a new connection and commit (about
  10 ms here), and a window of years records tens of thousands; PostgreSQL writes a range run's in
  batches. The demo city reaches a served map in about 60% of the time.
- **a PostgreSQL server** of your own: `CHICAGO_RISK_DAGSTER_POSTGRES_URL`.
- **SQLite** (`CHICAGO_RISK_DAGSTER_STORAGE=sqlite`): Dagster's stock storage, files only. An
  instance that already has SQLite history stays on it unless told otherwise.

The file holds only the name of the variable with the URL; each command sets it for the runs and
step processes it starts. The file is rewritten whenever what it should say changes.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from typing import Literal

import dagster as dg

from chicago_risk.config import Settings

POSTGRES_URL_VARIABLE = "CHICAGO_RISK_DAGSTER_POSTGRES_URL"
# Set by each command for the embedded server: its socket is a path, and the folder can move.
EMBEDDED_URL_VARIABLE = "CHICAGO_RISK_EMBEDDED_POSTGRES_URL"

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


StorageKind = Literal["postgres", "embedded-postgres", "sqlite"]


def storage_kind(settings: Settings, home: Path) -> StorageKind:
    """A URL wins; then the setting; then what the instance already holds (an embedded server's
    cluster, or SQLite's files under `history/`), and embedded PostgreSQL for a new one."""
    if settings.dagster_postgres_url is not None:
        return "postgres"
    if settings.dagster_storage is not None:
        return settings.dagster_storage
    has_cluster, has_sqlite = (home / "postgres" / "PG_VERSION").exists(), (home / "history").exists()
    return "sqlite" if has_sqlite and not has_cluster else "embedded-postgres"


def instance_yaml(url_variable: str | None) -> str:
    """What `dagster.yaml` says: telemetry off (nothing leaves the machine), and Postgres storage
    at the URL this variable holds, if any; no path, so every local path follows `$DAGSTER_HOME`."""
    text = "telemetry:\n  enabled: false\n"
    if url_variable is not None:
        text += f"storage:\n  postgres:\n    postgres_url:\n      env: {url_variable}\n"
    return text


class InstanceStorageError(RuntimeError):
    """The instance's storage cannot be reached; the message says what to do."""


def embedded_postgres_url(home: Path) -> str:
    """Starts the instance's embedded server unless it runs already, and holds it until this
    process exits; the server stops when no chicago-risk process holds it any more."""
    with warnings.catch_warnings():
        # platformdirs warns where XDG_RUNTIME_DIR is unset (CI, containers); pgserver then keeps
        # its lock file under /tmp, which is what we want.
        warnings.simplefilter("ignore")
        import pgserver
    folder = home / "postgres"
    try:
        server = pgserver.get_server(folder, cleanup_mode="stop")
    except (OSError, subprocess.SubprocessError) as error:  # initdb or pg_ctl failed, or the folder is unusable
        raise InstanceStorageError(
            f"the Dagster instance's embedded PostgreSQL did not start in {folder} ({error}; its log: "
            f"{folder / 'log'}); set CHICAGO_RISK_DAGSTER_STORAGE=sqlite to keep the instance in files instead"
        ) from error
    socket_dir = server.get_postmaster_info().socket_dir
    # psycopg2, the driver dagster-postgres installs (SQLAlchemy 2.1 defaults to psycopg 3).
    return f"postgresql+psycopg2://postgres@/postgres?host={socket_dir}"


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under the data directory, with the command line's run settings
    in this process's environment (runs and step processes started from here inherit them)."""
    home = dagster_home(settings)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.update(DAGSTER_RUN_ENV)
    home.mkdir(parents=True, exist_ok=True)
    kind = storage_kind(settings, home)
    url_variable = {"postgres": POSTGRES_URL_VARIABLE, "embedded-postgres": EMBEDDED_URL_VARIABLE}.get(kind)
    if kind == "embedded-postgres":
        os.environ[EMBEDDED_URL_VARIABLE] = embedded_postgres_url(home)
    config = home / "dagster.yaml"
    wanted = instance_yaml(url_variable)
    if not config.exists() or config.read_text() != wanted:
        config.write_text(wanted)
    return dg.DagsterInstance.get()



STORAGE_NAMES: dict[StorageKind, str] = {
    "postgres": "PostgreSQL at CHICAGO_RISK_DAGSTER_POSTGRES_URL",
    "embedded-postgres": "embedded PostgreSQL, in its postgres/ folder",
    "sqlite": "SQLite files",
}
