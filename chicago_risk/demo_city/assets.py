"""`demo_truth`: what the demo city knows of itself, for evaluation only (no model input reads it)."""

import dagster as dg
import polars as pl

from chicago_risk.metadata import frame_metadata
from chicago_risk.partitions import daily_partitions, single_run
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.storage.io_manager import window_days


@dg.asset(
    io_manager_key="warehouse_io_manager",
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    group_name="demo_city",
    kinds={"duckdb", "polars"},
    code_version="2",  # 2: storms with after-storm backlogs, snow and thaws
)
def demo_truth(context: dg.AssetExecutionContext, demo_city: DemoCitySource) -> dg.Output:
    """Per cell and day: `mu`, the expected number of incidents, and `p_oracle_7d`, the ex-ante
    probability of at least one incident in the next 7 days as seen at the end of the day (it
    knows the latent risk, past incidents and the coming week's weather, not the week's incidents).
    """
    start, end = window_days(context.partition_time_window)
    truth: pl.DataFrame = demo_city.truth(start, end)
    return dg.Output(truth, metadata={**frame_metadata(truth, start, end), **demo_city.dataset_info().as_metadata()})
