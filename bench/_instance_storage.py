"""`--storage` for the benchmarks: where the Dagster instance keeps its runs and events.

- `embedded-postgres` (the product's default): the server the command itself starts from the
  instance's folder (chicago_risk.instance);
- `postgres`: a throwaway server from Debian's package (as `make test` installs it), its commits
  synced as in production, passed to the command as CHICAGO_RISK_DAGSTER_POSTGRES_URL;
- `sqlite`: Dagster's stock storage, which writes each partition's materialization on its own
  (about 10 ms each on the development machine).

Either server's memory counts with the command's: it is not the command's child (`pg_ctl`
detaches it), so it is found by its data folder or its port on every sample."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from chicago_risk_tests.fixtures.postgres import postgres_server  # the tests' server, durable here

STORAGES = ("embedded-postgres", "postgres", "sqlite")
Servers = Callable[[], tuple[psutil.Process, ...]]


def _postmasters(marker: str) -> tuple[psutil.Process, ...]:
    """Running PostgreSQL servers whose command line holds `marker` (their workers are their
    children, counted with them)."""
    return tuple(
        process for process in psutil.process_iter(["cmdline"])
        if (command := process.info["cmdline"] or [""])[0].endswith("/postgres") and marker in " ".join(command)
    )


@contextmanager
def instance_storage(storage: str, env: dict, data: Path) -> Iterator[Servers]:
    """Sets `env` for the command on `data` to use `storage`; yields what finds the server's
    processes at each sample (none for SQLite)."""
    env["CHICAGO_RISK_DATA_DIR"] = str(data)
    if storage == "postgres":
        with postgres_server(durable=True) as url:
            env["CHICAGO_RISK_DAGSTER_POSTGRES_URL"] = url
            port = url.rsplit(":", 1)[1].split("/")[0]
            yield lambda: _postmasters(f"-p {port}")
        return
    env["CHICAGO_RISK_DAGSTER_STORAGE"] = storage
    folder = str(data.resolve() / "dagster_home" / "postgres")
    yield (lambda: _postmasters(folder)) if storage == "embedded-postgres" else tuple
