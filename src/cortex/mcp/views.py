"""What the MCP tools return: lean views of the engine's models, published as output schemas.

Agents pay for every token they read, so a view keeps what an agent acts on (ids, text,
provenance, scores) and leaves out storage detail (tenant, content hash, validity bounds).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cortex.core.models import Hit, Kind, Memory, RememberResult
from cortex.working import WorkingMessage


class MemoryView(BaseModel):
    """One memory with the provenance an agent needs to cite or correct it."""

    id: str = Field(description="Pass this to update_memory or forget.")
    namespace: str
    kind: Kind
    text: str
    tags: list[str]
    metadata: dict[str, Any]
    importance: float
    source: dict[str, Any] = Field(
        description="Provenance: who wrote it and from where (agent, session, message, speaker, url).")
    created_at: datetime = Field(description="When Cortex stored this version.")
    occurred_at: datetime | None = Field(default=None, description="When the remembered event happened.")
    expires_at: datetime | None = None
    supersedes: str | None = Field(default=None, description="The id of the version this one replaced.")

    @classmethod
    def of(cls, memory: Memory) -> MemoryView:
        return cls(
            id=memory.id, namespace=memory.namespace, kind=memory.kind, text=memory.text,
            tags=memory.tags, metadata=memory.metadata, importance=memory.importance,
            source=memory.source.model_dump(exclude_none=True), created_at=memory.created_at,
            occurred_at=memory.occurred_at, expires_at=memory.expires_at,
            supersedes=memory.supersedes,
        )


class Remembered(BaseModel):
    memory: MemoryView
    created: bool = Field(description="False when an exact duplicate already existed: nothing was stored.")
    duplicate_of: str | None = None

    @classmethod
    def of(cls, result: RememberResult) -> Remembered:
        return cls(memory=MemoryView.of(result.memory), created=result.created,
                   duplicate_of=result.duplicate_of)


class HitView(BaseModel):
    memory: MemoryView
    score: float = Field(description="Fused relevance; higher is better. Compare within one recall only.")
    explain: dict[str, float] = Field(description="The signals behind the score (dense, bm25, recency, ...).")
    origin: str = Field(description="'store' (long-term memory) or 'working' (the session's recent turns).")

    @classmethod
    def of(cls, hit: Hit) -> HitView:
        return cls(memory=MemoryView.of(hit.memory), score=hit.score, explain=hit.explain,
                   origin=hit.origin)


class Recalled(BaseModel):
    hits: list[HitView] = Field(description="Best first.")


class Forgotten(BaseModel):
    memory_id: str
    deleted: int = Field(description="Stored versions deleted (an updated memory has several).")


class MemoryPage(BaseModel):
    memories: list[MemoryView] = Field(description="Newest first.")
    next_after: str | None = Field(
        description="Pass as `after` to get the next page; null when this is the last page.")


class SessionContext(BaseModel):
    session: str
    messages: list[WorkingMessage] = Field(description="Oldest first.")


__all__ = ["Forgotten", "HitView", "MemoryPage", "MemoryView", "Recalled", "Remembered", "SessionContext"]
