"""Structured JSON logs with a request id and no personal data or secrets."""

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.observability import JsonFormatter
from chicago_risk_tests.fixtures.api import API_KEY, make_app
from chicago_risk_tests.fixtures.small_city import LAST_DAY


@pytest.fixture
def read_log() -> Iterator[Callable[[], tuple[str, list[dict]]]]:
    """The API logger's output during the test: its text and its lines, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("chicago_risk.api")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: (stream.getvalue(), [json.loads(line) for line in stream.getvalue().splitlines()])
    logger.removeHandler(handler)


def test_each_request_is_one_json_line_with_its_id_and_no_personal_data(small_city, read_log):
    with TestClient(make_app(small_city.published_url)) as client:
        cell = client.get("/api/layers/risk").json()["features"][0]["properties"]["h3_id"]
        tagged = client.get(f"/api/cell/{cell}/history?days=7", headers={"X-Request-ID": "trace-42"})
        odd = client.get("/health", headers={"X-Request-ID": "no spaces allowed"})
        client.post(
            "/api/v1/predict/flood",
            json={"zone_id": cell, "timestamp": f"{LAST_DAY}T12:00:00"},
            headers={"X-API-Key": API_KEY, "X-Forwarded-For": "203.0.113.9", "User-Agent": "planner-laptop"},
        )
    text, lines = read_log()
    assert tagged.headers["x-request-id"] == "trace-42"
    assert odd.headers["x-request-id"] != "no spaces allowed" and len(odd.headers["x-request-id"]) == 32
    requests = [line for line in lines if line["message"] == "request"]
    assert [r["route"] for r in requests] == [
        "/api/layers/risk",
        "/api/cell/{h3_id}/history",
        "/health",
        "/api/v1/predict/flood",
    ]
    history = requests[1]
    assert history["request_id"] == "trace-42" and history["status"] == 200 and history["duration_ms"] > 0
    assert "days=7" not in text, "query values are not logged"
    prediction = next(line for line in lines if line["message"] == "prediction")
    assert prediction["request_id"] == requests[3]["request_id"] and prediction["client_id"] == requests[3]["client_id"]
    for secret_or_personal in (API_KEY, "203.0.113.9", "planner-laptop", "testclient"):
        assert secret_or_personal not in text
