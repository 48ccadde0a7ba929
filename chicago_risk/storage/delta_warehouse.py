"""The warehouse as Delta tables under a folder or an S3 prefix (`CHICAGO_RISK_STORAGE=delta`),
written by delta-rs and queried by an in-memory DuckDB over the tables' Arrow datasets.

    <root>/<table>/_delta_log/...          the table's commits
    <root>/<table>/<column>=<date>/...     its Parquet files, one folder per day of its DATE
                                           partition column (a table written whole has none)

- Replacing days start..end is one Delta commit: an overwrite whose predicate is the window, so a
  reader (which reads one version) sees the old window or the new one, never a mix; a writer
  killed before its commit leaves files no version lists, vacuumed later.
- Columns match by name; a new column is appended to the table (a schema-only commit before the
  data's) and reads NULL in older rows.
- Writers take no lock of ours: concurrent commits to a table are ordered by delta-rs (a
  conditional PUT of the next log entry); one whose partitions another commit changed meanwhile
  is redone on the new snapshot (`with_commit_retries`).
- Files a commit supersedes stay `retain_superseded_s` for readers still on an older version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

import duckdb
import polars as pl
from deltalake import DeltaTable, write_deltalake

from chicago_risk.storage.delta_tables import (
    add_new_columns,
    open_table,
    table_names,
    vacuum_superseded,
    with_commit_retries,
)
from chicago_risk.storage.object_store import join_url
from chicago_risk.storage.tables import check_window, fetch_frame, missing_table, quote

_IDENTIFIER = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*)')


class DeltaWarehouse:
    """The Delta tables under `root`; see the module docstring."""

    def __init__(
        self, root: str, storage_options: dict[str, str], memory_limit: str, retain_superseded_s: float
    ) -> None:
        self.root = root
        self.storage_options = storage_options
        self.memory_limit = memory_limit
        self.retain_superseded_s = retain_superseded_s

    def _uri(self, table: str) -> str:
        return join_url(self.root, table)

    def _table(self, table: str) -> DeltaTable | None:
        return open_table(self._uri(table), self.storage_options)

    # --- writing ------------------------------------------------------------------------------

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        data = frame.to_arrow()
        with_commit_retries(lambda: write_deltalake(
            self._uri(table), data, mode="overwrite", schema_mode="overwrite", storage_options=self.storage_options
        ))
        self._vacuum(table)

    def replace_partitions(
        self, table: str, frame: pl.DataFrame, start: date, end: date, partition_column: str = "day"
    ) -> None:
        check_window(table, frame, start, end, partition_column)
        if frame.schema[partition_column] != pl.Date:
            raise TypeError(
                f"{table}: partition column {partition_column} is {frame.schema[partition_column]}, not Date; "
                "partition columns are DATE (see ARCHITECTURE.md, Storage and serving)"
            )
        column = quote(partition_column)
        window = f"{column} >= '{start.isoformat()}' AND {column} <= '{end.isoformat()}'"
        self._write(table, frame, partition_column, window)

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """One commit adding `frame`'s rows: appends never conflict with other writers'."""
        self._write(table, frame)

    def _write(self, table: str, frame: pl.DataFrame, partition_column: str | None = None, window: str = "") -> None:
        """Add `frame`'s rows (replacing those the `window` predicate selects), as one commit."""
        data = frame.to_arrow()

        def write() -> None:
            # A new table is created first, partitioned by its day, in the frame's column order
            # (delta-rs would put the partition column last); `ignore`: another writer's counts.
            existing = self._table(table) or DeltaTable.create(
                self._uri(table), data.schema, partition_by=[partition_column] if partition_column else None,
                mode="ignore", storage_options=self.storage_options,
            )
            add_new_columns(existing, data.schema)
            if window:
                write_deltalake(existing, data, mode="overwrite", predicate=window)
            else:
                write_deltalake(existing, data, mode="append")

        with_commit_retries(write)
        self._vacuum(table)

    def _vacuum(self, table: str) -> None:
        written = self._table(table)
        assert written is not None, f"{table} was just written"
        vacuum_superseded(written, self.retain_superseded_s)

    # --- reading ------------------------------------------------------------------------------

    def table_exists(self, table: str) -> bool:
        return self._table(table) is not None

    def read_partitions(
        self, table: str, start: date, end: date, partition_column: str = "day"
    ) -> pl.DataFrame:
        if not self.table_exists(table):
            raise missing_table(table, start, end)
        with self._connection([table]) as connection:
            return fetch_frame(
                connection,
                f"SELECT * FROM {quote(table)} WHERE {quote(partition_column)} BETWEEN ? AND ?",
                [start, end],
            )

    def query(self, sql: str, parameters: list | None = None) -> pl.DataFrame:
        """`sql` over the tables it names, each at its latest version."""
        named = _identifiers(sql) & table_names(self.root, self.storage_options)
        with self._connection(named) as connection:
            return fetch_frame(connection, sql, parameters)

    @contextmanager
    def _connection(self, tables: Iterable[str]) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB with a view per table over its Arrow dataset: DuckDB pushes filters
        and columns down, so a window's partitions alone are read."""
        with duckdb.connect(config={"memory_limit": self.memory_limit}) as connection:
            for name in tables:
                table = self._table(name)
                if table is not None:
                    # In the table's column order (its dataset puts partition columns last).
                    columns = ", ".join(quote(f.name) for f in table.schema().fields)
                    connection.register(f"{name}__files", table.to_pyarrow_dataset())
                    connection.execute(f"CREATE VIEW {quote(name)} AS SELECT {columns} FROM {quote(name + '__files')}")
            yield connection


def _identifiers(sql: str) -> set[str]:
    """Every word or quoted name in `sql`: a superset of the tables it reads (a name that is no
    table gets no view; one for a table it only mentions costs a log read)."""
    return {quoted.replace('""', '"') if quoted else bare for quoted, bare in _IDENTIFIER.findall(sql)}
