"""The demo city's 311 rows: SODA shape, Chicago's volumes and weather responses, duplicates,
statuses as of a moment, and realistic reporting noise."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

import h3
import numpy as np
import polars as pl

from chicago_risk.config import HEAVY_RAIN_MM, LEAK_TYPES, TYPE_GROUP_BY_SR_TYPE
from chicago_risk.demo_city import params as P
from chicago_risk.grid import city_cells
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.sources.soda import SODA_SCHEMA

from .shared import ALL_TYPES, parsed

BASEMENT, STREET = "Water in Basement Complaint", "Water On Street Complaint"
HYDRANT = "Open Fire Hydrant Complaint"


def _daily(demo_year, **counts: pl.Expr) -> pl.DataFrame:
    """Per day of 2019: the weather and the given row counts (0 on days without rows)."""
    per_day = demo_year.year_requests.group_by("day").agg(**counts)
    return demo_year.weather.join(per_day, on="day", how="left").fill_null(0)


def test_rows_are_exactly_soda_shaped(demo_year) -> None:
    raw = demo_year.requests.drop("created", "day")
    assert raw.schema == pl.Schema(SODA_SCHEMA)
    assert raw["sr_number"].is_unique().all()
    assert raw["sr_number"].str.contains(r"^SR\d{2}-\d{8}$").all()
    assert (raw["legacy_record"] == False).all()  # noqa: E712
    assert set(raw["owner_department"]) == {"DWM - Department of Water Management"}
    assert set(raw["origin"]) == {"Phone Call", "Internet", "Mobile Device"}
    codes = {t.sr_type: t.short_code for t in LEAK_TYPES}
    assert (raw["sr_short_code"] == raw["sr_type"].replace_strict(codes)).all()
    assert raw["street_address"].str.contains(r"^\d+ [NSEW] [A-Z0-9 ]+ [A-Z]+$").all()
    address = raw["location"].struct.field("human_address").drop_nulls().str.json_decode()
    assert set(address.struct.field("city")) == {"CHICAGO"}


def test_requests_only_of_the_window_and_types(demo_year) -> None:
    rows = parsed(
        demo_year.source.fetch_requests(date(2019, 7, 1), date(2019, 7, 3), (BASEMENT, "nope"))
    )
    assert set(rows["sr_type"]) == {BASEMENT}
    assert rows["day"].drop_nulls().is_between(date(2019, 7, 1), date(2019, 7, 3)).all()
    assert demo_year.source.fetch_requests(date(2019, 7, 1), date(2019, 7, 3), ()).is_empty()


def test_yearly_volumes_match_chicago(demo_year) -> None:
    counts = dict(demo_year.year_requests.group_by("sr_type").len().iter_rows())
    for t in LEAK_TYPES:
        assert abs(counts[t.sr_type] / t.requests_per_year - 1) <= 0.25, (t, counts[t.sr_type])


def test_heavy_rain_floods_basements_and_streets(demo_year) -> None:
    daily = _daily(
        demo_year,
        basement=(pl.col("sr_type") == BASEMENT).sum(),
        street=(pl.col("sr_type") == STREET).sum(),
    )
    heavy = daily.filter(pl.col("precip_mm") >= HEAVY_RAIN_MM)
    dry = daily.filter(pl.col("rain_mm") == 0)
    assert heavy.height >= 2 and dry.height >= 100
    for column in ("basement", "street"):
        assert cast(float, heavy[column].mean()) >= 3 * cast(float, dry[column].mean()), column


def test_freeze_thaw_days_bring_main_breaks(demo_year) -> None:
    main_types = [s for s, g in TYPE_GROUP_BY_SR_TYPE.items() if g == "main"]
    daily = _daily(demo_year, main=pl.col("sr_type").is_in(main_types).sum()).filter(
        pl.col("day").dt.month().is_in([11, 12, 1, 2, 3])
    )
    crossing = (pl.col("tmin_c") <= 0) & (pl.col("tmax_c") > 0)
    on_crossing, otherwise = daily.filter(crossing)["main"].mean(), daily.filter(~crossing)["main"].mean()
    assert cast(float, on_crossing) > 1.1 * cast(float, otherwise)


def test_hydrants_open_on_hot_days(demo_year) -> None:
    daily = _daily(demo_year, hydrant=(pl.col("sr_type") == HYDRANT).sum()).filter(
        pl.col("day").dt.month().is_in([6, 7, 8])
    )
    hot, mild = daily.filter(pl.col("tmax_c") >= 31), daily.filter(pl.col("tmax_c") < 27)
    assert hot.height >= 3 and mild.height >= 10
    assert cast(float, hot["hydrant"].mean()) >= 2 * cast(float, mild["hydrant"].mean())
    # CHICAGO_FACTS: about 57 a day in summer, far fewer in winter.
    assert 35 <= cast(float, daily["hydrant"].mean()) <= 80
    winter = _daily(demo_year, hydrant=(pl.col("sr_type") == HYDRANT).sum()).filter(
        pl.col("day").dt.month().is_in([1, 2])
    )
    assert cast(float, winter["hydrant"].mean()) < 0.15 * cast(float, daily["hydrant"].mean())


def test_street_duplicates_surge_in_storm_windows(demo_year) -> None:
    daily = _daily(
        demo_year,
        street=(pl.col("sr_type") == STREET).sum(),
        street_dups=((pl.col("sr_type") == STREET) & pl.col("duplicate")).sum(),
    )
    storm = daily.filter(pl.col("rain_mm") >= P.STORM_WINDOW_MM)
    dry = daily.filter(pl.col("rain_mm") == 0)
    storm_share = cast(int, storm["street_dups"].sum()) / cast(int, storm["street"].sum())
    assert 0.20 <= storm_share <= 0.35
    assert cast(int, dry["street_dups"].sum()) / cast(int, dry["street"].sum()) < 0.6 * storm_share


def test_duplicates_point_to_an_earlier_first_report(demo_year) -> None:
    rows = demo_year.requests
    firsts = rows.filter(~pl.col("duplicate"))
    dups = rows.filter(pl.col("duplicate"))
    assert firsts["parent_sr_number"].is_null().all()
    assert dups["parent_sr_number"].is_not_null().all() and dups.height > 1000
    parents = firsts.select(
        pl.col("sr_number").alias("parent_sr_number"),
        parent_created="created",
        parent_type="sr_type",
        parent_lat=pl.col("latitude").cast(pl.Float64, strict=False),
    )
    # The window starts on DATA_START, so every parent is in it.
    linked = dups.join(parents, on="parent_sr_number", how="left")
    assert linked["parent_type"].is_not_null().all()
    assert (linked["parent_type"] == linked["sr_type"]).all()
    both = linked.drop_nulls(["created", "parent_created"])
    lag_h = (both["created"] - both["parent_created"]).dt.total_seconds() / 3600
    assert lag_h.is_between(0, P.DUPLICATE_DELAY_HOURS).all()
    assert lag_h.median() < 6  # most duplicates come while the street still floods
    # A duplicate is at its incident's place (a few metres away).
    moved_m = (both["parent_lat"] - both["latitude"].cast(pl.Float64, strict=False)).abs() * 111e3
    assert (moved_m.drop_nulls() < 50).mean() > 0.99
    # In a window that starts the day after a storm, some duplicates' first reports were filed
    # in the two days before it.
    storm = demo_year.weather.filter(pl.col("day") < date(2019, 12, 1)).sort("precip_mm")["day"][-1]
    start = storm + timedelta(days=1)
    window = demo_year.source.fetch_requests(start, start + timedelta(days=9), ALL_TYPES)
    orphans = window.filter(pl.col("duplicate")).join(
        window.select(pl.col("sr_number").alias("parent_sr_number")),
        on="parent_sr_number",
        how="anti",
    )
    assert orphans.height > 0
    filed = orphans.join(parents, on="parent_sr_number", how="left")["parent_created"].dt.date()
    assert filed.is_between(start - timedelta(days=2), start - timedelta(days=1)).all()


def test_reporting_noise(demo_year) -> None:
    rows = demo_year.requests
    no_coords = rows["latitude"].is_null()
    assert 0.001 <= no_coords.mean() <= 0.0035
    coordinate_columns = ["longitude", "x_coordinate", "y_coordinate", "location"]
    assert all((rows[c].is_null() == no_coords).all() for c in coordinate_columns)
    # Malformed: a latitude or a longitude that is not a number; dates are always well formed.
    for column in ("latitude", "longitude"):
        malformed = rows[column].drop_nulls().cast(pl.Float64, strict=False).is_null()
        assert 1 <= malformed.sum() <= 0.002 * rows.height, column
    assert rows["created"].is_null().sum() == 0
    # A few points per ten thousand fall outside the city; the rest land in a city cell.
    located = rows.with_columns(
        lat=pl.col("latitude").cast(pl.Float64, strict=False),
        lon=pl.col("longitude").cast(pl.Float64, strict=False),
    ).drop_nulls(["lat", "lon"])
    cells = [h3.latlng_to_cell(a, b, 9) for a, b in zip(located["lat"], located["lon"], strict=True)]
    outside = ~np.isin(np.array(cells), np.array(city_cells(9)))
    assert 1 <= outside.sum() <= 0.002 * located.height


def test_statuses_as_of_a_moment(demo_year) -> None:
    rows = demo_year.year_requests
    assert set(rows["status"]) <= {"Completed", "Canceled", "Open"}
    closed = rows.filter(pl.col("status") != "Open")
    closed_at = closed["closed_date"].str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%.3f")
    assert (closed_at >= closed["created"]).drop_nulls().all()
    canceled = (rows.filter(~pl.col("duplicate"))["status"] == "Canceled").mean()
    assert 0.01 <= canceled <= 0.06

    as_of = datetime(2019, 6, 15, 12, 0)
    early = parsed(
        DemoCitySource(as_of=as_of.isoformat()).fetch_requests(
            date(2019, 6, 1), date(2019, 6, 30), ALL_TYPES
        )
    )
    assert cast(datetime, early["created"].drop_nulls().max()) <= as_of
    still_open = early.filter(pl.col("status") == "Open")
    assert still_open["closed_date"].is_null().all() and still_open.height > 50
    assert early.filter(pl.col("status") != "Open")["closed_date"].is_not_null().all()
    # The same rows later on: identical but for status, closure and last update.
    later = demo_year.requests.join(early.select("sr_number"), on="sr_number", how="semi")
    stable = [c for c in early.columns if c not in ("status", "closed_date", "last_modified_date")]
    assert later.select(stable).equals(early.select(stable))
