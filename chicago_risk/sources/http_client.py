"""GET-with-retries shared by the live clients (Socrata, Open-Meteo)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

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

    def backoff(self, retry: int) -> float:
        return min(self.backoff_s * 2**retry, self.max_backoff_s)


def get_json(
    client: httpx.Client, url: str, params: Mapping[str, str | int], upstream: Upstream
) -> Any:
    """GET `url` and decode its JSON.

    Retries HTTP 429, 5xx, timeouts and connection errors with exponential backoff, or after the
    server's Retry-After when it sends one. Any other error status raises SourceUnavailableError at
    once; so does running out of retries.
    """
    last_failure, delay = "", 0.0
    for retry in range(upstream.max_retries + 1):
        if retry:
            time.sleep(delay)
        try:
            response = client.get(url, params=params)
        except _TRANSIENT_ERRORS as exc:
            last_failure, delay = f"{type(exc).__name__}: {exc}", upstream.backoff(retry)
            continue
        except httpx.HTTPError as exc:
            raise _fatal(upstream, url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            last_failure = f"HTTP {response.status_code}"
            retry_after = _retry_after(response, upstream.max_backoff_s)
            delay = upstream.backoff(retry) if retry_after is None else retry_after
            continue
        if response.is_error:
            raise _fatal(upstream, url, f"HTTP {response.status_code} {response.text[:300]!r}")
        try:
            return response.json()
        except ValueError as exc:
            raise _fatal(upstream, url, f"the answer is not JSON ({exc})") from exc
    raise SourceUnavailableError(
        f"{upstream.name} GET {urlsplit(url).path} failed after {upstream.max_retries} retries "
        f"(last: {last_failure}). It may be down or rate-limiting: check the network and "
        f"{upstream.settings}, then try again later."
    )


def _retry_after(response: httpx.Response, cap_s: float) -> float | None:
    """The server's Retry-After (seconds or an HTTP date), capped; None when absent or unusable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), cap_s)


def _fatal(upstream: Upstream, url: str, failure: str) -> SourceUnavailableError:
    return SourceUnavailableError(
        f"{upstream.name} GET {urlsplit(url).path} failed: {failure.rstrip('.')}. "
        f"Not retried: check {upstream.settings} and the request."
    )
