"""A feature's value for a day does not depend on how a backfill cut its window into runs: the
same days computed in one run or in two are equal, bit for bit (the models split at zero, so a
dry spell's three-day rain must be exactly 0.0 in every run)."""

from datetime import date, timedelta

import numpy as np
import polars as pl

from chicago_risk.config import TYPE_GROUPS
from chicago_risk.features.compute import build_cell_day_features
from chicago_risk.grid import city_cells
from chicago_risk.sources.open_meteo import _week_ahead
from chicago_risk.window_sums import window_sum

RESOLUTION = 7
START, END = date(2024, 3, 1), date(2024, 5, 31)


def _weather(first: date, last: date) -> pl.DataFrame:
    """Showery spring weather: irrational-looking millimetres, and dry spells between them."""
    rng = np.random.default_rng(7)
    days = pl.date_range(first, last, eager=True)
    precip = np.where(rng.random(len(days)) < 0.4, rng.gamma(0.8, 6.0, len(days)), 0.0)
    tmin = rng.normal(3.0, 6.0, len(days))
    return pl.DataFrame({
        "day": days, "tmin_c": tmin, "tmax_c": tmin + 8.0, "precip_mm": precip,
        "freeze_thaw": (tmin < 0) & (tmin + 8.0 > 0), "temp_drop_c": rng.random(len(days)) * 5,
        "heavy_rain": precip > 25.0, "fc_precip_7d_mm": precip * 1.7, "fc_freeze_days_7d": (tmin < 0) * 1.0,
    })


def _incidents(first: date, last: date) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    cells, n = city_cells(RESOLUTION), 400
    return pl.DataFrame({
        "incident_key": [f"K{i}" for i in range(n)],
        "day": [first + timedelta(days=int(d)) for d in rng.integers(0, (last - first).days + 1, n)],
        "h3_id": [cells[i] for i in rng.integers(0, len(cells), n)],
        "type_group": [TYPE_GROUPS[i] for i in rng.integers(0, len(TYPE_GROUPS), n)],
    })


def test_features_of_a_window_in_two_runs_equal_one_run_bit_for_bit():
    weather, incidents = _weather(START - timedelta(days=30), END), _incidents(START - timedelta(days=800), END)
    whole = build_cell_day_features(incidents, weather, RESOLUTION, START, END)
    for cut in (date(2024, 3, 17), date(2024, 4, 2), date(2024, 5, 9)):
        parts = pl.concat([
            build_cell_day_features(incidents, weather, RESOLUTION, START, cut),
            build_cell_day_features(incidents, weather, RESOLUTION, cut + timedelta(days=1), END),
        ])
        assert parts.equals(whole), cut
    dry = whole.filter(pl.col("precip_3d_mm") < 1e-9)
    assert dry.height and (dry["precip_3d_mm"] == 0.0).all()


def test_a_window_sum_adds_its_own_rows_only():
    frame = pl.DataFrame({"x": [0.1, 0.2, 0.3, None, 0.5, 0.6]})
    sums = frame.select(
        back=window_sum(pl.col("x"), -2, 0), ahead=window_sum(pl.col("x"), 1, 2), one=window_sum(pl.col("x"), 0, 0)
    )
    assert sums["back"].to_list() == [None, None, 0.1 + 0.2 + 0.3, None, None, None]
    assert sums["ahead"].to_list() == [0.2 + 0.3, None, None, 0.5 + 0.6, None, None]
    assert sums["one"].to_list() == frame["x"].to_list()
    # the same rows give the same sum wherever the frame starts
    later = pl.DataFrame({"x": [1e6, 3.3, 0.1, 0.2, 0.3]}).select(s=window_sum(pl.col("x"), -2, 0))
    assert later["s"][-1] == sums["back"][2]


def test_the_forecast_week_ahead_does_not_depend_on_the_days_fetched():
    days = _weather(date(2024, 1, 1), date(2024, 3, 31)).select("day", "precip_mm", "tmin_c")
    whole = _week_ahead(days)
    for first in (date(2024, 1, 22), date(2024, 2, 3), date(2024, 2, 23)):
        late = _week_ahead(days.filter(pl.col("day") >= first))
        assert late.join(whole, on="day", suffix="_whole").filter(
            (pl.col("fc_precip_7d_mm") != pl.col("fc_precip_7d_mm_whole"))
            | (pl.col("fc_freeze_days_7d") != pl.col("fc_freeze_days_7d_whole"))
        ).is_empty(), first
