"""Per-key rate limits with GCRA, in process or shared through Redis.

GCRA (the generic cell rate algorithm) stores one number per key, the *theoretical
arrival time* (TAT) at which the bucket would be empty again, so a limit costs one key
and one round trip, with no background refill. A request of ``cost`` units is admitted
when ``max(TAT, now) + cost·T − burst·T <= now`` with ``T = 1/rate``.

Times are whole microseconds and ``T`` is rounded *up* to a whole microsecond: every
step is exact integer arithmetic (the same in Python and in Redis' Lua, whose doubles
hold integers exactly up to 2⁵³), and the rounding can only make a limit stricter, by
at most one part in a million of the rate (rates above 10⁶/s act as 10⁶/s).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from cortex.core.errors import ConfigError, InvalidInput, StoreError, StoreUnavailable

_US = 1_000_000


@dataclass(frozen=True)
class Decision:
    """What a hit got: admitted or not, when to retry, and how much burst is left now."""

    allowed: bool
    retry_after: float  # seconds until this request would be admitted (0 when allowed)
    remaining: int  # units still admissible right now


class RateLimiter(Protocol):
    def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision:
        """Spend ``cost`` units of ``key``'s bucket if they fit; a denied hit spends nothing."""
        ...

    def close(self) -> None: ...


def _params(rate: float, burst: int, cost: int) -> tuple[int, int, int]:
    """(T, burst·T, cost·T) in microseconds; bad limits are config errors, bad costs input errors."""
    if not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"rate limit must be a positive number of requests per second, not {rate}")
    if burst < 1:
        raise ConfigError(f"rate limit burst must be at least 1, not {burst}")
    if not 1 <= cost <= burst:
        raise InvalidInput(f"a request costing {cost} units can never fit a burst of {burst}",
                           cost=cost, burst=burst)
    interval = max(1, math.ceil(_US / rate))
    return interval, burst * interval, cost * interval


def _gcra(
    stored: int | None, now: int, interval: int, tolerance: int, increment: int
) -> tuple[Decision, int]:
    """One GCRA step: the decision and the TAT to store (unchanged when denied)."""
    tat = now if stored is None else max(stored, now)
    new_tat = tat + increment
    allow_at = new_tat - tolerance
    if allow_at > now:
        return Decision(False, (allow_at - now) / _US, (now + tolerance - tat) // interval), tat
    return Decision(True, 0.0, (now + tolerance - new_tat) // interval), new_tat


class LocalRateLimiter:
    """One process's limits (a single API node, tests); ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._prune_at = max_keys
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision:
        interval, tolerance, increment = _params(rate, burst, cost)
        with self._lock:
            now = round(self._clock() * _US)
            decision, tat = _gcra(self._tats.get(key), now, interval, tolerance, increment)
            if decision.allowed:
                self._tats[key] = tat
                if len(self._tats) > self._prune_at:
                    self._prune(now)
            return decision

    def _prune(self, now: int) -> None:
        """Forget full buckets (TAT in the past: same as never seen); if all are busy, wait longer."""
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}
        self._prune_at = max(self._max_keys, 2 * len(self._tats))

    def close(self) -> None:
        with self._lock:
            self._tats.clear()


# The same step as _gcra, atomically, on Redis' own clock so every API node agrees.
# ARGV: T, burst·T, cost·T (µs). Returns {allowed, retry_after µs, remaining}.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance, increment = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + increment
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, allow_at - now, math.floor((now + tolerance - tat) / interval)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, 0, math.floor((now + tolerance - new_tat) / interval)}
"""


def _redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisRateLimiter:
    """Limits shared by every API node through one Redis; fails closed when Redis is down."""

    def __init__(self, url: str, prefix: str = "cortex:rl:", *, timeout: float = 2.0) -> None:
        import redis

        self._where = _redact_url(url)
        self._prefix = prefix
        try:
            self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        except ValueError as exc:
            raise ConfigError(f"bad rate limiter URL {self._where}") from exc
        self._script = self._client.register_script(_LUA)

    def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision:
        import redis

        args = _params(rate, burst, cost)
        try:
            allowed, wait_us, remaining = self._script(keys=[self._prefix + key], args=list(args))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"rate limiter unreachable at {self._where}") from exc
        except redis.RedisError as exc:
            raise StoreError(f"rate limiter at {self._where} failed: {type(exc).__name__}") from exc
        return Decision(bool(allowed), int(wait_us) / _US, int(remaining))

    def close(self) -> None:
        self._client.close()


def open_rate_limiter(redis_url: str | None) -> RateLimiter:
    """Redis when a URL is configured (several API nodes), else this process's memory."""
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()


__all__ = ["Decision", "LocalRateLimiter", "RateLimiter", "RedisRateLimiter", "open_rate_limiter"]
