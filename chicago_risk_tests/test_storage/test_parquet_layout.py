"""The Parquet warehouse on disk: content-addressed partitions behind a manifest, reads of exactly
the listed files, replaced files kept for readers then removed, object storage refused clearly."""

import json
from datetime import date

import polars as pl
import pytest

from chicago_risk.resources.parquet_warehouse import TableManifest
from chicago_risk.resources.storage import UnsupportedStorageURL
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.test_storage.test_warehouse import JAN, frame


def parquet(folder, **config) -> WarehouseResource:
    return WarehouseResource(storage="parquet", url=str(folder), **config)


def test_each_day_is_one_file_named_by_its_content_behind_the_manifest(tmp_path):
    warehouse = parquet(tmp_path)
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    manifest = TableManifest.from_json((tmp_path / "t" / "manifest.json").read_bytes())
    assert manifest.partition_column == "day" and sorted(manifest.partitions) == [d.isoformat() for d in JAN]
    entry = manifest.partitions["2024-01-02"]
    assert entry.path == f"t/2024-01-02/{entry.sha256[:16]}.parquet" and entry.rows == 1
    assert (tmp_path / manifest.schema_path).is_file() and manifest.schema_path.startswith("t/_schema/")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet"))
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])  # same rows: same files
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet")) == before


def test_a_query_reads_exactly_the_files_the_manifest_lists(tmp_path):
    warehouse = parquet(tmp_path)
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    # A file a killed writer left behind, not listed: invisible.
    stray = tmp_path / "t" / "2024-01-02" / "0123456789abcdef.parquet"
    frame(JAN[1:2] * 5, 9.0).write_parquet(stray)
    assert warehouse.query("SELECT count(*) AS n, max(value) AS top FROM t").rows() == [(3, 1.0)]
    assert warehouse.read_partitions("t", JAN[1], JAN[1]).height == 1


def test_a_replaced_file_stays_for_readers_of_the_old_manifest_then_goes(tmp_path):
    keeping = parquet(tmp_path, retain_superseded_s=3600)
    keeping.replace_partitions("t", frame(JAN[:1], 1.0), JAN[0], JAN[0])
    old = json.loads((tmp_path / "t" / "manifest.json").read_text())["partitions"]["2024-01-01"]["path"]
    keeping.replace_partitions("t", frame(JAN[:1], 2.0), JAN[0], JAN[0])
    manifest = TableManifest.from_json((tmp_path / "t" / "manifest.json").read_bytes())
    assert old in manifest.superseded and (tmp_path / old).is_file()
    parquet(tmp_path, retain_superseded_s=0).replace_partitions("t", frame(JAN[1:2], 3.0), JAN[1], JAN[1])
    assert not (tmp_path / old).exists()
    assert keeping.read_table("t").sort("day")["value"].to_list() == [2.0, 3.0]


def test_object_storage_is_refused_saying_where_it_would_plug_in(tmp_path):
    warehouse = WarehouseResource(storage="parquet", url="s3://city-bucket/warehouse")
    with pytest.raises(UnsupportedStorageURL, match=r"not implemented here.*open_storage\(\) in chicago_risk/resources/storage.py"):
        warehouse.table_exists("t")
    with pytest.raises(UnsupportedStorageURL, match="CHICAGO_RISK_STORAGE_URL"):
        WarehouseResource(storage="parquet", url="gs://city-bucket/warehouse").read_table("t")
    file_url = WarehouseResource(storage="parquet", url=f"file://{tmp_path}")
    file_url.replace_table("t", frame(JAN, 1.0))
    assert (tmp_path / "t" / "manifest.json").is_file() and file_url.read_table("t").height == 3


def test_a_manifest_of_another_format_is_refused(tmp_path):
    warehouse = parquet(tmp_path)
    warehouse.replace_table("t", frame(JAN, 1.0))
    path = tmp_path / "t" / "manifest.json"
    path.write_text(path.read_text().replace('"format": 1', '"format": 99'))
    with pytest.raises(ValueError, match="re-materialize"):
        warehouse.read_table("t")


def test_partition_columns_must_be_dates(tmp_path):
    with pytest.raises(TypeError, match="not Date"):
        parquet(tmp_path).replace_partitions(
            "t", frame(JAN, 1.0).with_columns(pl.col("day").cast(pl.Datetime)), date(2024, 1, 1), date(2024, 1, 3)
        )
