"""`/api/meta`, `/api/city`, `/health`, `/ready`, `/metrics`, CORS and the static mount."""

import shutil
from datetime import timedelta

import h3
import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas import CityOutline, DateRun, Meta, Ready
from chicago_risk.config import LEAK_TYPES, MODEL_SETTINGS
from chicago_risk.config.serving import ServingSettings
from chicago_risk.cost.pressure import ACTION_TYPES
from chicago_risk.grid import city_cells, city_limits_geojson
from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.fixtures.api import make_app
from chicago_risk_tests.fixtures.geojson import assert_geometry, signed_area
from chicago_risk_tests.fixtures.published import published_without
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, LAST_DAY, RESOLUTION


def test_meta_describes_the_published_city(client, small_city):
    response = client.get("/api/meta")
    assert response.status_code == 200
    meta = Meta.model_validate(response.json())
    assert meta.city == "Chicago" and meta.grid.h3_resolution == RESOLUTION
    assert meta.grid.cells == len(city_cells(RESOLUTION))
    assert (meta.date_min, meta.date_max) == (FIRST_DAY, LAST_DAY)
    assert meta.horizons_days == [7]
    store = small_city.store()
    champion = store.read_layer("model_registry")["model_id"][0]
    assert meta.risk_model_version == champion
    assert meta.models is not None
    assert meta.models.model_dump() == {
        "week": LAST_DAY - timedelta(days=6),
        "champion": {"model_id": champion, "cutoff": FIRST_DAY, "since": FIRST_DAY, "pinned": False, "set_by": "rule"},
        "challenger": None, "decision": "no_challenger", "reason": "the champion is the newest fit", "shadow": None,
    }
    assert (meta.pricing_model_version or "").startswith("cost_layer@")
    assert (meta.recommendation_version or "").startswith("recommendation_clusters@")
    assert meta.leak_311_types == [t.sr_type for t in LEAK_TYPES]
    assert meta.last_refresh_utc is not None
    assert meta.layers["cost_layer"].partitions == 14 and meta.layers["raw_311_requests"].date_max == LAST_DAY
    # Every map layer publishes the same 14 days: one run.
    assert meta.published_dates == [DateRun(first=FIRST_DAY, last=LAST_DAY)]
    assert meta.city_outline_path == "/api/city"
    assert meta.degraded_days == []  # every input day was observed


def test_meta_names_the_days_whose_inputs_were_filled_or_missing(small_city, tmp_path):
    """A day whose weather the product filled and a day the 311 source left empty are named, with
    why, as the ingest recorded them (`weather_daily.filled_by`, `raw_311_coverage.status`)."""
    shutil.copytree(small_city.root / "published", tmp_path / "published")
    store = PublishedStore(str(tmp_path / "published"))
    filled, empty = FIRST_DAY + timedelta(days=2), FIRST_DAY + timedelta(days=5)
    for layer, day, change in (
        ("weather_daily", filled, pl.lit("interpolated").alias("filled_by")),
        ("raw_311_coverage", empty, pl.lit("empty").alias("status")),
    ):
        rows = store.read_layer(layer, day, day).with_columns(change)
        store.publish(layer, [(day.isoformat(), rows)], RESOLUTION, "test")
    with TestClient(make_app(str(tmp_path / "published"))) as client:
        meta = Meta.model_validate(client.get("/api/meta").json())
    assert [(d.date, d.reasons) for d in meta.degraded_days] == [
        (filled, ["weather filled (interpolated): the source lacked the day"]),
        (empty, ["the 311 source returned no requests after retries"]),
    ]


def test_meta_lists_the_configured_actions_first_then_any_other_published(client, small_city):
    meta = Meta.model_validate(client.get("/api/meta").json())
    published = set(small_city.store().read_layer("recommendation_clusters")["action_type"])
    # The small city's stand-in clusters publish actions of their own, none of the configured ones:
    # both kinds must be listed, the configured ones first and in their order (the page colours by it).
    assert published and not published & set(ACTION_TYPES)
    assert meta.recommendation_action_types == [*ACTION_TYPES, *sorted(published)]


