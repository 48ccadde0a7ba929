"""The demo city floods as Chicago does: rows of Water in Basement and Water On Street per day
against the day's own O'Hare rain (CHICAGO_FACTS, 2010-01 to 2016-09), storm days a hundred median
days, days of flooding after a storm, thaws that flood a snow-bound city's streets and break its
mains, uneven storms, and sewer types that surge with the flooding.

Twenty simulated years at H3 resolution 7: city-wide counts do not depend on the resolution (the
base rates are calibrated per resolution; `test_a_coarser_grid_is_the_same_city`), and twenty
years hold a few dozen days of 40 mm or more, enough for stable medians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import h3
import numpy as np
import polars as pl
import pytest

from chicago_risk.config import HEAVY_RAIN_MM, LEAK_TYPES, TYPE_GROUP_BY_SR_TYPE
from chicago_risk.demo_city import params as P
from chicago_risk.demo_city.weather import simulate_weather
from chicago_risk.ingest.volume import daily_volume, judge_volume, weather_multiplier
from chicago_risk.sources.demo_city import DemoCitySource

from .shared import ALL_TYPES, parsed

RESOLUTION = 7
FIRST_YEAR, LAST_YEAR = 2019, 2038
STREET, BASEMENT = "Water On Street Complaint", "Water in Basement Complaint"
SEWER_TYPES = (
    "Sewer Cleaning Inspection Request",
    "Sewer Cave-In Inspection Request",
    "Alley Sewer Inspection Request",
)
MAIN_TYPES = tuple(t for t, group in TYPE_GROUP_BY_SR_TYPE.items() if group == "main")
# CHICAGO_FACTS: median flooding rows per day by the day's own O'Hare rain, 2010-01 to 2016-09.
CHICAGO_MEDIANS = (
    (0.0, 0.1, 16), (0.1, 5.0, 22), (5.0, 15.0, 35), (15.0, 25.0, 103),
    (25.0, 40.0, 153), (40.0, 60.0, 397), (60.0, math.inf, 496),
)  # fmt: skip
DRY_MM = 1.0  # a dry day after a storm: less than this
# A thaw: warm rain on a snow-bound city (CHICAGO_FACTS: 29 mm on 2014-02-20).
RAIN_ON_SNOW = (pl.col("snowpack_mm") >= P.SNOW_COVER_MM) & (pl.col("rain_mm") >= 15)


@dataclass(frozen=True)
class Decades:
    source: DemoCitySource
    # Per day: the weather, the latent snowpack and rain, the rows of the two flooding types and
    # the rows of every type (`requests`).
    daily: pl.DataFrame

    @property
    def median_day(self) -> float:
        return cast(float, self.daily["flood"].median())

    def storms(self, n: int, daily: pl.DataFrame | None = None) -> pl.DataFrame:
        """The n rain storms (on a snow-free city) with the most flooding rows."""
        storm = (pl.col("precip_mm") >= HEAVY_RAIN_MM) & (pl.col("snowpack_mm") == 0)
        storms = (self.daily if daily is None else daily).filter(storm)
        return storms.sort("flood", descending=True).head(n)

    def window(self, day: date, days_before: int = 28) -> pl.DataFrame:
        """Every row of every type created on day and the days_before days before it."""
        return parsed(
            self.source.fetch_requests(day - timedelta(days=days_before), day, ALL_TYPES)
        )


def _daily_rows(source: DemoCitySource, year: int) -> pl.DataFrame:
    rows = parsed(source.fetch_requests(date(year, 1, 1), date(year, 12, 31), ALL_TYPES))
    return rows.drop_nulls("day").group_by("day").agg(
        street=(pl.col("sr_type") == STREET).sum(),
        basement=(pl.col("sr_type") == BASEMENT).sum(),
        requests=pl.len(),
    )


@pytest.fixture(scope="module")
def decades() -> Decades:
    source = DemoCitySource(h3_resolution=RESOLUTION, as_of="2060-01-01T00:00:00")
    # A year at a time: only per-day counts are kept.
    counts = pl.concat([_daily_rows(source, y) for y in range(FIRST_YEAR, LAST_YEAR + 1)])
    weather = simulate_weather(source.seed)
    latent = pl.DataFrame(
        {"day": weather.days, "snowpack_mm": weather.snowpack_mm, "rain_mm": weather.rain_mm}
    ).with_columns(pl.col("day").cast(pl.Date))
    daily = (
        source.fetch_weather(date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31))
        .join(latent, on="day")
        .join(counts, on="day", how="left")
        .with_columns(pl.col("street", "basement", "requests").fill_null(0))
        .with_columns(flood=pl.col("street") + pl.col("basement"))
        .sort("day")
    )
    return Decades(source, daily)


def test_flooding_medians_by_the_days_rain_are_chicagos(decades) -> None:
    for low, high, chicago in CHICAGO_MEDIANS:
        bucket = decades.daily.filter(pl.col("precip_mm").is_between(low, high, closed="left"))
        assert bucket.height >= 15, (low, high, bucket.height)
        median = bucket["flood"].median()
        assert abs(median / chicago - 1) <= 0.3, (low, high, median, chicago)


def test_the_worst_days_are_a_hundred_median_days(decades) -> None:
    flood, median = decades.daily["flood"], decades.median_day
    # CHICAGO_FACTS: median day 19, 99th percentile 516 (27x), the worst 3,380 (178x); the worst
    # days of 2000-16 brought 2,400-5,000.
    assert 15 <= flood.quantile(0.99) / median <= 45
    assert flood.max() >= 100 * median
    assert 2_000 <= flood.max() <= 6_000


def test_storms_leave_days_of_flooding_behind(decades) -> None:
    daily = decades.daily.with_columns(
        [pl.col(c).shift(-k).alias(f"{c}_{k}") for k in (1, 2, 3) for c in ("flood", "precip_mm")]
    )
    dry_after = pl.all_horizontal(pl.col(f"precip_mm_{k}") < DRY_MM for k in (1, 2, 3))
    storms = decades.storms(5, daily.filter(dry_after))
    assert storms.height == 5
    # CHICAGO_FACTS: the three dry days after 2010-07-24 (3,380) brought 940-1,020 a day, 28-30%
    # of the storm day and 50 median days; the incidents the storm itself excites and its late
    # duplicates alone would fade to a few % by the third day.
    for k in (1, 2, 3):
        after = storms[f"flood_{k}"]
        assert (after >= 5 * decades.median_day).all(), (k, after.to_list())
        assert (after >= 0.2 * storms["flood"]).all(), (k, after.to_list())
        assert (after < storms["flood"]).all(), (k, after.to_list())


def test_rain_on_snow_floods_the_streets_and_breaks_mains(decades) -> None:
    thaws = decades.daily.filter(RAIN_ON_SNOW).sort("rain_mm", descending=True)
    assert thaws.height >= 2
    snow_free = decades.daily.filter(pl.col("snowpack_mm") == 0)
    for day, rain, street in thaws.select("day", "rain_mm", "street").iter_rows():
        # Far more flooded streets than the same rain brings to a snow-free city...
        similar = snow_free.filter(pl.col("rain_mm").is_between(0.75 * rain, 1.25 * rain))
        assert street >= 3 * similar["street"].median(), (day, street)
    # ...and on the biggest thaw, like 2014-02-20 (29 mm, 1,181 Water On Street requests), a
    # flood of street calls and a burst of main breaks.
    day = thaws["day"][0]
    window = decades.window(day)
    per_day = window.group_by("day", "sr_type").len()
    before = per_day.filter(pl.col("day") < day).group_by("sr_type").agg(usual=pl.col("len").median())
    surge = (
        per_day.filter(pl.col("day") == day)
        .join(before, on="sr_type")
        .select("sr_type", surge=pl.col("len") / pl.col("usual"))
    )
    surge = dict(surge.iter_rows())
    assert surge[STREET] >= 50, surge
    assert all(surge[t] >= 3 for t in MAIN_TYPES), surge


def test_storm_days_stress_the_sewer_types(decades) -> None:
    usual = {t.sr_type: t.requests_per_year / 365.2425 for t in LEAK_TYPES}
    for day in decades.storms(5)["day"]:
        rows = decades.window(day, days_before=0).group_by("sr_type").len()
        surge = {t: n / usual[t] for t, n in rows.iter_rows()}
        for sewer in SEWER_TYPES:
            # They follow rain more weakly than basements (params.TypeModel.rain), but follow it.
            assert surge[sewer] >= 10, (day, sewer, surge[sewer])
            assert 0.3 <= surge[sewer] / surge[BASEMENT] <= 1.0, (day, sewer, surge)


def test_no_day_of_twenty_years_trips_the_raw_volume_check(decades) -> None:
    """`raw_311_requests` blocks a day beyond 20x what its weather explains (chicago_risk.ingest.
    volume): the city's storms, their tails and its thaws must pass it, as Chicago's do."""
    daily = decades.daily
    # The check counts rows; one row per request of the day.
    rows = daily.select(pl.col("day").repeat_by("requests").explode()).drop_nulls()
    first, last = daily["day"].min(), daily["day"].max()
    nothing_before = pl.DataFrame(schema={"day": pl.Date, "requests": pl.UInt32})
    judged = judge_volume(
        daily_volume(rows, nothing_before, first, last), weather_multiplier(daily, first, last)
    )
    implausible = judged.filter(pl.col("implausible").fill_null(False))
    assert implausible.is_empty(), implausible
    # Judged, not waved through: the storms had a baseline, and were spikes above it.
    storms = judged.join(decades.storms(10).select("day"), on="day")
    assert storms["implausible"].is_not_null().all(), storms
    assert (storms["requests"] >= 5 * storms["trailing_median"]).all(), storms


def _cell_counts(rows: pl.DataFrame) -> pl.DataFrame:
    located = rows.filter(~pl.col("duplicate")).select(
        lat=pl.col("latitude").cast(pl.Float64, strict=False),
        lon=pl.col("longitude").cast(pl.Float64, strict=False),
    ).drop_nulls()
    cells = [h3.latlng_to_cell(a, b, RESOLUTION) for a, b in located.iter_rows()]
    return pl.DataFrame({"h3_id": cells}, schema={"h3_id": pl.String}).group_by("h3_id").len()


def test_storms_are_uneven_and_each_hits_its_own_places(decades) -> None:
    """Incidents of a convective storm, per cell, against each cell's share on dry days: far more
    spread than an even storm's (Poisson: a dispersion index near 1), and where one storm hits
    hardest is not where another does."""
    weather = simulate_weather(decades.source.seed)
    convective = pl.DataFrame(
        {"day": weather.days, "convective": weather.convective}
    ).with_columns(pl.col("day").cast(pl.Date))
    storms = decades.storms(20).join(convective, on="day").filter("convective").head(2)
    assert storms.height == 2
    dry_days = decades.daily.filter(pl.col("precip_mm") == 0)["day"].implode()
    years = parsed(
        decades.source.fetch_requests(date(2019, 1, 1), date(2022, 12, 31), (STREET, BASEMENT))
    )
    usual = _cell_counts(years.filter(pl.col("day").is_in(dry_days))).select(
        "h3_id", share=pl.col("len") / pl.col("len").sum()
    )
    excess = []
    for day in storms["day"]:
        rows = parsed(decades.source.fetch_requests(day, day, (STREET, BASEMENT)))
        cells = usual.join(_cell_counts(rows), on="h3_id", how="left").fill_null(0)
        expected = cells["len"].sum() * cells["share"]
        dispersion = (((cells["len"] - expected) ** 2) / expected).sum() / (cells.height - 1)
        assert dispersion >= 3, (day, dispersion)
        excess.append(np.log(((cells["len"] + 1) / (expected + 1)).to_numpy()))
    assert np.corrcoef(*excess)[0, 1] < 0.5


def test_a_coarser_grid_is_the_same_city(decades, demo_year) -> None:
    """The tests above run at resolution 7; the product at 9. 2019 is the same city at both."""
    fine = demo_year.year_requests.filter(pl.col("sr_type").is_in([STREET, BASEMENT]))
    fine = demo_year.weather.join(fine.group_by("day").len(), on="day", how="left").fill_null(0)
    coarse = decades.daily.filter(pl.col("day").dt.year() == 2019)
    assert coarse["flood"].sum() == pytest.approx(fine["len"].sum(), rel=0.1)
    assert coarse["flood"].max() == pytest.approx(fine["len"].max(), rel=0.25)
    dry = pl.col("precip_mm") == 0
    assert coarse.filter(dry)["flood"].median() == pytest.approx(
        fine.filter(dry)["len"].median(), rel=0.2
    )
