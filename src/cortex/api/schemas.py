"""Request and response bodies of the HTTP API (the SDK parses the same models).

Requests are strict (unknown fields are an error) and carry the engine's limits in
their JSON Schema, so generated clients and fuzzers see the same rules the engine
enforces; the engine checks again, so a body that slips past still gets a clean 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from cortex.core import validate
from cortex.core.models import (
    ApiKey,
    Hit,
    Kind,
    Memory,
    NamespaceStats,
    Receipt,
    RememberResult,
    Source,
    Usage,
)
from cortex.working import WorkingMessage

NAMESPACE = r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,127}$"
SESSION = r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$"  # a path segment: no '/'
# Python's whitespace (what str.strip() removes), spelled out so JSON Schema's ECMA regexes
# and Python agree: \s differs between them (e.g. U+0085).
_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
TAG = rf"^[^\x00-\x1f\x7f-\x9f\ufeff{_SPACE}]{{1,64}}$"
MEMORY_ID = r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"  # a ULID (128 bits: first digit ≤ 7)
SUBJECT = rf"^[^\x00-\x1f\x7f-\x9f\ufeff/{_SPACE}]{{1,128}}$"  # an opaque id: no spaces or /
TEXT = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"  # not blank, no NUL
MAX_BATCH = 1_000
MAX_TAGS = validate.MAX_TAGS

NamespaceName = Annotated[str, StringConstraints(pattern=NAMESPACE)]
Tag = Annotated[str, StringConstraints(pattern=TAG)]
Text = Annotated[str, StringConstraints(pattern=TEXT, min_length=1)]
SubjectName = Annotated[str, StringConstraints(pattern=SUBJECT)]


def _iso_only(value: Any) -> Any:
    """JSON times are ISO-8601 strings; 0 is not 1970."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO-8601 date-time string")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_iso_only)]


def _json_int(value: Any) -> Any:
    """JSON integers: 5 and 5.0, never "5" or true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _integer(low: int, high: int) -> Any:
    # Constraints first so they land in the JSON Schema as minimum/maximum.
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_json_int)]


METADATA_KEY = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
FilterKey = Annotated[str, StringConstraints(pattern=METADATA_KEY)]
FilterValue = Annotated[
    StrictStr | StrictBool | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | StrictFloat | None,
    Field(union_mode="left_to_right")]
_FILTER_VALUE_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "boolean"}, {"type": "number"},
                                  {"type": "null"}]}
Filters = Annotated[dict[FilterKey, FilterValue], WithJsonSchema({
    "type": "object", "additionalProperties": False,
    "patternProperties": {METADATA_KEY: _FILTER_VALUE_SCHEMA}})]


class Strict(BaseModel):
    """No unknown fields, no lone surrogates; numbers and times use the strict types below."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _valid_unicode(self) -> Strict:
        _check_unicode(self.model_dump())
        return self


