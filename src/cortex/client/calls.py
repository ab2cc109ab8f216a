"""Every SDK operation as a pure function returning a ``Call``: what to send, how to read it.

The sync and async clients only send a ``Call`` and hand the response to ``call.parse``,
so request building and response parsing exist once, here, with no I/O. Responses are
read into the engine's own models (``Memory``, ``Hit``, ...), field by field out of the
API's envelopes (``{"items": [...], "next": ...}``), so ``cortex.api`` is never imported.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from cortex import __version__
from cortex.client.errors import raise_for_problem
from cortex.core import validate
from cortex.core.errors import ConfigError, CortexError, InvalidInput
from cortex.core.models import ApiKey, Hit, Kind, Memory, NamespaceStats, RememberResult, Usage, utcnow
from cortex.privacy.records import Erasure, SubjectExport, VaultEntry
from cortex.tenancy.keys import IssuedKey
from cortex.working import WorkingMessage

T = TypeVar("T")
Stamp = datetime | str | None
Params = dict[str, str | int | list[str]]

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
MAX_BATCH = 1_000  # the API's limit of items per POST /v1/memories/batch
MAX_BATCH_BYTES = 1_000_000  # under the server's default 1 MiB body limit
USER_AGENT = f"cortex-client/{__version__}"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP exchange: the request to send and the function that reads its response.

    ``safe``: repeating it cannot change anything, so a lost response may be retried.
    ``retry``: False for probes, whose 503 is the answer rather than a reason to wait.
    ``unreachable``: returned instead of raising when no response comes (probes: False).
    """

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    body: bytes | None = None
    params: Params | None = None
    safe: bool = False
    retry: bool = True
    unreachable: T | None = None

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {"content-type": "application/json"} if self.body is not None else None
        return http.build_request(self.method, self.path, params=self.params, content=self.body,
                                  headers=headers)


class Page(BaseModel):
    """One page of ``GET /v1/memories``; ``next`` is the cursor for the following page."""

    model_config = ConfigDict(frozen=True)

    items: list[Memory]
    next: str | None = None


def client_options(base_url: str, api_key: str | None, timeout: float | httpx.Timeout,
                   headers: Mapping[str, str] | None) -> dict[str, Any]:
    """httpx.Client / AsyncClient keyword arguments; the key defaults to $CORTEX_API_KEY."""
    if httpx.URL(base_url).scheme not in ("http", "https"):
        raise ConfigError(f"base_url must start with http:// or https://, not {base_url!r}")
    key = api_key if api_key is not None else os.environ.get("CORTEX_API_KEY") or None
    sent = {"user-agent": USER_AGENT, "accept": "application/json, application/problem+json"}
    if key:
        sent["authorization"] = f"Bearer {key}"
    sent.update({name.lower(): value for name, value in (headers or {}).items()})
    return {"base_url": base_url, "timeout": timeout, "headers": sent}


# ---- memories -----------------------------------------------------------------------
def remember(text: str, *, namespace: str = "default", kind: Kind | str = Kind.EPISODE,
             metadata: Mapping[str, Any] | None = None, tags: Sequence[str] | None = None,
             source: Mapping[str, Any] | None = None, importance: float = 0.5,
             occurred_at: Stamp = None, valid_from: Stamp = None, expires_at: Stamp = None,
             ttl: float | None = None, subject: str | None = None) -> Call[RememberResult]:
    item = _given(text=text, namespace=namespace, kind=kind, metadata=metadata, tags=tags,
                  source=source, importance=importance, occurred_at=occurred_at,
                  valid_from=valid_from, expires_at=expires_at, ttl=ttl, subject=subject)
    return Call("POST", "/v1/memories", _reader(RememberResult), body=_dumps(item))


