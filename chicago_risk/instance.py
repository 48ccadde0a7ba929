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
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import dagster as dg
import psutil

from chicago_risk.config import Settings

if TYPE_CHECKING:
    from pgserver import PostgresServer

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


class InstanceStorageError(RuntimeError):
    """The instance's storage cannot be reached; the message says what to do."""


def storage_kind(settings: Settings, home: Path) -> StorageKind:
    """A URL wins; then the setting; then what the instance already holds (an embedded server's
    cluster, or SQLite's files under `history/`), and embedded PostgreSQL for a new one. An
    instance holding both has two histories, and which one to show is the operator's call."""
    if settings.dagster_postgres_url is not None:
        return "postgres"
    if settings.dagster_storage is not None:
        return settings.dagster_storage
    has_cluster, has_sqlite = (home / "postgres" / "PG_VERSION").exists(), (home / "history").exists()
    if has_cluster and has_sqlite:
        raise InstanceStorageError(
            f"the Dagster instance {home} holds runs in both an embedded PostgreSQL (postgres/) and SQLite "
            f"(history/): set CHICAGO_RISK_DAGSTER_STORAGE=embedded-postgres or =sqlite to say which to use"
        )
    return "sqlite" if has_sqlite else "embedded-postgres"


def instance_yaml(url_variable: str | None) -> str:
    """What `dagster.yaml` says: telemetry off (nothing leaves the machine), and Postgres storage
    at the URL this variable holds, if any; no path, so every local path follows `$DAGSTER_HOME`."""
    text = "telemetry:\n  enabled: false\n"
    if url_variable is not None:
        text += f"storage:\n  postgres:\n    postgres_url:\n      env: {url_variable}\n"
    return text


# The longest Unix socket path macOS takes (Linux: 107 bytes). For a longer one, pgserver would move
# the socket to a folder under /tmp that other users can read, and its logins need no password.
MAX_SOCKET_PATH_BYTES = 103
# pgserver hands the socket's folder to PostgreSQL through pg_ctl's shell command line unquoted
# (`-o "-k <folder>"`): a space or a shell character there stops the server from starting.
SHELL_SPECIAL = frozenset(" \t\n'\"\\$`;&|<>()*?[]{}#~!")
# pgserver's record of the processes holding a server (a JSON list of process ids in its folder).
HOLDERS_FILE = ".handle_pids.json"
_held: dict[Path, PostgresServer] = {}  # the servers this process holds, by folder


def _import_pgserver() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns where XDG_RUNTIME_DIR is unset (CI, containers); pgserver then keeps
        # its lock file under /tmp, which is what we want.
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def _forget_dead_holders(pgserver: ModuleType, folder: Path) -> None:
    """pgserver stops a server when its last holder exits, but never forgets a holder that was
    killed first (SIGKILL, SIGTERM, the OOM killer): the server would then never stop again. With
    the dead ones dropped, the next command to exit stops it as usual."""
    if not (folder / HOLDERS_FILE).exists():
        return
    holders = pgserver.utils.DiskList(folder / HOLDERS_FILE)
    with pgserver.PostgresServer._lock:  # the lock pgserver itself takes around that list
        holders.put([pid for pid in holders.get() if psutil.pid_exists(pid)])


def _unusable_because(folder: Path) -> str | None:
    """Why a server cannot run from `folder` as it should, if it cannot."""
    socket = folder / ".s.PGSQL.5432"
    if (size := len(str(socket).encode())) > MAX_SOCKET_PATH_BYTES:
        return f"too deep for its embedded PostgreSQL's socket ({socket}: {size} bytes, limit {MAX_SOCKET_PATH_BYTES})"
    if special := "".join(sorted(set(str(folder)) & SHELL_SPECIAL)):
        return f"in a path its embedded PostgreSQL cannot start from (it holds {special!r}; pg_ctl passes it unquoted)"
    return None


def embedded_postgres_url(home: Path) -> str:
    """Starts the instance's embedded server unless it runs already, and holds it until this
    process exits; the server stops when no chicago-risk process holds it any more."""
    folder = home / "postgres"
    if problem := _unusable_because(folder):
        raise InstanceStorageError(
            f"the Dagster instance's folder {home} is {problem}; set DAGSTER_HOME or CHICAGO_RISK_DATA_DIR to "
            f"another path, or CHICAGO_RISK_DAGSTER_STORAGE=sqlite"
        )
    pgserver = _import_pgserver()
    try:
        _forget_dead_holders(pgserver, folder)
        server = _held[folder] = pgserver.get_server(folder, cleanup_mode="stop")
    except (OSError, subprocess.SubprocessError) as error:  # initdb or pg_ctl failed, or the folder is unusable
        raise InstanceStorageError(
            f"the Dagster instance's embedded PostgreSQL did not start in {folder} ({error}; its log: "
            f"{folder / 'log'}); set CHICAGO_RISK_DAGSTER_STORAGE=sqlite to keep the instance in files instead"
        ) from error
    socket_dir = server.get_postmaster_info().socket_dir
    # psycopg2, the driver dagster-postgres installs (SQLAlchemy 2.1 defaults to psycopg 3).
    return f"postgresql+psycopg2://postgres@/postgres?host={socket_dir}"


def release_embedded_server(settings: Settings) -> None:
    """Stop holding the instance's embedded server now rather than at exit (it stops unless
    another process holds it): before deleting the data folder, for one."""
    server = _held.pop(dagster_home(settings) / "postgres", None)
    if server is not None:
        server.cleanup()


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
