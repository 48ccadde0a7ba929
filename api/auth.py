"""API keys for the scoring endpoint: header `X-API-Key`, keys from `CHICAGO_RISK_API_KEYS` or
`CHICAGO_RISK_API_KEYS_FILE`, compared in constant time, each rate limited (token bucket)."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from chicago_risk.config.serving import API_KEY_HEADER

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="a key listed in CHICAGO_RISK_API_KEYS(_FILE)"
)


def key_id(key: str) -> str:
    """What logs and metrics name a key by: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


class ApiKeys:
    def __init__(self, keys: tuple[str, ...]) -> None:
        # Digests have one length, so comparing them reveals nothing about a key's length either.
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    def valid(self, candidate: str) -> bool:
        offered = hashlib.sha256(candidate.encode()).digest()
        found = False
        for digest in self._digests:  # every key compared, so timing does not tell which matched
            found |= hmac.compare_digest(offered, digest)
        return found


class RateLimiter:
    """`per_minute` requests a minute per key, bursts up to `per_minute`."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if the request may go, else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.refill_per_s)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.refill_per_s


def require_api_key(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> str:
    """The caller's key id; 401 without a key, 403 for a wrong one, 429 over its rate."""
    context = request.app.state.context
    if not key:
        raise HTTPException(
            401, f"an API key is required in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'},
        )
    if not context.keys.valid(key):
        raise HTTPException(403, "this API key is not accepted")
    identity = key_id(key)
    wait_s = context.limiter.take(identity)
    if wait_s:
        raise HTTPException(
            429, f"rate limit of {context.settings.rate_limit_per_minute} requests a minute exceeded",
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    request.state.api_key_id = identity
    return identity
