"""A read cache for hot recalls, invalidated by every write to the tenant.

Each tenant has a *generation*, a counter bumped by every write (remember, update,
forget, expire, erase). A cached recall is stored under its tenant, the generation it
was computed in and ``request_key(...)``, a hash of the canonical JSON of the whole
request (query, filters, k, as_of, the caller's namespace scope...). How the engine
uses it::

    key = request_key(query=q, namespaces=scope, k=k, as_of=as_of, ...)
    found = cache.get(tenant, key)
    if found.payload is not None:
        return decode(found.payload)
    hits = compute()                       # reads the store
    cache.put(tenant, key, encode(hits), generation=found.generation)

    ... every write: commit, then cache.invalidate(tenant)

``put`` stores nothing when the tenant's generation moved since ``get``: a recall that
read the store before a write cannot be cached after that write's invalidation.
``invalidate`` bumps the generation (older entries become unreachable at once, on every
API node sharing the Redis) and deletes the tenant's entries.

Time: a recall without ``as_of`` also depends on the clock (memories expire, or become
valid), so an entry can be stale without any write, for at most its TTL. Every entry
lives at most ``ttl_seconds`` (default 30 s), ``as_of`` requests included; ``put`` may
ask for less.

Privacy: payloads hold memory text. ``RedisRecallCache`` keeps it as plaintext in Redis
for at most ``ttl_seconds``; ``invalidate`` (which erasure calls, like any write)
deletes the tenant's entries rather than only hiding them. Use a Redis with
authentication and TLS (``rediss://``) where the network is shared. With RDB/AOF
persistence on, cached text also reaches that Redis' disk (an AOF rewrite or the next
snapshot drops deleted entries); a Redis without persistence keeps it off disk.

``LocalRecallCache`` is one process's LRU: correct for a single process only. With
several workers or API nodes, a write through one would not invalidate the others (they
would serve stale results for up to the TTL): use ``RedisRecallCache`` there.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from pydantic import BaseModel

from cortex.core.errors import ConfigError, InvalidInput
from cortex.core.redis_link import open_client, translated

if TYPE_CHECKING:
    import redis  # imported where used: the local cache does not pay for it


@dataclass(frozen=True)
class Cached:
    """What ``get`` found: the payload (None on a miss) and the generation to hand to ``put``."""

    payload: bytes | None
    generation: int


class RecallCache(Protocol):
    def get(self, tenant: str, request_key: str) -> Cached: ...

    def put(self, tenant: str, request_key: str, payload: bytes, *, generation: int,
            ttl_seconds: float | None = None) -> bool:
        """Store unless the tenant's generation moved on; True when stored."""
        ...

    def invalidate(self, tenant: str) -> None:
        """Every entry of the tenant is gone for every reader; call after each write commits."""
        ...

    def close(self) -> None: ...


def request_key(**request: Any) -> str:
    """SHA-256 (hex) of the request's canonical JSON: sorted keys, no spaces, UTF-8, times
    in UTC. Any argument that changes the answer must be passed (query, filters, k, as_of,
    namespace scope, a format version of the payload...)."""
    text = json.dumps(_canonical(request, "request"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _canonical(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"cache key part {where} is not a finite number", field=where)
        return value
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump(mode="json"), where)
    if isinstance(value, Enum):
        return _canonical(value.value, where)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k, where): _canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_canonical(v, f"{where}[]") for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    raise InvalidInput(f"cache key part {where} has a type with no canonical form: "
                       f"{type(value).__name__}", field=where)


def _key(key: Any, where: str) -> str:
    if not isinstance(key, str):
        raise InvalidInput(f"cache key part {where} has a non-string key {key!r}", field=where)
    return key


def _check_ttl(ttl_seconds: float) -> float:
    if not (math.isfinite(ttl_seconds) and ttl_seconds > 0):
        raise ConfigError(f"recall cache TTL must be a positive number of seconds, not {ttl_seconds}")
    return float(ttl_seconds)


# ---- one process --------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    generation: int
    expires: float
    payload: bytes


