"""Checks several assets share: the same promise, written once."""

from __future__ import annotations

import dagster as dg
import polars as pl


def one_row_per_cell_day(frame: pl.DataFrame, cell_count: int, asset: str) -> dg.AssetCheckResult:
    """Every city cell exactly once on every day of `frame`."""
    wrong = frame.group_by("day").len().filter(pl.col("len") != cell_count)
    return dg.AssetCheckResult(
        check_name="one_row_per_cell_day", asset_key=asset,
        passed=wrong.is_empty() and frame.select("h3_id", "day").is_unique().all(),
        metadata={"cells": cell_count, "days_with_wrong_count": wrong.height},
    )
