"""What the SDK does with a failed call: raise the engine's own exception, or wait and retry.

A problem+json response becomes the class whose ``type`` slug it carries, found through
``all_error_classes()``, so ``except MemoryNotFound`` catches the same thing whether the
engine runs in-process or behind HTTP:

    problem type known           → that class        (cortex/memory-not-found → MemoryNotFound)
    type unknown, 4xx or 503     → the most general class with that status (409 → Conflict)
    anything else                → CortexError
    no response at all           → CortexError "cannot reach Cortex at ..." (the httpx error is
                                   chained as ``__cause__``; ``detail["transport"]`` names it)

The problem's ``detail`` member is the exception's message; every other member except
``type``, ``title`` and ``status`` (``field``, ``index``, ``errors``, ``retry_after``,
``request_id``, ...) lands in the exception's ``.detail``.

Retries: 429 and 503 (every method, since the server refused before doing anything) and
connection failures (the request never left) are retried; other transport failures only
for calls that are safe to repeat (reads). A ``Retry-After`` longer than ``max_wait`` is
not waited out: the error is raised at once, since waiting less would only be refused again.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from cortex.core.errors import CortexError, InvalidInput, RateLimited, all_error_classes

RETRY_STATUSES = frozenset({429, 503})
BACKOFF_BASE = 0.5
_NOT_DETAIL = frozenset({"type", "title", "status", "detail"})


def raise_for_problem(response: httpx.Response, *, batch_offset: int | None = None) -> None:
    """Raise the mapped exception when ``response`` is an error; do nothing on 2xx/3xx."""
    if response.status_code >= 400:
        raise problem_error(response, batch_offset=batch_offset)


def problem_error(response: httpx.Response, *, batch_offset: int | None = None) -> CortexError:
    """The exception for an error response (problem+json or not).

    ``batch_offset``: where a batch call's first item sits in the caller's whole list, so
    that ``detail["index"]`` names the caller's item, as the engine's ``remember_many`` does.
    """
    body = _json_object(response)
    slug = body.get("type") if isinstance(body.get("type"), str) else None
    cls = error_class(slug, response.status_code)
    message = body.get("detail")
    if not isinstance(message, str) or not message:
        message = _fallback_message(response)
    detail = {k: v for k, v in body.items() if k not in _NOT_DETAIL}
    if slug is not None and slug != cls.type:  # keep what the server said where the class cannot
        detail["type"] = slug
    if response.status_code != cls.status:
        detail["status"] = response.status_code
    if batch_offset is not None:
        _batch_index(detail, batch_offset)
    if issubclass(cls, RateLimited):
        given = detail.pop("retry_after", None)
        seconds = given if isinstance(given, int | float) else retry_after(response)
        error: CortexError = cls(message, retry_after=float(1.0 if seconds is None else seconds))
    else:
        error = cls(message)
    error.detail.update(detail)  # not as keywords: a member may be called "message"
    return error


def error_class(slug: str | None, status: int) -> type[CortexError]:
    """The class for a problem ``type``; unknown types fall back by HTTP status."""
    classes = all_error_classes()  # per call: subclasses defined after import count too
    for cls in classes:
        if cls.type == slug:
            return cls
    if 400 <= status < 500 or status == 503:
        for cls in classes:
            if cls.status == status:
                return cls
    return CortexError


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None when absent/bad."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff(attempt: int, *, cap: float) -> float:
    """Exponential backoff with jitter: about 0.5·2ⁿ seconds (±50%), at most ``cap``."""
    return min(cap, BACKOFF_BASE * 2.0 ** attempt * random.uniform(0.5, 1.5))


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long one wait may be; decides each retry."""

    retries: int = 3
    max_wait: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.retries, int) or self.retries < 0:
            raise InvalidInput("retries must be a whole number ≥ 0", field="retries")
        if not self.max_wait >= 0:
            raise InvalidInput("max_retry_wait must be ≥ 0 seconds", field="max_retry_wait")

    def after_response(self, response: httpx.Response, attempt: int, *, enabled: bool = True,
                       ) -> float | None:
        """Seconds to wait before retrying, or None to hand the response to the parser."""
        if not enabled or response.status_code not in RETRY_STATUSES or attempt >= self.retries:
            return None
        asked = retry_after(response)
        if asked is None:
            return backoff(attempt, cap=self.max_wait)
        if asked > self.max_wait:
            return None  # waiting less would only be refused again: raise at once
        return min(self.max_wait, asked * random.uniform(1.0, 1.1))  # a little jitter, never early

    def after_error(self, exc: httpx.TransportError, attempt: int, *, enabled: bool = True,
                    safe: bool = False) -> float | None:
        """Seconds to wait before retrying after a transport failure, or None to give up.

        A failed connection never sent the request, so any call may be retried; a timeout
        or a dropped connection after sending may have done the work, so only ``safe`` ones.
        """
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if not enabled or attempt >= self.retries or not (never_sent or safe):
            return None
        return backoff(attempt, cap=self.max_wait)


def transport_error(exc: httpx.TransportError, request: httpx.Request, attempts: int) -> CortexError:
    """A CortexError for a call that got no response, saying where and why."""
    base = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
    reason = str(exc) or type(exc).__name__
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    return CortexError(f"cannot reach Cortex at {base}: {reason}{tries}",
                       transport=type(exc).__name__, method=request.method,
                       url=str(request.url), attempts=attempts)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _fallback_message(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    reason = response.reason_phrase or "error"
    where = f"{response.request.method} {response.request.url.path}"
    return f"HTTP {response.status_code} {reason} from {where}" + (f": {text}" if text else "")


def _batch_index(detail: dict[str, Any], offset: int) -> None:
    """Batch errors name an item of the chunk; make it the item of the caller's whole list."""
    if isinstance(detail.get("index"), int):
        detail["index"] += offset
        return
    for error in detail.get("errors") or ():
        loc = error.get("loc") if isinstance(error, dict) else None
        if isinstance(loc, list) and loc[:2] == ["body", "items"] and len(loc) > 2 \
                and isinstance(loc[2], int):
            detail["index"] = offset + loc[2]
            return


__all__ = ["RetryPolicy", "backoff", "error_class", "problem_error", "raise_for_problem", "retry_after",
           "transport_error"]
