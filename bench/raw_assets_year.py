"""A demo year of both raw assets as one Dagster run: wall time, peak memory, and Dagster's
overhead as a share of the run, against the same work done by plain function calls.

    .venv/bin/python bench/raw_assets_year.py [--year 2024]

Each side runs in its own fresh process after importing the same modules (the code location and
the instance's storages); the import time is printed apart.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _measure import measure, product_instance
from chicago_risk.backfill.execute import PRELOAD

RAW = ["raw_311_requests", "raw_311_quarantine", "weather_daily"]


def plain_calls(year: int, folder: str) -> dict:
    """Fetch, normalise and store a year without Dagster."""
    import polars as pl

    from chicago_risk.config import LEAK_TYPES
    from chicago_risk.ingest.normalise import normalise_requests
    from chicago_risk.ingest.weather import derive_stressors
    from chicago_risk.sources.demo_city import DemoCitySource
    from chicago_risk.storage.warehouse import WarehouseResource

    start, end = date(year, 1, 1), date(year, 12, 31)
    city = DemoCitySource()
    fetched = city.fetch_requests(start, end, tuple(t.sr_type for t in LEAK_TYPES))
    accepted, quarantined = normalise_requests(fetched, start, end, 9)
    weather = derive_stressors(city.fetch_weather(start - timedelta(days=1), end))
    warehouse = WarehouseResource(path=f"{folder}/plain.duckdb")
    warehouse.replace_partitions("raw_311_requests", accepted, start, end)
    warehouse.replace_partitions("raw_311_quarantine", quarantined, start, end)
    warehouse.replace_partitions("weather_daily", weather.filter(pl.col("day") >= start), start, end)
    return {"rows": accepted.height}


def dagster_run(year: int, folder: str) -> dict:
    from chicago_risk.backfill import materialize_window
    from chicago_risk.config import Settings
    from chicago_risk.definitions import build_definitions

    data = Path(folder) / "dagster"
    runs = materialize_window(
        build_definitions(Settings(data_dir=data)), date(year, 1, 1), date(year, 12, 31),
        product_instance(str(data)), select=RAW, echo=lambda _: None,
    )
    return {"runs": len(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--year", type=int, default=2024)
    year = parser.parse_args().year
    with tempfile.TemporaryDirectory() as folder:
        plain = measure("raw_assets_year", "plain_calls", year, folder, preload=PRELOAD)
        run = measure("raw_assets_year", "dagster_run", year, folder, preload=PRELOAD)
    overhead = (run["seconds"] - plain["seconds"]) / run["seconds"]
    print(f"demo year {year}: {plain['rows']:,} accepted requests and 365 days of weather")
    print(f"plain calls : {plain['seconds']:6.1f} s wall, peak {plain['peak_mib']:,.0f} MiB")
    print(f"dagster     : {run['seconds']:6.1f} s wall, peak {run['peak_mib']:,.0f} MiB "
          f"({run['runs']} single-run backfills)")
    print(f"dagster overhead: {overhead:.0%} of the run's wall time")
    print(f"imports before the clock (both sides): {run['import_seconds']:.1f} s")


if __name__ == "__main__":
    main()
