"""Translate domain errors to HTTP responses, in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError as RedisOutOfMemoryError
from redis.exceptions import ReadOnlyError as RedisReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.errors import (
    ContactNotFound,
    CountersignError,
    Forbidden,
    IdempotencyConflict,
    NotFound,
    VoteRefused,
)

STATUS_BY_ERROR: list[tuple[type[CountersignError], int]] = [
    (NotFound, 404),
    (ContactNotFound, 404),
    (IdempotencyConflict, 409),
    (VoteRefused, 409),
    (Forbidden, 403),
]


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    details = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"] if p not in ("body", "query", "path", "header")]
        details.append({"field": ".".join(loc) or "(body)", "reason": error["msg"]})
    return details


async def on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = field_errors(exc)
    message = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:5])
    return JSONResponse(error_body("invalid_request", message, details=details), status_code=422)


async def on_domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CountersignError)
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    code = getattr(exc, "code", type(exc).__name__.lower())
    extra = {"status": exc.status} if isinstance(exc, VoteRefused) and exc.status else {}
    return JSONResponse(error_body(code, exc.message, **extra), status_code=status)


async def on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "error"
    code = {
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        429: "rate_limited",
    }.get(exc.status_code, "error")
    return JSONResponse(
        error_body(code, detail), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def on_storage(request: Request, exc: Exception) -> JSONResponse:
    """Redis unreachable, failing over (read-only replica) or full: "try again" (503), not 500."""
    message = "Storage is unavailable; retry shortly (with the same Idempotency-Key)."
    return JSONResponse(
        error_body("unavailable", message), status_code=503, headers={"Retry-After": "1"}
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RedisConnectionError, on_storage)
    app.add_exception_handler(RedisTimeoutError, on_storage)
    app.add_exception_handler(RedisReadOnlyError, on_storage)
    app.add_exception_handler(RedisOutOfMemoryError, on_storage)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(CountersignError, on_domain)
    app.add_exception_handler(StarletteHTTPException, on_http)
