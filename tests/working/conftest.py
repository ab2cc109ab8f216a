"""Real Redis for the working-memory tests (see tests/redis_fixtures.py)."""

from tests.redis_fixtures import REDIS_URL, prefix, redis_client, redis_or_skip

__all__ = ["REDIS_URL", "prefix", "redis_client", "redis_or_skip"]
