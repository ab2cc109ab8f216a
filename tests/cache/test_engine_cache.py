"""Engines ("API nodes") over one store and one Redis: hot recalls come from the cache,
and any write through either engine invalidates them for both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cortex import Cortex
from cortex.cache import RedisRecallCache, request_key
from cortex.embed import CachingEmbedder
from cortex.store import open_store


@pytest.fixture
def nodes(tmp_path: Path, embedder: CachingEmbedder, redis_client: redis.Redis,
          prefix: str) -> Iterator[tuple[Cortex, Cortex]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engines = []
    for _ in range(2):
        engine = Cortex(open_store(url, dim=embedder.dim), embedder)
        engine.recall_cache = RedisRecallCache(redis_client, 30.0, prefix)
        engines.append(engine)
    yield engines[0], engines[1]
    for engine in engines:
        engine.close()


def _cached(engine: Cortex, query: str, k: int = 10) -> bool:
    assert engine.recall_cache is not None
    flt = engine._filter()
    key = request_key(v=1, query=query, k=k, filter=flt, weights=engine.store.get_weights("default"))
    return engine.recall_cache.get("default", key).payload is not None


def test_a_write_on_one_node_is_recalled_on_the_other(nodes: tuple[Cortex, Cortex]) -> None:
    a, b = nodes
    a.remember("The office plant is a fern")
    first = b.recall("office plant")
    assert _cached(b, "office plant") and _cached(a, "office plant")  # shared through Redis
    assert [h.memory.id for h in a.recall("office plant")] == [h.memory.id for h in first]

    new = a.remember("The office plant was replaced by a cactus")
    assert not _cached(b, "office plant")  # the write invalidated both nodes' entries
    assert new.memory.id in [h.memory.id for h in b.recall("office plant")]


def test_forget_update_and_erasure_invalidate(nodes: tuple[Cortex, Cortex]) -> None:
    a, b = nodes
    kept = a.remember("Ann likes green tea", subject="user:ann")
    assert b.recall("green tea")[0].memory.id == kept.memory.id
    a.update(kept.memory.id, text="Ann likes jasmine tea")
    assert "jasmine" in b.recall("green tea")[0].memory.text
    b.recall("jasmine tea")
    assert _cached(a, "jasmine tea")
    a.privacy.erase_subject("user:ann")
    assert not _cached(a, "jasmine tea")  # erasure deletes cached copies of the text
    assert all("Ann" not in h.memory.text for h in b.recall("jasmine tea"))


def test_session_recalls_are_not_cached(nodes: tuple[Cortex, Cortex]) -> None:
    a, _ = nodes
    a.remember("Standup is at ten")
    a.recall("standup", session="s1")
    assert not _cached(a, "standup")
