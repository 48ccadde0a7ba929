"""The published store: one Delta commit per publication, partitions named by their content,
pinned versions, retention of superseded files, concurrent publishers, readers that never see
half a publication, empty days kept, and the S3 server."""

import multiprocessing  # spawn: a forked child of a process running polars threads can deadlock
import time
from concurrent.futures import ThreadPoolExecutor

import polars as pl
import pytest

from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.test_publish.writers import DAY, ROWS, frame, publish_days, republish


def test_a_partition_is_visible_only_once_committed_and_named_by_its_content(tmp_path):
    store = PublishedStore(str(tmp_path))
    written = store.write_partition("layer", DAY, frame(1), "layer@1")
    assert store.read_manifest("layer") is None, "written but not yet committed"
    manifest = store.commit("layer", [written], h3_resolution=9)
    entry = manifest.partitions[DAY]
    assert entry.rows == ROWS and (tmp_path / entry.path).is_file() and entry.path.startswith(f"layer/day={DAY}/")
    assert store.read_partition(entry).drop("day").equals(frame(1))
    assert (entry.source_version, manifest.h3_resolution) == ("layer@1", 9)
    again = store.publish("layer", [(DAY, frame(1))], 9, "layer@1").partitions[DAY]
    assert again.version == entry.version and again.path != entry.path, "same rows, same content id"
    assert store.publish("layer", [(DAY, frame(2))], 9, "layer@1").partitions[DAY].version != entry.version


def test_a_window_is_one_commit_and_a_day_without_rows_stays_published(tmp_path):
    store = PublishedStore(str(tmp_path))
    days = ["2024-05-13", "2024-05-14", "2024-05-15"]
    first = store.publish("layer", [(d, frame(1).head(3)) for d in days], 9, "v", facets=("h3_id",))
    second = store.publish("layer", [(days[1], frame(2).clear())], 9, "v")
    assert second.table_version == first.table_version + 1
    assert [e.rows for e in second.partitions.values()] == [3, 0, 3]
    assert store.read_partition(second.partitions[days[1]]).is_empty()
    assert first.partitions[days[0]].facets == {"h3_id": ["cell-0", "cell-1", "cell-2"]}


def test_a_reader_keeps_its_version_until_the_retention_ends(tmp_path):
    keeping = PublishedStore(str(tmp_path), retain_superseded_s=3600)
    first = keeping.publish("layer", [(DAY, frame(1))], 9, "v")
    keeping.publish("layer", [(DAY, frame(2))], 9, "v")
    assert keeping.read_partition(first.partitions[DAY])["generation"].unique().to_list() == [1], "pinned"
    assert keeping.read_layer("layer")["generation"].unique().to_list() == [2]
    expiring = PublishedStore(str(tmp_path), retain_superseded_s=0)
    third = expiring.publish("layer", [(DAY, frame(3))], 9, "v")
    assert not (tmp_path / first.partitions[DAY].path).exists(), "vacuumed once superseded for the retention"
    with pytest.raises(FileNotFoundError):
        expiring.read_partition(first.partitions[DAY])
    assert expiring.read_partition(third.partitions[DAY])["generation"].unique().to_list() == [3]


def test_concurrent_publishers_never_lose_each_others_partitions(tmp_path):
    days = [f"2024-05-{d:02d}" for d in range(1, 17)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(publish_days, [str(tmp_path)] * 2, [days[0::2], days[1::2]]))
    manifest = PublishedStore(str(tmp_path)).read_manifest("layer")
    assert manifest is not None and sorted(manifest.partitions) == days


def test_a_reader_racing_a_writer_always_reads_one_complete_partition(tmp_path):
    store = PublishedStore(str(tmp_path), retain_superseded_s=3600)
    store.publish("layer", [(DAY, frame(1))], 9, "v")
    writer = multiprocessing.get_context("spawn").Process(target=republish, args=(str(tmp_path), 30))
    writer.start()
    seen = set()
    deadline = time.monotonic() + 60
    while writer.is_alive() and time.monotonic() < deadline:
        manifest = store.read_manifest("layer")
        assert manifest is not None
        entry = manifest.partitions[DAY]
        partition = store.read_partition(entry)
        assert partition.height == entry.rows == ROWS
        assert partition["generation"].n_unique() == 1
        seen.add(partition["generation"][0])
    writer.join(10)
    assert writer.exitcode == 0
    assert len(seen) > 3, "the reader read while the writer republished"
    manifest = store.read_manifest("layer")
    assert manifest is not None and store.read_partition(manifest.partitions[DAY])["generation"][0] == 31


def test_layers_publish_to_the_s3_server_and_other_locations_are_refused(s3_server):
    url = f"s3://{s3_server.new_bucket()}/published"
    store = PublishedStore(url, object_store=s3_server.object_store())
    manifest = store.publish("layer", [(DAY, frame(1))], 9, "v")
    assert store.read_partition(manifest.partitions[DAY]).drop("day").equals(frame(1))
    assert store.storage.exists(manifest.partitions[DAY].path)
    assert store.manifest_stamp("layer") == manifest.table_version
    model = store.publish("model", [("current", pl.DataFrame({"model_id": ["m1"]}))], 9, "v")
    assert store.read_layer("model")["model_id"].to_list() == ["m1"] and model.days() == []
    with pytest.raises(
        ValueError, match="CHICAGO_RISK_PUBLISHED_URL='gs://bucket/published' is not a storage location"
    ):
        PublishedStore("gs://bucket/published")