def test_meta_risk_bands_are_the_thresholds_the_risk_layer_was_banded_with(client, small_city):
    bands = Meta.model_validate(client.get("/api/meta").json()).risk_bands
    assert (bands.medium_from, bands.high_from) == (MODEL_SETTINGS.bands.medium_from, MODEL_SETTINGS.bands.high_from)
    risk = small_city.store().read_layer("risk_predictions")
    expected = (
        pl.when(pl.col("p_event_7d") >= bands.high_from).then(pl.lit("high"))
        .when(pl.col("p_event_7d") >= bands.medium_from).then(pl.lit("medium")).otherwise(pl.lit("low"))
    )
    assert set(risk["risk_band"]) == {"low", "medium", "high"}, "every band occurs, so each threshold is tested"
    assert risk.filter(pl.col("risk_band") != expected).height == 0


def test_published_dates_are_runs_of_the_days_every_map_layer_has(small_city, tmp_path):
    # The cost run failed on one day, the 311 extract on the next: neither day has every layer.
    gap = FIRST_DAY + timedelta(days=5)
    url = published_without(small_city, tmp_path / "published", {
        "cost_layer": [gap], "raw_311_requests": [gap + timedelta(days=1)],
    })
    with TestClient(make_app(url)) as client:
        meta = Meta.model_validate(client.get("/api/meta").json())
    assert meta.published_dates == [
        DateRun(first=FIRST_DAY, last=gap - timedelta(days=1)), DateRun(first=gap + timedelta(days=2), last=LAST_DAY)
    ]
    assert (meta.date_min, meta.date_max) == (FIRST_DAY, LAST_DAY), "date_min and date_max stay the risk layer's"


def test_city_outline_is_rfc7946_geojson_with_its_source_and_attribution(client):
    response = client.get("/api/city")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    CityOutline.model_validate(body)
    assert body["type"] == "FeatureCollection" and "crs" not in body
    (feature,) = body["features"]
    assert_geometry(feature["geometry"])  # closed, [lon, lat], exterior counter-clockwise, holes clockwise
    source = city_limits_geojson()["features"][0]
    # The same rings as the grid's file (which runs the other way round), to the same precision.
    served, original = feature["geometry"]["coordinates"], source["geometry"]["coordinates"]
    assert len(served) == len(original) == 4
    for ring, source_ring in zip(served, original, strict=True):
        assert ring in (source_ring, source_ring[::-1])
    assert signed_area(original[0]) < 0, "the source's exterior is clockwise: the route must turn it"
    properties = feature["properties"]
    assert properties["source"] == source["properties"]["source"] and properties["name"] == source["properties"]["name"]
    assert "City of Chicago" in properties["attribution"] and "Chicago Data Portal" in properties["attribution"]
    # The grid is the cells that overlap this outline.
    outer, *holes = ([(lat, lon) for lon, lat in ring] for ring in served)
    overlapping = h3.h3shape_to_cells_experimental(h3.LatLngPoly(outer, *holes), RESOLUTION, contain="overlap")
    assert sorted(overlapping) == sorted(city_cells(RESOLUTION))


def test_city_outline_answers_304_to_its_etag_and_is_gzipped_when_asked(client):
    plain = client.get("/api/city", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/api/city", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json() and zipped.num_bytes_downloaded < plain.num_bytes_downloaded / 2
    tag = plain.headers["etag"]
    assert tag.startswith('W/"') and zipped.headers["etag"] == tag and plain.headers["vary"] == "Accept-Encoding"
    again = client.get("/api/city", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert client.get("/api/city", headers={"If-None-Match": '"other"'}).status_code == 200


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
        # What comes from the settings is there before anything is published, the outline too.
        assert meta.json()["published_dates"] == [] and meta.json()["recommendation_action_types"] == list(ACTION_TYPES)
        assert meta.json()["risk_bands"] == {
            "medium_from": MODEL_SETTINGS.bands.medium_from,
            "high_from": MODEL_SETTINGS.bands.high_from,
        }
        assert client.get(meta.json()["city_outline_path"]).json()["features"][0]["properties"]["attribution"]
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
        f'chicago_risk_model_alias_info{{alias="champion",model_id="{model_id}"}} 1.0',
        'chicago_risk_model_champion_pinned 0.0',
        f'chicago_risk_published_partition_info{{layer="risk_predictions",partition_key="{LAST_DAY}",'
        f'version="{risk_version}"}} 1.0',
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
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "X-API-Key",
            },
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
