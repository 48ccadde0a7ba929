"""`POST /api/v1/predict/flood`: API keys, rate limit, and scores that match the published layer."""

from datetime import timedelta

import h3
import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.schemas import PredictResponse
from chicago_risk_tests.fixtures.api import API_KEY, make_app
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, LAST_DAY, RESOLUTION

URL = "/api/v1/predict/flood"
KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def risk(small_city) -> pl.DataFrame:
    return small_city.store().read_layer("risk_predictions")


def _score(client, zone: str, timestamp: str, **body) -> dict:
    response = client.post(URL, json={"zone_id": zone, "timestamp": timestamp, **body}, headers=KEY)
    assert response.status_code == 200, response.text
    return PredictResponse.model_validate(response.json()).model_dump(mode="json")


def test_no_key_is_401_and_a_wrong_key_403(client, risk):
    body = {"zone_id": risk["h3_id"][0], "timestamp": f"{LAST_DAY}T12:00:00"}
    missing = client.post(URL, json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith('ApiKey header="X-API-Key"')
    assert client.post(URL, json=body, headers={"X-API-Key": API_KEY + "x"}).status_code == 403
    assert client.post(URL, json=body, headers={"X-API-Key": ""}).status_code == 401


def test_each_key_is_rate_limited(small_city, risk):
    app = make_app(small_city.published_url, rate_limit_per_minute=3, api_keys=(API_KEY, "second-key"))
    body = {"zone_id": risk["h3_id"][0], "timestamp": f"{LAST_DAY}T12:00:00"}
    with TestClient(app) as client:
        statuses = [client.post(URL, json=body, headers=KEY).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.post(URL, json=body, headers=KEY)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert client.post(URL, json=body, headers={"X-API-Key": "second-key"}).status_code == 200


def test_a_score_is_the_published_layer_of_its_day_with_its_drivers(client, risk):
    explained = risk.filter(pl.col("drivers").list.len() > 0).row(0, named=True)
    result = _score(client, explained["h3_id"], f"{explained['day']}T09:30:00")
    assert result["probability"] == pytest.approx(explained["p_event_7d"], abs=1e-4)
    assert result["risk_score"] == result["probability"]
    assert [e["feature"] for e in result["explain"]] == [d["feature"] for d in explained["drivers"]]
    assert [e["contrib"] for e in result["explain"]] == pytest.approx(
        [d["contribution"] for d in explained["drivers"]], abs=1e-4
    )
    meta = result["meta"]
    assert (meta["model"], meta["features_date"]) == (explained["model_id"], str(explained["day"]))
    assert meta["risk_band"] == explained["risk_band"] and meta["overridden"] == []
    assert result["prediction_id"].startswith("pred-")


def test_the_timestamp_picks_the_chicago_day_and_the_latest_features_on_or_before_it(client, risk):
    zone = risk["h3_id"][0]
    # 03:00 UTC is 22:00 the evening before in Chicago (CDT, UTC-5)
    assert _score(client, zone, f"{FIRST_DAY + timedelta(days=3)}T03:00:00Z")["meta"]["features_date"] == str(
        FIRST_DAY + timedelta(days=2)
    )
    assert _score(client, zone, f"{LAST_DAY + timedelta(days=40)}T12:00:00")["meta"]["features_date"] == str(LAST_DAY)
    early = client.post(
        URL, json={"zone_id": zone, "timestamp": f"{FIRST_DAY - timedelta(days=1)}T12:00:00"}, headers=KEY
    )
    assert early.status_code == 404
    assert early.json()["detail"]["parameter"] == "timestamp"
    assert early.json()["detail"]["date_min"] == str(FIRST_DAY)


def test_overrides_change_the_score_and_are_reported(client, risk):
    zone = risk.sort("p_event_7d")["h3_id"][len(risk) // 2]
    plain = _score(client, zone, f"{LAST_DAY}T12:00:00")
    # recent incidents are the strongest driver of the synthetic city
    busy = _score(client, zone, f"{LAST_DAY}T12:00:00", features={"decay_7d": 6.0, "cnt_7d": 6, "cnt_30d": 12})
    assert busy["probability"] > plain["probability"]
    assert busy["meta"]["overridden"] == ["cnt_30d", "cnt_7d", "decay_7d"]


@pytest.mark.parametrize(
    ("body", "status", "location"),
    [
        ({"zone_id": "nope"}, 422, ["body", "zone_id"]),
        ({"zone_id": h3.latlng_to_cell(41.88, -87.63, RESOLUTION + 1)}, 404, None),
        ({"zone_id": ""}, 422, ["body", "zone_id"]),
        ({"zone_id": h3.latlng_to_cell(40.71, -74.0, RESOLUTION)}, 404, None),
        ({"features": {"not_a_feature": 1.0}}, 422, ["body", "features", "not_a_feature"]),
        ({"features": {"precip_mm": "wet"}}, 422, ["body", "features", "precip_mm"]),
        ({"timestamp": "yesterday"}, 422, ["body", "timestamp"]),
        ({"extra": 1}, 422, ["body", "extra"]),
    ],
)
def test_bad_requests_name_what_is_wrong(client, risk, body, status, location):
    request = {"zone_id": risk["h3_id"][0], "timestamp": f"{LAST_DAY}T12:00:00", **body}
    response = client.post(URL, json=request, headers=KEY)
    assert response.status_code == status, response.text
    if location:
        assert response.json()["detail"][0]["loc"] == location
    else:
        assert response.json()["detail"]["error"] == "unknown_cell"
