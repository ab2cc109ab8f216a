"""The two boundaries of a migration: a ``Reader`` over the source, a ``Writer`` over the target.

Each backend has one of each (``sqlite_reader``, ``sqlite_writer``, ``postgres_reader``,
``postgres_writer``), working on the store's tables directly: a migration copies rows as
they are stored (times, audit leaves, checkpoints, secret hashes, vectors) instead of
replaying writes, which would embed again and append new audit leaves. Every
``Writer`` call is one transaction, so a killed run leaves whole batches behind and a
re-run carries on from them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from cortex.migrate.records import (
    CheckpointRecord,
    ConstitutionRecord,
    Counts,
    Identity,
    KeyRecord,
    LeafRecord,
    MemoryRecord,
    PoliciesRecord,
    SessionMessage,
    SettingsRecord,
)
from cortex.store.base import Store

T = TypeVar("T")
Cursor = int
"""A position in a tenant's memories (the backend's row sequence): read on after it."""


class Reader(Protocol):
    def tenants(self) -> list[str]:
        """Every tenant with anything stored: memories, audit leaves, keys, settings."""
        ...
    def dims(self, tenant: str | None) -> set[int]:
        """Vector dimensions stored for the tenant (None: every tenant this reader may see)."""
        ...
    def memories(self, tenant: str, after: Cursor, limit: int) -> list[tuple[Cursor, MemoryRecord]]:
        """The next ``limit`` memory versions after ``after``, oldest first."""
        ...
    def identities(self, tenant: str, after: Cursor, limit: int) -> list[tuple[Cursor, Identity]]: ...
    def lookup(self, ids: Sequence[str]) -> dict[str, Identity]:
        """These ids wherever they are stored, whatever the tenant (ids are unique per store)."""
        ...
    def memories_by_id(self, tenant: str, ids: Sequence[str]) -> dict[str, MemoryRecord]: ...
    def sample_ids(self, tenant: str, size: int) -> list[str]:
        """Up to ``size`` ids spread over the tenant's memories, the first and last included."""
        ...
    def subjects(self, tenant: str) -> tuple[int, int]:
        """(memories with a subject, vault entries) of the tenant."""
        ...
    def leaves(self, tenant: str, start: int, end: int) -> list[LeafRecord]: ...
    def checkpoints(self, tenant: str) -> list[CheckpointRecord]: ...
    def keys(self, tenant: str) -> list[KeyRecord]: ...
    def keys_by_id(self, ids: Sequence[str]) -> dict[str, KeyRecord]:
        """API keys by id, whatever their tenant."""
        ...
    def settings(self, tenant: str) -> SettingsRecord | None: ...
    def policies(self, tenant: str) -> PoliciesRecord | None: ...
    def constitutions(self) -> list[ConstitutionRecord]: ...
    def sessions(self, tenant: str) -> list[SessionMessage]: ...
    def counts(self, tenant: str) -> Counts: ...


class Writer(Protocol):
    def memories(self, tenant: str, records: Sequence[MemoryRecord]) -> None:
        """Insert new memory versions with vectors, tags, vault items and derived search rows."""
        ...
    def catch_up(self, tenant: str, records: Sequence[MemoryRecord]) -> None:
        """Set ``valid_to`` and ``superseded_by`` of versions already copied (superseded since)."""
        ...
    def leaves(self, tenant: str, leaves: Sequence[LeafRecord]) -> None: ...
    def checkpoints(self, tenant: str, checkpoints: Sequence[CheckpointRecord]) -> None: ...
    def keys(self, tenant: str, keys: Sequence[KeyRecord]) -> None:
        """Insert new keys; a key already there takes the source's revocation."""
        ...
    def settings(self, record: SettingsRecord) -> None: ...
    def policies(self, record: PoliciesRecord) -> None: ...
    def constitutions(self, records: Sequence[ConstitutionRecord]) -> None: ...
    def sessions(self, tenant: str, messages: Sequence[SessionMessage]) -> None: ...
    def bulk(self, dim: int) -> AbstractContextManager[None]:
        """Around a copy of more vectors than the target holds: a backend may build its
        vector index once at the end instead of row by row."""
        ...


@dataclass
class Endpoint:
    """One side of a migration: the opened store, its reader and writer, what it can keep."""

    url: str  # without a password, for messages
    kind: str  # "sqlite" or "postgresql"
    store: Store
    reader: Reader
    writer: Writer
    subjects: bool = True  # keeps memory subjects
    vault: bool = True  # keeps tokenized originals
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def spread(items: Sequence[T], size: int) -> list[T]:
    """Up to ``size`` of ``items`` evenly spaced, the first and the last included."""
    if len(items) <= size:
        return list(items)
    if size <= 1:
        return list(items[:size])
    step = (len(items) - 1) / (size - 1)
    return [items[round(i * step)] for i in range(size)]


__all__ = ["Cursor", "Endpoint", "Reader", "Writer", "spread"]
