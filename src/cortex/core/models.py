"""Domain models shared by the engine, the stores and every front end."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """What a memory is; recall can filter on it and retention can differ per kind."""

    EPISODE = "episode"
    FACT = "fact"
    DOCUMENT = "document"
    PREFERENCE = "preference"
    PROCEDURE = "procedure"


class Source(BaseModel):
    """Provenance: who wrote a memory and from where. Extra keys are kept as given."""

    model_config = ConfigDict(extra="allow", frozen=True)

    agent: str | None = None
    session: str | None = None
    message: str | None = None
    speaker: str | None = None
    url: str | None = None


class Memory(BaseModel):
    """One stored memory version. ``valid_to`` is set when a newer version supersedes it."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    namespace: str
    kind: Kind
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    source: Source = Field(default_factory=Source)
    importance: float = 0.5
    created_at: datetime
    occurred_at: datetime | None = None
    valid_from: datetime
    valid_to: datetime | None = None
    expires_at: datetime | None = None
    content_hash: str
    supersedes: str | None = None
    superseded_by: str | None = None
    subject: str | None = None  # the person this memory is about (erasure, export)


class NewMemory(BaseModel):
    """A validated write, before the store assigns nothing more than it is given."""

    model_config = ConfigDict(frozen=True)

    id: str
    namespace: str
    kind: Kind
    text: str
    metadata: dict[str, Any]
    tags: list[str]
    source: Source
    importance: float
    created_at: datetime
    occurred_at: datetime | None
    valid_from: datetime
    expires_at: datetime | None
    content_hash: str
    supersedes: str | None = None
    subject: str | None = None


class Receipt(BaseModel):
    """Proof of where a memory came from: its leaf in the tenant's audit log.

    ``event`` is the leaf's exact bytes (canonical JSON: who, what, when, the content
    hash — not the text). With ``checkpoint`` (a signed tree head) and ``proof`` (the
    RFC 9162 inclusion proof, base64 hashes) anyone holding the server's public key can
    check offline that the leaf is in the log: ``cortex audit verify-receipt``.
    """

    model_config = ConfigDict(frozen=True)

    tenant: str
    memory_id: str
    leaf_index: int
    leaf_hash: str  # hex
    event: str
    checkpoint: str | None = None
    proof: list[str] | None = None


class RememberResult(BaseModel):
    """What ``remember`` returns: the stored memory, or the existing exact duplicate."""

    model_config = ConfigDict(frozen=True)

    memory: Memory
    created: bool
    duplicate_of: str | None = None
    receipt: Receipt | None = None


class Hit(BaseModel):
    """One recall result with its score breakdown (``explain``) and provenance."""

    model_config = ConfigDict(frozen=True)

    memory: Memory
    score: float
    explain: dict[str, float]
    origin: str = "store"  # "store" or "working" (the session's working memory)

    @property
    def provenance(self) -> Source:
        return self.memory.source


class MemoryFilter(BaseModel):
    """Everything recall and list can filter on; the store applies it inside its searches."""

    model_config = ConfigDict(frozen=True)

    namespaces: tuple[str, ...] | None = None
    kinds: tuple[Kind, ...] | None = None
    tags_all: tuple[str, ...] = ()
    metadata: dict[str, Any] = Field(default_factory=dict)
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    as_of: datetime | None = None  # None: what is current now
    include_superseded: bool = False
    subject: str | None = None

    def needs_sql(self) -> bool:
        """Tag, metadata and subject filters are resolved by the database, not the index."""
        return bool(self.tags_all or self.metadata or self.subject is not None)


class FusionWeights(BaseModel):
    """How recall blends its signals. Stored per tenant; a later issue learns them."""

    model_config = ConfigDict(frozen=True)

    # "convex": Σ w·score/max(score) per signal (keeps how far ahead a hit is; best on
    # LoCoMo by +0.03 turn recall@10 over RRF). "rrf": Σ w/(rrf_k + rank).
    method: Literal["convex", "rrf"] = "convex"
    dense: float = 0.4
    bm25: float = 0.6
    rrf_k: float = 60.0
    # Relevance is in [0, 1] and adjacent RRF ranks differ by ~0.016 there, so these stay
    # small: they reorder near-ties, they do not overrule the query.
    recency: float = 0.02
    recency_half_life_days: float = 30.0
    importance: float = 0.02
    candidates: int = 30
    # Diversify the first ``diversify_top`` hits (MMR): each pick from the best
    # ``diversify_pool`` pays ``diversity`` × its highest cosine to the hits already
    # picked and ``session_penalty`` per picked hit from the same session.
    diversity: float = 0.3
    session_penalty: float = 0.02
    diversify_top: int = 5
    diversify_pool: int = 20


class NamespaceStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    namespace: str
    memories: int
    bytes: int


class ApiKey(BaseModel):
    """An API key's record. The secret itself is shown once at creation and never stored."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    role: Literal["admin", "writer", "reader"]
    namespaces: list[str] | None = None
    name: str | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Usage(BaseModel):
    """A tenant's current memories and their text bytes (what quotas count)."""

    model_config = ConfigDict(frozen=True)

    memories: int = 0
    bytes: int = 0


class CheckReport(BaseModel):
    """Result of an integrity check; ``ok`` is False when any problem was found."""

    ok: bool
    problems: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # healthy but worth knowing (e.g. a stale graph)
    checked: dict[str, int] = Field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_text(text: str) -> str:
    """Canonical form used for the content hash: NFC and trimmed whitespace."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


__all__ = [
    "ApiKey",
    "CheckReport",
    "FusionWeights",
    "Hit",
    "Kind",
    "Memory",
    "MemoryFilter",
    "NamespaceStats",
    "NewMemory",
    "Receipt",
    "RememberResult",
    "Source",
    "Usage",
    "content_hash",
    "normalise_text",
    "utcnow",
]
