"""Building store-level writes without the embedding model (random unit vectors)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from ulid import ULID

from cortex.core.models import Kind, NewMemory, Source, content_hash, utcnow

DIM = 8


def new_memory(text: str, namespace: str = "ns", *, tags: list[str] | None = None,
               metadata: dict | None = None, expires_at: datetime | None = None,
               kind: Kind = Kind.FACT) -> NewMemory:
    now = utcnow()
    return NewMemory(id=str(ULID()), namespace=namespace, kind=kind, text=text,
                     metadata=metadata or {}, tags=tags or [], source=Source(session="s"),
                     importance=0.5, created_at=now, occurred_at=None, valid_from=now,
                     expires_at=expires_at, content_hash=content_hash(text))


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
