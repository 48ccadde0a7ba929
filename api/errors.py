"""Errors the API answers with: 422 naming the parameter (FastAPI's own shape, the offending
value shortened and always serialisable), 404 with the available dates (and the nearest ones for
an unknown date, or the newest for a day not published yet), 503 while a partition changes."""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import date

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.params import PATTERN_HINTS
from api.schemas import ErrorBody, ErrorDetail
from api.store import PartitionGoneError

NEAREST_DATES = 3


def nearest(days: list[date], asked: date, count: int = NEAREST_DATES) -> list[date]:
    """The `count` published days closest to `asked`, in date order."""
    at = bisect_left(days, asked)
    window = days[max(0, at - count):at + count]
    return sorted(sorted(window, key=lambda d: (abs((d - asked).days), d))[:count])


class NotFoundError(Exception):
    def __init__(self, error: str, message: str, parameter: str | None = None,
                 days: list[date] | None = None, asked: date | None = None) -> None:
        super().__init__(message)
        days = days or []
        self.detail = ErrorDetail(
            error=error,
            message=message,
            parameter=parameter,
            date_min=days[0] if days else None,
            date_max=days[-1] if days else None,
            nearest_dates=nearest(days, asked) if asked and days else [],
        )


def unknown_date(layer: str, parameter: str, asked: date, days: list[date]) -> NotFoundError:
    if days and asked > days[-1]:
        # A map opened in the morning asks for today before the night's layers exist.
        return NotFoundError(
            "not_yet_published",
            f"{layer} is not published for {asked} yet: the newest published day is {days[-1]} "
            f"(ask for {parameter}=latest, or {parameter}={days[-1]})",
            parameter, days, asked,
        )
    span = f"{days[0]}..{days[-1]}" if days else "none yet"
    return NotFoundError(
        "unknown_date", f"{layer} is not published for {asked} (published: {span})", parameter, days, asked
    )


MAX_ECHO_CHARS = 64


def _echo(value: object) -> object:
    """What a 422 shows of the offending value: short, and valid JSON (no NaN or Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= MAX_ECHO_CHARS and isinstance(value, str):
        return value
    if len(text) <= MAX_ECHO_CHARS:
        return text
    return f"{text[:MAX_ECHO_CHARS]}... ({len(text):,} characters)"


def _explained(error: dict) -> dict:
    hint = PATTERN_HINTS.get((error.get("ctx") or {}).get("pattern", ""))
    if hint:
        return {**error, "msg": hint, "ctx": {}}
    return error


def validation_errors(error: RequestValidationError) -> list[dict]:
    return [
        {
            "type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg"), "input": _echo(e.get("input")),
            **({"ctx": {k: _echo(v) for k, v in e["ctx"].items()}} if e.get("ctx") else {}),
        }
        for e in map(_explained, error.errors())
    ]


def not_published(layer: str) -> NotFoundError:
    return NotFoundError(
        "not_published", f"{layer} has no published partition yet: materialize published/{layer}"
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": jsonable_encoder(validation_errors(error))}, status_code=422)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse(ErrorBody(detail=error.detail).model_dump(mode="json"), status_code=404)

    @app.exception_handler(PartitionGoneError)
    async def _gone(_: Request, error: PartitionGoneError) -> JSONResponse:
        body = ErrorBody(detail=ErrorDetail(error="partition_replaced", message=str(error)))
        return JSONResponse(body.model_dump(mode="json"), status_code=503, headers={"Retry-After": "1"})
