"""CachingEmbedder: LRU by content hash, only misses reach the inner model."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

from cortex.core.errors import ConfigError, EmbeddingError
from cortex.embed import CachingEmbedder, Embedder, MiniLMEmbedder
from cortex.embed.base import Vectors


class HashEmbedder:
    """A small real Embedder: deterministic vectors, and a record of every call."""

    def __init__(self, name: str = "hash-8", dim: int = 8) -> None:
        self.name = name
        self.dim = dim
        self.calls: list[list[str]] = []

    def embed_batch(self, texts: list[str]) -> Vectors:
        self.calls.append(list(texts))
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[: self.dim], np.uint8) for t in texts]
        raw = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim) + 1
        unit: Vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        return unit


class ShortEmbedder(HashEmbedder):
    def embed_batch(self, texts: list[str]) -> Vectors:
        return super().embed_batch(texts)[:-1]


def test_is_an_embedder_with_the_inner_identity() -> None:
    cache = CachingEmbedder(HashEmbedder("m", 8))
    assert isinstance(cache, Embedder)
    assert (cache.name, cache.dim) == ("m", 8)


def test_only_misses_reach_the_inner_model_in_one_batch() -> None:
    inner = HashEmbedder()
    cache = CachingEmbedder(inner)
    first = cache.embed_batch(["a", "b"])
    second = cache.embed_batch(["b", "c", "a", "d"])
    assert inner.calls == [["a", "b"], ["c", "d"]]
    np.testing.assert_array_equal(second[[0, 2]], first[[1, 0]])
    np.testing.assert_array_equal(second, inner.embed_batch(["b", "c", "a", "d"]))
    assert (cache.hits, cache.misses) == (2, 4)


def test_repeats_within_a_call_are_embedded_once() -> None:
    inner = HashEmbedder()
    out = CachingEmbedder(inner).embed_batch(["x", "y", "x"])
    assert inner.calls == [["x", "y"]]
    np.testing.assert_array_equal(out[0], out[2])


def test_all_hits_skip_the_inner_model_and_empty_is_empty() -> None:
    inner = HashEmbedder()
    cache = CachingEmbedder(inner)
    cache.embed_batch(["a"])
    cache.embed_batch(["a", "a"])
    assert cache.embed_batch([]).shape == (0, 8)
    assert inner.calls == [["a"]]
    assert cache.stats().hits == 2


def test_least_recently_used_entry_is_evicted() -> None:
    inner = HashEmbedder()
    cache = CachingEmbedder(inner, max_entries=2)
    cache.embed_batch(["a", "b"])
    cache.embed_batch(["a"])  # touch a: b is now the oldest
    cache.embed_batch(["c"])
    cache.embed_batch(["a", "b"])
    assert inner.calls[-1] == ["b"]
    assert cache.stats().entries == 2


def test_keys_include_the_model_name() -> None:
    one, two = CachingEmbedder(HashEmbedder("m1")), CachingEmbedder(HashEmbedder("m2"))
    assert one._key("same text") != two._key("same text")


def test_returned_arrays_do_not_alias_the_cache() -> None:
    cache = CachingEmbedder(HashEmbedder())
    out = cache.embed_batch(["a"])
    out[0] = 0.0
    assert np.linalg.norm(cache.embed_batch(["a"])[0]) == pytest.approx(1.0)


def test_wrong_shape_from_inner_is_an_embedding_error() -> None:
    with pytest.raises(EmbeddingError, match="shape"):
        CachingEmbedder(ShortEmbedder()).embed_batch(["a", "b"])


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        CachingEmbedder(HashEmbedder(), max_entries=0)


def test_concurrent_callers_get_consistent_vectors() -> None:
    inner = HashEmbedder()
    cache = CachingEmbedder(inner, max_entries=50)
    texts = [f"t{i}" for i in range(100)]
    want = inner.embed_batch(texts)
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(50):
            idx = rng.choice(len(texts), size=5)
            if not np.array_equal(cache.embed_batch([texts[i] for i in idx]), want[idx]):
                errors.append(f"mismatch in worker {seed}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = cache.stats()
    assert stats.hits + stats.misses == 4 * 50 * 5 and stats.entries <= 50


def test_real_model_vectors_are_unchanged_by_the_cache() -> None:
    model = MiniLMEmbedder()
    cache = CachingEmbedder(model)
    texts = ["I adopted a dog last week.", "Caroline went to a support group."]
    direct = model.embed_batch(texts)
    np.testing.assert_allclose(cache.embed_batch(texts), direct, atol=1e-6)
    np.testing.assert_allclose(cache.embed_batch(texts[::-1]), direct[::-1], atol=1e-6)
    assert cache.hits == 2
