"""Redis working memory specifics: TTL, several clients at once, keys, errors.

The behaviour shared with the other backends is in test_backends.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from cortex.core.errors import ConfigError, StoreUnavailable
from cortex.working.redis import RedisWorkingMemory
from tests.working.conftest import REDIS_URL
from tests.working.test_backends import message


@pytest.fixture
def wm(prefix: str) -> Iterator[RedisWorkingMemory]:
    made = RedisWorkingMemory(REDIS_URL, prefix=prefix, ttl_seconds=60)
    yield made
    made.close()


def wait_until_gone(client: redis.Redis, key: str, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not client.exists(key):
            return True
        time.sleep(0.05)
    return False


def test_key_layout_is_namespaced_and_encoded(wm: RedisWorkingMemory, prefix: str) -> None:
    assert wm.key("acme", "chat-1") == f"{prefix}acme:chat-1"
    assert wm.key("a:b", "c") == f"{prefix}a%3Ab:c" != wm.key("a", "b:c")
    assert wm.key("t", "{x}*?[") == f"{prefix}t:%7Bx%7D%2A%3F%5B"  # no hash tags, no globs
    assert wm.key("t", "\ud800") == f"{prefix}t:%ED%A0%80"  # a lone surrogate still has a key


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_different_names_never_share_a_key(t1: str, s1: str, t2: str, s2: str) -> None:
    wm = RedisWorkingMemory(REDIS_URL)  # building keys needs no connection
    try:
        assert (wm.key(t1, s1) == wm.key(t2, s2)) == ((t1, s1) == (t2, s2))
    finally:
        wm.close()


def test_an_idle_session_expires(prefix: str, redis_client: redis.Redis) -> None:
    wm = RedisWorkingMemory(REDIS_URL, prefix=prefix, ttl_seconds=0.3)
    try:
        wm.append("t", message("s", 1))
        assert len(wm.messages("t", "s")) == 1
        assert 0 < redis_client.pttl(wm.key("t", "s")) <= 300
        assert wait_until_gone(redis_client, wm.key("t", "s"))
        assert wm.messages("t", "s") == [] and wm.clear("t", "s") == 0
    finally:
        wm.close()


def test_append_restarts_the_ttl_and_reading_does_not(prefix: str, redis_client: redis.Redis) -> None:
    wm = RedisWorkingMemory(REDIS_URL, prefix=prefix, ttl_seconds=5)
    key = wm.key("t", "s")
    try:
        wm.append("t", message("s", 1))
        time.sleep(0.3)
        wm.messages("t", "s")
        before = redis_client.pttl(key)
        assert 0 < before <= 4_700
        wm.append("t", message("s", 2))
        assert before < redis_client.pttl(key) <= 5_000
        assert redis_client.pttl(wm.key("t", "other")) == -2
    finally:
        wm.close()


def test_no_ttl_keeps_sessions(prefix: str, redis_client: redis.Redis) -> None:
    wm = RedisWorkingMemory(REDIS_URL, prefix=prefix, ttl_seconds=None)
    try:
        wm.append("t", message("s", 1))
        assert redis_client.pttl(wm.key("t", "s")) == -1
    finally:
        wm.close()


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
def test_a_bad_ttl_is_a_config_error(ttl: float) -> None:
    with pytest.raises(ConfigError, match="TTL"):
        RedisWorkingMemory(REDIS_URL, ttl_seconds=ttl)


def append_concurrently(nodes: list[RedisWorkingMemory], per_node: int,
                        session: str = "s") -> list[list[str]]:
    """Each node appends from its own thread; returns what each append evicted."""
    evicted: list[list[str]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(nodes))

    def run(index: int, node: RedisWorkingMemory) -> None:
        start.wait()
        for n in range(per_node):
            gone = node.append("t", message(session, index * 10_000 + n))
            with lock:
                evicted.append([m.id for m in gone])

    threads = [threading.Thread(target=run, args=(i, node)) for i, node in enumerate(nodes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return evicted


def test_two_clients_appending_at_once_lose_nothing(prefix: str) -> None:
    nodes = [RedisWorkingMemory(REDIS_URL, prefix=prefix, max_messages=1_000, max_tokens=10**6)
             for _ in range(2)]
    try:
        evicted = append_concurrently(nodes, per_node=150)
        kept = nodes[0].messages("t", "s")
        assert all(gone == [] for gone in evicted) and len(kept) == 300
        assert {m.id for m in kept} == {message("s", i * 10_000 + n).id for i in range(2) for n in range(150)}
        for i in range(2):  # each client's own messages stay in the order it sent them
            mine = [m.id for m in kept if m.id.startswith(f"m{i}")]
            assert mine == sorted(mine)
    finally:
        for node in nodes:
            node.close()


def test_two_clients_at_once_respect_the_budget_and_evict_each_message_once(prefix: str) -> None:
    nodes = [RedisWorkingMemory(REDIS_URL, prefix=prefix, max_messages=7, max_tokens=12)
             for _ in range(2)]
    try:
        evicted = [i for gone in append_concurrently(nodes, per_node=100) for i in gone]
        kept = nodes[1].messages("t", "s")
        assert len(evicted) == len(set(evicted))  # nobody evicted the same message twice
        assert sorted(evicted + [m.id for m in kept]) == sorted(
            message("s", i * 10_000 + n).id for i in range(2) for n in range(100))
        assert len(kept) <= 7 and sum(m.tokens for m in kept) <= 12
    finally:
        for node in nodes:
            node.close()


def test_a_client_passed_in_stays_open(prefix: str, redis_client: redis.Redis) -> None:
    wm = RedisWorkingMemory(redis_client, prefix=prefix)
    wm.append("t", message("s", 1))
    wm.close()
    assert redis_client.llen(f"{prefix}t:s") == 1


def test_a_client_decoding_responses_works_too(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        wm = RedisWorkingMemory(client, prefix=prefix, max_messages=1)
        wm.append("t", message("s", 1, "ünïcödé"))
        assert wm.append("t", message("s", 2)) == [message("s", 1, "ünïcödé")]
        assert wm.messages("t", "s") == [message("s", 2)]
    finally:
        client.close()


def test_unreachable_redis_is_store_unavailable_without_the_password() -> None:
    wm = RedisWorkingMemory("redis://:hunter2@127.0.0.1:1/0", timeout=0.5)
    try:
        for call in (lambda: wm.append("t", message("s", 1)), lambda: wm.messages("t", "s"),
                     lambda: wm.clear("t", "s")):
            with pytest.raises(StoreUnavailable, match="unreachable") as caught:
                call()
            assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    finally:
        wm.close()


def test_a_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="working memory URL"):
        RedisWorkingMemory("http://127.0.0.1:6379/0")
