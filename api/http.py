"""Conditional and compressed responses: an ETag tied to the published partitions a response is
built from, `If-None-Match` -> 304, and gzip bytes prepared once per cached body."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

GEOJSON = "application/geo+json"
ARROW = "application/vnd.apache.arrow.stream"
# Clients may keep a copy but must revalidate it: a date can be republished.
CACHE_CONTROL = "no-cache"
GZIP_LEVEL = 6


class GeoJSONResponse(JSONResponse):
    """Only names the media type in the OpenAPI schema (layer routes send cached bytes)."""

    media_type = GEOJSON


@dataclass(frozen=True)
class RenderedBody:
    raw: bytes
    gzipped: bytes

    @classmethod
    def of(cls, raw: bytes) -> RenderedBody:
        return cls(raw, gzip.compress(raw, GZIP_LEVEL, mtime=0))


def etag(*parts: object) -> str:
    """A weak ETag (one for every content coding) over what the response is built from."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]
    return f'W/"{digest}"'


def matches(request: Request, tag: str) -> bool:
    """If-None-Match names `tag` (weak comparison, RFC 9110) or is `*`."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    opaque = tag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == opaque for t in header.split(","))


def _validators(tag: str, cache_control: str = CACHE_CONTROL, vary: str = "Accept-Encoding") -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": cache_control, "Vary": vary}


def not_modified(tag: str, cache_control: str = CACHE_CONTROL, vary: str = "Accept-Encoding") -> Response:
    return Response(status_code=304, headers=_validators(tag, cache_control, vary))


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def wants_arrow(request: Request) -> bool:
    """The client asked for Arrow IPC (`Accept: application/vnd.apache.arrow.stream`, not q=0)."""
    for item in request.headers.get("accept", "").lower().split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media == ARROW:
            return not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params)
    return False


def send_rendered(
    request: Request, body: RenderedBody, tag: str, media_type: str = GEOJSON,
    cache_control: str = CACHE_CONTROL, vary: str = "Accept-Encoding",
) -> Response:
    headers = _validators(tag, cache_control, vary)
    if accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(body.gzipped, headers=headers, media_type=media_type)
    return Response(body.raw, headers=headers, media_type=media_type)


def send_model(model: BaseModel, tag: str) -> Response:
    """A JSON body with its ETag (compressed by the gzip middleware when large)."""
    return Response(model.model_dump_json(), headers=_validators(tag), media_type="application/json")


def send_conditional(
    request: Request, body: RenderedBody, tag: str, media_type: str = GEOJSON, cache_control: str = CACHE_CONTROL,
) -> Response:
    """`body` as `send_rendered` sends it, or 304 when the client holds `tag`."""
    if matches(request, tag):
        return not_modified(tag, cache_control)
    return send_rendered(request, body, tag, media_type, cache_control)
