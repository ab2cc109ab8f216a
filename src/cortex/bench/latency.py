"""Recall latency at scale: one large tenant among others, real queries, real model.

The tenant is filled fast with synthetic memories: text drawn from LoCoMo's words and
*precomputed* vectors passed to ``remember_many(vectors=...)``. The vectors are realistic
(uniform noise is a degenerate case for graph indexes): a pool of real LoCoMo turns is
embedded once, and each synthetic vector is a normalised mix of two or three pool
vectors plus a little gaussian noise. Then real LoCoMo questions are asked, end to end
and with precomputed query vectors, after the first recall (which loads the tenant's
vectors and builds its HNSW graph) has been timed on its own. ``ann_recall_at_10``
compares the store's vector candidates with an exact numpy scan, so a broken ANN
cannot hide behind fast numbers.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from cortex.bench.common import (
    SILENT,
    Advance,
    Latency,
    Phases,
    Stopwatch,
    latency,
    mean,
    rate,
    warm_up,
)
from cortex.bench.locomo_data import Conversation, Turn
from cortex.core.models import FusionWeights, Kind, MemoryFilter, utcnow
from cortex.embed.base import Vectors
from cortex.engine import Cortex

NAMESPACE = "latency"
FILL_BATCH = 2_000
POOL_SIZE = 2_000
NOISE = 0.01  # per dimension; a unit vector of 384 dims gets noise of norm ~0.2
WARMUP_QUERIES = 5
ANN_QUERIES = 50
_START = datetime(2023, 1, 1, tzinfo=UTC)
SESSION_TURNS = 20
_T = TypeVar("_T")


class LatencyResult(BaseModel):
    benchmark: str = "latency"
    n: int
    other_tenants: int
    other_n: int  # memories in each other tenant
    queries: int
    recall_p50_ms: float
    recall_p95_ms: float
    recall_p99_ms: float
    recall_p50_ms_no_embed: float
    recall_p95_ms_no_embed: float
    recall_p99_ms_no_embed: float
    index_build_s: float
    fill_per_s: float
    fill_s: float
    ingest_per_s: float
    ingest_sample: int
    ann_recall_at_10: float
    ann_queries: int
    breakdown: dict[str, Latency]  # the parts of a recall, timed one by one
    candidates_mean: float  # dense ∪ text candidate ids fetched per recall
    pool: int
    weights: FusionWeights  # the tenant's, as used by every recall here
    embedder: str
    store: str
    tenant: str


class Synth:
    """Synthetic memories: word-pool text and mixed pool vectors, reproducible by seed."""

    def __init__(self, words: Sequence[str], speakers: Sequence[str], pool: Vectors,
                 seed: int = 0) -> None:
        self.words = list(words)
        self.speakers = list(speakers) or ["someone"]
        self.pool = pool
        self.rng = np.random.default_rng(seed)
        self.pick = random.Random(seed)
        self.made = 0
        self.session_start = _START

    def vectors(self, count: int) -> Vectors:
        picks = self.rng.integers(0, len(self.pool), size=(count, 3))
        weights = self.rng.uniform(0.5, 1.0, size=(count, 3)).astype(np.float32)
        weights[self.rng.random(count) < 0.5, 2] = 0.0  # half mix two vectors, half three
        mixed: Vectors = np.einsum("nk,nkd->nd", weights, self.pool[picks])
        mixed += self.rng.normal(0.0, NOISE, size=mixed.shape).astype(np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        return mixed

    def items(self, count: int) -> list[dict[str, Any]]:
        """Conversation-like rows: sessions of 20 turns, so the index carries turn context."""
        out = []
        for _ in range(count):
            if self.made % SESSION_TURNS == 0:
                self.session_start = _START + timedelta(seconds=self.pick.randint(0, 365 * 86_400))
            text = " ".join(self.pick.choices(self.words, k=self.pick.randint(8, 30)))
            out.append({"text": text, "namespace": NAMESPACE, "kind": Kind.EPISODE,
                        "source": {"speaker": self.pick.choice(self.speakers),
                                   "session": f"synthetic-{self.made // SESSION_TURNS}"},
                        "occurred_at": self.session_start})
            self.made += 1
        return out


def _turns_and_questions(conversations: Sequence[Conversation], seed: int,
                         ) -> tuple[list[Turn], list[str]]:
    turns = [t for c in conversations for t in c.turns]
    questions = list(dict.fromkeys(q.text for c in conversations for q in c.questions))
    shuffle = random.Random(seed)
    shuffle.shuffle(turns)
    shuffle.shuffle(questions)
    return turns, questions


def _timed(call: Callable[[_T], object], args: Sequence[_T],
           advance: Advance | None = None) -> list[float]:
    """Wall time of ``call(arg)`` for each argument, in order."""
    out = []
    for done, arg in enumerate(args, start=1):
        start = time.perf_counter()
        call(arg)
        out.append(time.perf_counter() - start)
        if advance is not None:
            advance(done, len(args))
    return out


def ingest_sample(engine: Cortex, turns: Sequence[Turn], tenant: str) -> float:
    """Memories/s for real turns with real embeddings (model already loaded)."""
    items = [{"text": t.text, "namespace": f"{NAMESPACE}-ingest", "kind": Kind.EPISODE,
              "source": {"speaker": t.speaker}, "occurred_at": t.occurred_at} for t in turns]
    start = time.perf_counter()
    engine.remember_many(items, tenant=tenant)
    return rate(len(items), time.perf_counter() - start)


def embed_pool(engine: Cortex, turns: Sequence[Turn], phases: Phases) -> Vectors:
    texts = [t.text for t in turns]
    parts = []
    with phases.phase("embed the vector pool", len(texts)) as advance:
        for start in range(0, len(texts), 256):
            parts.append(engine.embedder.embed_batch(texts[start:start + 256]))
            advance(min(start + 256, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, engine.embedder.dim), np.float32)


def fill(engine: Cortex, synth: Synth, tenant: str, n: int, others: Sequence[str],
         other_n: int, phases: Phases) -> tuple[list[str], Vectors, float]:
    """Write ``n`` memories to ``tenant`` and ``other_n`` to each other tenant, interleaved.

    Returns the main tenant's memory ids and vectors (for the exact scan) and the seconds
    spent inside ``remember_many``.
    """
    batches = max(1, -(-n // FILL_BATCH))
    other_sizes = [len(part) for part in np.array_split(np.arange(other_n), batches)]
    ids: list[str] = []
    kept = np.empty((n, engine.embedder.dim), dtype=np.float32)
    clock = Stopwatch()
    total = n + other_n * len(others)
    with phases.phase(f"fill {n:,} + {len(others)}x{other_n:,} memories", total) as advance:
        written = 0
        for batch in range(batches):
            count = min(FILL_BATCH, n - batch * FILL_BATCH)
            plan = [(tenant, count)] + [(other, other_sizes[batch]) for other in others]
            for owner, size in plan:
                if size <= 0:
                    continue
                items, vectors = synth.items(size), synth.vectors(size)
                with clock.running():
                    results = engine.remember_many(items, tenant=owner, vectors=vectors)
                if owner == tenant:
                    kept[len(ids):len(ids) + size] = vectors
                    ids.extend(r.memory.id for r in results)
                written += size
                advance(written, total)
    return ids, kept[:len(ids)], clock.seconds


def exact_top(vectors: Vectors, ids: Sequence[str], query: npt.NDArray[np.float32],
              k: int) -> list[str]:
    scores = vectors @ query
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return [ids[i] for i in top[np.argsort(-scores[top])]]


def ann_recall(engine: Cortex, tenant: str, ids: Sequence[str], vectors: Vectors,
               queries: Vectors, k: int = 10) -> float:
    """Share of the exact top-k the store's vector search returns (below the engine)."""
    now = utcnow()
    scores = []
    for query in queries:
        found = engine.store.vector_search(tenant, query, k, MemoryFilter(), now)
        exact = exact_top(vectors, ids, query, k)
        scores.append(len({i for i, _ in found} & set(exact)) / len(exact))
    return mean(scores)


