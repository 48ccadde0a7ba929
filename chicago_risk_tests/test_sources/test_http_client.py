"""The retry rules of the shared GET helper, beyond what the clients' tests show."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from chicago_risk.sources.base import SourceUnavailableError
from chicago_risk.sources.http_client import Upstream, get_json
from chicago_risk_tests.fixtures.servers import Reply

PATH = "/data"


def fetch(server, **retries) -> object:
    upstream = Upstream("Test", "TEST_URL", **{"max_retries": 2, "backoff_s": 0.001, **retries})
    with httpx.Client(timeout=2.0) as client:
        return get_json(client, server.url + PATH, {"q": "1"}, upstream)


def test_retry_after_is_capped(server):
    server.queue(PATH, Reply(429, headers={"Retry-After": "3600"}))
    server.routes[PATH] = lambda params: Reply(body={"ok": True})

    began = time.monotonic()
    assert fetch(server, max_backoff_s=0.05) == {"ok": True}
    assert time.monotonic() - began < 1.0


def test_retry_after_may_be_an_http_date(server):
    # HTTP dates have whole seconds: this one is 1 to 2 s away, capped to 1 s.
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    server.queue(PATH, Reply(503, headers={"Retry-After": soon}))
    server.routes[PATH] = lambda params: Reply(body=[1])

    began = time.monotonic()
    assert fetch(server, max_backoff_s=1.0) == [1]
    assert time.monotonic() - began >= 0.9


def test_backoff_doubles_up_to_its_cap():
    upstream = Upstream("Test", "TEST_URL", max_retries=5, backoff_s=1.0, max_backoff_s=5.0)
    assert [upstream.backoff(retry) for retry in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_other_client_errors_are_not_retried(server):
    server.routes[PATH] = lambda params: Reply(403, {"message": "invalid app token"})

    with pytest.raises(SourceUnavailableError, match=r"HTTP 403.*invalid app token.*TEST_URL"):
        fetch(server)
    assert len(server.seen) == 1


def test_an_answer_that_is_not_json_is_an_error_at_once(server):
    server.routes[PATH] = lambda params: Reply(raw=b"<html>Service maintenance</html>")

    with pytest.raises(SourceUnavailableError, match="/data failed: the answer is not JSON"):
        fetch(server)
    assert len(server.seen) == 1


def test_the_circuit_opens_after_repeated_failures_fails_fast_then_lets_a_trial_through(server):
    server.routes[PATH] = lambda params: Reply(503)
    breaker = {"breaker_failures": 3, "breaker_reset_s": 0.5, "max_retries": 10}

    with pytest.raises(SourceUnavailableError, match=r"failed 3 times in a row .last: HTTP 503.*paused for 0\.5 s"):
        fetch(server, **breaker)
    assert len(server.seen) == 3  # the breaker, not the 10 retries, ended it

    began = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=r"circuit breaker open.*TEST_URL"):
        fetch(server, **breaker)
    assert len(server.seen) == 3 and time.monotonic() - began < 0.2  # failed fast, nothing sent

    time.sleep(0.6)
    server.routes[PATH] = lambda params: Reply(body={"back": True})
    assert fetch(server, **breaker) == {"back": True}  # the trial call went through and closed it
    assert fetch(server, **breaker) == {"back": True}


def test_rate_limits_and_client_errors_do_not_open_the_circuit(server):
    server.queue(PATH, *[Reply(429, headers={"Retry-After": "0"})] * 3)
    server.routes[PATH] = lambda params: Reply(body=[1])
    breaker = {"breaker_failures": 2, "max_retries": 5}

    assert fetch(server, **breaker) == [1]
    server.routes[PATH] = lambda params: Reply(404, {"message": "no such dataset"})
    for _ in range(3):
        with pytest.raises(SourceUnavailableError, match="HTTP 404"):
            fetch(server, **breaker)
    assert len(server.seen) == 7
