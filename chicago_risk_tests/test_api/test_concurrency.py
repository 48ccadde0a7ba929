"""While another process runs a single-run backfill of the map layers and their publication, a
client keeps requesting the layer routes: no 5xx, and every response is exactly one complete
published partition (the one its `partition` member names), never a mix of two publications."""

import subprocess
import sys
import time
from datetime import timedelta
from functools import cache
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.api import make_app
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, RESOLUTION

# (url, published layer, the property that identifies a feature, the filter the url applies)
LAYER_REQUESTS = [
    ("/api/layers/risk", "risk_predictions", "h3_id", None),
    ("/api/layers/risk?min_risk=0.1", "risk_predictions", "h3_id", pl.col("p_event_7d") >= 0.1),
    ("/api/layers/cost", "cost_layer", "h3_id", None),
    (f"/api/layers/cost?date={FIRST_DAY}", "cost_layer", "h3_id", None),
    ("/api/layers/recommendations", "recommendation_clusters", "rec_id", None),
    (f"/api/layers/recommendations?date={FIRST_DAY + timedelta(days=5)}", "recommendation_clusters", "rec_id", None),
]
BACKFILL_TIMEOUT_S = 180


def _generation(layer: str, features: list[dict]) -> set:
    """The stand-ins stamp each publication's rows with its generation."""
    if layer == "cost_layer":
        return {f["properties"]["leak_volume_m3_mean"] for f in features}
    if layer == "recommendation_clusters":
        return {f["properties"]["rec_id"].split("-")[0] for f in features}
    return set()


def test_layer_routes_serve_whole_partitions_while_a_backfill_republishes_them(small_city, tmp_path):
    root = small_city.copy_to(tmp_path)
    published = root / "published"

    @cache
    def expected_ids(layer: str, day: str, version: str, request_index: int) -> frozenset:
        file = next((published / layer / f"day={day}").glob(f"{version}-*.parquet"))  # the partition's content
        frame = pl.read_parquet(file)
        condition = LAYER_REQUESTS[request_index][3]
        return frozenset(
            (frame.filter(condition) if condition is not None else frame)[LAYER_REQUESTS[request_index][2]]
        )

    log = (tmp_path / "backfill.log").open("w")
    backfill = subprocess.Popen(
        [sys.executable, "-m", "chicago_risk_tests.test_publish.backfill_process", str(root), "2"],
        stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2],
    )
    statuses, during = [], 0
    generations: dict[str, list] = {"cost_layer": [], "recommendation_clusters": []}
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    with TestClient(make_app(str(published))) as client:
        after_exit = 0
        while after_exit < 3 and time.monotonic() < deadline:
            running = backfill.poll() is None
            after_exit += not running
            for index, (url, layer, key, _) in enumerate(LAYER_REQUESTS):
                response = client.get(url)
                statuses.append(response.status_code)
                assert response.status_code == 200, (url, response.text)
                body = response.json()
                features = body["features"]
                ids = [f["properties"][key] for f in features]
                assert len(ids) == len(set(ids)) == body["count"]
                assert frozenset(ids) == expected_ids(layer, body["date"], body["partition"], index), url
                generation = _generation(layer, features)
                assert len(generation) <= 1, f"{url} mixed publications {generation}"
                if generation:
                    generations[layer].append(next(iter(generation)))
                if layer != "recommendation_clusters" and "min_risk" not in url:
                    assert frozenset(ids) == frozenset(city_cells(RESOLUTION))
                during += running
            time.sleep(0.05)  # leave the backfill most of the CPU
    backfill.wait(timeout=30)
    log.close()
    assert backfill.returncode == 0, (tmp_path / "backfill.log").read_text()[-3000:]
    assert not [s for s in statuses if s >= 500]
    assert during > 50, "the client kept requesting while the backfill ran"
    # the republication was seen happening: first the old generation, then the new one only
    assert generations["cost_layer"][0] == 1.0 and generations["cost_layer"][-1] == 2.0
    assert generations["recommendation_clusters"][0] == "g1" and generations["recommendation_clusters"][-1] == "g2"
