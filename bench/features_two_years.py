"""Two years x all cells of `cell_day_features`: the Dagster asset against a bare polars script
that computes the same columns from the same raw table in one process.

    .venv/bin/python bench/features_two_years.py [--end 2026-10-31]

It first materializes the raw assets it needs (four years: two of features plus two of history)
into a temporary warehouse, then times each side in its own fresh process, both having imported
the same modules first (the code location and the instance's storages, as `make demo`'s
children have): the ratio is of the work, and the one-off import time is printed beside it.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _measure import measure, product_instance
from chicago_risk.backfill.execute import PRELOAD

YEARS_OF_FEATURES = 2


def _window(end: str) -> tuple[date, date]:
    last = date.fromisoformat(end)
    return last - timedelta(days=365 * YEARS_OF_FEATURES - 1), last


def prepare(end: str, folder: str) -> dict:
    from chicago_risk.backfill import materialize_window
    from chicago_risk.config import Settings
    from chicago_risk.definitions import build_definitions

    start, last = _window(end)
    materialize_window(
        build_definitions(Settings(data_dir=Path(folder))), start, last, product_instance(folder),
        select=["raw_311_requests", "raw_311_quarantine", "weather_daily", "feature_registry", "cell_day_features"],
        echo=lambda _: None,
    )
    return {}


def bare_polars(end: str, folder: str) -> dict:
    """Read the raw table, resolve incidents, build the features: no Dagster, no writes."""
    from chicago_risk.features.compute import build_cell_day_features
    from chicago_risk.features.incidents import resolve_incidents
    from chicago_risk.features.registry import HISTORY_DAYS, WEATHER_LOOKBACK_DAYS
    from chicago_risk.storage.warehouse import WarehouseResource

    start, last = _window(end)
    warehouse = WarehouseResource(path=f"{folder}/warehouse.duckdb")
    raw = warehouse.read_partitions("raw_311_requests", start - timedelta(days=HISTORY_DAYS - 1), last)
    weather = warehouse.read_partitions("weather_daily", start - timedelta(days=WEATHER_LOOKBACK_DAYS), last)
    features = build_cell_day_features(resolve_incidents(raw, raw.clear()), weather, 9, start, last)
    return {"rows": features.height}


def dagster_asset(end: str, folder: str) -> dict:
    """The asset as one single-run backfill through Dagster (load, compute, checks, write)."""
    from chicago_risk.backfill import materialize_window
    from chicago_risk.config import Settings
    from chicago_risk.definitions import build_definitions

    start, last = _window(end)
    # The same instance as `prepare`, so the history is known to be materialized.
    runs = materialize_window(
        build_definitions(Settings(data_dir=Path(folder))), start, last, product_instance(folder),
        select=["cell_day_features"], echo=lambda _: None,
    )
    return {"rows": runs[0].rows, "runs": len(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--end", default="2026-10-31")
    end = parser.parse_args().end
    with tempfile.TemporaryDirectory() as folder:
        measure("features_two_years", "prepare", end, folder)
        bare = measure("features_two_years", "bare_polars", end, folder, preload=PRELOAD)
        asset = measure("features_two_years", "dagster_asset", end, folder, preload=PRELOAD)
    start, last = _window(end)
    print(f"cell_day_features {start}..{last}: {bare['rows']:,} rows")
    print(f"bare polars : {bare['seconds']:6.1f} s wall, peak {bare['peak_mib']:,.0f} MiB")
    print(f"asset       : {asset['seconds']:6.1f} s wall, peak {asset['peak_mib']:,.0f} MiB ({asset['runs']} run)")
    print(f"asset / bare: {asset['seconds'] / bare['seconds']:.2f}x wall time (target <= 2x)")
    print(
        f"imports before the clock: {asset['import_seconds']:.1f} s (asset side),"
        f" {bare['import_seconds']:.1f} s (bare side)"
    )


if __name__ == "__main__":
    main()
