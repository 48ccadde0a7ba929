"""A storm replayed through the live-client path: a local SODA server serving half a year of
ordinary flooding calls, then a storm week (3,200 calls on the storm day, hundreds a day after),
and a local Open-Meteo serving the weather and its archived forecasts. `chicago-risk materialize`
must go through predictions, cost, recommendations and publication without a block or a crash,
and the published risk layer must show the storm's cells.

At H3 resolution 8 (944 cells) with about 20 calls on a dry day, as Chicago's two flooding types
bring, an ordinary cell is in the low band; the storm falls on the south-west of the city.
"""

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import h3
import numpy as np
import polars as pl
import pytest

from chicago_risk.grid import city_cells
from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.fixtures.servers import FakeServer, Reply

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).with_name("chicago-risk")
RESOLUTION = 8
DATA_START = date(2024, 1, 1)
STORM = date(2024, 6, 24)  # a Monday: the week's model is trained at the storm's start
WINDOW_END = STORM + timedelta(days=6)
# The storm day and the week after it (CHICAGO_FACTS: 3,380 calls on 2010-07-24, tails of ~1,000).
STORM_CALLS = {0: 3_200, 1: 900, 2: 600, 3: 400, 4: 250, 5: 150, 6: 100}
TYPES = (("Water in Basement Complaint", "AAF"), ("Water On Street Complaint", "AAE"))


def storm_area(cells: tuple[str, ...]) -> list[str]:
    """The south-west of the city: cells south of 41.80 N and west of -87.68."""
    return [c for c in cells if h3.cell_to_latlng(c)[0] < 41.80 and h3.cell_to_latlng(c)[1] < -87.68]


def rain(day: date) -> float:
    """Dry most days; a wet day every 9 days, a heavier one every 27; 80 mm on the storm day."""
    if day == STORM:
        return 80.0
    offset = (day - DATA_START).days
    return 30.0 if offset % 27 == 13 else 8.0 if offset % 9 == 4 else 0.0


def calls_per_day(day: date) -> int:
    if STORM <= day <= WINDOW_END:
        return STORM_CALLS[(day - STORM).days]
    # CHICAGO_FACTS: ~20 on a dry day, more with rain; the day after a wet day keeps a tail.
    return int(20 * max(1.0 + rain(day) / 5, 1.0 + rain(day - timedelta(days=1)) / 15))


def requests(rng: np.random.Generator) -> dict[date, list[dict]]:
    """SODA rows per created day, to a week after the window: ordinary calls everywhere, wet and
    storm calls mostly in the area."""
    cells = city_cells(RESOLUTION)
    area = storm_area(cells)
    by_day: dict[date, list[dict]] = {}
    day = DATA_START
    while day <= WINDOW_END + timedelta(days=7):  # the live source goes on: the labels' week
        count = calls_per_day(day)
        in_area = rng.random(count) < (0.2 if rain(day) == 0 and day < STORM else 0.8)
        rows = []
        for i in range(count):
            lat, lon = h3.cell_to_latlng(
                area[rng.integers(len(area))] if in_area[i] else cells[rng.integers(len(cells))]
            )
            sr_type, code = TYPES[i % 2]
            rows.append({
                "sr_number": f"SR{day:%y%m%d}-{i:05d}", "sr_type": sr_type, "sr_short_code": code,
                "created_date": f"{day.isoformat()}T{rng.integers(24):02d}:{rng.integers(60):02d}:00.000",
                "status": "Completed", "owner_department": "DWM - Department of Water Management",
                "latitude": f"{lat + rng.normal(0, 0.001):.6f}", "longitude": f"{lon + rng.normal(0, 0.001):.6f}",
                "duplicate": False,
            })
        by_day[day] = rows
        day += timedelta(days=1)
    return by_day


WHERE = re.compile(r"created_date >= '(\d{4}-\d\d-\d\d)T00:00:00' AND created_date < '(\d{4}-\d\d-\d\d)T00:00:00'")


def serve_socrata(server: FakeServer, by_day: dict[date, list[dict]]) -> None:
    def page(params: dict[str, str]) -> Reply:
        window = WHERE.search(params["$where"])
        assert window is not None, params["$where"]
        first, after = (date.fromisoformat(d) for d in window.groups())
        rows = [row for day, day_rows in by_day.items() if first <= day < after for row in day_rows]
        offset, limit = int(params["$offset"]), int(params["$limit"])
        return Reply(body=rows[offset : offset + limit])

    server.routes["/resource/v6vf-nfxy.json"] = page


def serve_open_meteo(server: FakeServer) -> None:
    """The archive and the Historical Forecast API (same path as the forecast API: asked by dates)."""

    def daily(params: dict[str, str]) -> Reply:
        first, last = date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"])
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return Reply(body={"timezone": "America/Chicago", "daily": {
            "time": [d.isoformat() for d in days],
            "temperature_2m_min": [18.0 if d.month >= 5 else -3.0 for d in days],
            "temperature_2m_max": [29.0 if d.month >= 5 else 6.0 for d in days],
            "precipitation_sum": [rain(d) for d in days],
        }})

    server.routes["/v1/archive"] = server.routes["/v1/forecast"] = daily


@pytest.fixture(scope="module")
def stormy_city(tmp_path_factory):
    data = tmp_path_factory.mktemp("storm")
    with FakeServer() as server:
        serve_socrata(server, requests(np.random.default_rng(724)))
        serve_open_meteo(server)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CHICAGO_RISK_", "DAGSTER_"))},
            "CHICAGO_RISK_DATA_DIR": str(data),
            "DAGSTER_HOME": str(data / "dagster_home"),
            "CHICAGO_RISK_SOURCE": "socrata",
            "CHICAGO_RISK_SOCRATA_URL": server.url,
            "CHICAGO_RISK_OPEN_METEO_URL": server.url,
            "CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL": server.url,
            "CHICAGO_RISK_OPEN_METEO_HISTORICAL_FORECAST_URL": server.url,
            "CHICAGO_RISK_DATA_START": DATA_START.isoformat(),
            "CHICAGO_RISK_H3_RESOLUTION": str(RESOLUTION),
        }
        done = subprocess.run(
            [SCRIPT, "materialize", "--start", STORM.isoformat(), "--end", WINDOW_END.isoformat()],
            env=env, capture_output=True, text=True, timeout=1500,
        )
    return data, done


def test_the_storm_goes_through_to_publication_without_a_block(stormy_city):
    data, done = stormy_city

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "checks failed" not in done.stdout + done.stderr
    store = PublishedStore(str(data / "published"))
    week = [STORM + timedelta(days=i) for i in range(7)]
    for layer in ("risk_predictions", "cost_layer", "recommendation_schedule"):
        manifest = store.read_manifest(layer)
        assert manifest is not None and manifest.days() == week, layer


def test_the_published_risk_layer_is_medium_and_high_where_the_storm_hit(stormy_city):
    data, done = stormy_city
    assert done.returncode == 0

    after = PublishedStore(str(data / "published")).read_layer(
        "risk_predictions", STORM + timedelta(days=1), STORM + timedelta(days=1)
    )
    area = set(storm_area(city_cells(RESOLUTION)))
    in_area = after.filter(pl.col("h3_id").is_in(list(area)))
    elsewhere = after.filter(~pl.col("h3_id").is_in(list(area)))
    assert cast(float, in_area["risk_band"].is_in(["medium", "high"]).mean()) >= 0.9
    assert (in_area["risk_band"] == "high").any()
    assert cast(float, (elsewhere["risk_band"] == "low").mean()) > 0.5
