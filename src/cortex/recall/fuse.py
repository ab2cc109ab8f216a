"""Fusing candidate lists into one ranking, with every signal kept for ``explain``.

Score of a candidate (all terms documented in docs/recall.md):

    rrf        = Σ_signal w_signal / (rrf_k + rank_signal)        (ranks start at 1)
    relevance  = rrf / Σ_signal w_signal / (rrf_k + 1)            (1.0 = first in every list)
    score      = relevance + w_recency · 2^(−age / half_life) + w_importance · importance

Ranks, not raw scores, are fused: cosine and BM25 live on unrelated scales, and rank
fusion is robust to that without per-corpus calibration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cortex.core.models import FusionWeights, Hit, Memory


@dataclass
class Candidate:
    memory: Memory
    origin: str = "store"
    signals: dict[str, float] = field(default_factory=dict)  # raw score per signal
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank per signal


def signal_weights(weights: FusionWeights) -> dict[str, float]:
    return {"dense": weights.dense, "bm25": weights.bm25}


def fuse(candidates: list[Candidate], weights: FusionWeights, now: datetime) -> list[Hit]:
    per_signal = signal_weights(weights)
    best = sum(w / (weights.rrf_k + 1) for w in per_signal.values()) or 1.0
    hits = []
    for cand in candidates:
        rrf = sum(w / (weights.rrf_k + cand.ranks[s])
                  for s, w in per_signal.items() if s in cand.ranks)
        relevance = rrf / best
        recency = _recency(cand.memory, now, weights.recency_half_life_days)
        explain = {f"{s}": cand.signals[s] for s in per_signal if s in cand.signals}
        explain |= {f"{s}_rank": float(cand.ranks[s]) for s in per_signal if s in cand.ranks}
        explain |= {
            "rrf": rrf,
            "relevance": relevance,
            "recency": recency,
            "recency_part": weights.recency * recency,
            "importance": cand.memory.importance,
            "importance_part": weights.importance * cand.memory.importance,
        }
        score = relevance + explain["recency_part"] + explain["importance_part"]
        explain["score"] = score
        hits.append(Hit(memory=cand.memory, score=score, explain=explain, origin=cand.origin))
    # Ties broken by id so every backend returns the same order for the same data.
    hits.sort(key=lambda h: (-h.score, h.memory.id))
    return hits


def _recency(memory: Memory, now: datetime, half_life_days: float) -> float:
    """How fresh the memory is to the agent (when it was learned, not when the event was):
    a question about 2023 must not lose to yesterday's small talk."""
    age_days = max(0.0, (now - memory.created_at).total_seconds() / 86_400)
    return float(0.5 ** (age_days / half_life_days)) if half_life_days > 0 else 0.0
