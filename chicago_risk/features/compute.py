"""Cell-day features and labels from incidents and weather: vectorised polars, range-aware.

Every window count is a difference of running sums over a dense (cell x day) calendar that starts
HISTORY_DAYS before the first as-of date, so a day before the data holds a true zero and each
as-of date t sees exactly the days its window names, never a day after t.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl

from chicago_risk.config import LABEL_HORIZON_DAYS, TYPE_GROUPS
from chicago_risk.features.registry import (
    CELL_DAY_FEATURES_SCHEMA,
    HISTORY_DAYS,
    SHRINKAGE_PRIOR_DAYS,
    WEATHER_LOOKBACK_DAYS,
)
from chicago_risk.grid import city_cells, disk_pairs
from chicago_risk.window_sums import window_sum

DECAY_HALF_LIFE_DAYS = 7
DECAY_DAYS = 60
# Oldest day first, as polars' weighted rolling windows expect.
DECAY_WEIGHTS = [0.5 ** ((DECAY_DAYS - 1 - i) / DECAY_HALF_LIFE_DAYS) for i in range(DECAY_DAYS)]

CELL_DAY_LABELS_SCHEMA: dict[str, pl.DataType] = {
    "h3_id": pl.String(),
    "day": pl.Date(),
    "y_event_7d": pl.Int8(),
    "n_events_7d": pl.Int32(),
}


def _cells(resolution: int) -> pl.DataFrame:
    """`h3_id` -> `cell`, its index in the sorted city grid: the dense frames key on the integer,
    which hashes, joins and partitions `over()` far cheaper than the 15-character id."""
    return pl.DataFrame({"h3_id": city_cells(resolution)}).with_row_index("cell")


def _h3_id_of_cell(resolution: int) -> pl.Expr:
    """`cell` back to `h3_id`; cells are in h3_id order, so sorting by `cell` sorts by id."""
    return pl.lit(pl.Series(city_cells(resolution))).gather(pl.col("cell")).alias("h3_id")


def _stream_columns(dense: pl.DataFrame) -> list[str]:
    return [c for c in dense.columns if c.startswith("n")]


def _dense_counts(
    incidents: pl.DataFrame, resolution: int, first_day: date, last_day: date
) -> pl.DataFrame:
    """One row per (`cell`, day) of first_day..last_day, sorted so, with incident counts per
    stream: the cell's own (`n`, and `n_<group>`), its ring-1 neighbours' (`n_ring1`) and its
    disk-2 (`n_disk2`)."""
    cells = _cells(resolution)
    incidents = incidents.filter(pl.col("day").is_between(first_day, last_day)).join(cells, on="h3_id")
    own = incidents.group_by("cell", "day").agg(
        n=pl.len(), **{f"n_{g}": (pl.col("type_group") == g).sum() for g in TYPE_GROUPS}
    )
    neighbourhoods = []
    for k, name in ((1, "n_ring1"), (2, "n_disk2")):
        pairs = (
            disk_pairs(resolution, k)
            .join(cells, on="h3_id")
            .join(cells.rename({"h3_id": "nbr_h3_id", "cell": "nbr_cell"}), on="nbr_h3_id")
            .select("cell", "nbr_cell")
        )
        neighbourhoods.append(
            incidents.join(pairs, left_on="cell", right_on="nbr_cell", suffix="_right")
            .group_by(pl.col("cell_right").alias("cell"), "day")
            .agg(pl.len().alias(name))
        )
    calendar = cells.select("cell").join(
        pl.DataFrame({"day": pl.date_range(first_day, last_day, eager=True)}), how="cross"
    )
    dense = calendar
    for counts in (own, *neighbourhoods):
        dense = dense.join(counts, on=["cell", "day"], how="left")
    return dense.with_columns(pl.col(_stream_columns(dense)).fill_null(0).cast(pl.Int32)).sort("cell", "day")


def _trailing(column: str, days: int) -> pl.Expr:
    """Sum of `column` over the `days` days ending on t, per cell (rows sorted by cell, day)."""
    running = pl.col(column).cum_sum()
    return (running - running.shift(days, fill_value=0)).over("cell")


def _weather_features(weather: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Weather at t and just before; days missing before the data are zeros in the windows."""
    calendar = pl.DataFrame(
        {"day": pl.date_range(start - timedelta(days=WEATHER_LOOKBACK_DAYS), end, eager=True)}
    )
    return (
        calendar.join(weather, on="day", how="left")
        .sort("day")
        .with_columns(
            precip_3d_mm=window_sum(pl.col("precip_mm").fill_null(0), -2, 0),
            freeze_thaw_7d=pl.col("freeze_thaw").fill_null(False).cast(pl.Int32).rolling_sum(7, min_samples=1),
            heavy_rain=pl.col("heavy_rain").cast(pl.Int8),
        )
        .filter(pl.col("day") >= start)
        .select(
            "day", "tmin_c", "tmax_c", "precip_mm", "precip_3d_mm", "freeze_thaw_7d",
            "temp_drop_c", "heavy_rain", "fc_precip_7d_mm", "fc_freeze_days_7d",
        )
    )


