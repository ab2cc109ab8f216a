"""The text a memory is ranked by, derived only from its own fields.

Both the full-text index and the embedder see the memory's text with who said it and
when it happened, so "what did Caroline say in May 2023" can match on the speaker and
the date as well as on the words. Derived, never stored as truth: a reindex rebuilds it.
"""

from __future__ import annotations

from datetime import datetime

from cortex.core.models import Memory, NewMemory


def when_words(at: datetime) -> str:
    """A date as people write it: '7 May 2023'."""
    return f"{at.day} {at:%B %Y}"


def index_text(memory: Memory | NewMemory) -> str:
    parts: list[str] = []
    if memory.occurred_at is not None:
        parts.append(f"[{when_words(memory.occurred_at)}]")
    if memory.source.speaker:
        parts.append(f"{memory.source.speaker}:")
    parts.append(memory.text)
    return " ".join(parts)


# Full-text ranking gives the two previous turns of the same session their own columns,
# each at this weight relative to the memory's own text (measured on LoCoMo: see
# docs/recall.md). Every backend uses these same numbers.
CONTEXT_TURNS = 2
CONTEXT_WEIGHT = 0.4


def context_text(text: str, speaker: str | None) -> str:
    """How a neighbouring turn appears in another memory's context: who said what."""
    return f"{speaker}: {text}" if speaker else text
