"""A reader pins the published layers while a backfill, in another process, republishes every
day of them with different content (generation 2, stamped in the rows): each pinned read sees
one whole publication, all days of one generation and each day's rows complete. 0 torn reads."""

import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from chicago_risk.publish.store import PublishedStore

LAYERS = {  # what stamps a publication's generation in each layer's rows
    "cost_layer": pl.col("leak_volume_m3_mean").cast(pl.String),
    "recommendation_clusters": pl.col("rec_id").str.split("-").list.first(),
}


def test_pinned_readers_never_see_a_torn_publication_while_a_backfill_rewrites_it(small_city, tmp_path):
    root = small_city.copy_to(tmp_path)
    store = PublishedStore(str(root / "published"), retain_superseded_s=3600)
    backfill = subprocess.Popen(
        [sys.executable, "-m", "chicago_risk_tests.test_publish.backfill_process", str(root), "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2],
    )
    reads, torn = 0, []
    generations: dict[str, list] = {layer: [] for layer in LAYERS}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        running = backfill.poll() is None
        for layer, generation in LAYERS.items():
            manifest = store.read_manifest(layer)  # one version, pinned for everything below
            assert manifest is not None, layer
            rows = PublishedStore.scan(manifest.partitions.values()).collect()
            per_day = dict(rows.group_by("day").len().iter_rows())
            complete = all(per_day.get(entry.day, 0) == entry.rows for entry in manifest.partitions.values())
            seen = set(rows.select(generation).to_series())
            if len(seen) != 1 or not complete:
                torn.append((layer, manifest.table_version, sorted(seen), complete))
            generations[layer].append(min(seen))
            reads += 1
        if not running:
            break
    assert backfill.wait(timeout=30) == 0, backfill.communicate()[1].decode()[-3000:]
    assert torn == [], f"{len(torn)} torn reads of {reads}"
    assert reads > 10
    # The rewrite was seen happening: the old publication first, then only the new one.
    assert generations["cost_layer"][0] == "1.0" and generations["cost_layer"][-1] == "2.0"
    assert generations["recommendation_clusters"][0] == "g1" and generations["recommendation_clusters"][-1] == "g2"
