"""The recall cache: hits, invalidation on write (across API nodes), TTLs, tenants, keys."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

import cortex.cache
from cortex.cache import (
    Cached,
    LocalRecallCache,
    RecallCache,
    RedisRecallCache,
    open_recall_cache,
    request_key,
)
from cortex.core.errors import ConfigError, InvalidInput, StoreUnavailable
from cortex.core.models import Kind, MemoryFilter
from tests.cache.conftest import REDIS_URL

KEY = request_key(query="what is my dog called?", namespaces=["work"], k=10)
OTHER = request_key(query="what is my dog called?", namespaces=["work"], k=5)


@pytest.fixture(params=["local", "redis"])
def make_cache(request: pytest.FixtureRequest) -> Iterator[Callable[..., RecallCache]]:
    """Builds caches of one kind; Redis ones share one prefix, i.e. one cache seen from two nodes."""
    made: list[RecallCache] = []

    def factory(ttl_seconds: float = 30.0) -> RecallCache:
        cache: RecallCache
        if request.param == "local":
            cache = LocalRecallCache(max_entries=100, ttl_seconds=ttl_seconds)
        else:
            cache = RedisRecallCache(REDIS_URL, ttl_seconds, request.getfixturevalue("prefix"))
        made.append(cache)
        return cache

    yield factory
    for cache in made:
        cache.close()


def eventually_misses(cache: RecallCache, tenant: str, key: str, limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cache.get(tenant, key).payload is None:
            return True
        time.sleep(0.05)
    return False


# --- every implementation -----------------------------------------------------------------

def test_a_put_is_a_hit_until_the_tenant_is_written(make_cache) -> None:
    cache = make_cache()
    first = cache.get("acme", KEY)
    assert first == Cached(None, 0)
    assert cache.put("acme", KEY, b"\x00hits\xff", generation=first.generation)
    assert cache.get("acme", KEY) == Cached(b"\x00hits\xff", 0)
    assert cache.get("acme", OTHER).payload is None
    cache.invalidate("acme")
    assert cache.get("acme", KEY) == Cached(None, 1)
    assert cache.put("acme", KEY, b"new hits", generation=1)
    assert cache.get("acme", KEY) == Cached(b"new hits", 1)


def test_a_recall_read_before_a_write_is_not_cached_after_it(make_cache) -> None:
    cache = make_cache()
    seen = cache.get("acme", KEY)  # a reader misses and reads the store...
    cache.invalidate("acme")  # ...a write commits and invalidates...
    assert not cache.put("acme", KEY, b"stale", generation=seen.generation)  # ...its result is dropped
    assert cache.get("acme", KEY).payload is None


def test_tenants_never_share_entries_or_invalidations(make_cache) -> None:
    cache = make_cache()
    for tenant in ("acme", "globex", "a:b", "a}b", "{acme}"):
        assert cache.put(tenant, KEY, tenant.encode(), generation=0)
    for tenant in ("acme", "globex", "a:b", "a}b", "{acme}"):
        assert cache.get(tenant, KEY).payload == tenant.encode()
    cache.invalidate("acme")
    assert cache.get("acme", KEY).payload is None
    assert [cache.get(t, KEY) for t in ("globex", "{acme}")] == [Cached(b"globex", 0), Cached(b"{acme}", 0)]


def test_entries_expire_after_their_ttl(make_cache) -> None:
    cache = make_cache(ttl_seconds=0.2)
    assert cache.put("acme", KEY, b"hits", generation=0)
    assert cache.get("acme", KEY).payload == b"hits"
    assert eventually_misses(cache, "acme", KEY)


def test_put_may_shorten_the_ttl_but_never_lengthen_it(make_cache) -> None:
    cache = make_cache(ttl_seconds=30)
    assert cache.put("acme", KEY, b"short", generation=0, ttl_seconds=0.2)
    assert cache.put("acme", OTHER, b"long", generation=0, ttl_seconds=3600)
    assert not cache.put("acme", "never", b"x", generation=0, ttl_seconds=0)
    assert eventually_misses(cache, "acme", KEY)
    assert cache.get("acme", OTHER).payload == b"long"
    assert cache.get("acme", "never").payload is None


def test_unicode_tenants_and_large_payloads(make_cache) -> None:
    cache = make_cache()
    payload = ("Grüße 🧠 東京 " * 20_000).encode()
    assert cache.put("tenánt 🧠", KEY, payload, generation=0)
    assert cache.get("tenánt 🧠", KEY).payload == payload
    assert cache.get("tenant 🧠", KEY).payload is None


def test_no_reader_sees_a_result_older_than_the_last_finished_invalidation(make_cache) -> None:
    """Writers commit (version += 1) then invalidate; readers through two nodes cache what they
    read. A hit must never be older than the last write whose invalidation had finished."""
    nodes, state, errors = [make_cache(), make_cache()], {"version": 0, "invalidated": 0}, []
    shared_local = isinstance(nodes[0], LocalRecallCache)
    if shared_local:
        nodes[1] = nodes[0]  # one process: both "nodes" are the same cache
    done = threading.Event()

    def write() -> None:
        for _ in range(60):
            state["version"] += 1
            version = state["version"]
            nodes[0].invalidate("acme")
            state["invalidated"] = version
            time.sleep(0.001)
        done.set()

    def read(node: RecallCache) -> None:
        while not done.is_set():
            floor = state["invalidated"]
            found = node.get("acme", KEY)
            if found.payload is not None and int(found.payload) < floor:
                errors.append((int(found.payload), floor))
            elif found.payload is None:
                node.put("acme", KEY, str(state["version"]).encode(), generation=found.generation)

    threads = [threading.Thread(target=write), *(threading.Thread(target=read, args=(n,)) for n in nodes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf")])
def test_a_bad_ttl_is_a_config_error(ttl: float) -> None:
    with pytest.raises(ConfigError, match="TTL"):
        LocalRecallCache(ttl_seconds=ttl)
    with pytest.raises(ConfigError, match="TTL"):
        RedisRecallCache(REDIS_URL, ttl)


# --- shared through Redis -------------------------------------------------------------------

def test_two_api_nodes_share_entries_and_invalidations(prefix: str) -> None:
    node_a, node_b = RedisRecallCache(REDIS_URL, 30, prefix), RedisRecallCache(REDIS_URL, 30, prefix)
    try:
        assert node_a.put("acme", KEY, b"from a", generation=node_a.get("acme", KEY).generation)
        assert node_b.get("acme", KEY).payload == b"from a"
        seen_by_a = node_a.get("acme", OTHER)
        node_b.invalidate("acme")  # a write through node b...
        assert node_a.get("acme", KEY) == Cached(None, 1)  # ...is seen by node a at once
        assert not node_a.put("acme", OTHER, b"stale", generation=seen_by_a.generation)
        assert node_b.put("acme", OTHER, b"fresh", generation=1)
        assert node_a.get("acme", OTHER).payload == b"fresh"
    finally:
        node_a.close()
        node_b.close()


def test_invalidate_deletes_the_plaintext_not_only_hides_it(prefix: str, redis_client: redis.Redis) -> None:
    cache = RedisRecallCache(REDIS_URL, 30, prefix)
    try:
        for n in range(1_200):  # more than one DEL batch in the script
            cache.put("acme", f"q{n}", b"secret memory text", generation=0)
        cache.put("globex", KEY, b"globex text", generation=0)
        base, other = cache.tenant_prefix("acme"), cache.tenant_prefix("globex")
        assert len(list(redis_client.scan_iter(match=base + "*", count=1000))) == 1_201  # + index
        cache.invalidate("acme")
        left = {k.decode() for k in redis_client.scan_iter(match=prefix + "*", count=1000)}
        assert {k for k in left if k.startswith(base)} == {base + "gen"}
        assert {k for k in left if k.startswith(other)} == {other + "idx", f"{other}e:0:{KEY}"}
        assert redis_client.get(base + "gen") == b"1"
    finally:
        cache.close()


def test_every_key_has_a_ttl_but_the_generation(prefix: str, redis_client: redis.Redis) -> None:
    cache = RedisRecallCache(REDIS_URL, 30, prefix)
    try:
        cache.put("acme", KEY, b"hits", generation=0, ttl_seconds=5)
        cache.put("acme", OTHER, b"hits", generation=0, ttl_seconds=3600)
        cache.invalidate("globex")
        base = cache.tenant_prefix("acme")
        assert 0 < redis_client.pttl(f"{base}e:0:{KEY}") <= 5_000
        assert 5_000 < redis_client.pttl(f"{base}e:0:{OTHER}") <= 30_000
        assert 5_000 < redis_client.pttl(base + "idx") <= 30_000
        assert redis_client.pttl(cache.tenant_prefix("globex") + "gen") == -1
    finally:
        cache.close()


def test_the_index_forgets_expired_entries(prefix: str, redis_client: redis.Redis) -> None:
    cache = RedisRecallCache(REDIS_URL, 30, prefix)
    try:
        for n in range(5):
            cache.put("acme", f"q{n}", b"x", generation=0, ttl_seconds=0.05)
        time.sleep(0.1)
        cache.put("acme", KEY, b"hits", generation=0)
        assert redis_client.zcard(cache.tenant_prefix("acme") + "idx") == 1
    finally:
        cache.close()


def test_a_client_that_decodes_responses_is_refused() -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        with pytest.raises(ConfigError, match="bytes"):
            RedisRecallCache(client)
    finally:
        client.close()


def test_a_client_passed_in_stays_open(prefix: str, redis_client: redis.Redis) -> None:
    cache = RedisRecallCache(redis_client, 30, prefix)
    cache.put("acme", KEY, b"hits", generation=0)
    cache.close()
    assert redis_client.ping()


def test_unreachable_redis_is_store_unavailable_without_the_password() -> None:
    cache = RedisRecallCache("redis://:hunter2@127.0.0.1:1/0", timeout=0.5)
    try:
        for call in (lambda: cache.get("t", KEY), lambda: cache.put("t", KEY, b"x", generation=0),
                     lambda: cache.invalidate("t")):
            with pytest.raises(StoreUnavailable, match="unreachable") as caught:
                call()
            assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    finally:
        cache.close()


def test_a_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="recall cache URL"):
        RedisRecallCache("http://127.0.0.1:6379/0")


def test_open_recall_cache_picks_by_url() -> None:
    for url, kind in ((None, LocalRecallCache), ("", LocalRecallCache), (REDIS_URL, RedisRecallCache)):
        made = open_recall_cache(url)
        assert isinstance(made, kind)
        made.close()


# --- one process ---------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_cache_drops_the_least_recently_used() -> None:
    cache = LocalRecallCache(max_entries=2)
    cache.put("t", "a", b"a", generation=0)
    cache.put("u", "b", b"b", generation=0)
    assert cache.get("t", "a").payload == b"a"  # now "b" is the least recent
    cache.put("t", "c", b"c", generation=0)
    assert [cache.get(t, k).payload for t, k in (("t", "a"), ("u", "b"), ("t", "c"))] == [b"a", None, b"c"]


def test_local_cache_ttl_on_its_clock() -> None:
    clock = FakeClock()
    cache = LocalRecallCache(ttl_seconds=30, clock=clock)
    cache.put("t", "a", b"a", generation=0)
    cache.put("t", "b", b"b", generation=0, ttl_seconds=5)
    cache.put("t", "c", b"c", generation=0, ttl_seconds=3600)
    clock.now += 5
    assert (cache.get("t", "a").payload, cache.get("t", "b").payload) == (b"a", None)
    clock.now += 25
    assert (cache.get("t", "a").payload, cache.get("t", "c").payload) == (None, None)


def test_local_cache_size_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="size"):
        LocalRecallCache(max_entries=0)


# --- the package ---------------------------------------------------------------------------

def test_the_package_exports_what_it_lists() -> None:
    assert sorted(cortex.cache.__all__) == sorted(
        n for n in vars(cortex.cache) if not n.startswith("_") and n != "recall_cache")
    for name in cortex.cache.__all__:
        assert hasattr(cortex.cache, name), name


def test_the_local_cache_does_not_import_redis() -> None:
    code = ("import sys, cortex.cache; c = cortex.cache.open_recall_cache(None);"
            " c.put('t', 'k', b'v', generation=0); print('redis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- request keys --------------------------------------------------------------------------

AS_OF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
BASE: dict[str, object] = {"query": "dog's name", "namespaces": ["work"], "k": 10, "kinds": None,
                           "tags": [], "metadata": {}, "as_of": None, "scope": None}


@pytest.mark.parametrize("change", [
    {"query": "dog's names"}, {"k": 11}, {"namespaces": ["home"]}, {"namespaces": ["work", "home"]},
    {"kinds": ["fact"]}, {"tags": ["pets"]}, {"metadata": {"source": "chat"}},
    {"metadata": {"source": "chat", "n": 1}}, {"as_of": AS_OF}, {"scope": ["work"]},
    {"scope": ["work", "home"]}, {"session": "chat-1"},
])
def test_keys_differ_when_anything_that_changes_the_answer_differs(change: dict[str, object]) -> None:
    assert request_key(**BASE) != request_key(**{**BASE, **change})


def test_keys_are_canonical() -> None:
    assert request_key(**BASE) == request_key(**dict(reversed(list(BASE.items()))))
    assert request_key(metadata={"a": 1, "b": 2}) == request_key(metadata={"b": 2, "a": 1})
    same_instant = AS_OF.astimezone(timezone(timedelta(hours=2)))
    assert request_key(as_of=AS_OF) == request_key(as_of=same_instant)
    assert request_key(as_of=AS_OF) != request_key(as_of=AS_OF + timedelta(microseconds=1))
    assert request_key(kinds=(Kind.FACT,)) == request_key(kinds=["fact"])
    assert request_key(kinds={"fact", "episode"}) == request_key(kinds=frozenset({"episode", "fact"}))
    assert request_key(k=1) != request_key(k=True) != request_key(k=1.0)
    assert request_key(k=None) != request_key()
    assert len(KEY) == 64 and int(KEY, 16) >= 0


def test_a_filter_model_is_a_key_part() -> None:
    work = MemoryFilter(namespaces=("work",), as_of=AS_OF)
    assert request_key(filter=work) == request_key(filter=MemoryFilter(namespaces=("work",), as_of=AS_OF))
    assert request_key(filter=work) != request_key(filter=MemoryFilter(namespaces=("home",), as_of=AS_OF))


@pytest.mark.parametrize(("value", "where"), [
    (object(), "request.x"), (float("nan"), "request.x"), ({1: "a"}, "request.x"),
    ([b"bytes"], r"request.x\[0\]"), ({"deep": {"inf": float("inf")}}, "request.x.deep.inf"),
])
def test_values_with_no_canonical_form_are_refused(value: object, where: str) -> None:
    with pytest.raises(InvalidInput, match=where):
        request_key(x=value)


requests = st.fixed_dictionaries({
    "query": st.text(max_size=20),
    "namespaces": st.none() | st.lists(st.text(max_size=5), max_size=3),
    "k": st.integers(1, 1000),
    "as_of": st.none() | st.datetimes(timezones=st.just(UTC)),
    "metadata": st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
})


@given(requests, requests)
def test_keys_are_equal_exactly_when_requests_are(a: dict[str, object], b: dict[str, object]) -> None:
    assert (request_key(**a) == request_key(**b)) == (a == b)
