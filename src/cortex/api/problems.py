"""The one error renderer of the HTTP API: RFC 9457 ``application/problem+json``.

Every error leaves through here with the same shape as the engine's error tree:
``type`` is the class's stable slug, which the SDK maps back to the same exception.
Validation errors list the failing fields but never echo the values sent.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from cortex.core.errors import (
    CortexError,
    InvalidId,
    InvalidInput,
    InvalidKind,
    InvalidMetadata,
    InvalidNamespace,
    InvalidQuery,
    InvalidText,
    NotReady,
    RateLimited,
    Unauthenticated,
)

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("cortex.api")

_TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Payload too large",
           415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
           500: "Internal error", 502: "Upstream error", 503: "Unavailable"}


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem; extra members (``field``, ``retry_after``, ...) add detail."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem(status: int, type_: str, detail: str, request: Request | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": _TITLES.get(status, "Error"), "status": status,
                            "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", None)
    body.update({k: v for k, v in extra.items() if k not in body and _plain(v)})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_error(exc: CortexError, request: Request | None = None) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    elif isinstance(exc, NotReady):
        headers["Retry-After"] = "1"
    elif isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="cortex"'
    if exc.status >= 500:
        log.error("request failed: %s (%s)", exc.message, exc.type)
    return problem(exc.status, exc.type, exc.message, request, headers or None, **exc.detail)


def install(app: FastAPI) -> None:
    async def on_cortex_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CortexError)
        return from_error(exc, request)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                   "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) or "body" for e in errors[:5])
        return problem(422, _slug_for(errors), f"invalid request: {fields}", request, errors=errors)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, CortexError):  # e.g. the body limit, hit while FastAPI parsed
            return from_error(exc.__cause__, request)
        if exc.status_code == 400:  # FastAPI could not parse the body (not JSON, not UTF-8)
            return problem(422, "cortex/invalid-input", "request body is not valid JSON", request)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette lists only the first matching route's methods
            headers["Allow"] = ", ".join(_allowed_methods(request))
        slug = {404: "cortex/not-found", 405: "cortex/method-not-allowed"}.get(
            exc.status_code, f"cortex/http-{exc.status_code}")
        return problem(exc.status_code, slug, str(exc.detail), request, headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem(500, "cortex/internal", "internal error; see the server log", request)

    app.add_exception_handler(CortexError, on_cortex_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


# The engine's error class for a failing field, so the SDK raises what the engine would.
_FIELD_SLUGS = {"text": InvalidText, "query": InvalidQuery, "k": InvalidQuery, "namespace": InvalidNamespace,
                "kind": InvalidKind, "kinds": InvalidKind, "metadata": InvalidMetadata,
                "memory_id": InvalidId, "after": InvalidId}


def _slug_for(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return InvalidInput.type
    names = [p for p in errors[0]["loc"][1:] if isinstance(p, str)]
    found = next((_FIELD_SLUGS[n] for n in names if n in _FIELD_SLUGS), InvalidInput)
    return found.type


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | tuple)


__all__ = ["MEDIA_TYPE", "FieldError", "Problem", "from_error", "install", "problem"]
