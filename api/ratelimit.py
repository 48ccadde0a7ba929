"""The scoring route's rate limit (the `limits` library, moving window): in-process by default,
shared across replicas through `CHICAGO_RISK_RATE_LIMIT_STORAGE_URL` (Redis). When the shared
store does not answer, the limit holds per process instead of failing the request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

NAMESPACE = "chicago_risk_scoring"
# A store that does not answer within this costs each request no more than that.
STORE_TIMEOUT_S = 0.25
log = logging.getLogger("chicago_risk.api")


class RateLimit:
    def __init__(
        self, per_minute: int, storage_url: str | None = None, on_store_error: Callable[[], None] = lambda: None
    ) -> None:
        self.per_minute = per_minute
        self.item = RateLimitItemPerMinute(per_minute)
        self.local = MovingWindowRateLimiter(storage_from_string("memory://"))
        self.shared = (
            MovingWindowRateLimiter(
                storage_from_string(
                    storage_url,
                    wrap_exceptions=True,
                    socket_timeout=STORE_TIMEOUT_S,
                    socket_connect_timeout=STORE_TIMEOUT_S,
                )
            )
            if storage_url
            else None
        )
        self.on_store_error = on_store_error

    def _wait(self, limiter: MovingWindowRateLimiter, client: str) -> float:
        if limiter.hit(self.item, NAMESPACE, client):
            return 0.0
        reset_at = limiter.get_window_stats(self.item, NAMESPACE, client).reset_time
        return max(1.0, reset_at - time.time())

    def wait_s(self, client: str) -> float:
        """0 if `client` may go on, else the seconds until it may."""
        if self.shared is not None:
            try:
                return self._wait(self.shared, client)
            except StorageError as error:
                self.on_store_error()
                log.warning(
                    "rate limit store unavailable: limiting per process",
                    extra={"fields": {"error": str(error.storage_error)}},
                )
        return self._wait(self.local, client)
