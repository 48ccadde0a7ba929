"""The DuckDB warehouse: one writer at a time, partitions replaced atomically, columns by name.

DuckDB lets one process open a database file read-write or many read-only, never both, so every
connection here is taken under an exclusive file lock beside the database: concurrent Dagster
steps wait their turn instead of failing. Readers outside Dagster (the API, notebooks) read
published copies, never this file.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl


class WarehouseLockTimeout(RuntimeError):
    """Another process kept the warehouse longer than the configured wait."""


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file that every asset is materialized into."""

    path: str
    lock_timeout_s: float = 600.0

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An exclusive read-write connection; do not nest two in one process."""
        database = Path(self.path)
        database.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(database.with_name(database.name + ".lock"), self.lock_timeout_s):
            connection = duckdb.connect(str(database))
            try:
                yield connection
            finally:
                connection.close()

    def query(self, sql: str, parameters: list | None = None) -> pl.DataFrame:
        with self.connect() as connection:
            return _fetch_frame(connection, sql, parameters)

    def table_exists(self, table: str) -> bool:
        with self.connect() as connection:
            return _table_exists(connection, table)

    def replace_partitions(
        self, table: str, frame: pl.DataFrame, start: date, end: date, partition_column: str = "day"
    ) -> None:
        """Replace the rows of days start..end (inclusive) with `frame`, in one transaction."""
        with self.connect() as connection:
            replace_partitions(connection, table, frame, start, end, partition_column)

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        with self.connect() as connection:
            connection.register("incoming", frame.to_arrow())
            connection.execute(f"CREATE OR REPLACE TABLE {_quote(table)} AS SELECT * FROM incoming")

    def read_partitions(
        self, table: str, start: date, end: date, partition_column: str = "day"
    ) -> pl.DataFrame:
        """Rows of days start..end (inclusive); a clear LookupError if the table is absent."""
        with self.connect() as connection:
            if not _table_exists(connection, table):
                raise LookupError(
                    f"table {table} is not in the warehouse yet: materialize it first "
                    f"(chicago-risk materialize --select {table} ...)"
                )
            return _fetch_frame(
                connection,
                f"SELECT * FROM {_quote(table)} WHERE {_quote(partition_column)} BETWEEN ? AND ?",
                [start, end],
            )

    def read_table(self, table: str) -> pl.DataFrame:
        return self.query(f"SELECT * FROM {_quote(table)}")


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
    outside = frame.filter(~pl.col(partition_column).is_between(start, end))
    if outside.height:
        raise ValueError(
            f"{table}: {outside.height} rows have {partition_column} outside {start}..{end}, "
            f"e.g. {outside[partition_column][0]}"
        )
    connection.register("incoming", frame.to_arrow())
    connection.begin()
    try:
        if _table_exists(connection, table):
            _add_missing_columns(connection, table)
        else:
            connection.execute(f"CREATE TABLE {_quote(table)} AS SELECT * FROM incoming LIMIT 0")
        connection.execute(
            f"DELETE FROM {_quote(table)} WHERE {_quote(partition_column)} BETWEEN ? AND ?",
            [start, end],
        )
        connection.execute(f"INSERT INTO {_quote(table)} BY NAME SELECT * FROM incoming")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.unregister("incoming")


def _fetch_frame(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None
) -> pl.DataFrame:
    # A relation hands Arrow over without the extra copy a DB-API result makes.
    return pl.from_arrow(connection.sql(sql, params=parameters).to_arrow_table())


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
            connection.execute(f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(name)} {column_type}")


def _table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    # fetchall: duckdb 2 refuses new statements while a result is only partly fetched.
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return found[0][0] > 0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@contextmanager
def _exclusive_lock(lock_path: Path, timeout_s: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout_s
    with open(lock_path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseLockTimeout(
                        f"the warehouse {lock_path.with_suffix('')} stayed busy for {timeout_s:.0f} s; "
                        "another chicago-risk run is writing: wait for it or stop it"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
