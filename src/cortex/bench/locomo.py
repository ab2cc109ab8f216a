"""LoCoMo retrieval: can recall find the turns that answer each question?

Every turn of a conversation becomes one episode in that conversation's namespace
(``locomo-<index>``). Each question of categories 1-4 is asked with ``recall``; a hit
counts through the benchmark's private map memory id → dia ids. With ``baseline`` the
same stored turns are asked again with the tenant's fusion weights set to BM25 only and
to dense only, so the figures are side by side over identical data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from pydantic import BaseModel

from cortex.bench.common import SILENT, Phases, RunFigures, Stopwatch, latency, mean, rate, ratio, warm_up
from cortex.bench.locomo_data import CATEGORIES, Conversation, Turn
from cortex.core.models import FusionWeights, Kind
from cortex.engine import Cortex

BASELINES = {
    "bm25": {"dense": 0.0, "bm25": 1.0},
    "dense": {"dense": 1.0, "bm25": 0.0},
}
"""One signal each. Every other setting (method, candidate depth) stays the tenant's own."""
PLAIN = ("recency", "importance", "diversity", "session_penalty")
"""Re-ranking terms a plain baseline turns off (those this engine version has)."""


def baseline_weights(hybrid: FusionWeights, name: str) -> FusionWeights:
    off = {field: 0.0 for field in PLAIN if field in FusionWeights.model_fields}
    return hybrid.model_copy(update={**off, **BASELINES[name]})
METRICS = ("turn_recall_at_5", "turn_recall_at_10", "session_recall_at_5")


class Scores(BaseModel):
    n: int
    turn_recall_at_5: float
    turn_recall_at_10: float
    session_recall_at_5: float


class CategoryScores(Scores):
    category: int


class Baseline(Scores):
    weights: FusionWeights
    by_category: dict[str, CategoryScores]
    ratios: dict[str, float | None]  # hybrid / this baseline, per overall metric


class LocomoResult(RunFigures, Scores):
    benchmark: str = "locomo"
    conversations: int
    memories: int
    turns: int
    questions: int
    skipped_no_evidence: int
    evidence_dropped: int
    k: int
    turn_recall_at_k: float
    by_category: dict[str, CategoryScores]
    weights: FusionWeights
    baselines: dict[str, Baseline] | None = None


class _Asked(BaseModel):
    category: int
    turn5: float
    turn10: float
    turnk: float
    session5: float


def namespace_of(conversation: Conversation) -> str:
    return f"locomo-{conversation.index}"


def ingest(engine: Cortex, conversations: Sequence[Conversation], tenant: str,
           phases: Phases = SILENT) -> tuple[dict[str, list[str]], float]:
    """Store every turn; returns the private map memory id → dia ids and the seconds taken.

    An exact repeat of a turn's text in the same conversation is stored once by the
    engine; that memory then stands for every turn that said it.
    """
    owners: dict[str, list[str]] = {}
    clock = Stopwatch()
    total = sum(len(c.turns) for c in conversations)
    with phases.phase("ingest LoCoMo turns", total) as advance:
        done = 0
        for conv in conversations:
            items = [{"text": t.text, "namespace": namespace_of(conv), "kind": Kind.EPISODE,
                      "source": _source(t), "occurred_at": t.occurred_at}
                     for t in conv.turns]
            with clock.running():
                results = engine.remember_many(items, tenant=tenant)
            for turn, result in zip(conv.turns, results, strict=True):
                owners.setdefault(result.memory.id, []).append(turn.dia_id)
            done += len(items)
            advance(done, total)
    return owners, clock.seconds


def ask_all(engine: Cortex, conversations: Sequence[Conversation], owners: dict[str, list[str]],
            tenant: str, depth: int, label: str, phases: Phases = SILENT,
            ) -> tuple[list[_Asked], list[float]]:
    """Ask every question once; per-question scores and end-to-end recall timings."""
    asked: list[_Asked] = []
    timings: list[float] = []
    total = sum(len(c.questions) for c in conversations)
    with phases.phase(label, total) as advance:
        for conv in conversations:
            session_of = conv.session_of
            for question in conv.questions:
                start = time.perf_counter()
                hits = engine.recall(question.text, namespace=namespace_of(conv), k=depth,
                                     tenant=tenant)
                timings.append(time.perf_counter() - start)
                ranked = [owners.get(h.memory.id, []) for h in hits]
                asked.append(_score(question.category, question.evidence, ranked, session_of,
                                    depth))
                advance(len(asked), total)
    return asked, timings


