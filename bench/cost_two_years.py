"""Two years x all cells of `cost_layer`, `recommendation_clusters` and `recommendation_schedule`,
materialized through Dagster as one single-run backfill: wall time and peak memory, beside the
bare computation of the same frames.

    .venv/bin/python bench/cost_two_years.py [--data-dir DIR] [--end 2026-10-31]

With `--data-dir`, the warehouse there (copied to a temporary folder first, so it is not written)
must hold `risk_predictions` and `raw_311_requests`; the window is the last two years of
predictions. Without it, a warehouse is synthesised: three years of the demo city's raw 311 rows
(two years plus the year of history severity reads) and two years x every resolution-9 cell of
predictions derived from the demo's own truth.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _measure import measure, product_instance

DAYS = 730


def synthesise(folder: str, end: str) -> dict:
    """The demo warehouse of the bench's window."""
    from datetime import datetime

    from chicago_risk.config.cost import COST_SETTINGS
    from chicago_risk.cost.history import history_window
    from chicago_risk.storage.warehouse import WarehouseResource
    from chicago_risk_tests.fixtures import demo_inputs

    last = date.fromisoformat(end)
    first = last - timedelta(days=DAYS - 1)
    observed = datetime.combine(last + timedelta(days=1), datetime.min.time())
    raw = demo_inputs.raw_requests(history_window(first, last, COST_SETTINGS)[0], last, observed)
    predictions = demo_inputs.predictions(raw, first, last)
    warehouse = WarehouseResource(path=f"{folder}/warehouse.duckdb")
    warehouse.replace_table("raw_311_requests", raw)
    warehouse.replace_table("risk_predictions", predictions)
    return {"first": str(first), "last": str(last), "raw_rows": raw.height, "prediction_rows": predictions.height}


def prediction_window(folder: str) -> dict:
    """The last two years of risk_predictions in a given warehouse."""
    from chicago_risk.storage.warehouse import WarehouseResource

    warehouse = WarehouseResource(path=f"{folder}/warehouse.duckdb")
    first, last = warehouse.query('SELECT min("day") AS first, max("day") AS last FROM risk_predictions').row(0)
    first = max(first, last - timedelta(days=DAYS - 1))
    rows = warehouse.query('SELECT count(*) AS n FROM risk_predictions WHERE "day" BETWEEN ? AND ?', [first, last])
    return {"first": str(first), "last": str(last), "prediction_rows": int(rows["n"][0])}


def bare_compute(folder: str, first: str, last: str) -> dict:
    """The same three frames from the same tables in one process: no Dagster, no checks, no writes."""
    import h3
    import polars as pl

    from chicago_risk.config.cost import COST_SETTINGS
    from chicago_risk.cost.assets import load_predictions
    from chicago_risk.cost.costs import cost_layer_frame
    from chicago_risk.cost.history import first_reports, load_history, severity_as_of
    from chicago_risk.cost.pressure import recent_low_pressure
    from chicago_risk.cost.recommendations import build_recommendations
    from chicago_risk.cost.schedule import build_schedule
    from chicago_risk.cost.severity import cell_severity
    from chicago_risk.storage.warehouse import WarehouseResource

    warehouse = WarehouseResource(path=f"{folder}/warehouse.duckdb")
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    predictions = load_predictions(warehouse, start, end).with_columns(severity_as_of=severity_as_of(pl.col("day")))
    history = load_history(warehouse, start, end, COST_SETTINGS)
    keys = predictions.select(pl.col("severity_as_of").alias("as_of"), "h3_id")
    probabilities, _ = cell_severity(history, keys, COST_SETTINGS)
    low_pressure = recent_low_pressure(first_reports(history), predictions, COST_SETTINGS.pressure)
    costs = cost_layer_frame(predictions, probabilities, low_pressure, COST_SETTINGS)
    drivers = warehouse.query(
        'SELECT h3_id, "day" AS day, drivers FROM risk_predictions WHERE "day" BETWEEN ? AND ? AND p_event_7d >= ?',
        [start, end, COST_SETTINGS.clusters.min_p_event_7d],
    )
    resolution = h3.get_resolution(costs["h3_id"][0])
    clusters = build_recommendations(costs, drivers, resolution, COST_SETTINGS)
    schedule = build_schedule(clusters, COST_SETTINGS.schedule)
    return {"rows": costs.height + clusters.height + schedule.height}


def cost_assets(folder: str, first: str, last: str) -> dict:
    """The three cost assets over first..last in one Dagster run (load, compute, checks, write)."""
    import dagster as dg
    import h3

    from chicago_risk.cost.assets import COST_ASSETS
    from chicago_risk.partitions import partition_range_tags
    from chicago_risk.resources.city import CityGridResource
    from chicago_risk.storage.io_manager import WarehouseIOManager
    from chicago_risk.storage.warehouse import WarehouseResource

    warehouse = WarehouseResource(path=f"{folder}/warehouse.duckdb")
    resolution = h3.get_resolution(warehouse.query("SELECT h3_id FROM risk_predictions LIMIT 1")["h3_id"][0])
    resources = {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "city": CityGridResource(h3_resolution=resolution),
    }
    result = dg.materialize(
        COST_ASSETS, resources=resources, instance=product_instance(folder), tags=partition_range_tags(first, last),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    steps = {
        event.step_key: event.step_success_data.duration_ms / 1000
        for event in result.all_events if event.event_type_value == "STEP_SUCCESS"
    }
    rows = {
        table: int(warehouse.query(f"SELECT count(*) AS n FROM {table}")["n"][0])
        for table in ("cost_layer", "recommendation_clusters", "recommendation_schedule")
    }
    return {"success": result.success, "failed_checks": failed, "step_seconds": steps, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a data directory whose warehouse.duckdb has the inputs")
    parser.add_argument("--end", default="2026-10-31", help="last day of the synthesised window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.data_dir:
            shutil.copy(args.data_dir / "warehouse.duckdb", f"{folder}/warehouse.duckdb")
            inputs = measure("cost_two_years", "prediction_window", folder)
        else:
            inputs = measure("cost_two_years", "synthesise", folder, args.end)
            print(f"synthesised {inputs['raw_rows']:,} raw 311 rows and {inputs['prediction_rows']:,} predictions "
                  f"in {inputs['seconds']:.1f} s (peak {inputs['peak_mib']:,.0f} MiB)")
        bare = measure("cost_two_years", "bare_compute", folder, inputs["first"], inputs["last"])
        run = measure("cost_two_years", "cost_assets", folder, inputs["first"], inputs["last"])
    print(f"cost assets {inputs['first']}..{inputs['last']}: {inputs['prediction_rows']:,} cell-days")
    for table, rows in run["rows"].items():
        print(f"  {table:<24} {rows:>10,} rows")
    for step, seconds in run["step_seconds"].items():
        print(f"  {step:<24} {seconds:>8.1f} s")
    status = "all checks passed" if run["success"] and not run["failed_checks"] else f"FAILED {run['failed_checks']}"
    print(f"one run: {run['seconds']:.1f} s wall, peak {run['peak_mib']:,.0f} MiB; {status}")
    print(
        f"bare compute (no Dagster, checks or writes): {bare['seconds']:.1f} s wall, peak {bare['peak_mib']:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
