"""Candidate generation: vectors ∪ BM25 from the store, plus the session's working memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cortex.core.models import FusionWeights, Kind, Memory, MemoryFilter, Source, content_hash
from cortex.embed.base import Vectors
from cortex.recall.fuse import Candidate
from cortex.store.base import ScoredIds, Store
from cortex.working.base import WorkingMessage


def store_candidates(store: Store, tenant: str, lexical: ScoredIds, query_vector: Vectors,
                     flt: MemoryFilter, weights: FusionWeights, now: datetime,
                     ) -> dict[str, Candidate]:
    """Union of the dense and BM25 (``lexical``) top lists, each with its stored vector."""
    depth = weights.candidates
    dense = store.vector_search(tenant, query_vector, depth, flt, now) if weights.dense else []
    ids = list({i for i, _ in dense} | {i for i, _ in lexical})
    memories = store.get_many(tenant, ids)
    vectors = store.vectors(tenant, ids)
    candidates = {i: Candidate(memory=m, vector=vectors.get(i)) for i, m in memories.items()}
    _rank(candidates, "bm25", lexical)
    return candidates


def working_memory(tenant: str, messages: Sequence[WorkingMessage]) -> list[Memory]:
    """Working-memory messages as (unsaved) memories so one scorer ranks everything."""
    return [
        Memory(id=m.id, tenant=tenant, namespace=f"session:{m.session}", kind=Kind.EPISODE,
               text=m.text, source=Source(session=m.session, speaker=m.speaker, agent=m.role),
               importance=0.5, created_at=m.at, valid_from=m.at, content_hash=content_hash(m.text))
        for m in messages
    ]


def add_dense(candidates: dict[str, Candidate], working: list[Memory],
              working_vectors: Vectors, query_vector: Vectors) -> None:
    """Exact cosine for every candidate (BM25-only ones too) and working-memory messages,
    ranked together: a strong keyword hit is not scored as if it had no meaning."""
    for memory, vector in zip(working, working_vectors, strict=True):
        candidates[memory.id] = Candidate(memory=memory, origin="working", vector=vector)
    query = query_vector.reshape(-1)
    scored = [(i, float(c.vector @ query)) for i, c in candidates.items() if c.vector is not None]
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    _rank(candidates, "dense", scored)


def _rank(candidates: dict[str, Candidate], signal: str, scored: ScoredIds) -> None:
    rank = 0
    for memory_id, score in scored:
        cand = candidates.get(memory_id)
        if cand is None:  # deleted between search and fetch
            continue
        rank += 1
        cand.signals[signal] = score
        cand.ranks[signal] = rank
