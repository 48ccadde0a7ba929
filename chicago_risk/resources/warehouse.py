"""The warehouse every asset is materialized into: one interface, two storages chosen by
configuration (`CHICAGO_RISK_STORAGE`), the same promises in both:

- one writer at a time (of the whole file for DuckDB, of each table for Parquet); a second waits,
  then fails with `WarehouseLockTimeout` after `lock_timeout_s`;
- a partition window is replaced atomically: a reader or a killed process sees the previous rows
  or the new ones, never half; re-materializing gives the same rows, never doubles;
- columns match by name, a new column reads NULL in older rows; rows outside the window are
  refused; reading a table never materialized says which command to run.

`duckdb` (the default) is the `warehouse.duckdb` file. DuckDB lets one process open it read-write
or many read-only, never both, so every connection here is taken under an exclusive file lock
beside it: concurrent Dagster steps wait their turn instead of failing. Readers outside Dagster
(the API, notebooks) read published copies, never this file.

`parquet` is Parquet partitions under a folder, read through DuckDB
(`chicago_risk.resources.parquet_warehouse`): readers take no lock, writers of different tables
run side by side, and the folder can be a volume shared by Kubernetes pods.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
import duckdb
import polars as pl

from chicago_risk.resources.storage import LockTimeout, exclusive_lock, open_storage

if TYPE_CHECKING:
    from chicago_risk.resources.parquet_warehouse import ParquetWarehouse

StorageName = Literal["duckdb", "parquet"]
# Raised by either storage when another writer holds the lock for longer than `lock_timeout_s`.
WarehouseLockTimeout = LockTimeout


class WarehouseResource(dg.ConfigurableResource):
    """Where every asset is materialized: the DuckDB file at `path` (`storage="duckdb"`) or
    Parquet partitions under the folder or `file://` URL `url` (`storage="parquet"`)."""

    path: str = ""
    storage: StorageName = "duckdb"
    url: str = ""
    lock_timeout_s: float = 600.0
    # DuckDB file: what a connection's buffer pool may hold before sorts and joins spill to
    # <file>.tmp. DuckDB's default is 80% of the machine; at that, reading two years of features
    # peaks at 2.1 GiB for a 0.65 GiB frame, at 1 GB at 1.6 GiB in the same time.
    memory_limit: str = "1GB"
    # Parquet: a file replaced in a manifest stays this long for readers holding the older one.
    retain_superseded_s: float = 600.0

    @property
    def location(self) -> str:
        return self.url if self.storage == "parquet" else self.path

    def _backend(self) -> DuckDBFile | ParquetWarehouse:
        if self.storage == "parquet":
            # Imported here: the Parquet warehouse uses this module's shared rules.
            from chicago_risk.resources.parquet_warehouse import ParquetWarehouse

            if not self.url:
                raise ValueError("WarehouseResource(storage='parquet') needs url: a folder or file:// URL")
            storage = open_storage(self.url, "CHICAGO_RISK_STORAGE_URL")
            return ParquetWarehouse(storage, self.lock_timeout_s, self.retain_superseded_s)
        if not self.path:
            raise ValueError("WarehouseResource(storage='duckdb') needs path: the warehouse.duckdb file")
        return DuckDBFile(Path(self.path), self.lock_timeout_s, self.memory_limit)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """DuckDB storage only: an exclusive read-write connection; do not nest two in one process."""
        backend = self._backend()
        if not isinstance(backend, DuckDBFile):
            raise TypeError("connect() opens the warehouse.duckdb file; with storage=parquet use query()")
        with backend.connect() as connection:
            yield connection

    @contextmanager
    def writing(self, table: str) -> Iterator[None]:
        """Hold the writer lock every write of `table` takes (the whole file for DuckDB)."""
        with self._backend().writing(table):
            yield

    def query(self, sql: str, parameters: list | None = None) -> pl.DataFrame:
        """Any SQL over the warehouse's tables, by name."""
        return self._backend().query(sql, parameters)

    def table_exists(self, table: str) -> bool:
        return self._backend().table_exists(table)

    def replace_partitions(
        self, table: str, frame: pl.DataFrame, start: date, end: date, partition_column: str = "day"
    ) -> None:
        """Replace the rows of days start..end (inclusive) with `frame`, atomically."""
        self._backend().replace_partitions(table, frame, start, end, partition_column)

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        self._backend().replace_table(table, frame)

    def read_partitions(
        self, table: str, start: date, end: date, partition_column: str = "day"
    ) -> pl.DataFrame:
        """Rows of days start..end (inclusive); a clear LookupError if the table is absent."""
        return self._backend().read_partitions(table, start, end, partition_column)

    def read_table(self, table: str) -> pl.DataFrame:
        return self._backend().read_table(table)


class DuckDBFile:
    """The `warehouse.duckdb` file, every connection under the lock beside it."""

    def __init__(self, database: Path, lock_timeout_s: float, memory_limit: str) -> None:
        self.database = database
        self.lock_timeout_s = lock_timeout_s
        self.memory_limit = memory_limit

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.database.with_name(self.database.name + ".lock"), self.lock_timeout_s):
            connection = duckdb.connect(str(self.database), config={"memory_limit": self.memory_limit})
            try:
                yield connection
            finally:
                connection.close()

    @contextmanager
    def writing(self, table: str) -> Iterator[None]:
        with self.connect():
            yield

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

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        with self.connect() as connection:
            connection.register("incoming", frame.to_arrow())
            connection.execute(f"CREATE OR REPLACE TABLE {quote(table)} AS SELECT * FROM incoming")

    def read_partitions(self, table: str, start: date, end: date, partition_column: str) -> pl.DataFrame:
        with self.connect() as connection:
            if not _table_exists(connection, table):
                raise missing_table(table)
            return fetch_frame(
                connection,
                f"SELECT * FROM {quote(table)} WHERE {quote(partition_column)} BETWEEN ? AND ?",
                [start, end],
            )

    def read_table(self, table: str) -> pl.DataFrame:
        return self.query(f"SELECT * FROM {quote(table)}")


def check_window(table: str, frame: pl.DataFrame, start: date, end: date, partition_column: str) -> None:
    """Refuse rows outside start..end (or without a partition value): an asset can never
    overwrite a neighbour's days."""
    if partition_column not in frame.columns:
        raise ValueError(f"{table}: the frame has no partition column {partition_column} (columns: {frame.columns})")
    outside = frame.filter(~pl.col(partition_column).is_between(start, end).fill_null(False))
    if outside.height:
        raise ValueError(
            f"{table}: {outside.height} rows have {partition_column} outside {start}..{end}, "
            f"e.g. {outside[partition_column][0]}"
        )


def missing_table(table: str) -> LookupError:
    return LookupError(
        f"table {table} is not in the warehouse yet: materialize it first "
        f"(chicago-risk materialize --select {table} ...)"
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
    connection.register("incoming", frame.to_arrow())
    connection.begin()
    try:
        if _table_exists(connection, table):
            _add_missing_columns(connection, table)
        else:
            connection.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM incoming LIMIT 0")
        connection.execute(
            f"DELETE FROM {quote(table)} WHERE {quote(partition_column)} BETWEEN ? AND ?",
            [start, end],
        )
        connection.execute(f"INSERT INTO {quote(table)} BY NAME SELECT * FROM incoming")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.unregister("incoming")


def fetch_frame(
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
            connection.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(name)} {column_type}")


def _table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    # fetchall: duckdb 2 refuses new statements while a result is only partly fetched.
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return found[0][0] > 0


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
