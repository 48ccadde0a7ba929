"""The layer routes against the contract: fields, RFC 7946 geometry, filters, errors, ETag, gzip."""

from datetime import timedelta
from typing import cast

import h3
import polars as pl
import pytest

from api.schemas import CostLayer, EventsLayer, RecommendationsLayer, RiskLayer
from chicago_risk.grid import city_cells
from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.fixtures.api import make_app
from chicago_risk_tests.fixtures.geojson import assert_feature_collection, assert_is_hexagon_of
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, LAST_DAY, RESOLUTION

RISK_FIELDS = {"h3_id", "p_event_7d", "risk_band", "confidence", "expected_events", "drivers"}
COST_FIELDS = {
    "h3_id", "expected_cost_usd_7d", "p90_cost", "cost_energy_usd_mean", "cost_water_usd_mean",
    "cost_repair_usd_mean", "leak_volume_m3_mean", "cost_quantile",
}
RECOMMENDATION_FIELDS = {
    "rec_id", "action_type", "delta_p_psi", "time_window", "expected_savings_usd", "expected_savings_usd_p90",
    "member_h3_ids", "rationale",
}
EVENT_FIELDS = {"sr_number", "created_date", "status", "type", "summary"}


def _published(small_city, layer: str, first=LAST_DAY, last=LAST_DAY) -> pl.DataFrame:
    return small_city.store().read_layer(layer, first, last)


def _geojson(client, url: str, model) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    model.model_validate(body)
    assert_feature_collection(body)
    return body


def test_risk_layer_is_every_city_cell_of_the_latest_day_as_published(client, small_city):
    body = _geojson(client, "/api/layers/risk", RiskLayer)
    published = _published(small_city, "risk_predictions")
    assert body["date"] == str(LAST_DAY) and body["layer"] == "risk"
    assert body["partition"] == small_city.store().read_manifest("risk_predictions").entry(LAST_DAY).version
    cells = [f["properties"]["h3_id"] for f in body["features"]]
    assert sorted(cells) == sorted(city_cells(RESOLUTION)) == sorted(published["h3_id"])
    assert all(set(f["properties"]) == RISK_FIELDS for f in body["features"])
    by_cell = {f["properties"]["h3_id"]: f for f in body["features"]}
    for row in published.iter_rows(named=True):
        shown = by_cell[row["h3_id"]]["properties"]
        assert shown["p_event_7d"] == pytest.approx(row["p_event_7d"], abs=5e-5)
        assert shown["confidence"] == pytest.approx(row["confidence"], abs=5e-4)
        assert shown["risk_band"] == row["risk_band"]
        assert [d["feature"] for d in shown["drivers"]] == [d["feature"] for d in row["drivers"]]
        assert_is_hexagon_of(by_cell[row["h3_id"]]["geometry"], row["h3_id"])
    explained = [f["properties"]["drivers"] for f in body["features"] if f["properties"]["drivers"]]
    assert explained, "the cells above the low band carry drivers"
    assert set(explained[0][0]) == {"feature", "value", "contribution", "label"} and explained[0][0]["label"]


