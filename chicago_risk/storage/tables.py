"""Rules every warehouse storage keeps the same way: a write never leaves its window, a missing
table says which command makes it, names are quoted, and SQL results come back as polars."""

from __future__ import annotations

from datetime import date
from typing import cast

import duckdb
import polars as pl

from chicago_risk.upstream import materialize_command


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


def missing_table(table: str, first: date | None = None, last: date | None = None) -> LookupError:
    """The error of reading a table never written: the command that writes it (for the days
    read, when the read names them)."""
    return LookupError(f"table {table} is not in the warehouse yet: run: {materialize_command([table], first, last)}")


def fetch_frame(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None
) -> pl.DataFrame:
    # A relation hands Arrow over without the extra copy a DB-API result makes.
    return cast(pl.DataFrame, pl.from_arrow(connection.sql(sql, params=parameters).to_arrow_table()))


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
