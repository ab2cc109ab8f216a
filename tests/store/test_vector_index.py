"""The in-process vector index: filtered search must equal filter-then-exact-rank."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.core.models import Kind, MemoryFilter
from cortex.store.sqlite.vector_index import RowAttrs, TenantIndex

NOW = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def filled(n: int, dim: int, seed: int, namespaces: int = 3) -> tuple[TenantIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = unit(rng, n, dim)
    index = TenantIndex(dim, capacity=4)
    kinds = list(Kind)
    for i in range(n):
        index.upsert(RowAttrs(rowid=i + 1, id=f"m{i:05d}", namespace=f"ns{i % namespaces}",
                              kind=kinds[i % len(kinds)].value, created_at=NOW - 10,
                              valid_from=NOW - 10, valid_to=None, expires_at=None,
                              occurred_at=None), vectors[i])
    return index, vectors


def brute(vectors: np.ndarray, query: np.ndarray, keep: list[int], k: int) -> list[str]:
    scores = vectors[keep] @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [f"m{keep[i]:05d}" for i in order]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 10_000), k=st.integers(1, 20),
       ns=st.sampled_from([None, ("ns0",), ("ns1", "ns2"), ("nope",)]))
def test_exact_search_equals_filter_then_rank(n: int, seed: int, k: int,
                                              ns: tuple[str, ...] | None) -> None:
    index, vectors = filled(n, 16, seed)
    query = unit(np.random.default_rng(seed + 1), 1, 16)[0]
    flt = MemoryFilter(namespaces=ns)
    got = [i for i, _ in index.search(query, k, flt, NOW)]
    keep = [i for i in range(n) if ns is None or f"ns{i % 3}" in ns]
    assert got == brute(vectors, query, keep, k)


def test_small_namespace_among_many_is_found_inside_the_graph() -> None:
    """10 rows in one namespace among 40k: all 10 come back, never filtered after top-k."""
    dim = 16
    index, vectors = filled(40_000, dim, seed=7, namespaces=1)
    rng = np.random.default_rng(8)
    small = unit(rng, 10, dim)
    for j in range(10):
        index.upsert(RowAttrs(rowid=100_000 + j, id=f"small{j}", namespace="tiny",
                              kind="fact", created_at=NOW - 10, valid_from=NOW - 10,
                              valid_to=None, expires_at=None, occurred_at=None), small[j])
    index.build_hnsw()
    query = vectors[0]  # closest to the big namespace, far from the small one
    got = index.search(query, 10, MemoryFilter(namespaces=("tiny",)), NOW)
    assert sorted(i for i, _ in got) == sorted(f"small{j}" for j in range(10))
    # and the graph path (large candidate set) still agrees with exact search
    flt = MemoryFilter(namespaces=("ns0",))
    graph_hits = {i for i, _ in index.search(query, 10, flt, NOW)}
    exact = set(brute(vectors, query, list(range(40_000)), 10))
    assert len(graph_hits & exact) >= 9


def test_removed_and_superseded_rows_are_not_returned() -> None:
    index, vectors = filled(50, 8, seed=3, namespaces=1)
    index.remove(1)
    index.upsert(RowAttrs(rowid=2, id="m00001", namespace="ns0", kind="fact",
                          created_at=NOW - 10, valid_from=NOW - 10, valid_to=NOW - 5,
                          expires_at=None, occurred_at=None), None)
    ids = {i for i, _ in index.search(vectors[0], 50, MemoryFilter(), NOW)}
    assert "m00000" not in ids and "m00001" not in ids and len(ids) == 48
    # as of before the supersession, the old version is visible again
    past = index.search(vectors[1], 1, MemoryFilter(), NOW - 7)
    assert past[0][0] == "m00001"
