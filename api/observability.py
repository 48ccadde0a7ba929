"""Request ids, structured JSON logs and Prometheus metrics.

Each request gets an id (a well-formed incoming `X-Request-ID`, else a new one), echoed in the
response and in every log line written while it is served. A log line names the route, status,
duration and size; never the client's address, its headers, keys or query values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.cache import LruCache
from api.drift import PublishedDrift
from api.store import PartitionGoneError, PublishedLayers
from chicago_risk.config import CHICAGO_TZ
from chicago_risk.models.aliases import CHALLENGER, CHAMPION
from chicago_risk.publish.layers import PUBLISHED_TABLES

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
request_id: ContextVar[str] = ContextVar("request_id", default="-")
log = logging.getLogger("chicago_risk.api")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the API's logger and uvicorn's; once per process (a second app,
    as in tests, keeps the handlers and levels already set)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("chicago_risk.api", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


_CHICAGO = ZoneInfo(CHICAGO_TZ)


def _day_end(day) -> float:
    """Unix time of the Chicago midnight that ends `day`."""
    return datetime.combine(day + timedelta(days=1), day_time(), _CHICAGO).timestamp()


class _PublishedCollector:
    """Scrape-time facts: the published partition of each layer and its age, the model, feature
    drift, the caches."""

    def __init__(self, reader: PublishedLayers, caches: Iterable[LruCache]) -> None:
        self.reader = reader
        self.caches = list(caches)
        self.drift = PublishedDrift(reader)

    def _drift(self):
        psi = GaugeMetricFamily(
            "chicago_risk_feature_psi", "PSI of the newest published feature day against the trailing window",
            labels=["feature"],
        )
        reference = GaugeMetricFamily(
            "chicago_risk_feature_drift_reference_days", "published days the PSI compares with"
        )
        threshold = GaugeMetricFamily("chicago_risk_feature_drift_warn_threshold", "PSI above which drift_psi warns")
        try:
            reading = self.drift.reading()
        except PartitionGoneError:  # republished while read: the next scrape sees the new files
            reading = None
        if reading is not None:
            for feature, value in reading.psi.items():
                psi.add_metric([feature], value)
            reference.add_metric([], reading.reference_days)
            threshold.add_metric([], reading.threshold)
        return psi, reference, threshold

    def _aliases(self):
        """The newest decided week's champion and challenger, the pin, and the shadow scores of
        the pair the promotion rule compared (`published/model_champion`)."""
        aliases = GaugeMetricFamily(
            "chicago_risk_model_alias_info", "the champion and the challenger of the newest decided week",
            labels=["alias", "model_id"],
        )
        pinned = GaugeMetricFamily(
            "chicago_risk_model_champion_pinned",
            "1 while an operator's pin, not the promotion rule, decides the champion",
        )
        shadow = {
            score: GaugeMetricFamily(
                f"chicago_risk_model_shadow_{score}",
                f"{label} on the week's shadow days of the pair the rule compared",
                labels=["role", "model_id"],
            )
            for score, label in (("log_loss", "log loss"), ("ece", "expected calibration error"))
        }
        decision = self.reader.champion_decision()
        if decision is not None:
            for alias in (CHAMPION, CHALLENGER):
                if decision[f"{alias}_model_id"]:
                    aliases.add_metric([alias, decision[f"{alias}_model_id"]], 1)
            pinned.add_metric([], int(decision["pinned"]))
            for role in ("candidate", "incumbent"):
                for score, family in shadow.items():
                    if decision[f"{role}_{score}"] is not None:
                        family.add_metric([role, decision[f"{role}_model_id"]], decision[f"{role}_{score}"])
        return aliases, pinned, *shadow.values()

    def collect(self):
        partition = GaugeMetricFamily(
            "chicago_risk_published_partition_info", "latest published partition of each layer",
            labels=["layer", "partition_key", "version"],
        )
        count = GaugeMetricFamily("chicago_risk_published_partitions", "published partitions", labels=["layer"])
        age = GaugeMetricFamily(
            "chicago_risk_published_partition_age_seconds",
            "seconds since the end (Chicago midnight) of the newest published day of each daily layer",
            labels=["layer"],
        )
        now = time.time()
        for spec in PUBLISHED_TABLES:
            manifest = self.reader.manifest(spec.table)
            latest = manifest.latest() if manifest else None
            count.add_metric([spec.table], len(manifest.partitions) if manifest else 0)
            if latest is not None:
                partition.add_metric([spec.table, latest.key, latest.version], 1)
            if spec.daily and manifest and manifest.days():
                age.add_metric([spec.table], now - _day_end(manifest.days()[-1]))
        model = GaugeMetricFamily("chicago_risk_model_info", "the served model (the champion)", labels=["model_id"])
        served = self.reader.model()
        if served is not None:
            model.add_metric([served.model_id], 1)
        hits = CounterMetricFamily("chicago_risk_api_cache_hits", "cache hits", labels=["cache"])
        misses = CounterMetricFamily("chicago_risk_api_cache_misses", "cache misses", labels=["cache"])
        for cache in self.caches:
            hits.add_metric([cache.name], cache.hits)
            misses.add_metric([cache.name], cache.misses)
        yield from (partition, count, age, model, *self._aliases(), hits, misses, *self._drift())


class Metrics:
    def __init__(self, reader: PublishedLayers, caches: Iterable[LruCache]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "chicago_risk_api_requests", "requests served", ["route", "method", "status"], registry=self.registry
        )
        self.errors = Counter(
            "chicago_risk_api_errors", "responses with a 4xx or 5xx status", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "chicago_risk_api_request_duration_seconds", "time to serve a request", ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.inference = Histogram(
            "chicago_risk_inference_seconds", "time to score one request", registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
        )
        self.rate_limit_store_errors = Counter(
            "chicago_risk_api_rate_limit_store_errors", "rate-limit checks that fell back to the process's own count",
            registry=self.registry,
        )
        self.registry.register(_PublishedCollector(reader, caches))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ObservabilityMiddleware:
    """Pure ASGI (no per-request task or body copy): ids, timing, metrics and the access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        began = time.perf_counter()
        status, sent = 500, 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), rid.encode())]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"fields": {"path": scope["path"]}})
            raise
        finally:
            seconds = time.perf_counter() - began
            # The route's template keeps labels few; non-API routes (docs, schema) go by their name.
            route = str(
                getattr(scope.get("route"), "path", None) or getattr(scope.get("endpoint"), "__name__", "unmatched")
            )
            self.metrics.observe(route, scope["method"], status, seconds)
            log.info(
                "request",
                extra={"fields": {
                    "method": scope["method"], "route": route, "path": scope["path"], "status": status,
                    "duration_ms": round(seconds * 1000, 2), "bytes": sent,
                    **({"client_id": scope["state"]["client_id"]} if "client_id" in scope["state"] else {}),
                }},
            )
            request_id.reset(token)
