"""Stores each asset's polars frame as a DuckDB table named after the asset.

Partitioned assets replace exactly the days of their run's time window, in one transaction and by
column name (dagster-duckdb's own IO managers delete and insert in separate statements and insert
by position, and dagster-duckdb-polars 0.29 calls a method duckdb 2 removed).
"""

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl

from chicago_risk.storage.warehouse import WarehouseResource


def window_days(window: dg.TimeWindow) -> tuple[date, date]:
    """A partition time window as inclusive local dates (its end is the next midnight)."""
    return window.start.date(), window.end.date() - timedelta(days=1)


def partition_column(definition_metadata: Mapping[str, Any] | None) -> str:
    """The DATE column holding an asset's partition: `day` unless its metadata names another."""
    return (definition_metadata or {}).get("partition_column", "day")


class WarehouseIOManager(dg.ConfigurableIOManager):
    warehouse: dg.ResourceDependency[WarehouseResource]

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        table = context.asset_key.path[-1]
        if context.has_asset_partitions:
            start, end = window_days(context.asset_partitions_time_window)
            column = partition_column(context.definition_metadata)
            self.warehouse.replace_partitions(table, obj, start, end, column)
        else:
            self.warehouse.replace_table(table, obj)
        context.add_output_metadata({"dagster/row_count": obj.height, "table": table})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        table = context.asset_key.path[-1]
        if context.has_asset_partitions:
            start, end = window_days(context.asset_partitions_time_window)
            upstream = context.upstream_output
            column = partition_column(upstream.definition_metadata if upstream else None)
            return self.warehouse.read_partitions(table, start, end, column)
        return self.warehouse.read_table(table)
