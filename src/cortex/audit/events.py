"""Audit events: what each leaf of a tenant's log says, as canonical JSON.

A leaf records who did what to which memory and when — the memory's id and content
hash, never its text — so the log can be kept (and verified) after the text is erased.
Canonical JSON (sorted keys, no whitespace, UTF-8) makes the bytes, and so the leaf hash,
one function of the event.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Action = Literal[
    "memory.remember", "memory.update", "memory.forget", "memory.expire", "memory.erase",
    "key.create", "key.revoke", "constitution.apply", "tenant.policies", "policy.deny", "policy.redact",
    "privacy.redact", "privacy.tokenize", "privacy.block", "privacy.reveal", "subject.erase",
]

_actor: contextvars.ContextVar[str] = contextvars.ContextVar("cortex_actor", default="library")


def current_actor() -> str:
    """Who is acting: set by each front end (``key:<id>``, ``jwt:<sub>``, ``cli``, ``stdio``)."""
    return _actor.get()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute the writes made inside this block (and threads started from it) to ``actor``."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(actor: str) -> None:
    """For a request's whole context (FastAPI copies it into worker threads)."""
    _actor.set(actor)


class AuditEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = 1
    tenant: str
    action: Action
    actor: str
    at: str  # RFC 3339, microseconds, UTC
    memory_id: str | None = None
    content_hash: str | None = None
    namespace: str | None = None
    detail: dict[str, Any] | None = None
    decision: Literal["allow", "deny", "redact"] | None = None
    reason: str | None = None

    def canonical(self) -> bytes:
        return canonical_json(self.model_dump(exclude_none=True))


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162: SHA-256(0x00 ‖ leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def event(tenant: str, action: Action, at: datetime, **fields: Any) -> AuditEvent:
    return AuditEvent(tenant=tenant, action=action, actor=current_actor(), at=timestamp(at), **fields)


__all__ = ["Action", "AuditEvent", "acting_as", "canonical_json", "current_actor", "event",
           "leaf_hash", "set_actor", "timestamp"]