def test_risk_layer_filters_by_min_risk_and_bbox(client, small_city):
    published = _published(small_city, "risk_predictions")
    threshold = float(cast(float, published["p_event_7d"].quantile(0.7)))
    body = _geojson(client, f"/api/layers/risk?min_risk={threshold}", RiskLayer)
    assert {f["properties"]["h3_id"] for f in body["features"]} == set(
        published.filter(pl.col("p_event_7d") >= threshold)["h3_id"]
    )
    centre = city_cells(RESOLUTION)[40]
    lat, lon = h3.cell_to_latlng(centre)
    box = (lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    body = _geojson(client, "/api/layers/risk?bbox=" + ",".join(map(str, box)), RiskLayer)

    def meets(cell: str) -> bool:
        lats, lons = zip(*h3.cell_to_boundary(cell), strict=True)
        return max(lons) >= box[0] and min(lons) <= box[2] and max(lats) >= box[1] and min(lats) <= box[3]

    assert {f["properties"]["h3_id"] for f in body["features"]} == {c for c in city_cells(RESOLUTION) if meets(c)}
    assert centre in {f["properties"]["h3_id"] for f in body["features"]}


def test_cost_layer_fields_and_cost_mode_filter(client, small_city):
    body = _geojson(client, f"/api/layers/cost?date={FIRST_DAY}", CostLayer)
    assert body["date"] == str(FIRST_DAY) and body["cost_mode"] == "total"
    assert all(set(f["properties"]) == COST_FIELDS for f in body["features"])
    assert len(body["features"]) == len(city_cells(RESOLUTION))
    published = _published(small_city, "cost_layer", FIRST_DAY, FIRST_DAY)
    floor = float(cast(float, published["cost_energy_usd_mean"].median()))
    body = _geojson(client, f"/api/layers/cost?date={FIRST_DAY}&cost_mode=energy&min_cost_usd={floor}", CostLayer)
    assert body["cost_field"] == "cost_energy_usd_mean"
    assert {f["properties"]["h3_id"] for f in body["features"]} == set(
        published.filter(pl.col("cost_energy_usd_mean") >= floor)["h3_id"]
    )


def test_recommendations_layer_is_one_outlined_feature_per_cluster(client, small_city):
    body = _geojson(client, "/api/layers/recommendations", RecommendationsLayer)
    published = _published(small_city, "recommendation_clusters")
    assert sorted(f["properties"]["rec_id"] for f in body["features"]) == sorted(published["rec_id"])
    assert all(set(f["properties"]) == RECOMMENDATION_FIELDS for f in body["features"])
    for feature in body["features"]:
        members = feature["properties"]["member_h3_ids"]
        centres = [h3.cell_to_latlng(c) for c in members]
        ring = feature["geometry"]["coordinates"][0]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        assert all(min(lons) <= lon <= max(lons) and min(lats) <= lat <= max(lats) for lat, lon in centres)
        assert isinstance(feature["properties"]["rationale"], list) and feature["properties"]["rationale"]
    kind = published["action_type"][0]
    body = _geojson(client, f"/api/layers/recommendations?action_type={kind}&min_savings_usd=500", RecommendationsLayer)
    expected = published.filter((pl.col("action_type") == kind) & (pl.col("expected_savings_usd") >= 500))
    assert sorted(f["properties"]["rec_id"] for f in body["features"]) == sorted(expected["rec_id"])


def test_events_layer_points_types_status_and_window(client, small_city):
    body = _geojson(client, "/api/layers/events", EventsLayer)
    first = LAST_DAY - timedelta(days=6)
    assert (body["start_date"], body["end_date"]) == (str(first), str(LAST_DAY))
    published = _published(small_city, "raw_311_requests", first, LAST_DAY)
    assert sorted(f["properties"]["sr_number"] for f in body["features"]) == sorted(published["sr_number"])
    assert all(EVENT_FIELDS <= set(f["properties"]) for f in body["features"])
    named = next(f for f in body["features"] if " at " in f["properties"]["summary"])
    assert named["properties"]["summary"].startswith(named["properties"]["type"])
    url = (
        f"/api/layers/events?start_date={FIRST_DAY}&end_date={FIRST_DAY + timedelta(days=2)}&types=WM3,AAE&status=open"
    )
    body = _geojson(client, url, EventsLayer)
    expected = _published(small_city, "raw_311_requests", FIRST_DAY, FIRST_DAY + timedelta(days=2)).filter(
        pl.col("sr_short_code").is_in(["WM3", "AAE"]) & (pl.col("status") == "Open")
    )
    assert sorted(f["properties"]["sr_number"] for f in body["features"]) == sorted(expected["sr_number"])
    assert {f["properties"]["type"] for f in body["features"]} <= {"Check for Leak", "Water On Street Complaint"}


def test_events_expose_no_personal_or_free_text_fields(client):
    body = client.get("/api/layers/events").json()
    assert set(body["features"][0]["properties"]) == {*EVENT_FIELDS, "closed_date", "h3_id", "duplicate"}


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/layers/risk?date=2024-02-30", "date"),
        ("/api/layers/risk?date=20240513", "date"),
        ("/api/layers/risk?min_risk=1.5", "min_risk"),
        ("/api/layers/risk?bbox=-87.7,41.8,-87.6", "bbox"),
        ("/api/layers/risk?bbox=-87.7,41.8,-87.6,41.9,", "bbox"),
        ("/api/layers/risk?bbox=-87.7,41.8,-87.6,4e1", "bbox"),
        ("/api/layers/risk?bbox=-87.7,41.8,-87.6,91", "bbox"),
        ("/api/layers/risk?bbox=-187.7,41.8,-87.6,41.9", "bbox"),
        ("/api/layers/risk?bbox=a,b,c,d", "bbox"),
        ("/api/layers/cost?cost_mode=gold", "cost_mode"),
        ("/api/layers/cost?min_cost_usd=-1", "min_cost_usd"),
        ("/api/layers/events?start_date=2024-05-32", "start_date"),
        ("/api/layers/events?types=NOPE", "types"),
        ("/api/layers/events?types=", "types"),
        ("/api/layers/events?status=maybe", "status"),
    ],
)
def test_malformed_input_is_a_422_naming_the_parameter(client, url, parameter):
    response = client.get(url)
    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [parameter]


