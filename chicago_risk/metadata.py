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
    return {
        "dagster/row_count": frame.height,
        "dagster/column_schema": column_schema(dict(frame.schema)),
        "window": f"{start}..{end}",
        "preview": dg.MetadataValue.md(markdown_table(frame.head(preview_rows))),
    }


def markdown_table(frame: pl.DataFrame) -> str:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        fmt_str_lengths=40,
    ):
        return str(frame)
