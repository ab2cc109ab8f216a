"""What a detector reports, and what it knows about each entity type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cortex.core.errors import InvalidInput

Category = Literal["pii", "secret"]


class Finding(BaseModel):
    """One detected value: its type and span, never the value itself.

    ``text[start:end]`` is the value; callers print it only when asked to.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    confidence: float = Field(ge=0.0, le=1.0)
    validator: str


@dataclass(frozen=True)
class TypeInfo:
    """One entity type: what it is, whether PII or a secret, and what validates it."""

    description: str
    category: Category
    validator: str


class UnknownEntityType(InvalidInput, ValueError):
    """A name that is neither an entity type nor a group (a ``ValueError`` for validators)."""

    type = "cortex/unknown-entity-type"
