"""Retries and transport failures, against real servers on loopback.

A real Cortex server with a rate limit of 1 request/s checks 429 handling end to end.
Conditions a healthy Cortex never produces (a 503 without Retry-After, a slow answer, a
proxy's HTML 502, a problem type from the future) come from a small real app that
answers each request from a script.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

import cortex
from cortex.core.errors import Conflict, CortexError, NotReady, RateLimited
from cortex.embed import CachingEmbedder
from tests.client.conftest import Server, connect, cortex_server
from tests.live import serve

pytestmark = pytest.mark.anyio
PROBLEM = "application/problem+json"
STATS = b'{"namespaces": [{"namespace": "n", "memories": 1, "bytes": 5}]}'


# ---- the real server, rate-limited ----------------------------------------------------
@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[Server]:
    with cortex_server(tmp_path_factory.mktemp("limited"), embedder, rate_limit_rps=1,
                       rate_limit_burst=1) as server:
        yield server


async def test_a_429_is_waited_out_per_retry_after(limited: Server, flavour: str) -> None:
    _, key = limited.tenant()
    refused = limited.requests("GET", "/v1/memories", 429)
    async with connect(flavour, limited.url, key) as mem:
        await mem.remember("the first request spends the whole burst")
        started = time.monotonic()
        assert [m.text for m in await mem.list()] == ["the first request spends the whole burst"]
        waited = time.monotonic() - started
    assert limited.requests("GET", "/v1/memories", 429) - refused == 1  # one refusal, one wait
    assert waited >= 0.9  # Retry-After: 1, never retried early


async def test_without_retries_a_429_raises_rate_limited(limited: Server, flavour: str) -> None:
    _, key = limited.tenant()
    async with connect(flavour, limited.url, key, retries=0) as mem:
        await mem.namespaces()
        with pytest.raises(RateLimited, match="rate limit") as caught:
            await mem.namespaces()
    assert 0 < caught.value.retry_after <= 1 and caught.value.status == 429
    assert caught.value.detail["request_id"]


# ---- a scripted app for what a healthy Cortex never does ---------------------------------
@dataclass
class Reply:
    status: int = 200
    body: bytes = STATS
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    media: str = "application/json"


@dataclass
class Script:
    replies: list[Reply] = field(default_factory=list)
    seen: list[Request] = field(default_factory=list)

    def play(self, *replies: Reply) -> None:
        """Answer with these in turn; the last one repeats."""
        self.replies, self.seen = list(replies), []


def scripted_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PATCH", "DELETE"])
    async def anything(request: Request) -> Response:
        script.seen.append(request)
        reply = script.replies[min(len(script.seen), len(script.replies)) - 1]
        await anyio.sleep(reply.delay)
        return Response(reply.body, reply.status, reply.headers, media_type=reply.media)

    return app


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[tuple[str, Script]]:
    script = Script()
    with serve(scripted_app(script), ready_path="/healthz") as url:
        yield url, script


@pytest.fixture
def scripted(scripted_server: tuple[str, Script]) -> tuple[str, Script]:
    scripted_server[1].play(Reply())
    return scripted_server


def problem(status: int, slug: str, **extra: Any) -> bytes:
    return json.dumps({"type": slug, "title": "t", "status": status, "detail": f"{slug} happened",
                       **extra}).encode()


async def test_requests_carry_the_key_and_a_user_agent(scripted: tuple[str, Script], flavour: str) -> None:
    url, script = scripted
    async with connect(flavour, url, "ctx_secret", headers={"X-Request-Id": "trace-1"}) as mem:
        await mem.namespaces()
    (request,) = script.seen
    assert request.headers["authorization"] == "Bearer ctx_secret"
    assert request.headers["user-agent"] == f"cortex-client/{cortex.__version__}"
    assert request.headers["x-request-id"] == "trace-1"


async def test_a_503_without_retry_after_backs_off_then_succeeds(scripted: tuple[str, Script],
                                                               flavour: str) -> None:
    url, script = scripted
    busy = Reply(503, problem(503, "cortex/store-unavailable"), media=PROBLEM)
    script.play(busy, busy, Reply())
    async with connect(flavour, url, "k", retries=2) as mem:
        assert [s.namespace for s in await mem.namespaces()] == ["n"]
    assert len(script.seen) == 3
    script.play(Reply(503, problem(503, "cortex/not-ready"), {"Retry-After": "0"}, media=PROBLEM))
    async with connect(flavour, url, "k", retries=2) as mem:
        with pytest.raises(NotReady, match="cortex/not-ready happened"):
            await mem.namespaces()
    assert len(script.seen) == 3  # the first try and two retries


async def test_a_retry_after_beyond_the_cap_raises_at_once(scripted: tuple[str, Script],
                                                           flavour: str) -> None:
    url, script = scripted
    script.play(Reply(429, problem(429, "cortex/rate-limited"), {"Retry-After": "120"}, media=PROBLEM))
    async with connect(flavour, url, "k") as mem:
        with pytest.raises(RateLimited) as caught:
            await mem.recall("anything")
    assert len(script.seen) == 1 and caught.value.retry_after == 120


async def test_a_read_timeout_is_retried_only_when_repeating_is_safe(scripted: tuple[str, Script],
                                                                    flavour: str) -> None:
    url, script = scripted
    async with connect(flavour, url, "k", retries=2, timeout=0.3) as mem:
        for call, safe in ((lambda: mem.namespaces(), True), (lambda: mem.recall("q"), True),
                           (lambda: mem.remember("written once at most"), False)):
            script.play(Reply(delay=1.0))
            with pytest.raises(CortexError, match="cannot reach Cortex") as caught:
                await call()
            assert caught.value.detail["transport"] == "ReadTimeout"
            assert len(script.seen) == (3 if safe else 1)


async def test_odd_answers_still_raise_cortex_errors(scripted: tuple[str, Script], flavour: str) -> None:
    url, script = scripted
    async with connect(flavour, url, "k") as mem:
        script.play(Reply(502, b"<html><h1>502 Bad Gateway</h1></html>", media="text/html"))
        with pytest.raises(CortexError, match="HTTP 502 Bad Gateway from GET /v1/namespaces: "
                                              "<html><h1>502 Bad Gateway") as gateway:
            await mem.namespaces()
        assert type(gateway.value) is CortexError and gateway.value.detail == {"status": 502}
        assert len(script.seen) == 1

        script.play(Reply(409, problem(409, "cortex/edit-clash", version=3), media=PROBLEM))
        with pytest.raises(Conflict, match="cortex/edit-clash happened") as clash:
            await mem.namespaces()
        assert clash.value.detail == {"version": 3, "type": "cortex/edit-clash"}

        script.play(Reply(200, b'{"something": "else"}'))
        with pytest.raises(CortexError, match="unexpected response to GET /v1/namespaces"):
            await mem.namespaces()