class LocalRecallCache:
    """An in-process LRU of at most ``max_entries``; ``clock`` is injectable for tests."""

    def __init__(self, max_entries: int = 1024, ttl_seconds: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ConfigError(f"recall cache size must be at least 1, not {max_entries}")
        self.max_entries = max_entries
        self.ttl_seconds = _check_ttl(ttl_seconds)
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._by_tenant: dict[str, set[str]] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, request_key: str) -> Cached:
        with self._lock:
            generation = self._generations.get(tenant, 0)
            entry = self._entries.get((tenant, request_key))
            if entry is None:
                return Cached(None, generation)
            if entry.generation != generation or entry.expires <= self._clock():
                self._drop(tenant, request_key)
                return Cached(None, generation)
            self._entries.move_to_end((tenant, request_key))
            return Cached(entry.payload, generation)

    def put(self, tenant: str, request_key: str, payload: bytes, *, generation: int,
            ttl_seconds: float | None = None) -> bool:
        ttl = self.ttl_seconds if ttl_seconds is None else min(ttl_seconds, self.ttl_seconds)
        with self._lock:
            if ttl <= 0 or generation != self._generations.get(tenant, 0):
                return False
            self._entries[(tenant, request_key)] = _Entry(generation, self._clock() + ttl, bytes(payload))
            self._entries.move_to_end((tenant, request_key))
            self._by_tenant.setdefault(tenant, set()).add(request_key)
            while len(self._entries) > self.max_entries:
                self._drop(*next(iter(self._entries)))
            return True

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._generations[tenant] = self._generations.get(tenant, 0) + 1
            for request_key in list(self._by_tenant.get(tenant, ())):
                self._drop(tenant, request_key)

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_tenant.clear()

    def _drop(self, tenant: str, request_key: str) -> None:
        del self._entries[(tenant, request_key)]
        keys = self._by_tenant[tenant]
        keys.discard(request_key)
        if not keys:
            del self._by_tenant[tenant]


# ---- shared through Redis -------------------------------------------------------------
# Keys of one tenant share a hash tag, {tenant}, so a Redis Cluster keeps them on one slot:
#   <prefix>{<tenant>}:gen        the generation (INCR)
#   <prefix>{<tenant>}:idx        sorted set: entry key -> when it expires (ms, Redis clock)
#   <prefix>{<tenant>}:e:<gen>:<request key>   one payload, with PX TTL

# KEYS: gen. ARGV: entry key stem, request key. Returns {generation, payload or nil}.
_GET = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])}
"""

# KEYS: gen, index, entry. ARGV: generation seen by get, payload, TTL ms, longest TTL ms.
_PUT = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), KEYS[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""

# KEYS: gen, index. Bumps the generation and deletes every entry the index lists.
_INVALIDATE = """
local gen = redis.call('INCR', KEYS[1])
local keys = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #keys, 500 do
  redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[2])
return gen
"""


class RedisRecallCache:
    """Recalls cached in one Redis shared by every API node: a write through any node
    invalidates the tenant's entries for all. Pass a URL or a ``redis.Redis`` client that
    returns bytes (the default); a client passed in is not closed by ``close``."""

    def __init__(self, url_or_client: str | redis.Redis, ttl_seconds: float = 30.0,
                 prefix: str = "cortex:rc:", *, timeout: float = 2.0) -> None:
        self.ttl_seconds = _check_ttl(ttl_seconds)
        self._prefix = prefix
        self._client, self._where, self._owned = open_client(url_or_client, timeout, "recall cache")
        if self._client.get_connection_kwargs().get("decode_responses"):
            raise ConfigError("the recall cache needs a Redis client that returns bytes "
                              "(decode_responses=False)")
        self._get = self._client.register_script(_GET)
        self._put = self._client.register_script(_PUT)
        self._invalidate = self._client.register_script(_INVALIDATE)

    def tenant_prefix(self, tenant: str) -> str:
        """Every key of the tenant starts with this."""
        return f"{self._prefix}{{{quote(tenant, safe='', errors='surrogatepass')}}}:"

    def get(self, tenant: str, request_key: str) -> Cached:
        base = self.tenant_prefix(tenant)
        with self._errors():
            generation, payload = self._get(keys=[base + "gen"], args=[base + "e:", request_key])
        return Cached(None if payload is None else bytes(payload), int(generation))

    def put(self, tenant: str, request_key: str, payload: bytes, *, generation: int,
            ttl_seconds: float | None = None) -> bool:
        ttl = self.ttl_seconds if ttl_seconds is None else min(ttl_seconds, self.ttl_seconds)
        if ttl <= 0:
            return False
        base = self.tenant_prefix(tenant)
        keys = [base + "gen", base + "idx", f"{base}e:{generation}:{request_key}"]
        with self._errors():
            stored = self._put(keys=keys, args=[generation, payload, _ms(ttl), _ms(self.ttl_seconds)])
        return bool(stored)

    def invalidate(self, tenant: str) -> None:
        base = self.tenant_prefix(tenant)
        with self._errors():
            self._invalidate(keys=[base + "gen", base + "idx"])

    def close(self) -> None:
        if self._owned:
            self._client.close()

    def _errors(self) -> AbstractContextManager[None]:
        return translated("recall cache", self._where)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def open_recall_cache(redis_url: str | None, *, ttl_seconds: float = 30.0,
                      max_entries: int = 1024) -> RecallCache:
    """Redis when a URL is configured (several workers or nodes), else this process's LRU."""
    if redis_url:
        return RedisRecallCache(redis_url, ttl_seconds)
    return LocalRecallCache(max_entries, ttl_seconds)


__all__ = ["Cached", "LocalRecallCache", "RecallCache", "RedisRecallCache", "open_recall_cache",
           "request_key"]
