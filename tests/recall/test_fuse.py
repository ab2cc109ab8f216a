"""Fusion and diversification invariants, on hand-made candidates."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.core.models import FusionWeights, Kind, Memory, Source
from cortex.recall.fuse import Candidate, fuse

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def memory(i: int, session: str | None = None, importance: float = 0.5) -> Memory:
    return Memory(id=f"m{i:04d}", tenant="t", namespace="n", kind=Kind.EPISODE, text=f"t{i}",
                  source=Source(session=session), importance=importance, created_at=NOW,
                  valid_from=NOW, content_hash="x")


def candidate(i: int, dense: float | None, bm25: float | None, vector: np.ndarray | None = None,
              session: str | None = None) -> Candidate:
    cand = Candidate(memory=memory(i, session), vector=vector)
    for name, value in (("dense", dense), ("bm25", bm25)):
        if value is not None:
            cand.signals[name] = value
    return cand


def ranked(cands: list[Candidate]) -> list[Candidate]:
    for signal in ("dense", "bm25"):
        having = sorted((c for c in cands if signal in c.signals), key=lambda c: -c.signals[signal])
        for rank, c in enumerate(having, 1):
            c.ranks[signal] = rank
    return cands


scores = st.one_of(st.none(), st.floats(0, 30, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(scores, scores), min_size=1, max_size=40),
       st.sampled_from(["convex", "rrf"]))
def test_fusion_is_a_bounded_permutation(signals, method) -> None:
    cands = ranked([candidate(i, d, b) for i, (d, b) in enumerate(signals)])
    weights = FusionWeights(method=method, recency=0, importance=0, diversity=0, session_penalty=0)
    hits = fuse(cands, weights, NOW)
    assert sorted(h.memory.id for h in hits) == sorted(c.memory.id for c in cands)
    assert all(0.0 <= h.explain["relevance"] <= 1.0 + 1e-9 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_best_in_every_list_scores_one() -> None:
    cands = ranked([candidate(0, 0.9, 12.0), candidate(1, 0.5, 3.0), candidate(2, None, 1.0)])
    for method in ("convex", "rrf"):
        hits = fuse(cands, FusionWeights(method=method, recency=0, importance=0), NOW)
        assert hits[0].memory.id == "m0000" and abs(hits[0].explain["relevance"] - 1.0) < 1e-9


def test_weights_move_the_ranking() -> None:
    cands = ranked([candidate(0, 0.9, 1.0), candidate(1, 0.2, 10.0)])
    dense_only = fuse(cands, FusionWeights(dense=1, bm25=0, recency=0, importance=0), NOW)
    bm25_only = fuse(cands, FusionWeights(dense=0, bm25=1, recency=0, importance=0), NOW)
    assert dense_only[0].memory.id == "m0000" and bm25_only[0].memory.id == "m0001"


def test_importance_breaks_near_ties() -> None:
    a, b = candidate(0, 0.8, 5.0), candidate(1, 0.8, 5.0)
    b.memory = memory(1, importance=1.0)
    hits = fuse(ranked([a, b]), FusionWeights(diversity=0), NOW)
    assert hits[0].memory.id == "m0001" and hits[0].explain["importance_part"] > 0


def test_diversity_lifts_a_distinct_hit_into_the_top_five() -> None:
    same = np.zeros(4, dtype=np.float32)
    same[0] = 1.0
    other = np.zeros(4, dtype=np.float32)
    other[1] = 1.0
    cands = [candidate(i, 0.9 - i * 0.01, 10 - i * 0.1, same, session="a") for i in range(6)]
    cands.append(candidate(9, 0.70, 7.0, other, session="b"))
    ranked(cands)
    plain = fuse(cands, FusionWeights(diversity=0, session_penalty=0), NOW)
    mixed = fuse(cands, FusionWeights(), NOW)
    assert "m0009" not in [h.memory.id for h in plain[:5]]
    assert "m0009" in [h.memory.id for h in mixed[:5]]
    assert mixed[0].memory.id == plain[0].memory.id  # the best hit stays first
    assert sorted(h.memory.id for h in mixed) == sorted(h.memory.id for h in plain)
    picked = next(h for h in mixed if h.memory.id == "m0001")
    assert picked.explain["diversity_penalty"] > 0
