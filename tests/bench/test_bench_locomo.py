"""LoCoMo end to end on real data: the figures' shape, ranges and relations (no timings)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cortex.bench import load_locomo, run_locomo
from cortex.bench.locomo import BASELINES, METRICS, LocomoResult, baseline_weights

from .conftest import OpenEngine

RATES = (*METRICS, "turn_recall_at_k")
KEYS = {"turn_recall_at_5", "turn_recall_at_10", "session_recall_at_5", "by_category",
        "ingest_per_s", "recall_p50_ms", "recall_p95_ms", "questions", "memories"}


def check(result: LocomoResult) -> dict[str, object]:
    data = json.loads(result.model_dump_json())
    assert KEYS <= set(data)
    for key in RATES:
        assert 0.0 <= data[key] <= 1.0, key
    assert data["turn_recall_at_10"] >= data["turn_recall_at_5"]
    assert data["questions"] == sum(c["n"] for c in data["by_category"].values())
    for name, scores in data["by_category"].items():
        assert scores["n"] > 0, name
        assert 0.0 <= scores["turn_recall_at_5"] <= scores["turn_recall_at_10"] <= 1.0
        assert 0.0 <= scores["session_recall_at_5"] <= 1.0
    assert data["ingest_per_s"] > 0 and data["recall_p95_ms"] >= data["recall_p50_ms"] > 0
    return data


def test_small_slice(open_engine: OpenEngine, tenant: str, small_locomo: Path) -> None:
    conversations = load_locomo(small_locomo)
    engine = open_engine()
    result = run_locomo(engine, conversations, tenant=tenant, k=20)
    data = check(result)
    assert data["k"] == 20
    assert data["turn_recall_at_k"] >= data["turn_recall_at_10"]
    assert data["memories"] <= data["turns"] == len(conversations[0].turns)
    assert data["baselines"] is None


def test_nothing_private_reaches_the_engine(open_engine: OpenEngine, tenant: str,
                                           small_locomo: Path) -> None:
    raw = json.loads(small_locomo.read_text())[0]
    private = [s for key in ("observation", "session_summary", "event_summary")
               for s in _strings(raw.get(key))]
    engine = open_engine()
    run_locomo(engine, load_locomo(small_locomo), tenant=tenant)
    stored = engine.list(namespace="locomo-0", limit=1000, tenant=tenant)
    assert stored
    leak = re.compile(r"\bD\d+:\d+\b|session_\d|\bD\d+\b")
    for memory in stored:
        visible = json.dumps([memory.text, memory.metadata, memory.tags,
                              memory.source.model_dump(exclude_none=True)])
        assert not leak.search(visible), visible
        assert set(memory.source.model_dump(exclude_none=True)) == {"speaker", "session"}
        # the conversation is keyed by its start time, never by the dataset's numbering
        assert memory.source.session == f"chat-{memory.occurred_at.isoformat()}"
        assert memory.metadata == {} and memory.tags == []
        assert memory.occurred_at is not None
        assert not any(len(p) > 40 and p in memory.text for p in private)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.slow
def test_one_conversation_with_baselines(open_engine: OpenEngine, tenant: str,
                                         locomo_path: Path) -> None:
    conversations = load_locomo(locomo_path, limit_conversations=1)
    engine = open_engine()
    result = run_locomo(engine, conversations, tenant=tenant, baseline=True)
    data = check(result)
    assert set(data["by_category"]) == {"multi-hop", "temporal", "open-domain", "single-hop"}
    assert data["questions"] == len(conversations[0].questions) > 100
    assert result.baselines is not None and set(result.baselines) == set(BASELINES)
    for name, base in result.baselines.items():
        assert base.n == result.n
        assert base.weights == baseline_weights(result.weights, name)
        assert base.weights.recency == base.weights.importance == 0.0
        assert 0.0 <= base.turn_recall_at_5 <= base.turn_recall_at_10 <= 1.0
        for metric in METRICS:
            ratio = base.ratios[metric]
            assert ratio is not None
            assert ratio == pytest.approx(getattr(result, metric) / getattr(base, metric),
                                          abs=1e-3)
    # The tenant's own weights are back to what they were after the baseline passes.
    assert engine.fusion_weights(tenant=tenant) == result.weights
