"""Reading LoCoMo (``locomo10.json``) into turns and questions.

What reaches the engine from a turn is only what a person in the conversation saw: the
turn's text, the caption of an image it shares, who said it and when. Dialogue ids
(``D3:7``), session numbers and the dataset's LLM-written ``observation``,
``session_summary`` and ``event_summary`` stay here, in the benchmark's private maps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cortex.bench.common import read_json
from cortex.core.errors import ImportFileError

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
"""Categories the benchmark asks; 5 (adversarial, unanswerable) is left out."""

_SESSION = re.compile(r"^session_(\d+)$")
_EVIDENCE = re.compile(r"^D:?(\d+):(\d+)$")
_WHEN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$",
                   re.IGNORECASE)
_MONTHS = {m: n for n, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}


@dataclass(frozen=True)
class Turn:
    dia_id: str  # private: never sent to the engine
    session: int  # private
    speaker: str
    text: str  # what the engine stores
    occurred_at: datetime | None


@dataclass(frozen=True)
class Question:
    text: str
    category: int
    evidence: tuple[str, ...]  # dia ids, normalised, all present in the conversation
    answer: str


@dataclass(frozen=True)
class Conversation:
    index: int
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]  # categories 1-4 with evidence
    skipped_no_evidence: int  # category 1-4 questions left out: no usable evidence
    evidence_dropped: int  # evidence ids that were malformed or name no turn

    @property
    def session_of(self) -> dict[str, int]:
        return {t.dia_id: t.session for t in self.turns}


def parse_session_time(value: str) -> datetime:
    """``'1:56 pm on 8 May, 2023'`` as a UTC datetime (the dataset gives no zone)."""
    match = _WHEN.match(value)
    month = _MONTHS.get(match.group(5).lower()) if match else None
    if match is None or month is None:
        raise ImportFileError(f"unrecognised LoCoMo session time {value!r}")
    hour, minute, half, day, _, year = match.groups()
    hour24 = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    return datetime(int(year), month, int(day), hour24, int(minute), tzinfo=UTC)


def turn_text(raw: dict[str, Any]) -> str:
    """The turn's words, plus the caption of the image it shares (part of the turn)."""
    text = str(raw.get("text") or "").strip()
    caption = str(raw.get("blip_caption") or "").strip()
    if caption:
        text = f"{text} [shares an image: {caption}]".strip()
    return text


def split_evidence(raw: list[Any] | None) -> list[str]:
    """``["D8:6; D9:17", "D:11:26", "D30:05"]`` → ``["D8:6", "D9:17", "D11:26", "D30:5"]``.

    Malformed pieces (a bare ``"D"``) are dropped.
    """
    found: list[str] = []
    for entry in raw or []:
        for piece in re.split(r"[;,\s]+", str(entry).strip()):
            match = _EVIDENCE.match(piece)
            if match:
                found.append(f"D{int(match.group(1))}:{int(match.group(2))}")
    return list(dict.fromkeys(found))


def _count_pieces(raw: list[Any] | None) -> int:
    return sum(len([p for p in re.split(r"[;,\s]+", str(e).strip()) if p]) for e in raw or [])


def _turns(conversation: dict[str, Any]) -> list[Turn]:
    turns: list[Turn] = []
    sessions = sorted((int(m.group(1)), key) for key in conversation
                      if (m := _SESSION.match(key)) and isinstance(conversation[key], list))
    for number, key in sessions:
        when_raw = conversation.get(f"{key}_date_time")
        when = parse_session_time(when_raw) if isinstance(when_raw, str) else None
        for raw in conversation[key]:
            text = turn_text(raw)
            if not text:
                continue
            turns.append(Turn(dia_id=str(raw["dia_id"]), session=number,
                              speaker=str(raw.get("speaker") or "unknown"), text=text,
                              occurred_at=when))
    return turns


def _conversation(index: int, sample: dict[str, Any]) -> Conversation:
    turns = _turns(sample["conversation"])
    known = {t.dia_id for t in turns}
    questions: list[Question] = []
    skipped = dropped = 0
    for raw in sample.get("qa", []):
        category = int(raw.get("category", 0))
        if category not in CATEGORIES:
            continue
        pieces = split_evidence(raw.get("evidence"))
        evidence = tuple(e for e in pieces if e in known)
        dropped += _count_pieces(raw.get("evidence")) - len(evidence)
        if not evidence:
            skipped += 1
            continue
        questions.append(Question(text=str(raw["question"]), category=category,
                                  evidence=evidence, answer=str(raw.get("answer", ""))))
    return Conversation(index=index, turns=tuple(turns), questions=tuple(questions),
                        skipped_no_evidence=skipped, evidence_dropped=dropped)


def load_locomo(path: str | Path, *, limit_conversations: int | None = None) -> list[Conversation]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ImportFileError(f"{path}: expected a list of LoCoMo samples", path=str(path))
    if limit_conversations is not None:
        data = data[:limit_conversations]
    try:
        return [_conversation(i, sample) for i, sample in enumerate(data)]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ImportFileError(f"{path}: not in LoCoMo's layout ({exc!r})", path=str(path)) from exc