def breakdown(engine: Cortex, tenant: str, questions: Sequence[str],
              vectors: Vectors) -> tuple[dict[str, Latency], float]:
    """Time the parts of a recall one by one (the store calls are below the engine).

    ``embed`` goes past the embedding cache; ``vector_search``, ``text_search`` and
    ``fetch_candidates`` (the union of both lists, as recall fetches it) run at the
    tenant's fusion depth; ``recall_any_namespace`` is a whole recall without the
    namespace filter, to compare with the filtered one.
    """
    store, now = engine.store, utcnow()
    flt = MemoryFilter(namespaces=(NAMESPACE,))
    depth = engine.fusion_weights(tenant=tenant).candidates
    inner = getattr(engine.embedder, "inner", engine.embedder)  # past the cache
    pairs = list(zip(questions, vectors, strict=True))
    candidates = [
        list({i for i, _ in store.vector_search(tenant, v, depth, flt, now)}
             | {i for i, _ in store.text_search(tenant, q, depth, flt, now)}) for q, v in pairs]
    parts = {
        "embed": _timed(lambda q: inner.embed_batch([q]), questions),
        "vector_search": _timed(lambda v: store.vector_search(tenant, v, depth, flt, now),
                                list(vectors)),
        "text_search": _timed(lambda q: store.text_search(tenant, q, depth, flt, now), questions),
        "fetch_candidates": _timed(lambda ids: store.get_many(tenant, ids), candidates),
        "recall_any_namespace": _timed(
            lambda p: engine.recall(p[0], k=10, query_vector=p[1], tenant=tenant), pairs),
    }
    return ({name: latency(times) for name, times in parts.items()},
            mean([len(c) for c in candidates]))


