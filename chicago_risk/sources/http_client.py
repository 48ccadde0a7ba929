"""GET-with-retries shared by the live clients (Socrata, Open-Meteo), behind a circuit breaker.

Retries ride out a passing fault; the breaker (pybreaker, one per upstream and process) stops a
run from hammering an upstream that keeps failing: after `breaker_failures` failed attempts in a
row every call fails at once, saying when to try again, until `breaker_reset_s` have passed and
one trial call is let through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pybreaker

from chicago_risk.config import LIVE_CLIENTS
from chicago_risk.sources.base import SourceUnavailableError

# Failures worth another try: the upstream was slow, unreachable or hung up mid-answer.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class Upstream:
    """Who is being called (for error messages) and how hard to try."""

    name: str
    settings: str  # the environment variables an operator checks when calls fail
    max_retries: int
    backoff_s: float
    max_backoff_s: float = 60.0
    breaker_failures: int = LIVE_CLIENTS.breaker_failures
    breaker_reset_s: float = LIVE_CLIENTS.breaker_reset_s

    def backoff(self, retry: int) -> float:
        return min(self.backoff_s * 2**retry, self.max_backoff_s)


class _Failed(Exception):
    """An attempt the upstream failed (counted by the breaker) that is worth retrying."""

    def __init__(self, failure: str, retry_after_s: float | None = None) -> None:
        super().__init__(failure)
        self.failure, self.retry_after_s = failure, retry_after_s


class _RateLimited(_Failed):
    """HTTP 429: the upstream is up and asks us to wait; not a failure for the breaker."""


class _Fatal(Exception):
    """An answer that retrying will not change (4xx, not JSON); not a failure for the breaker."""


_BREAKERS: dict[tuple[str, str, int, float], pybreaker.CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(upstream: Upstream, url: str) -> pybreaker.CircuitBreaker:
    """The process's breaker of this upstream's host (shared by every client of it)."""
    key = (upstream.name, urlsplit(url).netloc, upstream.breaker_failures, upstream.breaker_reset_s)
    with _BREAKERS_LOCK:
        if key not in _BREAKERS:
            _BREAKERS[key] = pybreaker.CircuitBreaker(
                fail_max=upstream.breaker_failures,
                reset_timeout=upstream.breaker_reset_s,
                exclude=[_RateLimited, _Fatal],
                name=upstream.name,
            )
        return _BREAKERS[key]


def get_json(
    client: httpx.Client, url: str, params: Mapping[str, str | int], upstream: Upstream
) -> Any:
    """GET `url` and decode its JSON.

    Retries HTTP 429, 5xx, timeouts and connection errors with exponential backoff, or after the
    server's Retry-After when it sends one. Any other error status raises SourceUnavailableError at
    once; so does running out of retries, and so does an open circuit.
    """
    breaker = breaker_for(upstream, url)
    last_failure, delay = "", 0.0
    for retry in range(upstream.max_retries + 1):
        if retry:
            time.sleep(delay)
        try:
            return breaker.call(_attempt, client, url, params, upstream.max_backoff_s)
        except _Failed as failed:
            last_failure = failed.failure
            delay = upstream.backoff(retry) if failed.retry_after_s is None else failed.retry_after_s
        except _Fatal as fatal:
            raise SourceUnavailableError(
                f"{upstream.name} GET {urlsplit(url).path} failed: {str(fatal).rstrip('.')}. "
                f"Not retried: check {upstream.settings} and the request."
            ) from fatal
        except pybreaker.CircuitBreakerError as open_circuit:
            raise SourceUnavailableError(
                f"{upstream.name} GET {urlsplit(url).path}: the upstream failed "
                f"{upstream.breaker_failures} times in a row{f' (last: {last_failure})' if last_failure else ''}, "
                f"so calls to it are paused for {upstream.breaker_reset_s:g} s (circuit breaker open). "
                f"Try again later; if it persists, check the network and {upstream.settings}."
            ) from open_circuit
    raise SourceUnavailableError(
        f"{upstream.name} GET {urlsplit(url).path} failed after {upstream.max_retries} retries "
        f"(last: {last_failure}). It may be down or rate-limiting: check the network and "
        f"{upstream.settings}, then try again later."
    )


def _attempt(client: httpx.Client, url: str, params: Mapping[str, str | int], cap_s: float) -> Any:
    """One GET, its outcome as the breaker should count it."""
    try:
        response = client.get(url, params=params)
    except _TRANSIENT_ERRORS as exc:
        raise _Failed(f"{type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise _Fatal(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code == 429:
        raise _RateLimited("HTTP 429", _retry_after(response, cap_s))
    if response.status_code >= 500:
        raise _Failed(f"HTTP {response.status_code}", _retry_after(response, cap_s))
    if response.is_error:
        raise _Fatal(f"HTTP {response.status_code} {response.text[:300]!r}")
    try:
        return response.json()
    except ValueError as exc:
        raise _Fatal(f"the answer is not JSON ({exc})") from exc


def _retry_after(response: httpx.Response, cap_s: float) -> float | None:
    """The server's Retry-After (seconds or an HTTP date), capped; None when absent or unusable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), cap_s)
