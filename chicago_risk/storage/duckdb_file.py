"""The `warehouse.duckdb` file: the embedded default (`CHICAGO_RISK_STORAGE=duckdb`).

DuckDB lets one process open the file read-write or many read-only, never both, so every
connection is taken under an exclusive file lock beside it (`chicago_risk.storage.locks`):
concurrent Dagster steps wait their turn. Connections come from dagster-duckdb's `DuckDBResource`
(its `connection_config` carries the memory limit; it retries an open the OS refuses). Readers
outside Dagster (the API, notebooks) read the published store, never this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from chicago_risk.storage.locks import exclusive_lock
from chicago_risk.storage.tables import check_window, fetch_frame, missing_table, quote


class DuckDBFile:
    """The `warehouse.duckdb` file, every connection under the lock beside it."""

    def __init__(self, database: Path, lock_timeout_s: float, memory_limit: str) -> None:
        self.database = database
        self.lock_timeout_s = lock_timeout_s
        self.duckdb = DuckDBResource(database=str(database), connection_config={"memory_limit": memory_limit})

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        lock = self.database.with_name(self.database.name + ".lock")
        with exclusive_lock(lock, self.lock_timeout_s), self.duckdb.get_connection() as connection:
            try:
                # DuckDB would draw a progress bar on the terminal of every query over 2 s.
                connection.execute("SET enable_progress_bar = false")
                yield connection
            finally:
                # DuckDBResource closes only when its block ends without an error; the file
                # must be closed before the lock is released either way.
                connection.close()

    def query(self, sql: str, parameters: list | None = None) -> pl.DataFrame:
        with self.connect() as connection:
            return fetch_frame(connection, sql, parameters)

    def table_exists(self, table: str) -> bool:
        with self.connect() as connection:
            return _table_exists(connection, table)

    def replace_partitions(
        self, table: str, frame: pl.DataFrame, start: date, end: date, partition_column: str
    ) -> None:
        with self.connect() as connection:
            replace_partitions(connection, table, frame, start, end, partition_column)

    def append(self, table: str, frame: pl.DataFrame) -> None:
        with self.connect() as connection:
            _write(connection, table, frame)

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        with self.connect() as connection:
            connection.register("incoming", frame.to_arrow())
            connection.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT * FROM incoming")

    def read_partitions(self, table: str, start: date, end: date, partition_column: str) -> pl.DataFrame:
        with self.connect() as connection:
            if not _table_exists(connection, table):
                raise missing_table(table, start, end)
            return fetch_frame(
                connection,
                f"SELECT * FROM {quote(table)} WHERE {quote(partition_column)} BETWEEN ? AND ?",
                [start, end],
            )


def replace_partitions(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    start: date,
    end: date,
    partition_column: str = "day",
) -> None:
    """Delete days start..end and insert `frame` by column name, committed together.

    A crash before COMMIT leaves the previous rows (DuckDB rolls the transaction back on the next
    open); rows outside the window are refused so an asset can never overwrite a neighbour.
    """
    check_window(table, frame, start, end, partition_column)
    _write(connection, table, frame, (f"{quote(partition_column)} BETWEEN ? AND ?", [start, end]))


def _write(
    connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, replaced: tuple[str, list] | None = None
) -> None:
    """Insert `frame` by column name (creating the table, adding new columns), after deleting the
    rows the `replaced` condition selects, in one transaction."""
    connection.register("incoming", frame.to_arrow())
    connection.begin()
    try:
        if _table_exists(connection, table):
            _add_missing_columns(connection, table)
        else:
            connection.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM incoming LIMIT 0")
        if replaced is not None:
            connection.execute(f"DELETE FROM {quote(table)} WHERE {replaced[0]}", replaced[1])
        connection.execute(f"INSERT INTO {quote(table)} BY NAME SELECT * FROM incoming")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.unregister("incoming")


def _add_missing_columns(connection: duckdb.DuckDBPyConnection, table: str) -> None:
    """A new column in the asset's output is added to the table; older rows hold NULL there."""
    existing = {
        row[0]
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    incoming = connection.execute("DESCRIBE incoming").fetchall()
    for name, column_type, *_ in incoming:
        if name not in existing:
            connection.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(name)} {column_type}")


def _table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    # fetchall: duckdb 2 refuses new statements while a result is only partly fetched.
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return found[0][0] > 0
