"""The SDK's pure parts: problem → exception, retry decisions, request building.

Responses here are built by the API's own renderer (``cortex.api.problems``) or by hand as
plain ``httpx.Response`` values; nothing is mocked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cortex.api.problems import from_error
from cortex.client import CortexClient, calls
from cortex.client.errors import RetryPolicy, backoff, error_class, problem_error, retry_after
from cortex.core.config import Settings
from cortex.core.errors import (
    ConfigError,
    Conflict,
    CortexError,
    InvalidId,
    InvalidInput,
    NotReady,
    RateLimited,
    all_error_classes,
)

REQUEST = httpx.Request("GET", "http://cortex.test/v1/memories")


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, content=body, request=REQUEST)


def rendered(exc: CortexError) -> httpx.Response:
    """What the API sends for ``exc``, as the SDK receives it."""
    sent = from_error(exc)
    return response(sent.status_code, bytes(sent.body), dict(sent.headers))


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_class_comes_back_as_itself(cls: type[CortexError]) -> None:
    sent = (RateLimited("slow down", retry_after=2.5, limit=1) if cls is RateLimited
            else cls(f"{cls.__name__} happened", field="text", index=3))
    got = problem_error(rendered(sent))
    assert type(got) is cls and got.message == sent.message
    assert got.detail == sent.detail
    if isinstance(got, RateLimited):
        assert got.retry_after == 2.5


@pytest.mark.parametrize(("slug", "status", "expected"), [
    ("acme/future-conflict", 409, Conflict),
    (None, 503, NotReady),
    ("cortex/http-405", 405, CortexError),
    ("acme/teapot", 418, CortexError),
    (None, 502, CortexError),  # a proxy's 502 is not an EmbeddingError
    (None, 500, CortexError),
])
def test_unknown_types_fall_back_by_status(slug: str | None, status: int, expected: type) -> None:
    assert error_class(slug, status) is expected


def test_any_member_name_is_kept_in_detail() -> None:
    body = b'{"type": "cortex/conflict", "status": 409, "detail": "clash", "message": "m", "cls": 1}'
    got = problem_error(response(409, body))
    assert type(got) is Conflict and got.message == "clash" and got.detail == {"message": "m", "cls": 1}


def test_a_base_url_needs_a_scheme() -> None:
    with pytest.raises(ConfigError, match="http://"):
        CortexClient("localhost:8080")


def test_a_rate_limit_without_a_body_takes_retry_after_from_the_header() -> None:
    got = problem_error(response(429, b"slow down", {"Retry-After": "7"}))
    assert isinstance(got, RateLimited) and got.retry_after == 7.0
    assert got.message == "HTTP 429 Too Many Requests from GET /v1/memories: slow down"


def test_batch_errors_name_the_callers_item() -> None:
    errors = [{"loc": ["body", "items", 4, "text"], "msg": "bad", "type": "string_pattern_mismatch"}]
    body = b'{"type": "cortex/invalid-input", "status": 422, "detail": "invalid", "errors": %s}' % (
        str(errors).replace("'", '"').encode())
    assert problem_error(response(422, body), batch_offset=2000).detail["index"] == 2004
    engine_said = rendered(InvalidInput("bad item", index=4))
    assert problem_error(engine_said, batch_offset=2000).detail["index"] == 2004


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), ("1.5", 1.5), ("-4", 0.0), ("soon", None),
                                                 ("", None)])
def test_retry_after_in_seconds(header: str, seconds: float | None) -> None:
    assert retry_after(response(429, headers={"Retry-After": header})) == seconds


def test_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    waited = retry_after(response(503, headers={"Retry-After": when}))
    assert waited is not None and 15 < waited <= 20


@given(st.integers(min_value=0, max_value=20))
def test_backoff_doubles_with_jitter_and_a_cap(attempt: int) -> None:
    wait = backoff(attempt, cap=30.0)
    assert min(30.0, 0.25 * 2 ** attempt) <= wait <= min(30.0, 0.75 * 2 ** attempt)


def test_retry_decisions() -> None:
    policy = RetryPolicy(retries=2, max_wait=30)
    limited = response(429, headers={"Retry-After": "2"})
    assert 2.0 <= (policy.after_response(limited, 0) or 0) <= 2.2
    assert policy.after_response(limited, 2) is None  # out of retries
    assert policy.after_response(limited, 0, enabled=False) is None  # probes
    assert policy.after_response(response(429, headers={"Retry-After": "31"}), 0) is None
    assert policy.after_response(response(500), 0) is None
    assert 0.25 <= (policy.after_response(response(503), 0) or 0) <= 0.75
    refused, slow = httpx.ConnectError("refused"), httpx.ReadTimeout("slow")
    assert policy.after_error(refused, 0) is not None  # never sent: always safe to retry
    assert policy.after_error(slow, 0) is None
    assert policy.after_error(slow, 0, safe=True) is not None
    for bad in ({"retries": -1}, {"max_wait": -1.0}):
        with pytest.raises(InvalidInput):
            RetryPolicy(**bad)


def sizes(items: list[dict[str, Any]], **kwargs: Any) -> list[int]:
    return [call.body.count(b'"text"') for call in calls.remember_batches(items, **kwargs)
            if call.body is not None]


def test_batches_are_chunked_by_count_and_by_bytes() -> None:
    assert calls.MAX_BATCH_BYTES + 1_000 < Settings.model_fields["max_body_bytes"].default
    assert sizes([{"text": f"t{n}"} for n in range(2500)]) == [1000, 1000, 500]
    assert sizes([{"text": "x" * 400}] * 10, max_batch_bytes=1000) == [2, 2, 2, 2, 2]
    assert sizes([{"text": "x" * 5000}] * 2, max_batch_bytes=1000) == [1, 1]  # alone if too big
    assert sizes([]) == []
    with pytest.raises(InvalidInput, match="not a mapping") as caught:
        sizes([{"text": "ok"}, "not a mapping"])  # type: ignore[list-item]
    assert caught.value.detail["index"] == 1


def test_requests_are_built_once_here() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    call = calls.remember("hi", kind="fact", occurred_at=when, tags=("a",), metadata={"n": 1})
    assert (call.method, call.path, call.safe) == ("POST", "/v1/memories", False)
    assert call.body == (b'{"text":"hi","namespace":"default","kind":"fact","metadata":{"n":1},'
                         b'"tags":["a"],"importance":0.5,"occurred_at":"2024-01-02T03:04:05Z"}')
    page = calls.list_page(namespace=["a", "b"], kinds=["fact"], tags=["x"], limit=5,
                           include_superseded=True)
    assert page.params == {"limit": 5, "namespace": ["a", "b"], "kind": ["fact"], "tag": ["x"],
                           "include_superseded": "true"}
    assert calls.update("01J0000000000000000000000A", tags=[]).body == b'{"tags":[]}'
    assert calls.session_clear("chat/1").path == "/v1/sessions/chat%2F1"
    with pytest.raises(InvalidId):
        calls.get("../keys")
    with pytest.raises(InvalidInput, match="JSON"):
        calls.recall("q", metadata={"x": float("inf")})
