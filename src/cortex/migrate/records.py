"""Backend-neutral rows: what ``cortex migrate`` reads from one store and writes to another.

Values are the stored ones, not models: times are integer microseconds (as both schemas
keep them), vectors are float32 little-endian bytes, audit leaves and checkpoints are
byte-for-byte what the source holds. Only text, metadata and vault values are in the
clear here: the reader opens what its store sealed, the writer seals again if its store
seals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class VaultRecord:
    """One tokenized value of a memory (its original, opened)."""

    placeholder: str
    entity: str
    value: str
    created_at: int


@dataclass(frozen=True)
class Identity:
    """What makes two rows under one id the same memory version (the rest may be caught up:
    ``valid_to`` and ``superseded_by`` change when the source supersedes it later)."""

    id: str
    tenant: str
    namespace: str
    kind: str
    content_hash: str
    created_at: int
    valid_from: int
    subject: str | None
    # Carried along for catching up, not part of what makes two rows the same version:
    valid_to: int | None = field(default=None, compare=False)
    superseded_by: str | None = field(default=None, compare=False)

    def versions(self) -> tuple[int | None, str | None]:
        return self.valid_to, self.superseded_by


@dataclass(frozen=True)
class MemoryRecord:
    """Every column of one memory version, with its vector and vault items."""

    id: str
    tenant: str
    namespace: str
    kind: str
    text: str
    metadata: dict[str, Any]
    tags: list[str]
    source: dict[str, Any]
    importance: float
    created_at: int
    occurred_at: int | None
    valid_from: int
    valid_to: int | None
    expires_at: int | None
    content_hash: str
    session: str | None
    supersedes: str | None
    superseded_by: str | None
    size_bytes: int  # the bytes column: text and metadata, what quotas count
    subject: str | None
    model: str | None  # None: the row has no vector (the source is damaged)
    dim: int | None
    vector: bytes | None  # float32 little-endian
    vault: tuple[VaultRecord, ...] = ()

    def identity(self) -> Identity:
        return Identity(self.id, self.tenant, self.namespace, self.kind, self.content_hash,
                        self.created_at, self.valid_from, self.subject, self.valid_to, self.superseded_by)

    def versions(self) -> tuple[int | None, str | None]:
        """The columns a later supersede changes."""
        return self.valid_to, self.superseded_by


@dataclass(frozen=True)
class LeafRecord:
    tenant: str
    idx: int
    leaf_hash: bytes
    event: str  # the canonical JSON the hash covers, verbatim
    memory_id: str | None


@dataclass(frozen=True)
class CheckpointRecord:
    tenant: str
    size: int
    root: bytes
    note: str  # the signed note, verbatim
    created_at: int


@dataclass(frozen=True)
class KeyRecord:
    id: str
    tenant: str
    role: str
    namespaces: list[str] | None
    name: str | None
    secret_sha256: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None

    def same_key(self, other: KeyRecord) -> bool:
        """The same key, revoked or not (a key may be revoked on the source after a copy)."""
        return (self.tenant, self.role, self.namespaces, self.name, self.secret_sha256,
                self.created_at, self.expires_at) == (other.tenant, other.role, other.namespaces,
                                                      other.name, other.secret_sha256,
                                                      other.created_at, other.expires_at)


@dataclass(frozen=True)
class SettingsRecord:
    tenant: str
    fusion_weights: str  # JSON, as stored


@dataclass(frozen=True)
class PoliciesRecord:
    tenant: str
    policies: str
    updated_at: int


@dataclass(frozen=True)
class ConstitutionRecord:
    version: int
    envelope: str  # the signed envelope JSON, verbatim
    applied_at: int


@dataclass(frozen=True)
class SessionMessage:
    tenant: str
    session: str
    id: str
    role: str
    text: str
    speaker: str | None
    at: int
    tokens: int


@dataclass
class Counts:
    """Rows of one tenant, table by table: what verification compares."""

    memories: int = 0
    vectors: int = 0
    tags: int = 0
    vault: int = 0
    keys: int = 0
    audit_leaves: int = 0
    checkpoints: int = 0
    sessions: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


def first_difference(a: Any, b: Any) -> str | None:
    """The name of the first field where two records of one class differ (None: equal)."""
    for f in fields(a):
        if getattr(a, f.name) != getattr(b, f.name):
            return f.name
    return None


__all__ = [
    "CheckpointRecord",
    "ConstitutionRecord",
    "Counts",
    "Identity",
    "KeyRecord",
    "LeafRecord",
    "MemoryRecord",
    "PoliciesRecord",
    "SessionMessage",
    "SettingsRecord",
    "VaultRecord",
    "first_difference",
]
