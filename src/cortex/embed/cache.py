"""An LRU cache of vectors in front of any :class:`~cortex.embed.base.Embedder`.

Keys are ``sha256(model name, text)``, so two models never share an entry and memory
holds 32-byte digests rather than the texts themselves.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from cortex.core.errors import ConfigError, EmbeddingError
from cortex.embed.base import Embedder, Vectors


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    max_entries: int


class CachingEmbedder:
    """Serves repeated texts from memory; only the misses reach ``inner``, as one batch."""

    def __init__(self, inner: Embedder, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ConfigError("max_entries must be at least 1")
        self.inner = inner
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.hits, self.misses, len(self._entries), self.max_entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        """Close the wrapped embedder if it holds resources (an HTTP connection pool)."""
        close_inner = getattr(self.inner, "close", None)
        if callable(close_inner):
            close_inner()

    def embed_batch(self, texts: list[str]) -> Vectors:
        keys = [self._key(text) for text in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing = self._fill_hits(keys, out)
        if missing:
            # The inner call runs outside the lock so a slow model never blocks hits.
            pending: dict[bytes, str] = {}
            for i in missing:  # a text repeated within the call is embedded once
                pending.setdefault(keys[i], texts[i])
            fresh = self._embed_inner(list(pending.values()))
            by_key = dict(zip(pending, fresh, strict=True))
            for i in missing:
                out[i] = by_key[keys[i]]
            self._store(by_key)
        return out

    def _key(self, text: str) -> bytes:
        digest = hashlib.sha256(self.name.encode())
        digest.update(b"\0")
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def _fill_hits(self, keys: list[bytes], out: Vectors) -> list[int]:
        """Copy cached rows into ``out``; return the positions still to embed."""
        missing: list[int] = []
        with self._lock:
            for i, key in enumerate(keys):
                vector = self._entries.get(key)
                if vector is None:
                    missing.append(i)
                    continue
                self._entries.move_to_end(key)
                out[i] = vector
            self.hits += len(keys) - len(missing)
            self.misses += len(missing)
        return missing

    def _embed_inner(self, texts: list[str]) -> Vectors:
        vectors = np.asarray(self.inner.embed_batch(texts), dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise EmbeddingError(
                f"{self.name} returned shape {vectors.shape}, expected {(len(texts), self.dim)}"
            )
        return vectors

    def _store(self, fresh: dict[bytes, Vectors]) -> None:
        with self._lock:
            for key, vector in fresh.items():
                vector = vector.copy()  # a row view would pin the whole batch array
                vector.setflags(write=False)
                self._entries[key] = vector
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
