"""MCP over streamable HTTP at ``/mcp`` of the real API (uvicorn on loopback), with API keys.

The SDK's own client talks to ``cortex.api.create_app``: the same keys, roles, tenants,
rate limits and quotas as ``/v1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client

from cortex.api import create_app
from cortex.core.config import Settings
from cortex.embed import CachingEmbedder
from mcp import Client
from tests.live import serve
from tests.mcp.conftest import TOOLS, error_text, ok


@dataclass
class Live:
    url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[Live]:
    path: Path = tmp_path_factory.mktemp("mcp-http")
    settings = Settings.load(store_url=f"sqlite:///{path / 'api.db'}", rate_limit_rps=0,
                             max_memories_per_tenant=5)
    app = create_app(settings, embedder=embedder)
    with serve(app) as base:
        keys = app.state.services.engine.keys
        yield Live(url=f"{base}/mcp", keys={
            "acme": keys.create("acme", "writer").key, "globex": keys.create("globex", "writer").key,
            "reader": keys.create("acme", "reader").key,
            "scoped": keys.create("acme", "writer", namespaces=["team:a"]).key})


@asynccontextmanager
async def connect(url: str, key: str | None, mode: str = "auto") -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers) as http, \
            Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026 per-request and 2025 handshake clients
async def test_each_key_acts_in_its_own_tenant(live: Live, mode: str) -> None:
    async with connect(live.url, live.keys["acme"], mode) as acme:
        assert {t.name for t in (await acme.list_tools()).tools} == TOOLS
        made = ok(await acme.call_tool("remember", {"text": f"Acme's launch is on Friday ({mode})"}))
    acme_id = made["memory"]["id"]
    async with connect(live.url, live.keys["globex"], mode) as globex:
        ok(await globex.call_tool("remember", {"text": f"Globex's launch is on Monday ({mode})"}))
        hits = ok(await globex.call_tool("recall", {"query": "when is the launch"}))["hits"]
        assert hits and all(h["memory"]["text"].startswith("Globex") for h in hits)
        for tool, args in [("forget", {"memory_id": acme_id}),
                           ("update_memory", {"memory_id": acme_id, "text": "hijacked"})]:
            assert "cortex/memory-not-found" in error_text(await globex.call_tool(tool, args))
        listed = ok(await globex.call_tool("list_memories", {}))
        assert "Acme" not in str(listed)
        assert ok(await globex.call_tool("session_context", {"session": "s1"}))["messages"] == []


@pytest.mark.anyio
async def test_roles_and_namespace_scopes_hold_over_mcp(live: Live) -> None:
    async with connect(live.url, live.keys["reader"]) as reader:
        assert "forbidden" in error_text(await reader.call_tool("remember", {"text": "no"}))
        ok(await reader.call_tool("recall", {"query": "launch"}))
    async with connect(live.url, live.keys["scoped"]) as scoped:
        ok(await scoped.call_tool("remember", {"text": "team a plan", "namespace": "team:a"}))
        denied = error_text(await scoped.call_tool("remember", {"text": "x", "namespace": "other"}))
        assert "cortex/forbidden" in denied
        assert "cortex/forbidden" in error_text(await scoped.call_tool("session_context", {"session": "s"}))


@pytest.mark.anyio
async def test_quotas_apply_to_mcp_writes(live: Live) -> None:
    async with connect(live.url, live.keys["globex"]) as globex:
        texts = [f"globex fact number {n}" for n in range(6)]
        results = [await globex.call_tool("remember", {"text": t}) for t in texts]
    assert any("cortex/quota-exceeded" in error_text(r) for r in results if r.is_error)


def test_bad_or_missing_keys_get_a_401_problem(live: Live) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer ctx_nope"}):
        reply = httpx.post(live.url, json=call, headers=headers)
        assert reply.status_code == 401
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.json()["type"] == "cortex/unauthenticated"


def test_stateless_endpoint_needs_no_session(live: Live) -> None:
    """Any worker can answer any request: a bare tools/call needs no prior initialize."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "remember", "arguments": {"text": "No session needed"}}}
    reply = httpx.post(live.url, json=call, headers={
        "Authorization": f"Bearer {live.keys['acme']}", "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    assert "mcp-session-id" not in reply.headers
    assert reply.json()["result"]["structuredContent"]["memory"]["text"] == "No session needed"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_only_post_is_served(live: Live, method: str) -> None:
    reply = httpx.request(method, live.url, headers={"Authorization": f"Bearer {live.keys['acme']}",
                                                     "accept": "text/event-stream"})
    assert reply.status_code == 405 and reply.headers["allow"] == "POST"