def _check_unicode(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("contains invalid Unicode (a lone surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_unicode(key)
            _check_unicode(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_unicode(item)


# ttl and expires_at exclude each other (both present and non-null).
_EXPIRY_XOR: dict[str, Any] = {"not": {"required": ["expires_at", "ttl"], "properties": {
    "expires_at": {"type": "string"}, "ttl": {"type": "number"}}}}


class RememberIn(Strict):
    model_config = ConfigDict(json_schema_extra=_EXPIRY_XOR)

    text: Text = Field(description="The memory text (not blank, no NUL).")
    namespace: NamespaceName = "default"
    kind: Kind = Kind.EPISODE
    metadata: dict[str, Any] | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    source: Source | None = Field(
        None, description="Provenance: agent, session, message, speaker, url (and any other keys).")
    importance: StrictFloat = Field(0.5, ge=0.0, le=1.0)
    occurred_at: Timestamp | None = None
    valid_from: Timestamp | None = None
    expires_at: Timestamp | None = Field(None, description="Not together with ttl.")
    ttl: StrictFloat | None = Field(None, gt=0, le=3.2e9, description="Seconds until the memory expires; "
                              "not together with expires_at.")
    subject: SubjectName | None = Field(
        None, description="The person this memory is about (an opaque id): erasure and export act on it.")

    @model_validator(mode="after")
    def _one_expiry(self) -> RememberIn:
        if self.expires_at is not None and self.ttl is not None:
            raise ValueError("give expires_at or ttl, not both")
        return self

    def engine_item(self) -> dict[str, Any]:
        item = self.model_dump(exclude_none=True)
        if self.source is not None:
            item["source"] = self.source.model_dump(exclude_none=True)
        return item


class BatchIn(Strict):
    items: list[RememberIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    results: list[RememberResult]
    created: int


class UpdateIn(Strict):
    text: Text | None = None
    kind: Kind | None = None
    metadata: dict[str, Any] | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    source: Source | None = None
    importance: StrictFloat | None = Field(None, ge=0.0, le=1.0)

    def changes(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        if self.source is not None:
            given["source"] = self.source.model_dump(exclude_none=True)
        return given


class MemoryPage(BaseModel):
    items: list[Memory]
    next: str | None = Field(None, description="Pass as `after` for the next page; null at the end.")


class History(BaseModel):
    versions: list[Memory]


class Deleted(BaseModel):
    deleted: int = Field(description="Stored versions deleted (an updated memory counts each).")


class RecallIn(Strict):
    query: Text = Field(max_length=8192)
    namespace: NamespaceName | Annotated[list[NamespaceName], Field(min_length=1)] | None = Field(
        None, description="One namespace or several; omitted: every namespace the key may read.")
    k: _integer(1, 1000) = 10  # type: ignore[valid-type]
    kinds: list[Kind] | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS, description="Hits must carry every tag.")
    metadata: Filters | None = Field(
        None, description="Hits must match every key exactly (dotted paths reach nested keys).")
    as_of: Timestamp | None = Field(None, description="Recall what was current at this time.")
    occurred_after: Timestamp | None = None
    occurred_before: Timestamp | None = None
    session: Annotated[str, StringConstraints(pattern=SESSION)] | None = Field(
        None, description="Let this session's working memory compete too.")


class HitOut(BaseModel):
    memory: Memory
    score: float
    explain: dict[str, float]
    origin: Literal["store", "working"]
    provenance: Source
    receipt: Receipt | None = Field(None, description="With ?proofs=true: the memory's audit receipt.")

    @classmethod
    def of(cls, hit: Hit, receipt: Receipt | None = None) -> HitOut:
        return cls(memory=hit.memory, score=hit.score, explain=hit.explain,
                   origin="working" if hit.origin == "working" else "store",
                   provenance=hit.provenance, receipt=receipt)


class RecallOut(BaseModel):
    hits: list[HitOut]


class MessageIn(Strict):
    text: Text
    role: Literal["user", "assistant", "system", "tool"] = "user"
    speaker: str | None = Field(None, max_length=200)


class SessionOut(BaseModel):
    session: str
    messages: list[WorkingMessage]


class Cleared(BaseModel):
    session: str
    cleared: int


class NamespacesOut(BaseModel):
    namespaces: list[NamespaceStats]


class Limits(BaseModel):
    rate_limit_rps: float
    rate_limit_burst: int
    max_memories: int
    max_bytes: int


class TenantOut(BaseModel):
    tenant: str
    usage: Usage
    limits: Limits


class KeyIn(Strict):
    role: Literal["admin", "writer", "reader"]
    namespaces: list[NamespaceName] | None = Field(None, min_length=1, max_length=100)
    name: str | None = Field(None, max_length=200)
    expires_in: _integer(1, 320_000_000) | None = Field(  # type: ignore[valid-type]
        None, description="Seconds until the key expires.")


class KeyCreated(BaseModel):
    key: str = Field(description="The secret: shown this once, stored only as a hash.")
    record: ApiKey


class KeysOut(BaseModel):
    keys: list[ApiKey]


__all__ = [
    "MAX_BATCH", "BatchIn", "BatchOut", "Cleared", "Deleted", "History", "HitOut", "KeyCreated",
    "KeyIn", "KeysOut", "Limits", "MemoryPage", "MessageIn", "NamespacesOut", "RecallIn",
    "RecallOut", "RememberIn", "SessionOut", "TenantOut", "UpdateIn",
]
