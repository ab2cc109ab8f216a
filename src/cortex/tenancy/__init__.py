"""Tenants, credentials, roles, rate limits and quotas."""

from cortex.tenancy.jwt import JwtVerifier, looks_like_jwt
from cortex.tenancy.principal import Action, Principal, Role
from cortex.tenancy.ratelimit import (
    Decision,
    LocalRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    open_rate_limiter,
)

__all__ = [
    "Action",
    "Decision",
    "JwtVerifier",
    "LocalRateLimiter",
    "Principal",
    "RateLimiter",
    "RedisRateLimiter",
    "Role",
    "looks_like_jwt",
    "open_rate_limiter",
]
