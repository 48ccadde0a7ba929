"""The read API: `create_app()` builds it from `ServingSettings` (the environment by default).

    uvicorn --factory api.app:create_app      # or: chicago-risk serve

Routes are under `/api` (the contract), plus `/health`, `/ready`, `/metrics` and the docs; a
static map page in `api/static/` (when present) is mounted at `/` for every other path, so an API
path never falls through to it (a wrong method is a 405, an unknown API path a JSON 404).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import Match, Mount
from starlette.types import Scope

from api import errors
from api.body_limit import BodyLimitMiddleware
from api.context import ApiContext
from api.http import ARROW, GEOJSON, GZIP_LEVEL
from api.observability import ObservabilityMiddleware, configure_logging
from api.routes import cells, city, grid, layers, meta, ops, predict, recommendations
from api.store import PublishedLayers
from chicago_risk.config.serving import API_KEY_HEADER, ServingSettings
from chicago_risk.publish.store import PublishedStore

STATIC_DIR = Path(__file__).parent / "static"


class SiteMount(Mount):
    """The map page's files at `/`, for every path except those whose first segment is one of
    the app's own routes' (`api`, `health`, `docs`, ...): those stay with the router."""

    def __init__(self, directory: Path, reserved: set[str]) -> None:
        super().__init__("/", app=StaticFiles(directory=directory, html=True), name="static")
        self.reserved = reserved

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("path", "/").lstrip("/").split("/", 1)[0] in self.reserved:
            return Match.NONE, {}
        return super().matches(scope)


def create_app(
    settings: ServingSettings | None = None,
    reader: PublishedLayers | None = None,
    static_dir: Path | None = STATIC_DIR,
) -> FastAPI:
    settings = settings or ServingSettings.from_env()
    assert settings.published_url is not None  # ServingSettings fills it in
    reader = reader or PublishedLayers(
        PublishedStore(settings.published_url, settings.retain_superseded_s),
        poll_s=settings.manifest_poll_s,
        partition_entries=settings.partition_cache_entries,
    )
    configure_logging()
    app = FastAPI(
        title="chicago-risk read API",
        version="1",
        description=(
            "Leak-related 311 risk, cost and pressure-test recommendations per H3 cell of Chicago, "
            "served from the published layers (never the live warehouse). Responses carry an ETag "
            "tied to the published partitions; send If-None-Match to get 304. Scoring needs an API "
            f"key in the {API_KEY_HEADER} header, or a bearer JWT where configured."
        ),
    )
    app.state.context = ApiContext.build(settings, reader)
    for module in (meta, city, grid, layers, cells, recommendations, predict, ops):
        app.include_router(module.router)
    errors.install(app)
    # Added innermost first: observability sees the final status and the bytes actually sent.
    # Layer bodies come pre-compressed from the cache (api.http): the middleware leaves them be.
    app.add_middleware(
        GZipMiddleware, minimum_size=1024, compresslevel=GZIP_LEVEL,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, GEOJSON, ARROW),
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[API_KEY_HEADER, "Authorization", "Content-Type", "If-None-Match", "X-Request-ID", "Accept"],
            expose_headers=["ETag", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.context.metrics)
    if static_dir is not None and static_dir.is_dir():
        own = [*app.openapi()["paths"], app.openapi_url, app.docs_url, app.redoc_url]
        reserved = {path.lstrip("/").split("/", 1)[0] for path in own if path}
        app.router.routes.append(SiteMount(static_dir, reserved))
    return app
