"""API keys: issued once, stored as a hash, looked up by a public id, revocable.

A key reads ``ctx_<id>_<secret>``: ``id`` (12 base32 characters) finds the record and is
safe to log; ``secret`` (32 random bytes) is compared by its SHA-256 in constant time. A
fast hash is right here: the secret is random, not a password, so there is nothing for
a slow hash to protect against.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from cortex.core import validate
from cortex.core.errors import InvalidInput, KeyNotFound, Unauthenticated
from cortex.core.models import ApiKey, utcnow
from cortex.store import Store
from cortex.tenancy.principal import Principal, Role

PREFIX = "ctx"
_ID_CHARS = 12


class IssuedKey(BaseModel):
    """The only moment the secret exists outside its holder: print it, then forget it."""

    model_config = ConfigDict(frozen=True)

    key: str
    record: ApiKey


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_token(token: str) -> tuple[str, str]:
    """``ctx_<id>_<secret>`` → (id, secret), or Unauthenticated for anything else."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != _ID_CHARS or not key_id.isalnum() or len(secret) < 20:
        raise Unauthenticated("malformed API key")
    return key_id, secret


class KeyRing:
    """Creates, lists, revokes and checks API keys kept in a ``Store``.

    Successful lookups are cached for ``cache_seconds`` (a revocation through this ring
    takes effect at once; one made by another process within that many seconds).
    """

    def __init__(self, store: Store, *, cache_seconds: float = 5.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey, str]] = {}
        self._lock = threading.Lock()

    def create(self, tenant: str, role: Role | str, *, namespaces: Sequence[str] | None = None,
               name: str | None = None, expires_at: datetime | str | None = None) -> IssuedKey:
        now = utcnow()
        expiry = validate.timestamp(expires_at, "expires_at")
        if expiry is not None and expiry <= now:
            raise InvalidInput("expires_at must be in the future", field="expires_at")
        record = ApiKey(
            id=base64.b32encode(secrets.token_bytes(10)).decode().lower()[:_ID_CHARS],
            tenant=_tenant(tenant), role=_role(role).value,
            namespaces=None if namespaces is None else _namespaces(namespaces),
            name=_name(name), created_at=now, expires_at=expiry)
        secret = secrets.token_urlsafe(32)
        self.store.add_key(record, hash_secret(secret))
        return IssuedKey(key=f"{PREFIX}_{record.id}_{secret}", record=record)

    def list(self, tenant: str) -> list[ApiKey]:
        return self.store.list_keys(_tenant(tenant))

    def revoke(self, tenant: str, key_id: str) -> ApiKey:
        record = self.store.revoke_key(_tenant(tenant), key_id, utcnow())
        if record is None:
            raise KeyNotFound(f"no API key {key_id}", id=key_id)
        with self._lock:
            self._cache.pop(key_id, None)
        return record

    def count(self) -> int:
        return self.store.count_keys()

    def authenticate(self, token: str) -> Principal:
        key_id, secret = split_token(token)
        record, digest = self._lookup(key_id)
        if not hmac.compare_digest(digest, hash_secret(secret)):
            raise Unauthenticated("invalid API key")
        if record.revoked_at is not None:
            raise Unauthenticated("API key was revoked")
        if not record.usable(utcnow()):
            raise Unauthenticated("API key has expired")
        return Principal(tenant=record.tenant, role=Role(record.role), subject=f"key:{record.id}",
                         namespaces=None if record.namespaces is None else tuple(record.namespaces))

    def _lookup(self, key_id: str) -> tuple[ApiKey, str]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1], cached[2]
        found = self.store.key_with_secret(key_id)
        if found is None:
            raise Unauthenticated("invalid API key")
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, found[0], found[1])
        return found


def _tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not tenant.strip() or len(tenant) > 128 or tenant != tenant.strip():
        raise InvalidInput("tenant must be a non-empty string of at most 128 characters without "
                           "surrounding spaces", field="tenant")
    if tenant.startswith("_"):  # _system holds server-wide audit events
        raise InvalidInput("tenant names starting with '_' are reserved", field="tenant")
    return tenant


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}",
                           field="role") from None


def _namespaces(namespaces: Sequence[str]) -> list[str]:
    if isinstance(namespaces, str) or not namespaces:
        raise InvalidInput("namespaces must be a non-empty list (omit it for every namespace)",
                           field="namespaces")
    return sorted({validate.namespace(n) for n in namespaces})


def _name(name: str | None) -> str | None:
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise InvalidInput("name must be a string of at most 200 characters", field="name")
    return name


__all__ = ["PREFIX", "IssuedKey", "KeyRing", "hash_secret", "split_token"]