def build_cell_day_features(
    incidents: pl.DataFrame, weather: pl.DataFrame, resolution: int, start: date, end: date
) -> pl.DataFrame:
    """Features for every city cell and every as-of date start..end, in CELL_DAY_FEATURES_SCHEMA.

    `incidents` must hold every incident dated start-HISTORY_DAYS+1..end (later ones are ignored);
    `weather` the days start-WEATHER_LOOKBACK_DAYS..end.
    """
    first_day = start - timedelta(days=HISTORY_DAYS - 1)
    dense = _dense_counts(incidents, resolution, first_day, end)
    disk2_cells = (
        disk_pairs(resolution, 2).group_by("h3_id").agg(disk2_cells=pl.len()).join(_cells(resolution), on="h3_id")
        .select("cell", "disk2_cells")
    )
    last_incident_day = pl.when(pl.col("n") > 0).then(pl.col("day")).forward_fill().over("cell")
    history = (
        dense.with_columns(
            cnt_7d=_trailing("n", 7),
            cnt_30d=_trailing("n", 30),
            cnt_365d=_trailing("n", 365),
            cnt_730d=_trailing("n", HISTORY_DAYS),
            decay_7d=pl.col("n")
            .cast(pl.Float64)
            .rolling_sum(DECAY_DAYS, weights=DECAY_WEIGHTS, min_samples=1)
            .over("cell"),
            nbr_cnt_30d=_trailing("n_ring1", 30),
            nbr_cnt_365d=_trailing("n_ring1", 365),
            ring2_cnt_365d=_trailing("n_disk2", 365),
            disk2_cnt_730d=_trailing("n_disk2", HISTORY_DAYS),
            days_since_last=(pl.col("day") - last_incident_day).dt.total_days().clip(upper_bound=365).fill_null(365),
            **{f"cnt_30d_{g}": _trailing(f"n_{g}", 30) for g in TYPE_GROUPS},
        )
        .drop(_stream_columns(dense))  # summed into the windows: not copied by the filter
        .filter(pl.col("day") >= start)
        .join(disk2_cells, on="cell", how="left")
    )
    del dense  # two years more than the output: free it before the sort and joins below
    # Gamma-Poisson shrinkage: the neighbourhood's per-cell rate is the prior mean, worth
    # SHRINKAGE_PRIOR_DAYS days of the cell's own history.
    neighbourhood_rate = pl.col("disk2_cnt_730d") / (pl.col("disk2_cells").fill_null(1) * HISTORY_DAYS)
    history = history.with_columns(
        rate_7d_shrunk=7 * (pl.col("cnt_730d") + SHRINKAGE_PRIOR_DAYS * neighbourhood_rate)
        / (HISTORY_DAYS + SHRINKAGE_PRIOR_DAYS)
    )
    day_of_year = 2 * math.pi * pl.col("day").dt.ordinal_day() / 365.25
    return (
        history.sort("day", "cell")
        .join(_weather_features(weather, start, end), on="day", how="left", maintain_order="left")
        .with_columns(
            _h3_id_of_cell(resolution),
            doy_sin=day_of_year.sin(),
            doy_cos=day_of_year.cos(),
            dow=pl.col("day").dt.weekday() - 1,
        )
        .select(pl.col(name).cast(dtype) for name, dtype in CELL_DAY_FEATURES_SCHEMA.items())
    )


def build_cell_day_labels(incidents: pl.DataFrame, resolution: int, start: date, end: date) -> pl.DataFrame:
    """Labels for as-of dates start..end: incidents dated t+1..t+7 in the cell."""
    dense = _dense_counts(incidents, resolution, start, end + timedelta(days=LABEL_HORIZON_DAYS))
    running = pl.col("n").cum_sum()
    coming_week = (running.shift(-LABEL_HORIZON_DAYS) - running).over("cell")
    return (
        dense.lazy()
        .with_columns(n_events_7d=coming_week)
        .filter(pl.col("day") <= end)
        .with_columns(_h3_id_of_cell(resolution), y_event_7d=(pl.col("n_events_7d") > 0))
        .sort("day", "cell")
        .select(pl.col(name).cast(dtype) for name, dtype in CELL_DAY_LABELS_SCHEMA.items())
        .collect()
    )