def _score(category: int, evidence: Sequence[str], ranked: list[list[str]],
           session_of: dict[str, int], depth: int) -> _Asked:
    def turns(k: int) -> set[str]:
        return {d for dia_ids in ranked[:k] for d in dia_ids}

    wanted_sessions = {session_of[e] for e in evidence}
    found_sessions = {session_of[d] for d in turns(5)}
    wanted = set(evidence)
    return _Asked(category=category,
                  turn5=len(wanted & turns(5)) / len(wanted),
                  turn10=len(wanted & turns(10)) / len(wanted),
                  turnk=len(wanted & turns(depth)) / len(wanted),
                  session5=len(wanted_sessions & found_sessions) / len(wanted_sessions))


def scores(rows: Sequence[_Asked]) -> Scores:
    return Scores(n=len(rows), turn_recall_at_5=mean([r.turn5 for r in rows]),
                  turn_recall_at_10=mean([r.turn10 for r in rows]),
                  session_recall_at_5=mean([r.session5 for r in rows]))


def summarise(asked: Sequence[_Asked]) -> tuple[Scores, dict[str, CategoryScores]]:
    by_category = {}
    for number, name in CATEGORIES.items():
        rows = [r for r in asked if r.category == number]
        if rows:
            by_category[name] = CategoryScores(category=number, **scores(rows).model_dump())
    return scores(asked), by_category


def run_locomo(engine: Cortex, conversations: Sequence[Conversation], *, tenant: str,
               k: int = 10, baseline: bool = False, store: str = "",
               phases: Phases = SILENT) -> LocomoResult:
    warm_up(engine)
    depth = max(10, k)
    owners, ingest_s = ingest(engine, conversations, tenant, phases)
    hybrid_weights = engine.fusion_weights(tenant=tenant)
    asked, timings = ask_all(engine, conversations, owners, tenant, depth, "recall (hybrid)",
                             phases)
    overall, by_category = summarise(asked)
    turns = sum(len(c.turns) for c in conversations)
    speed = latency(timings)
    result = LocomoResult(
        **overall.model_dump(), conversations=len(conversations), memories=len(owners),
        turns=turns, questions=len(asked),
        skipped_no_evidence=sum(c.skipped_no_evidence for c in conversations),
        evidence_dropped=sum(c.evidence_dropped for c in conversations), k=depth,
        turn_recall_at_k=mean([a.turnk for a in asked]), by_category=by_category,
        weights=hybrid_weights, ingest_per_s=rate(turns, ingest_s), ingest_s=round(ingest_s, 3),
        recall_p50_ms=speed.p50_ms, recall_p95_ms=speed.p95_ms, recall_p99_ms=speed.p99_ms,
        embedder=engine.embedder.name, store=store, tenant=tenant)
    if baseline:
        result.baselines = run_baselines(engine, conversations, owners, tenant, overall, phases)
        engine.set_fusion_weights(hybrid_weights, tenant=tenant)
    return result


def run_baselines(engine: Cortex, conversations: Sequence[Conversation],
                  owners: dict[str, list[str]], tenant: str, hybrid: Scores,
                  phases: Phases = SILENT) -> dict[str, Baseline]:
    """Re-weight the tenant (weights are data) and ask everything again per baseline."""
    found: dict[str, Baseline] = {}
    hybrid_weights = engine.fusion_weights(tenant=tenant)
    for name in BASELINES:
        weights = baseline_weights(hybrid_weights, name)
        engine.set_fusion_weights(weights, tenant=tenant)
        asked, _ = ask_all(engine, conversations, owners, tenant, 10, f"recall ({name})", phases)
        overall, by_category = summarise(asked)
        ratios = {m: ratio(getattr(hybrid, m), getattr(overall, m)) for m in METRICS}
        found[name] = Baseline(**overall.model_dump(), weights=weights, by_category=by_category,
                               ratios=ratios)
    return found


def _source(turn: Turn) -> dict[str, str]:
    """Speaker, and the conversation the turn belongs to, keyed by its start time (what a
    chat app knows) — never by the dataset's session number."""
    source = {"speaker": turn.speaker}
    if turn.occurred_at is not None:
        source["session"] = f"chat-{turn.occurred_at.isoformat()}"
    return source
