"""The SDK against a real Cortex server: uvicorn on loopback, SQLite under tmp, the real model.

``connect`` opens either client behind one awaitable interface, so every scenario runs
on ``CortexClient`` and ``AsyncCortexClient`` alike without being written twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from cortex.api import create_app
from cortex.client import AsyncCortexClient, CortexClient
from cortex.core.config import Settings
from cortex.embed import CachingEmbedder
from cortex.engine import Cortex
from tests.live import serve

FLAVOURS = ["sync", "async"]


@dataclass
class Server:
    url: str
    app: FastAPI

    @property
    def engine(self) -> Cortex:
        engine: Cortex = self.app.state.services.engine
        return engine

    def key(self, tenant: str, role: str, **kwargs: Any) -> str:
        return self.engine.keys.create(tenant, role, **kwargs).key

    def tenant(self) -> tuple[str, str]:
        """A fresh tenant and its admin key: every test counts only its own memories."""
        name = f"t-{uuid.uuid4().hex[:10]}"
        return name, self.key(name, "admin")

    def requests(self, method: str, route: str, status: int | None = None) -> int:
        """How many requests the server counted for a route (its Prometheus counter)."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = sample.labels
                if (sample.name == "cortex_http_requests_total" and labels.get("method") == method
                        and labels.get("route") == route
                        and (status is None or labels.get("status") == str(status))):
                    total += sample.value
        return int(total)


@contextmanager
def cortex_server(path: Path, embedder: CachingEmbedder, **overrides: Any) -> Iterator[Server]:
    settings = Settings.load(store_url=f"sqlite:///{path / 'c.db'}", **overrides)
    app = create_app(settings, embedder=embedder)
    with serve(app) as url:
        yield Server(url, app)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[Server]:
    """One server for the round-trip tests; rate limits off (their own server tests them)."""
    with cortex_server(tmp_path_factory.mktemp("client"), embedder, rate_limit_rps=0) as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


class Awaitable:
    """A ``CortexClient`` whose methods are awaited like ``AsyncCortexClient``'s."""

    def __init__(self, client: CortexClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)
        return call

    async def iter_memories(self, **kwargs: Any) -> AsyncIterator[Any]:
        for memory in self.client.iter_memories(**kwargs):
            yield memory


@asynccontextmanager
async def connect(flavour: str, url: str, key: str | None, **kwargs: Any) -> AsyncIterator[Any]:
    """The sync or the async client, awaited the same way; closed on exit."""
    if flavour == "sync":
        with CortexClient(url, key, **kwargs) as client:
            yield Awaitable(client)
    else:
        async with AsyncCortexClient(url, key, **kwargs) as aclient:
            yield aclient
