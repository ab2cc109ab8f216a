"""Real Redis for tests: a unique key prefix per test, deleted afterwards (shared by the
cache and working-memory suites)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import skip_or_fail

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        skip_or_fail(f"Redis at {REDIS_URL} is unreachable ({exc}); start redis-server to run these")
    return client


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis_or_skip()
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """Never FLUSHDB: db 15 may be shared with other tests and other runs."""
    value = f"cortex-test:{uuid.uuid4().hex}:"
    yield value
    keys = list(redis_client.scan_iter(match=value + "*"))
    if keys:
        redis_client.delete(*keys)
