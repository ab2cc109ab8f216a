"""``AsyncCortexClient``: ``CortexClient`` for asyncio or trio, on one ``httpx.AsyncClient``.

The same methods, arguments and results as ``sync.py``; each builds its request with
``cortex.client.calls`` and awaits ``_send``. Waits between retries use ``anyio.sleep``.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx

from cortex.client import calls
from cortex.client.calls import DEFAULT_BASE_URL, MAX_BATCH, MAX_BATCH_BYTES, Call, Stamp
from cortex.client.errors import RetryPolicy, transport_error
from cortex.core.models import ApiKey, Hit, Kind, Memory, NamespaceStats, RememberResult, Usage
from cortex.privacy.records import Erasure, SubjectExport, VaultEntry
from cortex.tenancy.keys import IssuedKey
from cortex.working import WorkingMessage

T = TypeVar("T")


class AsyncCortexClient:
    """A Cortex server, called like the ``Cortex`` engine (minus ``tenant=``: the key decides).

    ``api_key`` defaults to ``$CORTEX_API_KEY``. 429 and 503 are retried up to ``retries``
    times, honouring ``Retry-After`` (waits over ``max_retry_wait`` seconds raise at once);
    errors raise the engine's own exception classes. ``await aclose()``, or ``async with``.
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str | None = None, *,
                 timeout: float | httpx.Timeout = 30.0, retries: int = 3,
                 transport: httpx.AsyncBaseTransport | None = None,
                 headers: Mapping[str, str] | None = None, max_retry_wait: float = 30.0) -> None:
        self.retry = RetryPolicy(retries, max_retry_wait)
        options = calls.client_options(base_url, api_key, timeout, headers)
        self._http = httpx.AsyncClient(transport=transport, **options)

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def __repr__(self) -> str:
        return f"AsyncCortexClient({self.base_url!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncCortexClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        request = call.build(self._http)
        attempt = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                wait = self.retry.after_error(exc, attempt, enabled=call.retry, safe=call.safe)
                if wait is None and call.unreachable is not None:
                    return call.unreachable
                if wait is None:
                    raise transport_error(exc, request, attempt + 1) from exc
            else:
                wait = self.retry.after_response(response, attempt, enabled=call.retry)
                if wait is None:
                    return call.parse(response)
            await anyio.sleep(wait)
            attempt += 1

    # ---- memories -------------------------------------------------------------------
    async def remember(self, text: str, *, namespace: str = "default", kind: Kind | str = Kind.EPISODE,
                       metadata: Mapping[str, Any] | None = None, tags: Sequence[str] | None = None,
                       source: Mapping[str, Any] | None = None, importance: float = 0.5,
                       occurred_at: Stamp = None, valid_from: Stamp = None, expires_at: Stamp = None,
                       ttl: float | None = None, subject: str | None = None) -> RememberResult:
        """Store one memory (an exact duplicate returns the existing one, ``created=False``)."""
        return await self._send(calls.remember(
            text, namespace=namespace, kind=kind, metadata=metadata, tags=tags, source=source,
            importance=importance, occurred_at=occurred_at, valid_from=valid_from,
            expires_at=expires_at, ttl=ttl, subject=subject))

    async def remember_many(self, items: Iterable[Mapping[str, Any]], *, batch_size: int = MAX_BATCH,
                            max_batch_bytes: int = MAX_BATCH_BYTES) -> builtins.list[RememberResult]:
        """Store many (``remember``'s fields per item), in batch calls; each call is atomic."""
        return [result for call in calls.remember_batches(
            items, batch_size=batch_size, max_batch_bytes=max_batch_bytes)
            for result in await self._send(call)]

    async def get(self, memory_id: str) -> Memory:
        """One memory version by id (MemoryNotFound when absent or another tenant's)."""
        return await self._send(calls.get(memory_id))

    async def history(self, memory_id: str) -> builtins.list[Memory]:
        """Every version of a memory, oldest first."""
        return await self._send(calls.history(memory_id))

    async def list(self, *, namespace: str | Sequence[str] | None = None,
                   kinds: Sequence[Kind | str] | None = None, tags: Sequence[str] | None = None,
                   limit: int = 50, after: str | None = None,
                   include_superseded: bool = False) -> builtins.list[Memory]:
        """One page, newest first; pass the last id as ``after`` for the next page."""
        page = await self._send(calls.list_page(
            namespace=namespace, kinds=kinds, tags=tags, limit=limit, after=after,
            include_superseded=include_superseded))
        return page.items

    async def iter_memories(self, *, namespace: str | Sequence[str] | None = None,
                            kinds: Sequence[Kind | str] | None = None, tags: Sequence[str] | None = None,
                            page_size: int = 100, after: str | None = None,
                            include_superseded: bool = False) -> AsyncIterator[Memory]:
        """Every matching memory, newest first, fetched ``page_size`` at a time."""
        while True:
            page = await self._send(calls.list_page(
                namespace=namespace, kinds=kinds, tags=tags, limit=page_size, after=after,
                include_superseded=include_superseded))
            for memory in page.items:
                yield memory
            if page.next is None:
                return
            after = page.next

    async def update(self, memory_id: str, *, text: str | None = None,
                     metadata: Mapping[str, Any] | None = None, tags: Sequence[str] | None = None,
                     importance: float | None = None, kind: Kind | str | None = None,
                     source: Mapping[str, Any] | None = None) -> Memory:
        """Write a new version with the given fields changed; the old one stays in history."""
        return await self._send(calls.update(memory_id, text=text, metadata=metadata, tags=tags,
                                             importance=importance, kind=kind, source=source))

    async def forget(self, memory_id: str) -> int:
        """Hard-delete a memory (every version); returns the versions deleted."""
        return await self._send(calls.forget(memory_id))

    # ---- recall and namespaces ------------------------------------------------------
    async def recall(self, query: str, *, namespace: str | Sequence[str] | None = None, k: int = 10,
                     kinds: Sequence[Kind | str] | None = None, tags: Sequence[str] | None = None,
                     metadata: Mapping[str, Any] | None = None, as_of: Stamp = None,
                     occurred_after: Stamp = None, occurred_before: Stamp = None,
                     session: str | None = None) -> builtins.list[Hit]:
        """Hybrid recall: the best ``k`` hits, each with its score breakdown and provenance."""
        return await self._send(calls.recall(
            query, namespace=namespace, k=k, kinds=kinds, tags=tags, metadata=metadata,
            as_of=as_of, occurred_after=occurred_after, occurred_before=occurred_before,
            session=session))

    async def namespaces(self) -> builtins.list[NamespaceStats]:
        """Namespaces this key may read, with memory counts and bytes."""
        return await self._send(calls.namespaces())

    # ---- sessions (working memory) --------------------------------------------------
    async def session_append(self, session: str, text: str, *, role: str = "user",
                             speaker: str | None = None) -> WorkingMessage:
        """Append a message to a session's working memory."""
        return await self._send(calls.session_append(session, text, role=role, speaker=speaker))

    async def session_messages(self, session: str) -> builtins.list[WorkingMessage]:
        """A session's messages, oldest first."""
        return await self._send(calls.session_messages(session))

    async def session_clear(self, session: str) -> int:
        """Clear a session; returns the messages removed."""
        return await self._send(calls.session_clear(session))

    # ---- the tenant (admin keys) ----------------------------------------------------
    async def usage(self) -> Usage:
        """This tenant's memories and bytes, what quotas count (needs an admin key)."""
        return await self._send(calls.usage())

    async def create_key(self, role: str, *, namespaces: Sequence[str] | None = None,
                         name: str | None = None, expires_at: Stamp = None,
                         expires_in: int | None = None) -> IssuedKey:
        """Issue an API key for this tenant (expiring at a time or in seconds); ``.key`` is the
        secret, shown only now."""
        return await self._send(calls.create_key(role, namespaces=namespaces, name=name,
                                                 expires_at=expires_at, expires_in=expires_in))

    async def list_keys(self) -> builtins.list[ApiKey]:
        """This tenant's API keys (records only, never secrets)."""
        return await self._send(calls.list_keys())

    async def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke an API key by its id; returns its record."""
        return await self._send(calls.revoke_key(key_id))

    # ---- privacy --------------------------------------------------------------------
    async def privacy_scan(self, text: str, *, kind: Kind | str | None = None,
                     types: Sequence[str] | None = None) -> builtins.list[dict[str, Any]]:
        """PII and secrets in ``text``, each with the action the constitution would take."""
        return await self._send(calls.privacy_scan(text, kind=kind, types=types))

    async def vault(self, memory_id: str) -> builtins.list[VaultEntry]:
        """The originals behind a memory's tokens (roles the constitution names only)."""
        return await self._send(calls.vault(memory_id))

    async def erase_subject(self, subject: str) -> Erasure:
        """Erase everything about a subject and destroy its data key (admin)."""
        return await self._send(calls.erase_subject(subject))

    async def export_subject(self, subject: str) -> SubjectExport:
        """Everything kept about a subject, every version (admin)."""
        return await self._send(calls.export_subject(subject))

    # ---- probes ---------------------------------------------------------------------
    async def healthz(self) -> bool:
        """True when the server process answers (False when unreachable); never retried."""
        return await self._send(calls.healthz())

    async def ready(self) -> bool:
        """True when the server can serve: store open, model loaded; never retried."""
        return await self._send(calls.ready())


__all__ = ["AsyncCortexClient"]
