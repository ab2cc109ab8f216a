"""Request and response bodies of the HTTP API (the SDK parses the same models).

Requests are strict (unknown fields are an error) and carry the engine's limits in
their JSON Schema, so generated clients and fuzzers see the same rules the engine
enforces; the engine checks again, so a body that slips past still gets a clean 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cortex.core.models import ApiKey, Hit, Kind, Memory, NamespaceStats, RememberResult, Source, Usage
from cortex.working import WorkingMessage

NAMESPACE = r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$"
TAG = r"^[^\s\x00-\x1f]{1,64}$"
MEMORY_ID = r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$"
MAX_BATCH = 1_000

Namespace = Field(pattern=NAMESPACE, description="1-128 characters: letters, digits and _.:@/+-")
_Text = Field(min_length=1, description="The memory text (non-blank UTF-8, no NUL).")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RememberIn(Strict):
    text: str = _Text
    namespace: str = Field("default", pattern=NAMESPACE)
    kind: Kind = Kind.EPISODE
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = Field(None, max_length=64)
    source: dict[str, Any] | None = Field(
        None, description="Provenance: agent, session, message, speaker, url (and any other keys).")
    importance: float = Field(0.5, ge=0.0, le=1.0)
    occurred_at: datetime | None = None
    valid_from: datetime | None = None
    expires_at: datetime | None = None
    ttl: float | None = Field(None, gt=0, le=3.2e9, description="Seconds until the memory expires.")


class BatchIn(Strict):
    items: list[RememberIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    results: list[RememberResult]
    created: int


class UpdateIn(Strict):
    text: str | None = Field(None, min_length=1)
    kind: Kind | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = Field(None, max_length=64)
    source: dict[str, Any] | None = None
    importance: float | None = Field(None, ge=0.0, le=1.0)


class MemoryPage(BaseModel):
    items: list[Memory]
    next: str | None = Field(None, description="Pass as `after` for the next page; null at the end.")


class History(BaseModel):
    versions: list[Memory]


class Deleted(BaseModel):
    deleted: int = Field(description="Stored versions deleted (an updated memory counts each).")


class RecallIn(Strict):
    query: str = Field(min_length=1, max_length=8192)
    namespace: str | list[str] | None = Field(
        None, description="One namespace or several; omitted: every namespace the key may read.")
    k: int = Field(10, ge=1, le=1000)
    kinds: list[Kind] | None = None
    tags: list[str] | None = Field(None, max_length=64, description="Hits must carry every tag.")
    metadata: dict[str, Any] | None = Field(None, description="Hits must match every key exactly.")
    as_of: datetime | None = Field(None, description="Recall what was current at this time.")
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    session: str | None = Field(
        None, pattern=NAMESPACE, description="Let this session's working memory compete too.")


class HitOut(BaseModel):
    memory: Memory
    score: float
    explain: dict[str, float]
    origin: Literal["store", "working"]
    provenance: Source

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        return cls(memory=hit.memory, score=hit.score, explain=hit.explain,
                   origin="working" if hit.origin == "working" else "store",
                   provenance=hit.provenance)


class RecallOut(BaseModel):
    hits: list[HitOut]


class MessageIn(Strict):
    text: str = Field(min_length=1)
    role: Literal["user", "assistant", "system", "tool"] = "user"
    speaker: str | None = Field(None, max_length=200)


class SessionOut(BaseModel):
    session: str
    messages: list[WorkingMessage]


class Cleared(BaseModel):
    session: str
    cleared: int


class NamespacesOut(BaseModel):
    namespaces: list[NamespaceStats]


class Limits(BaseModel):
    rate_limit_rps: float
    rate_limit_burst: int
    max_memories: int
    max_bytes: int


class TenantOut(BaseModel):
    tenant: str
    usage: Usage
    limits: Limits


class KeyIn(Strict):
    role: Literal["admin", "writer", "reader"]
    namespaces: list[str] | None = Field(None, min_length=1, max_length=100)
    name: str | None = Field(None, max_length=200)
    expires_at: datetime | None = None


class KeyCreated(BaseModel):
    key: str = Field(description="The secret: shown this once, stored only as a hash.")
    record: ApiKey


class KeysOut(BaseModel):
    keys: list[ApiKey]


__all__ = [
    "MAX_BATCH", "BatchIn", "BatchOut", "Cleared", "Deleted", "History", "HitOut", "KeyCreated",
    "KeyIn", "KeysOut", "Limits", "MemoryPage", "MessageIn", "NamespacesOut", "RecallIn",
    "RecallOut", "RememberIn", "SessionOut", "TenantOut", "UpdateIn",
]