def test_an_unknown_date_is_a_404_with_the_range_and_nearest_dates(client):
    for layer in ("risk", "cost", "recommendations", "risk/values", "cost/values"):
        response = client.get(f"/api/layers/{layer}?date={FIRST_DAY - timedelta(days=30)}")
        assert response.status_code == 404
        detail = response.json()["detail"]
        assert (detail["error"], detail["parameter"]) == ("unknown_date", "date")
        assert (detail["date_min"], detail["date_max"]) == (str(FIRST_DAY), str(LAST_DAY))
        assert detail["nearest_dates"] == [str(FIRST_DAY + timedelta(days=d)) for d in (0, 1, 2)]
    response = client.get("/api/layers/events?start_date=2020-01-01&end_date=2020-01-31")
    assert response.status_code == 404 and response.json()["detail"]["parameter"] == "start_date"


def test_a_day_not_yet_published_names_the_newest_and_latest_is_an_alias_of_it(client):
    today = LAST_DAY + timedelta(days=1)  # a map opened in the morning, before the night's layers
    for layer in ("risk", "cost", "recommendations", "risk/values", "cost/values"):
        response = client.get(f"/api/layers/{layer}?date={today}")
        assert response.status_code == 404
        detail = response.json()["detail"]
        assert (detail["error"], detail["parameter"], detail["date_max"]) == (
            "not_yet_published",
            "date",
            str(LAST_DAY),
        )
        assert f"the newest published day is {LAST_DAY}" in detail["message"] and "date=latest" in detail["message"]
        latest = client.get(f"/api/layers/{layer}?date=latest")
        assert latest.status_code == 200 and latest.json()["date"] == str(LAST_DAY)
    assert client.get("/api/meta").json()["latest_date"] == str(LAST_DAY)
    events = client.get(f"/api/layers/events?start_date={today}").json()["detail"]
    assert (events["error"], events["date_max"]) == ("not_yet_published", str(LAST_DAY))
    assert client.get("/api/layers/events?end_date=latest").json()["end_date"] == str(LAST_DAY)


@pytest.mark.parametrize(
    "url",
    [
        "/api/layers/events?start_date=9999-12-31", "/api/layers/events?end_date=0001-01-01",
        "/api/layers/events?start_date=0001-01-01", "/api/layers/events?end_date=9999-12-31",
        "/api/layers/risk?date=9999-12-31", "/api/cell/{cell}/history?end_date=0001-01-01&days=365",
        "/api/cell/{cell}?date=0001-01-01",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_404_not_500(client, url):
    response = client.get(url.format(cell=city_cells(RESOLUTION)[0]))
    assert response.status_code == 404, response.text
    assert response.json()["detail"]["error"] in ("unknown_date", "not_yet_published")


def test_event_windows_are_capped_and_a_reversed_one_holds_no_day(client):
    long = client.get(f"/api/layers/events?start_date=2023-01-01&end_date={LAST_DAY}").json()
    assert (long["start_date"], long["end_date"]) == (str(LAST_DAY - timedelta(days=89)), str(LAST_DAY))
    reversed_window = client.get(f"/api/layers/events?start_date={LAST_DAY}&end_date={FIRST_DAY}")
    assert reversed_window.status_code == 404 and reversed_window.json()["detail"]["error"] == "empty_window"


def test_a_box_spans_its_two_corners_in_either_order(client):
    ordered = client.get("/api/layers/risk?bbox=-87.7,41.8,-87.6,41.9").json()
    swapped = client.get("/api/layers/risk?bbox=-87.6,41.9,-87.7,41.8").json()
    assert ordered["count"] == swapped["count"] and ordered["features"] == swapped["features"]


def test_etag_if_none_match_and_gzip(client):
    plain = client.get("/api/layers/risk", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/api/layers/risk", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()
    assert zipped.num_bytes_downloaded < plain.num_bytes_downloaded / 3
    tag = plain.headers["etag"]
    assert zipped.headers["etag"] == tag and plain.headers["vary"] == "Accept-Encoding"
    again = client.get("/api/layers/risk", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert client.get("/api/layers/risk", headers={"If-None-Match": '"other"'}).status_code == 200
    filtered = client.get("/api/layers/risk?min_risk=0.3")
    assert filtered.headers["etag"] != tag
    assert client.get(f"/api/layers/risk?date={LAST_DAY}", headers={"If-None-Match": tag}).status_code == 304


def test_republishing_a_day_changes_its_etag_and_content(small_city, tmp_path):
    from fastapi.testclient import TestClient

    root = small_city.copy_to(tmp_path)
    store = PublishedStore(str(root / "published"))
    with TestClient(make_app(str(root / "published"))) as client:
        before = client.get("/api/layers/cost")
        frame = store.read_layer("cost_layer", LAST_DAY, LAST_DAY).with_columns(leak_volume_m3_mean=pl.lit(99.0))
        store.publish("cost_layer", [(str(LAST_DAY), frame)], RESOLUTION, "test")
        after = client.get("/api/layers/cost", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert {f["properties"]["leak_volume_m3_mean"] for f in after.json()["features"]} == {99.0}
