"""The published store: content-addressed partitions, atomic manifests, retention of replaced
files, serialised writers, and readers that never see half a publication."""

import multiprocessing  # spawn: a forked child of a process running polars threads can deadlock
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chicago_risk.publish.store import Manifest, PublishedStore
from chicago_risk.publish.storage import open_storage
from chicago_risk_tests.test_publish.writers import DAY, ROWS, frame, publish_days, republish


def test_a_partition_is_visible_only_once_committed_and_named_by_its_content(tmp_path):
    store = PublishedStore(str(tmp_path))
    entry = store.write_partition("layer", DAY, frame(1), "layer@1")
    assert store.read_manifest("layer") is None, "written but not yet listed"
    assert entry.path == f"layer/{DAY}/{entry.sha256[:16]}.parquet" and (tmp_path / entry.path).is_file()
    manifest = store.commit("layer", [entry], h3_resolution=9)
    assert store.read_manifest("layer") == manifest and manifest.entry(DAY) == entry
    assert store.read_partition(entry).equals(frame(1))
    again = store.write_partition("layer", DAY, frame(1), "layer@1")
    assert again.path == entry.path and again.sha256 == entry.sha256
    assert len(list((tmp_path / "layer" / DAY).glob("*.parquet"))) == 1


def test_a_replaced_file_stays_for_the_retention_then_goes(tmp_path):
    keeping = PublishedStore(str(tmp_path), retain_superseded_s=3600)
    first = keeping.publish("layer", [(DAY, frame(1))], 9, "v").entry(DAY)
    second = keeping.publish("layer", [(DAY, frame(2))], 9, "v")
    assert second.entry(DAY).path != first.path and first.path in second.superseded
    assert (tmp_path / first.path).is_file(), "a reader holding the first manifest still finds its file"
    expiring = PublishedStore(str(tmp_path), retain_superseded_s=0)
    third = expiring.publish("layer", [(DAY, frame(3))], 9, "v")
    assert not (tmp_path / first.path).exists() and not (tmp_path / second.entry(DAY).path).exists()
    assert third.superseded == {} and expiring.read_manifest("layer").superseded == {}
    assert expiring.read_partition(third.entry(DAY))["generation"].unique().to_list() == [3]


def test_concurrent_writers_never_lose_each_others_partitions(tmp_path):
    days = [f"2024-05-{d:02d}" for d in range(1, 17)]
    # Threads: each opens the lock file itself, and flock excludes across open files as across
    # processes (the reader test below uses a second process).
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(publish_days, [str(tmp_path)] * 2, [days[0::2], days[1::2]]))
    assert sorted(PublishedStore(str(tmp_path)).read_manifest("layer").partitions) == days


def test_a_reader_racing_a_writer_always_reads_one_complete_partition(tmp_path):
    store = PublishedStore(str(tmp_path))
    store.publish("layer", [(DAY, frame(1))], 9, "v")
    writer = multiprocessing.get_context("spawn").Process(target=republish, args=(str(tmp_path), 30))
    writer.start()
    seen = set()
    deadline = time.monotonic() + 60
    while writer.is_alive() and time.monotonic() < deadline:
        entry = store.read_manifest("layer").entry(DAY)
        partition = store.read_partition(entry)
        assert partition.height == entry.rows == ROWS
        assert partition["generation"].n_unique() == 1
        seen.add(partition["generation"][0])
    writer.join(10)
    assert writer.exitcode == 0
    assert len(seen) > 3, "the reader read while the writer republished"
    assert store.read_partition(store.read_manifest("layer").entry(DAY))["generation"][0] == 31


def test_locations_are_configuration(tmp_path):
    assert open_storage(f"file://{tmp_path}").uri("a/b.parquet") == str(tmp_path / "a" / "b.parquet")
    with pytest.raises(ValueError, match="CHICAGO_RISK_PUBLISHED_URL"):
        open_storage("s3://bucket/published")


def test_a_manifest_of_another_format_is_refused(tmp_path):
    store = PublishedStore(str(tmp_path))
    store.publish("layer", [(DAY, frame(1).head(1))], 9, "v")
    text = (tmp_path / "layer" / "manifest.json").read_text().replace('"format": 1', '"format": 99')
    with pytest.raises(ValueError, match="republish"):
        Manifest.from_json(text.encode())
