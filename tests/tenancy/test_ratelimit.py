"""GCRA rate limits: exact on a fake clock, a property against a textbook model, real Redis."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Iterator
from fractions import Fraction

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.core.errors import ConfigError, InvalidInput, StoreUnavailable
from cortex.tenancy import (
    Decision,
    LocalRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    open_rate_limiter,
)
from cortex.tenancy.ratelimit import _redact_url
from tests.conftest import skip_or_fail

REDIS_URL = "redis://127.0.0.1:6379/15"
SLOW = 0.001  # one unit per 1000 s: no refill during a test on a real clock


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- exact behaviour on a fake clock ---------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def local(clock: FakeClock) -> LocalRateLimiter:
    return LocalRateLimiter(clock)


def test_burst_is_admitted_then_denied_with_exact_retry_after(local: LocalRateLimiter) -> None:
    hits = [local.hit("t", rate=2, burst=3) for _ in range(4)]
    assert hits[:3] == [Decision(True, 0.0, 2), Decision(True, 0.0, 1), Decision(True, 0.0, 0)]
    assert hits[3] == Decision(False, 0.5, 0)


def test_admitted_exactly_at_retry_after_and_not_a_microsecond_before(
    local: LocalRateLimiter, clock: FakeClock
) -> None:
    local.hit("t", rate=4, burst=1)
    denied = local.hit("t", rate=4, burst=1)
    assert denied == Decision(False, 0.25, 0)
    clock.advance(denied.retry_after - 1e-6)
    assert local.hit("t", rate=4, burst=1) == Decision(False, 1e-6, 0)
    clock.advance(1e-6)
    assert local.hit("t", rate=4, burst=1).allowed


def test_bucket_refills_at_the_rate_and_never_beyond_burst(local: LocalRateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        local.hit("t", rate=2, burst=5)
    clock.advance(1.0)  # two units back
    assert local.hit("t", rate=2, burst=5) == Decision(True, 0.0, 1)
    clock.advance(3600)
    assert local.hit("t", rate=2, burst=5) == Decision(True, 0.0, 4)


def test_cost_spends_several_units_at_once(local: LocalRateLimiter, clock: FakeClock) -> None:
    assert local.hit("t", rate=2, burst=5, cost=3) == Decision(True, 0.0, 2)
    assert local.hit("t", rate=2, burst=5, cost=3) == Decision(False, 0.5, 2)  # one unit short
    assert local.hit("t", rate=2, burst=5, cost=2) == Decision(True, 0.0, 0)
    clock.advance(1.5)
    assert local.hit("t", rate=2, burst=5, cost=3) == Decision(True, 0.0, 0)


def test_a_denied_hit_spends_nothing(local: LocalRateLimiter, clock: FakeClock) -> None:
    local.hit("t", rate=1, burst=1)
    for _ in range(10):
        assert local.hit("t", rate=1, burst=1).retry_after == 1.0  # hammering does not push it back
    clock.advance(1.0)
    assert local.hit("t", rate=1, burst=1).allowed


def test_keys_are_independent(local: LocalRateLimiter) -> None:
    assert local.hit("a", rate=1, burst=1).allowed
    assert not local.hit("a", rate=1, burst=1).allowed
    assert local.hit("b", rate=1, burst=1).allowed


def test_rate_and_cost_rounding_stays_exact(local: LocalRateLimiter, clock: FakeClock) -> None:
    """T = 1/3 s rounds up to 333 334 µs: three in a burst, then exactly T to wait."""
    assert [local.hit("t", rate=3, burst=3).allowed for _ in range(4)] == [True, True, True, False]
    assert local.hit("t", rate=3, burst=3).retry_after == 0.333334


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (math.nan, 1), (math.inf, 1), (1, 0)])
def test_bad_limits_are_config_errors(local: LocalRateLimiter, rate: float, burst: int) -> None:
    with pytest.raises(ConfigError):
        local.hit("t", rate=rate, burst=burst)


@pytest.mark.parametrize("cost", [0, -1, 4])
def test_a_cost_that_can_never_fit_is_invalid_input(local: LocalRateLimiter, cost: int) -> None:
    with pytest.raises(InvalidInput, match="never fit"):
        local.hit("t", rate=1, burst=3, cost=cost)


def test_memory_is_bounded_by_dropping_full_buckets(clock: FakeClock) -> None:
    limiter = LocalRateLimiter(clock, max_keys=10)
    for i in range(10):
        limiter.hit(f"old{i}", rate=1, burst=2)
    clock.advance(2.0)  # every old bucket is full again: forgetting it changes nothing
    limiter.hit("busy", rate=1, burst=2)
    limiter.hit("new", rate=1, burst=2)
    assert set(limiter._tats) == {"busy", "new"}  # the only way to see memory use
    assert limiter.hit("old0", rate=1, burst=2) == Decision(True, 0.0, 1)


def test_busy_keys_are_kept_even_past_the_bound(clock: FakeClock) -> None:
    limiter = LocalRateLimiter(clock, max_keys=3)
    for i in range(8):
        limiter.hit(f"k{i}", rate=1, burst=1)
    assert all(not limiter.hit(f"k{i}", rate=1, burst=1).allowed for i in range(8))


def test_concurrent_hits_admit_exactly_the_burst() -> None:
    limiter = LocalRateLimiter(lambda: 5.0)
    admitted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            allowed = limiter.hit("t", rate=1, burst=37).allowed
            with lock:
                admitted.append(allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == 37


# --- the property: a textbook GCRA on exact fractions, and the rate bound itself ----------

@settings(max_examples=300, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 3.0, 7.5, 10.0, 1000.0]) | st.floats(0.01, 5000.0),
    burst=st.integers(1, 12),
    steps=st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(1, 12)), max_size=60),
)
def test_admissions_match_gcra_and_never_exceed_burst_plus_rate(
    rate: float, burst: int, steps: list[tuple[int, int]]
) -> None:
    clock = FakeClock(start=0.0)
    limiter = LocalRateLimiter(clock)
    period = Fraction(math.ceil(1_000_000 / rate), 1_000_000)  # the documented emission interval
    tat = Fraction(0)
    now_us = 0
    admitted: list[tuple[Fraction, int]] = []
    for advance_us, raw_cost in steps:
        now_us += advance_us
        clock.now = now_us / 1_000_000
        now, cost = Fraction(now_us, 1_000_000), min(raw_cost, burst)
        start = max(tat, now)
        room = start + cost * period - burst * period <= now  # the model's verdict
        decision = limiter.hit("k", rate=rate, burst=burst, cost=cost)
        assert decision.allowed == room
        if room:
            tat = start + cost * period
            admitted.append((now, cost))
            assert decision.remaining == math.floor((now + burst * period - tat) / period)
        else:
            wait = start + cost * period - burst * period - now
            assert decision.retry_after == pytest.approx(float(wait), abs=1e-9)
    for i, (t0, _) in enumerate(admitted):
        for t1, _ in admitted[i:]:
            units = sum(c for t, c in admitted if t0 <= t <= t1)
            assert units <= burst + rate * float(t1 - t0) + 1e-9


# --- the same behaviour on every backend, and Redis specifics ------------------------------

def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        skip_or_fail(f"Redis at {REDIS_URL} is unreachable ({exc}); start redis-server to run these")
    return client


@pytest.fixture
def prefix() -> Iterator[str]:
    """A unique key prefix per test, deleted afterwards (never FLUSHDB: db 15 may be shared)."""
    client = redis_or_skip()
    value = f"cortex-test:{uuid.uuid4().hex}:"
    yield value
    keys = list(client.scan_iter(match=value + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["local", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    made: RateLimiter
    if request.param == "local":
        made = LocalRateLimiter()
    else:
        made = RedisRateLimiter(REDIS_URL, prefix=request.getfixturevalue("prefix"))
    yield made
    made.close()


def test_burst_then_deny_on_every_backend(limiter: RateLimiter) -> None:
    assert [limiter.hit("t", SLOW, 3).remaining for _ in range(3)] == [2, 1, 0]
    denied = limiter.hit("t", SLOW, 3)
    assert not denied.allowed and denied.remaining == 0
    assert 999 < denied.retry_after <= 1000


def test_cost_and_denied_hits_on_every_backend(limiter: RateLimiter) -> None:
    assert limiter.hit("t", SLOW, 3, cost=2) == Decision(True, 0.0, 1)
    denied = limiter.hit("t", SLOW, 3, cost=2)
    assert (denied.allowed, denied.remaining) == (False, 1)
    assert limiter.hit("t", SLOW, 3, cost=1) == Decision(True, 0.0, 0)  # the denial spent nothing
    assert limiter.hit("u", SLOW, 3, cost=3) == Decision(True, 0.0, 0)  # another key, its own bucket


def test_refill_on_a_real_clock_on_every_backend(limiter: RateLimiter) -> None:
    assert limiter.hit("t", 20, 1).allowed
    denied = limiter.hit("t", 20, 1)
    assert not denied.allowed and 0 < denied.retry_after <= 0.05
    time.sleep(denied.retry_after + 0.005)
    assert limiter.hit("t", 20, 1).allowed


def test_two_nodes_share_one_limit(prefix: str) -> None:
    node_a, node_b = RedisRateLimiter(REDIS_URL, prefix=prefix), RedisRateLimiter(REDIS_URL, prefix=prefix)
    try:
        results = [(node_a if i % 2 else node_b).hit("tenant", SLOW, 5).allowed for i in range(8)]
        assert results == [True] * 5 + [False] * 3
        assert not node_a.hit("tenant", SLOW, 5).allowed and not node_b.hit("tenant", SLOW, 5).allowed
    finally:
        node_a.close()
        node_b.close()


def test_redis_key_lives_until_the_bucket_is_full(prefix: str) -> None:
    limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
    client = redis_or_skip()
    try:
        limiter.hit("t", rate=0.5, burst=4, cost=3)  # 3 units at 2 s each: full again in 6 s
        assert 5_900 < client.pttl(prefix + "t") <= 6_000
        assert client.pttl(prefix + "other") == -2
    finally:
        limiter.close()
        client.close()


def test_unreachable_redis_fails_closed_without_leaking_the_password() -> None:
    limiter = RedisRateLimiter("redis://:hunter2@127.0.0.1:1/0")
    try:
        with pytest.raises(StoreUnavailable, match="unreachable") as caught:
            limiter.hit("t", 1, 1)
    finally:
        limiter.close()
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)


def test_a_bad_redis_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        RedisRateLimiter("http://127.0.0.1:6379/0")


def test_open_rate_limiter_picks_by_url() -> None:
    for url, kind in ((None, LocalRateLimiter), ("", LocalRateLimiter), (REDIS_URL, RedisRateLimiter)):
        made = open_rate_limiter(url)
        assert isinstance(made, kind)
        made.close()


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:s3cret@host:6379/0", "redis://:***@host:6379/0"),
    ("rediss://user:s3cret@host/1", "rediss://user:***@host/1"),
    ("redis://host:6379/0", "redis://host:6379/0"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert _redact_url(url) == shown
