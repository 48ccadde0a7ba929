"""What every route reads: the settings, the published layers, caches, metrics, keys."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from api.auth import ApiKeys, RateLimiter
from api.cache import LruCache
from api.http import RenderedBody
from api.observability import Metrics
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
    keys: ApiKeys
    limiter: RateLimiter

    @classmethod
    def build(cls, settings: ServingSettings, reader: PublishedLayers) -> ApiContext:
        views: LruCache[LayerView] = LruCache("layer_views", settings.partition_cache_entries)
        bodies: LruCache[RenderedBody] = LruCache("responses", settings.response_cache_entries)
        indexes: LruCache[dict] = LruCache("indexes", 2)
        return cls(
            settings, reader, views, bodies, indexes,
            Metrics(reader, [views, bodies, indexes, reader.frames, reader.models]),
            ApiKeys(settings.api_keys), RateLimiter(settings.rate_limit_per_minute),
        )


def context(request: Request) -> ApiContext:
    return request.app.state.context
