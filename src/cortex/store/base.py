"""The storage boundary.

A ``Store`` keeps memories, their vectors and their full-text index together, and
answers tenant-scoped candidate searches. Every method takes the tenant explicitly and
every backend enforces it in every query. Ranking that does not depend on the backend
(fusion, recency, importance) lives in ``cortex.recall``, above this boundary.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from cortex.core.models import (
    CheckReport,
    FusionWeights,
    Memory,
    MemoryFilter,
    NamespaceStats,
    NewMemory,
)
from cortex.embed.base import Vectors

Progress = Callable[[int, int], None]
"""``progress(done, total)`` callback for long maintenance work."""

ScoredIds = list[tuple[str, float]]
"""Candidate ids with a backend score, best first."""


class Store(Protocol):
    url: str

    # writes: each call is one transaction (rows, full-text and vectors together)
    def insert(self, tenant: str, items: Sequence[NewMemory], vectors: Vectors,
               model: str) -> builtins.list[Memory]: ...
    def supersede(self, tenant: str, old_id: str, new: NewMemory, vector: Vectors,
                  model: str, at: datetime) -> Memory: ...
    def delete(self, tenant: str, ids: Sequence[str]) -> int: ...
    def delete_where(self, tenant: str, flt: MemoryFilter) -> int: ...
    def expire(self, now: datetime) -> int: ...

    # reads
    def get(self, tenant: str, memory_id: str) -> Memory | None: ...
    def get_many(self, tenant: str, ids: Sequence[str]) -> dict[str, Memory]: ...
    def history(self, tenant: str, memory_id: str) -> builtins.list[Memory]: ...
    def find_by_hash(self, tenant: str, namespace: str, digest: str,
                     now: datetime) -> list[Memory]: ...
    def list(self, tenant: str, flt: MemoryFilter, now: datetime, limit: int,
             after: str | None = None) -> builtins.list[Memory]: ...
    def namespaces(self, tenant: str) -> builtins.list[NamespaceStats]: ...
    def has_namespace(self, tenant: str, namespaces: Sequence[str]) -> bool: ...
    def tenants(self) -> builtins.list[str]: ...

    # candidate generation for recall
    def vector_search(self, tenant: str, vector: Vectors, k: int, flt: MemoryFilter,
                      now: datetime) -> ScoredIds: ...
    def text_search(self, tenant: str, query: str, k: int, flt: MemoryFilter,
                    now: datetime) -> ScoredIds: ...
    def vectors(self, tenant: str, ids: Sequence[str]) -> dict[str, Vectors]:
        """Stored vectors of these memories (for exact scores and diversification)."""
        ...

    # per-tenant settings
    def get_weights(self, tenant: str) -> FusionWeights: ...
    def set_weights(self, tenant: str, weights: FusionWeights) -> None: ...

    # maintenance
    def warm(self, tenant: str) -> None:
        """Load the tenant's search structures now (and wait for any ANN build)."""
        ...
    def check(self) -> CheckReport: ...
    def reindex(self, progress: Progress | None = None) -> None: ...
    def close(self) -> None: ...
