"""Where chicago-risk's data lives.

- `warehouse`: `WarehouseResource`, what every asset writes and reads, over one of two storages:
  `duckdb_file` (the embedded `warehouse.duckdb`, one writer under `locks`) or `delta_warehouse`
  (Delta tables in a folder or S3, for more than one machine).
- `io_manager`: `WarehouseIOManager`, which replaces exactly a run's partition window.
- `object_store`: locations (folder or `s3://`) and how delta-rs reaches them; `delta_tables`:
  what the Delta warehouse and the published store (`chicago_risk.publish.store`) share.
- `resources`: the storage resources a `Settings` configures.
"""
