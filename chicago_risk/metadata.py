"""Materialization metadata that helps an operator: schema, row count, a preview, the window."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl


def column_schema(schema: dict[str, pl.DataType]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=name, type=str(dtype)) for name, dtype in schema.items()]
    )


def frame_metadata(frame: pl.DataFrame, start: date, end: date, preview_rows: int = 5) -> dict:
    """Row count and window; for a single day also the schema and a preview.

    Dagster copies a range run's metadata into the materialization of every partition it covers,
    and storing those copies is most of a long backfill's cost (two years of features: 23 ms a
    partition with a preview and schema each). A preview of a range's first rows would also
    show under every day of it, so ranges carry only what is true of the run.
    """
    metadata = {"dagster/row_count": frame.height, "window": f"{start}..{end}"}
    if start == end:
        metadata["dagster/column_schema"] = column_schema(dict(frame.schema))
        metadata["preview"] = dg.MetadataValue.md(markdown_table(frame.head(preview_rows)))
    return metadata


def markdown_table(frame: pl.DataFrame) -> str:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        fmt_str_lengths=40,
    ):
        return str(frame)
