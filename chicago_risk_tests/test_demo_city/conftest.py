"""One simulated demo year shared by the demo city's tests (simulated once per session)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from chicago_risk.sources.demo_city import DemoCitySource

from .shared import ALL_TYPES, YEAR_END, YEAR_START, DemoYear, parsed


@pytest.fixture(scope="session")
def demo_year() -> DemoYear:
    source = DemoCitySource(as_of="2021-01-01T00:00:00")
    requests = parsed(source.fetch_requests(YEAR_START, YEAR_END + timedelta(days=7), ALL_TYPES))
    weather = source.fetch_weather(YEAR_START, YEAR_END).with_columns(
        rain_mm=pl.max_horizontal("precip_mm", pl.col("precip_mm").shift(1))
    )
    truth = source.truth(YEAR_START, YEAR_END)
    return DemoYear(source, requests, weather, truth)
