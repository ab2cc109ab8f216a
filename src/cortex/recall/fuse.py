"""Fusing candidate lists into one ranking, with every signal kept for ``explain``.

Relevance (in [0, 1]) comes from the per-signal scores (dense cosine, BM25) by one of
two methods, chosen per tenant in ``FusionWeights.method``:

    convex     relevance = Σ_s w_s · max(0, score_s) / max_candidates(score_s)  /  Σ_s w_s
               (the BM25 maximum is floored at BM25_NORM_FLOOR)
    rrf        relevance = Σ_s w_s / (rrf_k + rank_s)  /  Σ_s w_s / (rrf_k + 1)

then  score = relevance + w_recency · 2^(−age / half_life) + w_importance · importance.

Convex fusion keeps how far ahead the best hit is in each list; RRF only keeps the
order. On LoCoMo, where BM25 is much stronger than MiniLM, convex wins clearly (see
docs/recall.md); RRF stays available for corpora where score scales misbehave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cortex.core.models import FusionWeights, Hit, Memory
from cortex.embed.base import Vectors
from cortex.recall.diversify import diversify

# BM25 maxima below this are noise (FTS5 clamps IDF to 1e-6 when a word is in half the
# rows); real matches in any corpus of more than a handful of rows score well above it.
BM25_NORM_FLOOR = 1.0


@dataclass
class Candidate:
    memory: Memory
    origin: str = "store"
    vector: Vectors | None = None
    signals: dict[str, float] = field(default_factory=dict)  # raw score per signal
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank per signal


def signal_weights(weights: FusionWeights) -> dict[str, float]:
    return {"dense": weights.dense, "bm25": weights.bm25}


def fuse(candidates: list[Candidate], weights: FusionWeights, now: datetime,
         k: int | None = None) -> list[Hit]:
    """Score every candidate; build ``Hit`` objects only for the best ``k``."""
    per_signal = {s: w for s, w in signal_weights(weights).items() if w > 0}
    total = sum(per_signal.values()) or 1.0
    if weights.method == "rrf":
        best = sum(w / (weights.rrf_k + 1) for w in per_signal.values()) or 1.0
    tops = {s: max((max(0.0, c.signals.get(s, 0.0)) for c in candidates), default=0.0)
            for s in per_signal}
    if "bm25" in tops:  # in a tiny corpus IDF collapses to ~1e-6: don't blow noise up to 1.0
        tops["bm25"] = max(tops["bm25"], BM25_NORM_FLOOR)
    scored = []
    for cand in candidates:
        if weights.method == "rrf":
            parts = {s: w / (weights.rrf_k + cand.ranks[s]) / best
                     for s, w in per_signal.items() if s in cand.ranks}
        else:
            parts = {s: w * max(0.0, cand.signals[s]) / tops[s] / total
                     for s, w in per_signal.items() if s in cand.signals and tops[s] > 0}
        relevance = sum(parts.values())
        recency = _recency(cand.memory, now, weights.recency_half_life_days)
        score = (relevance + weights.recency * recency
                 + weights.importance * cand.memory.importance)
        scored.append((score, relevance, recency, parts, cand))
    # Ties broken by id so every backend returns the same order for the same data.
    scored.sort(key=lambda entry: (-entry[0], entry[4].memory.id))
    order = diversify([(entry[0], entry[4]) for entry in scored], weights)
    return [_hit(*scored[i][:5], weights, penalty) for i, penalty in order[:k]]


def _hit(score: float, relevance: float, recency: float, parts: dict[str, float],
         cand: Candidate, weights: FusionWeights, penalty: float) -> Hit:
    explain = dict(cand.signals)
    explain |= {f"{s}_rank": float(r) for s, r in cand.ranks.items()}
    explain |= {f"{s}_part": p for s, p in parts.items()}
    explain |= {
        "relevance": relevance,
        "recency": recency,
        "recency_part": weights.recency * recency,
        "importance": cand.memory.importance,
        "importance_part": weights.importance * cand.memory.importance,
        "diversity_penalty": penalty,
        "score": score,
    }
    return Hit.model_construct(memory=cand.memory, score=score, explain=explain, origin=cand.origin)


def _recency(memory: Memory, now: datetime, half_life_days: float) -> float:
    """How fresh the memory is to the agent (when it was learned, not when the event was):
    a question about 2023 must not lose to yesterday's small talk."""
    age_days = max(0.0, (now - memory.created_at).total_seconds() / 86_400)
    return float(0.5 ** (age_days / half_life_days)) if half_life_days > 0 else 0.0
