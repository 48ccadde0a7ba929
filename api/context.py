"""What every route reads: the settings, the published layers, caches, metrics, who may score."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.auth import Authenticator
from api.cache import LruCache
from api.degraded import DegradedDays
from api.http import RenderedBody
from api.observability import Metrics
from api.ratelimit import RateLimit
from api.render import LayerView
from api.store import PublishedLayers
from chicago_risk.config.serving import ServingSettings


@dataclass
class ApiContext:
    settings: ServingSettings
    reader: PublishedLayers
    views: LruCache[LayerView]  # per published partition: features ready to filter
    bodies: LruCache[RenderedBody]  # per partition and filter combination: the response bytes
    indexes: LruCache[dict]  # lookups over every partition of a layer (rec_id -> day)
    metrics: Metrics
    authenticator: Authenticator
    degraded: DegradedDays  # days whose inputs were filled or missing

    @classmethod
    def build(cls, settings: ServingSettings, reader: PublishedLayers) -> ApiContext:
        views: LruCache[LayerView] = LruCache("layer_views", settings.partition_cache_entries)
        bodies: LruCache[RenderedBody] = LruCache("responses", settings.response_cache_entries)
        indexes: LruCache[dict] = LruCache("indexes", 2)
        degraded = DegradedDays(reader)
        metrics = Metrics(reader, [views, bodies, indexes, degraded.cache, reader.frames, reader.models])
        storage_url = settings.rate_limit_storage_url
        limit = RateLimit(
            settings.rate_limit_per_minute, storage_url.get_secret_value() if storage_url else None,
            on_store_error=metrics.rate_limit_store_errors.inc,
        )
        return cls(settings, reader, views, bodies, indexes, metrics, Authenticator(settings, limit), degraded)


def context(request: Request) -> ApiContext:
    return request.app.state.context
