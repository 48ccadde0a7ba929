"""Incidents: 311 rows grouped by `incident_key`, dated and placed by their first report."""

from __future__ import annotations

import polars as pl

INCIDENT_COLUMNS = ("incident_key", "day", "h3_id", "type_group")
ROW_COLUMNS = ("sr_number", "incident_key", "created_at", "day", "h3_id", "type_group")


def orphan_parent_keys(rows: pl.DataFrame) -> pl.Series:
    """Incident keys whose first report (the row numbered like the key) is not among `rows`:
    duplicates whose parent lies outside the loaded window and must be looked up."""
    return (
        rows.filter(pl.col("incident_key") != pl.col("sr_number"))
        .select("incident_key")
        .unique()
        .join(rows.select(incident_key="sr_number"), on="incident_key", how="anti")
        .get_column("incident_key")
        .sort()
    )


def resolve_incidents(rows: pl.DataFrame, parent_rows: pl.DataFrame) -> pl.DataFrame:
    """One row per incident: the day and cell of its earliest report among `rows` plus the
    `parent_rows` looked up for `orphan_parent_keys(rows)`."""
    return (
        pl.concat([rows.select(ROW_COLUMNS), parent_rows.select(ROW_COLUMNS)])
        .unique("sr_number", keep="first")
        .sort("created_at", "sr_number")
        .group_by("incident_key", maintain_order=True)
        .first()
        .select(INCIDENT_COLUMNS)
    )
