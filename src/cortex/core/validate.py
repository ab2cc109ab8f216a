"""Checking what callers hand the engine, before anything is written.

Every check raises a typed ``InvalidInput`` subclass naming the field, so the HTTP API,
the CLI and Python callers all report the same thing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from ulid import ULID

from cortex.core.errors import (
    InvalidId,
    InvalidInput,
    InvalidKind,
    InvalidMetadata,
    InvalidNamespace,
    InvalidQuery,
    InvalidText,
)
from cortex.core.models import Kind, Source

MAX_TEXT_BYTES = 32 * 1024
MAX_METADATA_BYTES = 16 * 1024
MAX_TAGS = 32
MAX_K = 1_000
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$")
_TAG = re.compile(r"^[^\s\x00-\x1f]{1,64}$")
_SUBJECT = re.compile(r"^[^\s\x00-\x1f/]{1,128}$")


def text(value: Any, *, max_bytes: int = MAX_TEXT_BYTES, field: str = "text") -> str:
    if not isinstance(value, str):
        raise InvalidText(f"{field} must be a string, got {type(value).__name__}", field=field)
    if not value.strip():
        raise InvalidText(f"{field} is empty or only whitespace", field=field)
    if "\x00" in value:
        raise InvalidText(f"{field} contains a NUL character", field=field)
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise InvalidText(f"{field} is {size} bytes; the limit is {max_bytes}", field=field)
    return value


def namespace(value: Any) -> str:
    if not isinstance(value, str) or not _NAMESPACE.match(value):
        raise InvalidNamespace(
            f"namespace {value!r} is invalid: 1-128 characters, letters, digits and _.:@/+- ,"
            " starting with a letter or digit", field="namespace")
    return value


def kind(value: Any) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        valid = ", ".join(k.value for k in Kind)
        raise InvalidKind(f"unknown kind {value!r}: use one of {valid}", field="kind") from None


def metadata(value: Any, *, max_bytes: int = MAX_METADATA_BYTES) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidMetadata("metadata must be a JSON object (a dict)", field="metadata")
    try:
        encoded = json.dumps(dict(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidMetadata(f"metadata is not JSON-serialisable: {exc}", field="metadata") from exc
    size = len(encoded.encode("utf-8"))
    if size > max_bytes:
        raise InvalidMetadata(f"metadata is {size} bytes; the limit is {max_bytes}", field="metadata")
    parsed: dict[str, Any] = json.loads(encoded)
    return parsed


def subject(value: Any) -> str | None:
    """The person a memory is about: an opaque id (1-128 characters, no spaces or ``/``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _SUBJECT.match(value):
        raise InvalidInput("subject must be 1-128 characters without spaces, control characters or /",
                           field="subject")
    return value


def tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInput("tags must be a list of strings", field="tags")
    if len(value) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags")
    for tag in value:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise InvalidInput(f"tag {tag!r} must be 1-64 characters without spaces", field="tags")
    return list(dict.fromkeys(value))


def source(value: Any) -> Source:
    if value is None:
        return Source()
    if isinstance(value, Source):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInput("source must be an object such as {'session': 's1'}", field="source")
    try:
        metadata(value, max_bytes=4096)
        return Source(**{str(k): v for k, v in value.items()})
    except (ValidationError, InvalidMetadata) as exc:
        raise InvalidInput(f"invalid source: {exc}", field="source") from exc


def importance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise InvalidInput(f"importance must be a number from 0 to 1, got {value!r}",
                           field="importance")
    if math.isnan(float(value)):
        raise InvalidInput("importance must not be NaN", field="importance")
    return float(value)


def timestamp(value: Any, field: str) -> datetime | None:
    """A datetime or ISO-8601 string; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field} {value!r} is not an ISO-8601 date/time",
                               field=field) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a datetime or ISO-8601 string", field=field)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def expiry(expires_at: Any, ttl: Any, now: datetime) -> datetime | None:
    if ttl is not None:
        if expires_at is not None:
            raise InvalidInput("give expires_at or ttl, not both", field="ttl")
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise InvalidInput("ttl must be a positive number of seconds", field="ttl")
        return now + timedelta(seconds=seconds)
    return timestamp(expires_at, "expires_at")


def memory_id(value: Any) -> str:
    try:
        return str(ULID.from_str(value))
    except (ValueError, TypeError, AttributeError):
        raise InvalidId(f"{value!r} is not a memory id (a 26-character ULID)", field="id") from None


def k(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise InvalidQuery(f"k must be an integer from 1 to {MAX_K}, got {value!r}", field="k")
    return value


def query(value: Any) -> str:
    return text(value, max_bytes=8 * 1024, field="query")
