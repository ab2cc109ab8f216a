"""A live Cortex API on loopback with two tenants and a key for every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cortex.api import create_app
from cortex.core.config import Settings
from cortex.embed import CachingEmbedder
from cortex.engine import Cortex
from tests.live import serve


@dataclass
class Api:
    base: str
    engine: Cortex
    keys: dict[str, str] = field(default_factory=dict)  # "acme:writer" → secret
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.keys[who]}"
        return self.client.request(method, self.base + path, headers=headers, **kwargs)

    def key(self, tenant: str, role: str, **kwargs: Any) -> str:
        return self.engine.keys.create(tenant, role, **kwargs).key


def settings_for(path: Path, **overrides: Any) -> Settings:
    return Settings.load(store_url=f"sqlite:///{path / 'api.db'}", **overrides)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: CachingEmbedder) -> Iterator[Api]:
    app = create_app(settings_for(tmp_path_factory.mktemp("api"), rate_limit_rps=0), embedder=embedder)
    with serve(app) as base:
        live = Api(base=base, engine=app.state.services.engine)
        for tenant in ("acme", "globex"):
            for role in ("admin", "writer", "reader"):
                live.keys[f"{tenant}:{role}"] = live.key(tenant, role)
        live.keys["acme:scoped"] = live.key("acme", "writer", namespaces=["team:a"])
        yield live
        live.client.close()
