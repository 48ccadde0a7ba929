"""`/api/meta`, `/health`, `/ready`, `/metrics`, CORS and the static mount."""

import shutil

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas import Meta, Ready
from chicago_risk.config import LEAK_TYPES
from chicago_risk.config.serving import ServingSettings
from chicago_risk.grid import city_cells
from chicago_risk_tests.test_api.conftest import make_app
from chicago_risk_tests.test_publish.small_city import FIRST_DAY, LAST_DAY, RESOLUTION


def test_meta_describes_the_published_city(client, small_city):
    response = client.get("/api/meta")
    assert response.status_code == 200
    meta = Meta.model_validate(response.json())
    assert meta.city == "Chicago" and meta.grid.h3_resolution == RESOLUTION
    assert meta.grid.cells == len(city_cells(RESOLUTION))
    assert (meta.date_min, meta.date_max) == (FIRST_DAY, LAST_DAY)
    assert meta.horizons_days == [7]
    store = small_city.store()
    assert meta.risk_model_version == store.read_layer("model_registry")["model_id"][0]
    assert meta.pricing_model_version.startswith("cost_layer@")
    assert meta.recommendation_version.startswith("recommendation_clusters@")
    assert meta.leak_311_types == [t.sr_type for t in LEAK_TYPES]
    actions = set(store.read_layer("recommendation_clusters")["action_type"])
    assert set(meta.recommendation_action_types) == actions
    assert meta.last_refresh_utc is not None
    assert meta.layers["cost_layer"].partitions == 14 and meta.layers["raw_311_requests"].date_max == LAST_DAY


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = Ready.model_validate(ready.json())
    assert body.status == "ready" and all(layer.readable for layer in body.layers.values())
    assert set(body.layers) == {"risk_predictions", "cost_layer", "recommendation_clusters", "raw_311_requests"}


def test_nothing_published_is_not_ready_and_never_a_500(tmp_path):
    with TestClient(make_app(str(tmp_path / "empty"))) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        meta = client.get("/api/meta")
        assert meta.status_code == 200 and meta.json()["date_max"] is None
        for url in ("/api/layers/risk", "/api/layers/events", "/api/cell/872664190ffffff", "/api/recommendations/x"):
            response = client.get(url)
            assert response.status_code == 404 and response.json()["detail"]["error"] == "not_published", url


def test_ready_waits_for_every_map_layer(small_city, tmp_path):
    root = small_city.copy_to(tmp_path)
    shutil.rmtree(root / "published" / "cost_layer")
    with TestClient(make_app(str(root / "published"))) as client:
        ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["layers"]["cost_layer"] == {"published": False, "readable": False, "date_max": None}
    assert ready.json()["layers"]["risk_predictions"]["readable"] is True


def test_metrics_count_requests_latency_errors_caches_model_and_partitions(small_city):
    with TestClient(make_app(small_city.published_url)) as client:
        for _ in range(3):
            client.get("/api/layers/risk")
        client.get("/api/layers/risk?date=2001-01-01")
        text = client.get("/metrics").text
    model_id = small_city.store().read_layer("model_registry")["model_id"][0]
    risk_version = small_city.store().read_manifest("risk_predictions").entry(LAST_DAY).version
    for line in (
        'chicago_risk_api_requests_total{method="GET",route="/api/layers/risk",status="200"} 3.0',
        'chicago_risk_api_requests_total{method="GET",route="/api/layers/risk",status="404"} 1.0',
        'chicago_risk_api_errors_total{route="/api/layers/risk",status="404"} 1.0',
        'chicago_risk_api_request_duration_seconds_count{route="/api/layers/risk"} 4.0',
        'chicago_risk_api_cache_hits_total{cache="responses"} 2.0',
        'chicago_risk_api_cache_misses_total{cache="responses"} 1.0',
        f'chicago_risk_model_info{{model_id="{model_id}"}} 1.0',
        f'chicago_risk_published_partition_info{{layer="risk_predictions",partition_key="{LAST_DAY}",version="{risk_version}"}} 1.0',
        'chicago_risk_published_partitions{layer="cost_layer"} 14.0',
    ):
        assert line in text, line
    assert 'chicago_risk_api_request_duration_seconds_bucket{le="0.25",route="/api/layers/risk"}' in text


@pytest.mark.parametrize("origin, allowed", [("https://map.example.org", True), ("https://evil.example", False)])
def test_cors_follows_the_configured_origins(small_city, origin, allowed):
    app = make_app(small_city.published_url, cors_origins=("https://map.example.org",))
    with TestClient(app) as client:
        response = client.get("/api/meta", headers={"Origin": origin})
        preflight = client.options(
            "/api/v1/predict/flood",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-API-Key"},
        )
    assert (response.headers.get("access-control-allow-origin") == origin) == allowed
    assert (preflight.status_code == 200) == allowed


def test_a_static_folder_mounted_at_the_root_shadows_no_route(small_city, tmp_path):
    (tmp_path / "index.html").write_text("<h1>map</h1>")
    settings = ServingSettings(published_url=small_city.published_url, manifest_poll_s=0)
    with TestClient(create_app(settings, static_dir=tmp_path)) as client:
        assert client.get("/").text == "<h1>map</h1>"
        assert client.get("/api/meta").json()["city"] == "Chicago"
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/openapi.json").status_code == 200
