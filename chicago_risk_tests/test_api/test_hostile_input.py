"""What a new user or a fuzzer tried by hand: non-finite numbers, huge values, bodies sent
without a key, the static page answering API paths. Each is a clear 4xx, never a 500."""

import json

import pytest
from fastapi.testclient import TestClient

from api.app import STATIC_DIR, create_app
from chicago_risk.config.serving import ServingSettings
from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.api import API_KEY
from chicago_risk_tests.fixtures.small_city import LAST_DAY, RESOLUTION

URL = "/api/v1/predict/flood"
KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def body():
    return {"zone_id": city_cells(RESOLUTION)[0], "timestamp": f"{LAST_DAY}T12:00:00"}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_a_non_finite_override_is_a_422_naming_the_feature(client, body, number):
    text = json.dumps(body)[:-1] + f', "features": {{"precip_mm": {number}}}}}'
    response = client.post(URL, content=text, headers={**KEY, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "features", "precip_mm"] and "finite" in error["msg"]
    assert error["input"] in ("nan", "inf", "-inf")


def test_a_huge_value_is_refused_before_it_is_read_and_never_echoed(client, body):
    huge = {**body, "zone_id": "8" * 10_000_000}
    response = client.post(URL, json=huge, headers=KEY)
    assert response.status_code == 413 and len(response.content) < 200
    assert "16,384 bytes" in response.json()["detail"]
    # Without a declared length (streamed), refused once the bytes pass the limit.
    chunks = (b'{"zone_id": "' + b"8" * 65_536 for _ in range(3))
    streamed = client.post(URL, content=chunks, headers={**KEY, "Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_a_long_value_under_the_limit_is_shortened_in_the_422(client, body):
    response = client.post(URL, json={**body, "zone_id": "z" * 10_000}, headers=KEY)
    assert response.status_code == 422 and len(response.content) < 1_000
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "zone_id"] and error["input"].endswith("(10,000 characters)")
    assert error["msg"].startswith("an H3 cell id is 15 hexadecimal characters")


def test_the_key_is_checked_before_the_body_is_parsed(client):
    for headers, status in (({}, 401), ({"X-API-Key": "wrong"}, 403)):
        response = client.post(URL, content=b"{not json", headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == status, response.text


@pytest.fixture(scope="module")
def with_page(small_city):
    app = create_app(ServingSettings(published_url=small_city.published_url, manifest_poll_s=0), static_dir=STATIC_DIR)
    with TestClient(app) as test_client:
        yield test_client


def test_api_paths_never_fall_through_to_the_map_page(with_page):
    assert with_page.get("/").status_code == 200 and "chicago-risk" in with_page.get("/").text
    assert with_page.get("/app.js").status_code == 200
    for method in ("GET", "PUT", "DELETE", "OPTIONS"):
        response = with_page.request(method, URL)
        assert (response.status_code, response.headers["allow"]) == (405, "POST"), method
    assert with_page.post("/api/meta").headers["allow"] == "GET"
    unknown = with_page.get("/api/no-such-route")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found"}
    assert with_page.get("/metrics/extra").status_code == 404 and with_page.get("/metrics").status_code == 200
