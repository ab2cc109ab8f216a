"""Latency bench on a small fill: the figures' shape and an honest ANN check (no timings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cortex.bench import load_locomo, run_latency
from cortex.bench.latency import Synth, exact_top
from cortex.store.sqlite import index_files, vector_index

from .conftest import OpenEngine

KEYS = {"n", "recall_p50_ms", "recall_p95_ms", "recall_p99_ms", "recall_p95_ms_no_embed",
        "recall_p50_ms_no_embed", "recall_p99_ms_no_embed", "ingest_per_s", "fill_per_s",
        "index_build_s", "ann_recall_at_10"}


def test_synthetic_vectors_are_unit_and_clustered() -> None:
    rng = np.random.default_rng(1)
    pool = rng.normal(size=(50, 384)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    synth = Synth(["a", "b", "c"], ["Ann"], pool, seed=3)
    vectors = synth.vectors(200)
    assert vectors.dtype == np.float32 and vectors.shape == (200, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Each is close to the pool vectors it mixes: far from uniform noise.
    assert float((vectors @ pool.T).max(axis=1).min()) > 0.4
    items = synth.items(5)
    assert all(8 <= len(i["text"].split()) <= 30 for i in items)
    assert exact_top(pool, [str(i) for i in range(50)], pool[7], 3)[0] == "7"


def test_small_fill(open_engine: OpenEngine, tenant: str, locomo_path: Path) -> None:
    engine = open_engine(batch_size=2_000)
    result = run_latency(engine, load_locomo(locomo_path), tenant=tenant, n=3_000,
                         other_tenants=2, queries=20, sample=50, pool=200)
    data = result.model_dump(mode="json")
    assert KEYS <= set(data)
    assert data["n"] == 3_000 and data["other_n"] == 300 and data["queries"] == 20
    assert engine.stats(tenant=tenant)["memories"] == 3_000
    assert engine.stats(tenant=f"{tenant}-other2")["memories"] == 300
    assert 0.9 <= data["ann_recall_at_10"] <= 1.0
    assert data["recall_p50_ms"] <= data["recall_p95_ms"] <= data["recall_p99_ms"]
    assert data["recall_p50_ms_no_embed"] <= data["recall_p95_ms_no_embed"]
    assert min(data["ingest_per_s"], data["fill_per_s"], data["index_build_s"]) > 0


@pytest.mark.slow
def test_ann_recall_through_hnsw(open_engine: OpenEngine, tenant: str, locomo_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Lower the thresholds so a small tenant takes the HNSW path, then compare to exact."""
    monkeypatch.setattr(vector_index, "EXACT_MAX_CANDIDATES", 500)
    engine = open_engine(batch_size=2_000, hnsw_min_rows=1_000)
    result = run_latency(engine, load_locomo(locomo_path), tenant=tenant, n=6_000,
                         other_tenants=1, queries=50, sample=20, pool=300)
    assert index_files.graph_path(engine.store.path, tenant).exists()  # type: ignore[attr-defined]
    assert result.ann_queries == 50
    assert result.ann_recall_at_10 >= 0.9
