"""Opening a Redis client and translating its failures, for every Redis-backed part.

``redis`` is imported where used, so importing a module that may use Redis costs nothing
until a client is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cortex.core.errors import ConfigError, StoreError, StoreUnavailable
from cortex.tenancy.ratelimit import _redact_url

if TYPE_CHECKING:
    import redis


def open_client(url_or_client: str | redis.Redis, timeout: float, what: str) -> tuple[redis.Redis, str, bool]:
    """(client, where it points for messages, whether we own it) for ``what`` (e.g. "recall cache")."""
    import redis

    if not isinstance(url_or_client, str):
        return url_or_client, "the given Redis client", False
    where = _redact_url(url_or_client)
    try:
        made = redis.Redis.from_url(url_or_client, socket_timeout=timeout, socket_connect_timeout=timeout)
    except ValueError as exc:
        raise ConfigError(f"bad {what} URL {where}") from exc
    return made, where, True


@contextmanager
def translated(what: str, where: str) -> Iterator[None]:
    """Redis failures as the engine's store errors, naming ``what`` and where (no password)."""
    import redis

    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"{what} unreachable at {where}") from exc
    except redis.RedisError as exc:
        raise StoreError(f"{what} at {where} failed: {type(exc).__name__}") from exc


__all__ = ["open_client", "translated"]
