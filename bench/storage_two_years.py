"""Two years of features and of the map layers into each warehouse storage: the DuckDB file, Delta
tables in a local folder, and Delta tables on an S3 server (moto's, started here on a free local
port). Per storage, in a fresh process: writing `cell_day_features`, `risk_predictions` and
`cost_layer` as one window each (as a single-run backfill does), then reading a month of features
back (what a weekly training reads first); wall time and peak memory.

The frames have the tables' shape (every city cell at resolution 9, every day, the layers'
column types, drivers as nested lists) with seeded random values, built once and shared by the
three runs through a Parquet file, so the storages write the same bytes.

    .venv/bin/python bench/storage_two_years.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _measure import measure

FIRST, LAST = date(2023, 1, 1), date(2024, 12, 30)  # 730 days
FEATURES = 25
TABLES = ("cell_day_features", "risk_predictions", "cost_layer")


def build_frames(folder: str) -> dict:
    """The three tables' frames, written to `folder` as Parquet (not measured against storages)."""
    import numpy as np
    import polars as pl

    from chicago_risk.grid import city_cells

    rng = np.random.default_rng(20190101)
    cells = pl.DataFrame({"h3_id": city_cells(9)})
    days = pl.DataFrame({"day": pl.date_range(FIRST, LAST, eager=True)})
    grid = days.join(cells, how="cross")
    n = grid.height
    features = grid.with_columns(
        [pl.Series(f"feature_{i:02d}", rng.standard_normal(n)) for i in range(FEATURES)]
    )
    p = pl.Series("p_event_7d", rng.beta(1, 30, n))
    driver = pl.struct(
        pl.lit("rain_3d_mm").alias("feature"), pl.col("p_event_7d").alias("value"),
        (pl.col("p_event_7d") * 2).alias("contribution"), pl.lit("heavy rain in the last 3 days").alias("label"),
    )
    risk = grid.with_columns(p).with_columns(
        risk_band=pl.when(pl.col("p_event_7d") >= 0.4).then(pl.lit("high")).otherwise(pl.lit("low")),
        expected_events=pl.col("p_event_7d") * 1.1,
        confidence=pl.lit("medium"),
        model_id=pl.lit("lightgbm-20241230"),
        drivers=pl.concat_list(driver, driver, driver),
    )
    cost = grid.with_columns(p).with_columns(
        [(pl.col("p_event_7d") * k).alias(name) for k, name in enumerate(
            ("expected_cost_usd_7d", "p90_cost", "cost_water_usd_mean", "cost_energy_usd_mean",
             "cost_repair_usd_mean", "leak_volume_m3_mean", "cost_quantile"), start=100)]
    )
    for name, frame in zip(TABLES, (features, risk, cost), strict=True):
        frame.write_parquet(Path(folder) / f"{name}.parquet")
    return {"rows": n}


def write_and_read(folder: str, storage: str, location: str, object_store: str) -> dict:
    """One storage's run: the three windows written, a month of features read back."""
    import time

    import polars as pl

    from chicago_risk.storage.object_store import ObjectStoreConfig
    from chicago_risk.storage.warehouse import WarehouseResource

    if storage == "duckdb":
        warehouse = WarehouseResource(path=location)
    else:
        warehouse = WarehouseResource(
            storage="delta", url=location, object_store=ObjectStoreConfig(**json.loads(object_store))
        )
    seconds = {}
    for name in TABLES:
        frame = pl.read_parquet(Path(folder) / f"{name}.parquet")
        began = time.perf_counter()
        warehouse.replace_partitions(name, frame, FIRST, LAST)
        seconds[name] = round(time.perf_counter() - began, 1)
        del frame
    began = time.perf_counter()
    month = warehouse.read_partitions("cell_day_features", LAST - timedelta(days=29), LAST)
    seconds["read_month"] = round(time.perf_counter() - began, 2)
    return {"write_seconds": seconds, "month_rows": month.height}


def main() -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    keys = {"access_key_id": "bench", "secret_access_key": "bench-secret", "region": "us-east-1"}
    boto3.client(
        "s3", endpoint_url=endpoint, region_name=keys["region"],
        aws_access_key_id=keys["access_key_id"], aws_secret_access_key=keys["secret_access_key"],
    ).create_bucket(Bucket="chicago-risk-bench")
    try:
        with tempfile.TemporaryDirectory() as folder:
            built = measure("storage_two_years", "build_frames", folder)
            print(f"{built['rows']:,} cell-days per table ({FIRST}..{LAST}), frames built in {built['seconds']:.1f} s")
            runs = {
                "duckdb file": ("duckdb", str(Path(folder) / "warehouse.duckdb"), "{}"),
                "delta, local folder": ("delta", str(Path(folder) / "delta"), "{}"),
                "delta, S3 (moto)": (
                    "delta",
                    "s3://chicago-risk-bench/warehouse",
                    json.dumps({"endpoint_url": endpoint, **keys}),
                ),
            }
            for label, (storage, location, object_store) in runs.items():
                done = measure(
                    "storage_two_years", "write_and_read", folder, storage, location, object_store,
                    preload=("chicago_risk.storage.warehouse",),
                )
                print(f"{label:22s} {done['seconds']:6.1f} s, peak {done['peak_mib']:6.0f} MiB  "
                      f"{done['write_seconds']}  (month read back: {done['month_rows']:,} rows)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
