"""Stores each asset's polars frame as a DuckDB table named after the asset.

Partitioned assets replace exactly the days of their run's time window, in one transaction and by
column name (dagster-duckdb's own IO managers delete and insert in separate statements and insert
by position, and dagster-duckdb-polars 0.29 calls a method duckdb 2 removed).
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import polars as pl

from chicago_risk.resources.warehouse import WarehouseResource


def window_days(window: dg.TimeWindow) -> tuple[date, date]:
    """A partition time window as inclusive local dates (its end is the next midnight)."""
    return window.start.date(), window.end.date() - timedelta(days=1)


class WarehouseIOManager(dg.ConfigurableIOManager):
    warehouse: dg.ResourceDependency[WarehouseResource]
    partition_column: str = "day"

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        table = context.asset_key.path[-1]
        if context.has_asset_partitions:
            start, end = window_days(context.asset_partitions_time_window)
            self.warehouse.replace_partitions(table, obj, start, end, self.partition_column)
        else:
            self.warehouse.replace_table(table, obj)
        context.add_output_metadata({"dagster/row_count": obj.height, "table": table})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        table = context.asset_key.path[-1]
        if context.has_asset_partitions:
            start, end = window_days(context.asset_partitions_time_window)
            return self.warehouse.read_partitions(table, start, end, self.partition_column)
        return self.warehouse.read_table(table)
