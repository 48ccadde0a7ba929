"""`source_coverage`: the first and last day each source has data for, its degraded days, its gaps."""

from datetime import date, timedelta

import polars as pl

from chicago_risk.ingest.coverage import COVERAGE_SCHEMA, source_coverage
from chicago_risk.storage.warehouse import WarehouseResource

FIRST, LAST = date(2016, 1, 1), date(2016, 3, 31)


def coverage_table(statuses: dict[date, str], first=FIRST, last=LAST) -> pl.DataFrame:
    days = pl.date_range(first, last, eager=True).to_list()
    status = [statuses.get(day, "rows") for day in days]
    return pl.DataFrame(
        {"day": days, "requests": [20 if s == "rows" else 0 for s in status], "quarantined": [0] * len(days),
         "fetch_attempts": [1] * len(days), "status": status},
        schema=COVERAGE_SCHEMA,
    )


def test_an_empty_warehouse_covers_nothing(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    for source in ("raw_311_requests", "weather_daily"):
        coverage = source_coverage(warehouse, source)
        assert (coverage.first_day, coverage.last_day) == (None, None)
        assert coverage.clip(FIRST, LAST) is None


def test_311_coverage_starts_and_ends_with_data_and_reports_long_gaps_and_degraded_days(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    before = {date(2015, 12, 20) + timedelta(days=i): "quiet" for i in range(12)}  # ingested before the data starts
    gap = {date(2016, 2, 1) + timedelta(days=i): "quiet" for i in range(9)}
    short = {date(2016, 3, 1) + timedelta(days=i): "quiet" for i in range(6)}
    frame = coverage_table({**before, **gap, **short, date(2016, 3, 10): "empty"}, first=date(2015, 12, 20))
    warehouse.replace_partitions("raw_311_coverage", frame, date(2015, 12, 20), LAST)

    coverage = source_coverage(warehouse, "raw_311_requests")

    assert (coverage.first_day, coverage.last_day) == (FIRST, LAST)
    assert coverage.gaps == ((date(2016, 2, 1), date(2016, 2, 9)),)  # six quiet days are no gap
    assert coverage.degraded_days == (date(2016, 3, 10),)
    assert coverage.clip(date(2010, 1, 1), date(2016, 1, 10)) == (FIRST, date(2016, 1, 10))

