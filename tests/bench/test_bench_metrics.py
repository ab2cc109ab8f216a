"""The retrieval metrics against hand-computed values and their invariants."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from cortex.bench.common import latency
from cortex.bench.metrics import any_found, dedupe, ndcg_at_k, recall_at_k, share_found


def test_ndcg_graded_by_hand() -> None:
    grades = {"a": 2, "b": 1, "c": 0}
    # ranked b, x, a: DCG = 1/log2(2) + 2/log2(4); ideal a, b: 2/log2(2) + 1/log2(3)
    expected = (1 + 2 / 2) / (2 + 1 / math.log2(3))
    assert math.isclose(ndcg_at_k(["b", "x", "a"], grades, 10), expected)
    assert ndcg_at_k(["a", "b"], grades, 10) == 1.0
    assert ndcg_at_k(["x", "y"], grades, 10) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}, 10) == 0.0  # nothing relevant: defined as 0


def test_ndcg_cuts_at_k_and_ignores_repeats() -> None:
    grades = {"a": 1}
    assert ndcg_at_k(["x", "a"], grades, 1) == 0.0
    assert ndcg_at_k(["a", "a", "b"], {"a": 1, "b": 1}, 2) == 1.0


def test_recall_and_shares() -> None:
    grades = {"a": 1, "b": 3, "c": 0}
    assert recall_at_k(["b", "z", "a"], grades, 2) == 0.5
    assert recall_at_k(["b", "z", "a"], grades, 3) == 1.0
    assert share_found(["D1:1", "D1:2"], {"D1:2", "D9:9"}) == 0.5
    assert share_found([], {"x"}) == 0.0
    assert any_found(["a", "b"], ["b"]) == 1.0
    assert any_found(["a"], ["b"]) == 0.0
    assert dedupe(["b", "a", "b"]) == ["b", "a"]


def test_latency_percentiles() -> None:
    stats = latency([0.001 * i for i in range(1, 101)])
    assert stats.n == 100
    assert stats.p50_ms <= stats.p95_ms <= stats.p99_ms
    assert math.isclose(stats.p50_ms, 50.5)
    assert latency([]).n == 0


docs = st.lists(st.sampled_from("abcdefghij"), max_size=15)
qrels = st.dictionaries(st.sampled_from("abcdefghij"), st.integers(0, 3), max_size=10)


@given(docs, qrels)
def test_metric_ranges(ranked: list[str], grades: dict[str, int]) -> None:
    for k in (1, 5, 10):
        assert 0.0 <= ndcg_at_k(ranked, grades, k) <= 1.0 + 1e-12
        assert 0.0 <= recall_at_k(ranked, grades, k) <= 1.0
    assert recall_at_k(ranked, grades, 5) <= recall_at_k(ranked, grades, 10)


@given(qrels)
def test_ideal_ranking_scores_one(grades: dict[str, int]) -> None:
    ideal = sorted((d for d, g in grades.items() if g > 0), key=lambda d: -grades[d])
    if ideal:
        assert math.isclose(ndcg_at_k(ideal, grades, 10), 1.0)
        assert recall_at_k(ideal, grades, 10) == 1.0
