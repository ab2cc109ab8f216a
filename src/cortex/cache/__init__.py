"""Caches in front of the engine: hot recalls, invalidated by every write to the tenant."""

from cortex.cache.recall_cache import (
    Cached,
    LocalRecallCache,
    RecallCache,
    RedisRecallCache,
    open_recall_cache,
    request_key,
)

__all__ = ["Cached", "LocalRecallCache", "RecallCache", "RedisRecallCache", "open_recall_cache",
           "request_key"]
