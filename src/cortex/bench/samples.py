"""Format-compatible samples built from LoCoMo, for data that is not on this machine.

Neither is the real benchmark: :func:`longmemeval_sample` writes LoCoMo questions in
LongMemEval's JSON layout and :func:`write_beir_sample` writes a LoCoMo conversation in
BEIR's corpus/queries/qrels layout. They exercise the loaders and the scoring on real
conversational text; their figures are not LongMemEval or BEIR figures.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex.bench.locomo_data import CATEGORIES, Conversation, Turn, load_locomo, split_evidence
from cortex.bench.longmemeval import format_lme_date


def _session_id(conv: Conversation, session: int) -> str:
    return f"locomo{conv.index}-s{session}"


def _sessions(conv: Conversation) -> dict[int, list[Turn]]:
    found: dict[int, list[Turn]] = {}
    for turn in conv.turns:
        found.setdefault(turn.session, []).append(turn)
    return found


def longmemeval_sample(locomo: str | Path, *, limit: int | None = None,
                       distractors: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """One LongMemEval question per LoCoMo question (categories 1-4 with evidence).

    The haystack is the conversation's sessions: the evidence sessions plus
    ``distractors`` others drawn at random (all of them when None), in time order.
    The first speaker of the conversation is ``user``, the other ``assistant``.
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for conv in load_locomo(locomo):
        sessions = _sessions(conv)
        session_of = conv.session_of
        first = conv.turns[0].speaker if conv.turns else ""
        for number, question in enumerate(conv.questions):
            if limit is not None and len(out) >= limit:
                return out
            answers = sorted({session_of[e] for e in question.evidence})
            others = [s for s in sessions if s not in answers]
            if distractors is not None:
                others = rng.sample(others, min(distractors, len(others)))
            chosen = sorted([*answers, *others])
            dates = [sessions[s][0].occurred_at for s in chosen]
            out.append({
                "question_id": f"locomo{conv.index}-q{number}",
                "question_type": CATEGORIES[question.category],
                "question": question.text,
                "answer": question.answer,
                "question_date": format_lme_date(max(d for d in dates if d is not None))
                if any(dates) else None,
                "haystack_session_ids": [_session_id(conv, s) for s in chosen],
                "haystack_dates": [format_lme_date(d) if d else "" for d in dates],
                "haystack_sessions": [
                    [{"role": "user" if t.speaker == first else "assistant", "content": t.text}
                     for t in sessions[s]] for s in chosen],
                "answer_session_ids": [_session_id(conv, s) for s in answers],
            })
    return out


@dataclass(frozen=True)
class BeirFiles:
    corpus: Path
    queries: Path
    qrels: Path


def write_beir_sample(locomo: str | Path, folder: str | Path, *, conversation: int = 0,
                      limit_queries: int | None = None) -> BeirFiles:
    """One LoCoMo conversation as a BEIR dataset: turns are documents (title = speaker),
    questions are queries, and each question's evidence turns are relevant (grade 1)."""
    conv = load_locomo(locomo, limit_conversations=conversation + 1)[conversation]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = BeirFiles(folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels.tsv")
    doc_id = {t.dia_id: f"doc{n}" for n, t in enumerate(conv.turns)}
    with files.corpus.open("w", encoding="utf-8") as out:
        for turn in conv.turns:
            out.write(json.dumps({"_id": doc_id[turn.dia_id], "title": turn.speaker,
                                  "text": turn.text}) + "\n")
    questions = conv.questions[:limit_queries] if limit_queries is not None else conv.questions
    with files.queries.open("w", encoding="utf-8") as out:
        for n, question in enumerate(questions):
            out.write(json.dumps({"_id": f"q{n}", "text": question.text}) + "\n")
    with files.qrels.open("w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for n, question in enumerate(questions):
            for dia_id in question.evidence:
                out.write(f"q{n}\t{doc_id[dia_id]}\t1\n")
    return files


def locomo_slice(locomo: str | Path, out: str | Path, *, conversations: int = 1,
                 sessions: int | None = None) -> Path:
    """A smaller LoCoMo file in LoCoMo's own layout, for quick runs and tests.

    Keeps the first ``conversations`` samples and, of each, the first ``sessions``
    sessions and only the questions whose evidence lies within them. Written at run
    time from the real file; never commit its output.
    """
    data = json.loads(Path(locomo).read_text(encoding="utf-8"))[:conversations]
    for sample in data:
        conv = sample["conversation"]
        if sessions is not None:
            for key in [k for k in conv if k.startswith("session_")]:
                number = int(key.split("_")[1])
                if number > sessions:
                    del conv[key]
            kept = {t["dia_id"] for k, v in conv.items() if isinstance(v, list) for t in v}
            sample["qa"] = [q for q in sample["qa"]
                            if (ids := split_evidence(q.get("evidence"))) and set(ids) <= kept]
    path = Path(out)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
