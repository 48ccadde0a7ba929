"""The scoring route's rate limit: per process by default; across replicas with a shared store
(Debian's redis-server, started here on a free port); per process again, without failing a
request, when the shared store stops answering."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.api import API_KEY, make_app
from chicago_risk_tests.fixtures.small_city import LAST_DAY, RESOLUTION

URL = "/api/v1/predict/flood"
KEY = {"X-API-Key": API_KEY}
REDIS_SERVER = Path("/usr/bin/redis-server")


@pytest.fixture(scope="module")
def body():
    return {"zone_id": city_cells(RESOLUTION)[0], "timestamp": f"{LAST_DAY}T12:00:00"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    if not (REDIS_SERVER.exists() or shutil.which("redis-server")):
        pytest.skip("Debian's redis-server is not installed (`make test` installs it: apt-get install -y redis-server)")
    port = _free_port()
    server = subprocess.Popen(
        [str(REDIS_SERVER if REDIS_SERVER.exists() else shutil.which("redis-server")), "--port", str(port),
         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert server.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield url, server
    server.terminate()
    server.wait(10)


def _statuses(clients, body, count: int) -> list[int]:
    """`count` requests, taking turns over `clients` (replicas behind a load balancer)."""
    return [clients[i % len(clients)].post(URL, json=body, headers=KEY).status_code for i in range(count)]


def test_in_process_each_replica_counts_alone(small_city, body):
    apps = [make_app(small_city.published_url, rate_limit_per_minute=3) for _ in range(2)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        assert _statuses([first, second], body, 8) == [200] * 6 + [429] * 2


def test_a_shared_store_holds_the_limit_across_replicas(small_city, body, redis_url):
    url, _ = redis_url
    apps = [make_app(small_city.published_url, rate_limit_per_minute=3, rate_limit_storage_url=url) for _ in range(2)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        assert _statuses([first, second], body, 5) == [200, 200, 200, 429, 429]
        limited = second.post(URL, json=body, headers=KEY)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60


def test_when_the_store_stops_answering_the_limit_holds_per_process(small_city, body, redis_url):
    url, server = redis_url
    app = make_app(small_city.published_url, rate_limit_per_minute=2, rate_limit_storage_url=url)
    with TestClient(app) as client:
        assert client.post(URL, json=body, headers=KEY).status_code == 200
        server.terminate()
        server.wait(10)
        began = time.monotonic()
        assert _statuses([client], body, 3) == [200, 200, 429]
        assert time.monotonic() - began < 5, "a dead store costs each request at most its timeout"
        metrics = client.get("/metrics").text
    assert "chicago_risk_api_rate_limit_store_errors_total 3.0" in metrics
