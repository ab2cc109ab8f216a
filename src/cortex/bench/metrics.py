"""Retrieval metrics over ranked lists of the benchmark's own ids (never memory ids).

    share_found   |relevant ∩ found| / |relevant|             (turn / session recall@k)
    any_found     1 if relevant ∩ found else 0                 (hit rate)
    ndcg_at_k     Σ_i gain(d_i) / log2(i + 1), i = 1..k, over the ideal ordering's value;
                  gain is the graded relevance itself, as trec_eval and BEIR compute it
    recall_at_k   share of the relevant documents (grade > 0) in the top k
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence


def share_found(relevant: Collection[str], found: Iterable[str]) -> float:
    if not relevant:
        return 0.0
    return len(set(relevant) & set(found)) / len(set(relevant))


def any_found(relevant: Collection[str], found: Iterable[str]) -> float:
    return 1.0 if set(relevant) & set(found) else 0.0


def dedupe(ranked: Iterable[str]) -> list[str]:
    """First occurrence of each id, in order (a memory may stand for several ids)."""
    return list(dict.fromkeys(ranked))


def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    if best == 0:
        return 0.0
    got = sum(grades.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(dedupe(ranked)[:k]))
    return max(0.0, got) / best


def recall_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    relevant = {doc for doc, g in grades.items() if g > 0}
    return share_found(relevant, dedupe(ranked)[:k])
