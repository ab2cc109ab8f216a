"""LongMemEval-style session retrieval: is the answer's session among the top-k turns?

Each question's haystack goes into a namespace of its own (``lme-<index>``), one
episode per turn (text = content, speaker = role, occurred_at = the session's date).
Session ids never reach the engine: the benchmark keeps memory id → session ids.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from cortex.bench.common import SILENT, Phases, RunFigures, Stopwatch, latency, mean, rate, read_json, warm_up
from cortex.core.errors import ImportFileError
from cortex.core.models import Kind
from cortex.engine import Cortex

_DATE = re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})(?:\s*\([A-Za-z]+\))?(?:\s+(\d{1,2}):(\d{2}))?")


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str


class LMEQuestion(BaseModel):
    """One LongMemEval question; fields the benchmark does not use are ignored."""

    model_config = ConfigDict(extra="ignore")

    question_id: str
    question: str
    question_type: str = "unknown"
    question_date: str | None = None
    haystack_sessions: list[list[Message]]
    haystack_session_ids: list[str]
    haystack_dates: list[str]
    answer_session_ids: list[str]


class TypeScores(BaseModel):
    n: int
    session_recall_at_5: float
    session_recall_at_10: float
    session_any_at_5: float
    session_any_at_10: float


class LongMemEvalResult(RunFigures, TypeScores):
    benchmark: str = "longmemeval"
    questions: int
    skipped_no_answer_session: int
    memories: int
    turns: int
    by_type: dict[str, TypeScores]


def parse_lme_date(value: str) -> datetime:
    """``'2023/05/08 (Mon) 13:56'`` as UTC."""
    match = _DATE.match(value)
    if match is None:
        raise ImportFileError(f"unrecognised LongMemEval date {value!r}")
    year, month, day, hour, minute = match.groups()
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=UTC)


def format_lme_date(at: datetime) -> str:
    return at.strftime("%Y/%m/%d (%a) %H:%M")


def load_longmemeval(path: str | Path, *, limit: int | None = None) -> list[LMEQuestion]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ImportFileError(f"{path}: expected a list of LongMemEval questions", path=str(path))
    data = data[:limit] if limit is not None else data
    try:
        questions = [LMEQuestion.model_validate(item) for item in data]
    except ValidationError as exc:
        raise ImportFileError(f"{path}: not in LongMemEval's layout ({exc.errors()[0]})",
                              path=str(path)) from exc
    for q in questions:
        if not len(q.haystack_sessions) == len(q.haystack_session_ids) == len(q.haystack_dates):
            raise ImportFileError(f"{path}: question {q.question_id} has haystack lists of"
                                  " different lengths", path=str(path))
    return questions


def _items(question: LMEQuestion, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The episodes of one haystack and, in step, each one's (private) session id."""
    items: list[dict[str, Any]] = []
    sessions: list[str] = []
    for position, (turns, session_id, date) in enumerate(zip(
            question.haystack_sessions, question.haystack_session_ids, question.haystack_dates,
            strict=True)):
        when = parse_lme_date(date)
        for turn in turns:
            if not turn.content.strip():
                continue
            items.append({"text": turn.content, "namespace": namespace, "kind": Kind.EPISODE,
                          # the conversation by its position in the haystack, never its id
                          "source": {"speaker": turn.role, "session": f"chat-{position}"},
                          "occurred_at": when})
            sessions.append(session_id)
    return items, sessions


class _Asked(BaseModel):
    kind: str
    recall5: float
    recall10: float
    any5: float
    any10: float


def _score(kind: str, wanted: set[str], ranked: list[list[str]]) -> _Asked:
    def found(k: int) -> set[str]:
        return {s for sessions in ranked[:k] for s in sessions}

    return _Asked(kind=kind, recall5=len(wanted & found(5)) / len(wanted),
                  recall10=len(wanted & found(10)) / len(wanted),
                  any5=float(bool(wanted & found(5))), any10=float(bool(wanted & found(10))))


def _summary(rows: Sequence[_Asked]) -> TypeScores:
    return TypeScores(n=len(rows), session_recall_at_5=mean([r.recall5 for r in rows]),
                      session_recall_at_10=mean([r.recall10 for r in rows]),
                      session_any_at_5=mean([r.any5 for r in rows]),
                      session_any_at_10=mean([r.any10 for r in rows]))


def run_longmemeval(engine: Cortex, questions: Sequence[LMEQuestion], *, tenant: str,
                    store: str = "", phases: Phases = SILENT) -> LongMemEvalResult:
    warm_up(engine)
    asked: list[_Asked] = []
    timings: list[float] = []
    clock = Stopwatch()
    memories = turns = skipped = 0
    with phases.phase("ingest haystacks and ask", len(questions)) as advance:
        for index, question in enumerate(questions):
            advance(index, len(questions))
            wanted = set(question.answer_session_ids) & set(question.haystack_session_ids)
            if not wanted:
                skipped += 1
                continue
            namespace = f"lme-{index}"
            items, sessions = _items(question, namespace)
            with clock.running():
                results = engine.remember_many(items, tenant=tenant)
            owners: dict[str, list[str]] = {}
            for result, session_id in zip(results, sessions, strict=True):
                owners.setdefault(result.memory.id, []).append(session_id)
            memories += len(owners)
            turns += len(items)
            start = time.perf_counter()
            hits = engine.recall(question.question, namespace=namespace, k=10, tenant=tenant)
            timings.append(time.perf_counter() - start)
            ranked = [owners.get(h.memory.id, []) for h in hits]
            asked.append(_score(question.question_type, wanted, ranked))
        advance(len(questions), len(questions))
    kinds = sorted({a.kind for a in asked})
    by_type = {k: _summary([a for a in asked if a.kind == k]) for k in kinds}
    speed = latency(timings)
    return LongMemEvalResult(
        **_summary(asked).model_dump(), questions=len(asked), skipped_no_answer_session=skipped,
        memories=memories, turns=turns, by_type=by_type, ingest_per_s=rate(turns, clock.seconds),
        ingest_s=round(clock.seconds, 3), recall_p50_ms=speed.p50_ms, recall_p95_ms=speed.p95_ms,
        recall_p99_ms=speed.p99_ms, embedder=engine.embedder.name, store=store, tenant=tenant)
