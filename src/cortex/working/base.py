"""The working-memory boundary; a Redis backend implements the same three calls."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class WorkingMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    session: str
    role: str
    text: str
    speaker: str | None = None
    at: datetime
    tokens: int


def estimate_tokens(text: str) -> int:
    """About four characters per token for English; cheap and stable across backends."""
    return max(1, math.ceil(len(text) / 4))


class WorkingMemory(Protocol):
    def append(self, tenant: str, message: WorkingMessage) -> list[WorkingMessage]:
        """Add a message; return the ids evicted to stay within the budget (oldest first)."""
        ...

    def messages(self, tenant: str, session: str) -> list[WorkingMessage]:
        """Oldest first."""
        ...

    def clear(self, tenant: str, session: str) -> int: ...