def remember_batches(items: Iterable[Mapping[str, Any]], *, batch_size: int = MAX_BATCH,
                     max_batch_bytes: int = MAX_BATCH_BYTES,
                     ) -> Iterator[Call[list[RememberResult]]]:
    """Lazily chunk ``items`` into batch calls of at most ``batch_size`` items and (unless
    one item alone is bigger) ``max_batch_bytes`` bytes of JSON."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise InvalidInput(f"batch_size must be between 1 and {MAX_BATCH}", field="batch_size")
    chunk: list[bytes] = []
    size = offset = 0
    for position, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"item {position} is a {type(raw).__name__}, not a mapping",
                               index=position)
        encoded = _dumps({key: value for key, value in raw.items() if value is not None})
        if chunk and (len(chunk) == batch_size or size + len(encoded) + 1 > max_batch_bytes):
            yield _batch(chunk, offset)
            offset, chunk, size = offset + len(chunk), [], 0
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield _batch(chunk, offset)


def _batch(chunk: list[bytes], offset: int) -> Call[list[RememberResult]]:
    body = b'{"items":[' + b",".join(chunk) + b"]}"
    parse = _reader(list[RememberResult], "results", batch_offset=offset)
    return Call("POST", "/v1/memories/batch", parse, body=body)


def get(memory_id: str) -> Call[Memory]:
    return Call("GET", _memory(memory_id), _reader(Memory), safe=True)


def history(memory_id: str) -> Call[list[Memory]]:
    return Call("GET", _memory(memory_id) + "/history", _reader(list[Memory], "versions"), safe=True)


def list_page(*, namespace: str | Sequence[str] | None = None, kinds: Sequence[Kind | str] | None = None,
              tags: Sequence[str] | None = None, limit: int = 50, after: str | None = None,
              include_superseded: bool = False) -> Call[Page]:
    params: Params = {"limit": limit}
    for name, values in (("namespace", namespace), ("kind", kinds), ("tag", tags)):
        if values is not None:
            params[name] = _strings(values)
    if after is not None:
        params["after"] = validate.memory_id(after)
    if include_superseded:
        params["include_superseded"] = "true"
    return Call("GET", "/v1/memories", _reader(Page), params=params, safe=True)


def update(memory_id: str, *, text: str | None = None, metadata: Mapping[str, Any] | None = None,
           tags: Sequence[str] | None = None, importance: float | None = None,
           kind: Kind | str | None = None, source: Mapping[str, Any] | None = None) -> Call[Memory]:
    changes = _given(text=text, metadata=metadata, tags=tags, importance=importance, kind=kind,
                     source=source)
    return Call("PATCH", _memory(memory_id), _reader(Memory), body=_dumps(changes))


def forget(memory_id: str) -> Call[int]:
    return Call("DELETE", _memory(memory_id), _reader(int, "deleted"))


# ---- recall and namespaces ----------------------------------------------------------
def recall(query: str, *, namespace: str | Sequence[str] | None = None, k: int = 10,
           kinds: Sequence[Kind | str] | None = None, tags: Sequence[str] | None = None,
           metadata: Mapping[str, Any] | None = None, as_of: Stamp = None,
           occurred_after: Stamp = None, occurred_before: Stamp = None,
           session: str | None = None) -> Call[list[Hit]]:
    body = _given(query=query, namespace=namespace, k=k, kinds=kinds, tags=tags, metadata=metadata,
                  as_of=as_of, occurred_after=occurred_after, occurred_before=occurred_before,
                  session=session)
    # Each hit's ``provenance`` is left out: ``Hit.provenance`` is its memory's ``source``.
    return Call("POST", "/v1/recall", _reader(list[Hit], "hits"), body=_dumps(body), safe=True)


def namespaces() -> Call[list[NamespaceStats]]:
    return Call("GET", "/v1/namespaces", _reader(list[NamespaceStats], "namespaces"), safe=True)


# ---- sessions (working memory) ------------------------------------------------------
def session_append(session: str, text: str, *, role: str = "user",
                   speaker: str | None = None) -> Call[WorkingMessage]:
    body = _dumps(_given(text=text, role=role, speaker=speaker))
    return Call("POST", _session(session) + "/messages", _reader(WorkingMessage), body=body)


def session_messages(session: str) -> Call[list[WorkingMessage]]:
    return Call("GET", _session(session) + "/messages", _reader(list[WorkingMessage], "messages"),
                safe=True)


def session_clear(session: str) -> Call[int]:
    return Call("DELETE", _session(session), _reader(int, "cleared"))


# ---- the tenant: usage and API keys (admin) -----------------------------------------
def usage() -> Call[Usage]:
    return Call("GET", "/v1/tenant", _reader(Usage, "usage"), safe=True)


def create_key(role: str, *, namespaces: Sequence[str] | None = None, name: str | None = None,
               expires_at: Stamp = None, expires_in: int | None = None) -> Call[IssuedKey]:
    """``expires_at`` (as ``KeyRing.create`` takes it) is sent as whole seconds from now."""
    if expires_at is not None:
        if expires_in is not None:
            raise InvalidInput("give expires_at or expires_in, not both", field="expires_in")
        expires_in = _seconds_until(expires_at)
    body = _dumps(_given(role=role, namespaces=namespaces, name=name, expires_in=expires_in))
    return Call("POST", "/v1/keys", _reader(IssuedKey), body=body)


def _seconds_until(when: datetime | str) -> int:
    now = utcnow()
    seconds = ((validate.timestamp(when, "expires_at") or now) - now).total_seconds()
    if seconds <= 0:
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    return math.ceil(seconds)


def list_keys() -> Call[list[ApiKey]]:
    return Call("GET", "/v1/keys", _reader(list[ApiKey], "keys"), safe=True)


def revoke_key(key_id: str) -> Call[ApiKey]:
    return Call("DELETE", "/v1/keys/" + _segment(key_id, "key_id"), _reader(ApiKey))


# ---- probes: answer True/False at once, never retried -------------------------------
def healthz() -> Call[bool]:
    return Call("GET", "/healthz", _is_ok, safe=True, retry=False, unreachable=False)


def ready() -> Call[bool]:
    return Call("GET", "/readyz", _is_ok, safe=True, retry=False, unreachable=False)


def _is_ok(response: httpx.Response) -> bool:
    return response.status_code == 200


# ---- privacy ----------------------------------------------------------------------------
def privacy_scan(text: str, *, kind: Kind | str | None = None,
                 types: Sequence[str] | None = None) -> Call[list[dict[str, Any]]]:
    body = _dumps(_given(text=text, kind=kind, types=None if types is None else list(types)))
    return Call("POST", "/v1/privacy/scan", _reader(list[dict[str, Any]], "findings"), body=body, safe=True)


def vault(memory_id: str) -> Call[list[VaultEntry]]:
    return Call("GET", _memory(memory_id) + "/vault", _reader(list[VaultEntry], "entries"), safe=True)


def erase_subject(subject: str) -> Call[Erasure]:
    return Call("DELETE", _subject(subject), _reader(Erasure), safe=True)


def export_subject(subject: str) -> Call[SubjectExport]:
    return Call("GET", _subject(subject) + "/export", _reader(SubjectExport), safe=True)


def _subject(subject: str) -> str:
    checked = validate.subject(subject)
    assert checked is not None
    return "/v1/subjects/" + quote(checked, safe="")


# ---- helpers -------------------------------------------------------------------------
def _reader(shape: Any, field: str | None = None, *,
            batch_offset: int | None = None) -> Callable[[httpx.Response], Any]:
    """A parser: raise the mapped error, else validate the body (or one field of it)."""
    return partial(_read, _adapter(shape), field, batch_offset)


def _read(adapter: TypeAdapter[Any], field: str | None, batch_offset: int | None,
          response: httpx.Response) -> Any:
    raise_for_problem(response, batch_offset=batch_offset)
    try:
        body = response.json()
        return adapter.validate_python(body if field is None else body[field])
    except (ValueError, KeyError, TypeError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        where = f"{response.request.method} {response.request.url.path}"
        raise CortexError(f"unexpected response to {where} (HTTP {response.status_code}): {exc}",
                          status=response.status_code) from exc


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def _given(**fields: Any) -> dict[str, Any]:
    """Only the fields the caller gave: None means "not given", as in the engine."""
    return {name: value for name, value in fields.items() if value is not None}


def _dumps(value: Mapping[str, Any]) -> bytes:
    """Compact JSON; datetimes as ISO 8601, enums as their values, any Mapping as an object."""
    try:
        plain = to_jsonable_python(value, fallback=_fallback)
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot send this as JSON: {exc}") from exc


def _fallback(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _strings(values: str | Sequence[Any]) -> list[str]:
    return [values] if isinstance(values, str) else [str(to_jsonable_python(v)) for v in values]


def _memory(memory_id: str) -> str:
    """The engine's own id check first: a malformed id is InvalidId, as in-process."""
    return "/v1/memories/" + validate.memory_id(memory_id)


def _session(session: str) -> str:
    return "/v1/sessions/" + _segment(session, "session")


def _segment(value: str, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field} must be a non-empty string", field=field)
    return quote(value, safe="")


__all__ = [
    "DEFAULT_BASE_URL", "MAX_BATCH", "MAX_BATCH_BYTES", "USER_AGENT", "Call", "Page",
    "client_options", "create_key", "forget", "get", "healthz", "history", "list_keys",
    "list_page", "namespaces", "ready", "recall", "remember", "remember_batches", "revoke_key",
    "session_append", "session_clear", "session_messages", "update", "usage",
]