def run_latency(engine: Cortex, conversations: Sequence[Conversation], *, tenant: str,
                n: int = 100_000, other_tenants: int = 3, queries: int = 500,
                sample: int = 1_000, pool: int = POOL_SIZE, seed: int = 0, store: str = "",
                phases: Phases = SILENT) -> LatencyResult:
    turns, questions = _turns_and_questions(conversations, seed)
    sample_turns, pool_turns = turns[:sample], turns[sample:sample + pool]
    warm, asked = questions[:WARMUP_QUERIES], questions[WARMUP_QUERIES:WARMUP_QUERIES + queries]
    warm_up(engine)
    ingest_rate = ingest_sample(engine, sample_turns, f"{tenant}-ingest")
    words = [w for t in turns for w in re.findall(r"[A-Za-z']+", t.text)]
    synth = Synth(words, sorted({t.speaker for t in turns}), embed_pool(engine, pool_turns, phases),
                  seed)
    others = [f"{tenant}-other{i}" for i in range(1, other_tenants + 1)]
    ids, kept, fill_s = fill(engine, synth, tenant, n, others, n // 10, phases)

    def ask(text: str, vector: Vectors | None = None) -> object:
        return engine.recall(text, namespace=NAMESPACE, k=10, query_vector=vector, tenant=tenant)

    started = time.perf_counter()
    engine.warm(tenant=tenant)  # loads the vectors and builds (or loads) the HNSW graph
    index_build_s = time.perf_counter() - started
    _timed(ask, warm)
    with phases.phase("recall, end to end", len(asked)) as advance:
        e2e = _timed(ask, asked, advance)
    vectors = engine.embedder.embed_batch(list(asked))  # cached by now: no model time
    with phases.phase("recall, precomputed query vectors", len(asked)) as advance:
        bare = _timed(lambda i: ask(asked[i], vectors[i]), range(len(asked)), advance)
    with_embed, no_embed = latency(e2e), latency(bare)
    parts, candidates = breakdown(engine, tenant, asked[:100], vectors[:100])
    return LatencyResult(
        n=len(ids), other_tenants=len(others), other_n=n // 10, queries=len(asked),
        recall_p50_ms=with_embed.p50_ms, recall_p95_ms=with_embed.p95_ms,
        recall_p99_ms=with_embed.p99_ms, recall_p50_ms_no_embed=no_embed.p50_ms,
        recall_p95_ms_no_embed=no_embed.p95_ms, recall_p99_ms_no_embed=no_embed.p99_ms,
        index_build_s=round(index_build_s, 3),
        fill_per_s=rate(len(ids) + len(others) * (n // 10), fill_s), fill_s=round(fill_s, 3),
        ingest_per_s=ingest_rate, ingest_sample=len(sample_turns),
        ann_recall_at_10=ann_recall(engine, tenant, ids, kept, vectors[:ANN_QUERIES]),
        ann_queries=min(ANN_QUERIES, len(asked)),
        breakdown=parts, candidates_mean=candidates, pool=len(pool_turns),
        weights=engine.fusion_weights(tenant=tenant),
        embedder=engine.embedder.name, store=store, tenant=tenant)
