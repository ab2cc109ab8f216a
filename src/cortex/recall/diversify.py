"""Diversifying the first hits (maximal marginal relevance with a same-session penalty).

The best hit stays first. Each of the next ``diversify_top − 1`` places goes to the hit,
among the best ``diversify_pool``, that maximises

    score − diversity · max cos(hit, picked) − session_penalty · #picked from its session

so five near-identical turns don't crowd out the second piece of evidence a multi-hop
question needs. Hits keep their fused ``score``; the penalty is shown in ``explain``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cortex.core.models import FusionWeights, Memory

if TYPE_CHECKING:
    from cortex.recall.fuse import Candidate


def session_key(memory: Memory) -> str | None:
    if memory.source.session is not None:
        return f"{memory.namespace}\x00{memory.source.session}"
    return None


def diversify(ranked: list[tuple[float, Candidate]],
              weights: FusionWeights) -> list[tuple[int, float]]:
    """New order as (index into ``ranked``, penalty paid); ``ranked`` is best first."""
    plain = [(i, 0.0) for i in range(len(ranked))]
    if (weights.diversity <= 0 and weights.session_penalty <= 0) or len(ranked) < 3:
        return plain
    pool = list(range(min(weights.diversify_pool, len(ranked))))
    picked, order = [pool.pop(0)], [(0, 0.0)]
    while pool and len(order) < weights.diversify_top:
        best, best_value, best_penalty = pool[0], -np.inf, 0.0
        for i in pool:
            penalty = _penalty(ranked, i, picked, weights)
            if ranked[i][0] - penalty > best_value:
                best, best_value, best_penalty = i, ranked[i][0] - penalty, penalty
        pool.remove(best)
        picked.append(best)
        order.append((best, best_penalty))
    chosen = set(picked)
    return order + [(i, 0.0) for i in range(len(ranked)) if i not in chosen]


def _penalty(ranked: list[tuple[float, Candidate]], i: int, picked: list[int],
             weights: FusionWeights) -> float:
    cand = ranked[i][1]
    similarity = 0.0
    if cand.vector is not None:
        others = [ranked[p][1].vector for p in picked if ranked[p][1].vector is not None]
        if others:
            similarity = float(max(np.stack(others) @ cand.vector))  # type: ignore[arg-type]
    key = session_key(cand.memory)
    same = sum(1 for p in picked if key is not None and session_key(ranked[p][1].memory) == key)
    return weights.diversity * max(0.0, similarity) + weights.session_penalty * same
