"""Working memory in Redis: shared by every API node and worker, idle sessions expire.

One Redis list per session, under ``{prefix}{tenant}:{session}`` (default prefix
``cortex:wm:``) with tenant and session percent-encoded, so ``:`` in a name can never
make two (tenant, session) pairs share a key. Each element is ``<tokens>|<message JSON>``:
the budget check reads the token count without decoding JSON.

An append is one Lua script, atomic however many processes append at once: push, keep
the longest suffix within the message and token budgets (always the newest message),
trim the rest, and (re)start the session's time to live. Eviction is exactly that of
``LocalWorkingMemory`` and ``SQLiteWorkingMemory``. Reading does not refresh the TTL:
a session expires ``ttl_seconds`` after its last append.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import quote

import redis

from cortex.core.errors import ConfigError
from cortex.core.redis_link import open_client, translated
from cortex.working.base import WorkingMessage

# KEYS[1]: the session list. ARGV: element, max messages, max tokens, TTL in ms (0: none).
# Returns the evicted elements, oldest first.
_APPEND = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local max_messages, max_tokens = tonumber(ARGV[2]), tonumber(ARGV[3])
local keep, total = 0, 0
for i = #items, 1, -1 do
  local tokens = tonumber(string.match(items[i], '^(-?%d+)|'))
  if keep > 0 and (keep >= max_messages or total + tokens > max_tokens) then break end
  keep = keep + 1
  total = total + tokens
end
local evicted = {}
for i = 1, #items - keep do evicted[i] = items[i] end
if #evicted > 0 then redis.call('LTRIM', KEYS[1], #evicted, -1) end
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return evicted
"""


class RedisWorkingMemory:
    """Per-session lists in Redis within a message and token budget; sessions idle for
    ``ttl_seconds`` (None: never) disappear. Pass a URL or a ``redis.Redis`` client
    (bytes responses, the default); a client passed in is not closed by ``close``."""

    def __init__(self, url_or_client: str | redis.Redis, *, max_messages: int = 50,
                 max_tokens: int = 4_000, ttl_seconds: float | None = 86_400.0,
                 prefix: str = "cortex:wm:", timeout: float = 2.0) -> None:
        if ttl_seconds is not None and not (math.isfinite(ttl_seconds) and ttl_seconds > 0):
            raise ConfigError(f"working memory TTL must be a positive number of seconds, not {ttl_seconds}")
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self.ttl_seconds = ttl_seconds
        self._prefix = prefix
        self._client, self._where, self._owned = open_client(url_or_client, timeout, "working memory")
        self._append = self._client.register_script(_APPEND)

    def key(self, tenant: str, session: str) -> str:
        """The Redis key of one session (tenant and session percent-encoded)."""
        return f"{self._prefix}{_encode(tenant)}:{_encode(session)}"

    def append(self, tenant: str, message: WorkingMessage) -> list[WorkingMessage]:
        ttl_ms = 0 if self.ttl_seconds is None else max(1, math.ceil(self.ttl_seconds * 1000))
        element = f"{message.tokens}|{message.model_dump_json()}"
        with self._errors():
            evicted = self._append(keys=[self.key(tenant, message.session)],
                                   args=[element, self.max_messages, self.max_tokens, ttl_ms])
        return [_message(item) for item in evicted]

    def messages(self, tenant: str, session: str) -> list[WorkingMessage]:
        with self._errors():
            items = self._client.lrange(self.key(tenant, session), 0, -1)
        return [_message(item) for item in items]

    def clear(self, tenant: str, session: str) -> int:
        key = self.key(tenant, session)
        with self._errors():
            pipe = self._client.pipeline(transaction=True)  # MULTI/EXEC: count what is deleted
            pipe.llen(key)
            pipe.delete(key)
            count, _ = pipe.execute()
        return int(count)

    def close(self) -> None:
        if self._owned:
            self._client.close()

    def _errors(self) -> AbstractContextManager[None]:
        return translated("working memory", self._where)


def _encode(name: str) -> str:
    """Percent-encoding: injective, no ``:``, no glob or hash-tag characters."""
    return quote(name, safe="", errors="surrogatepass")


def _message(item: Any) -> WorkingMessage:
    raw = item.encode() if isinstance(item, str) else bytes(item)
    return WorkingMessage.model_validate_json(raw.partition(b"|")[2])


__all__ = ["RedisWorkingMemory"]
