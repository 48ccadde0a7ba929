"""Errors the API answers with: 422 naming the parameter (FastAPI's own shape), 404 with the
available dates (and the nearest ones for an unknown date), 503 while a partition changes."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.schemas import ErrorBody, ErrorDetail
from api.store import PartitionGoneError

NEAREST_DATES = 3


def invalid(location: str, name: str, message: str, value: object) -> RequestValidationError:
    """A 422 in FastAPI's shape, `loc` naming the parameter (e.g. ("query", "bbox"))."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (location, name), "msg": message, "input": value}]
    )


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
    span = f"{days[0]}..{days[-1]}" if days else "none yet"
    return NotFoundError(
        "unknown_date", f"{layer} is not published for {asked} (published: {span})", parameter, days, asked
    )


def not_published(layer: str) -> NotFoundError:
    return NotFoundError(
        "not_published", f"{layer} has no published partition yet: materialize published/{layer}"
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse(ErrorBody(detail=error.detail).model_dump(mode="json"), status_code=404)

    @app.exception_handler(PartitionGoneError)
    async def _gone(_: Request, error: PartitionGoneError) -> JSONResponse:
        body = ErrorBody(detail=ErrorDetail(error="partition_replaced", message=str(error)))
        return JSONResponse(body.model_dump(mode="json"), status_code=503, headers={"Retry-After": "1"})
