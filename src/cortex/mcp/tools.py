"""The seven memory tools, with the same authorisation rules as the HTTP API.

The tenant always comes from the caller's ``Principal``, never from an argument. A memory in
another tenant, or in a namespace outside the caller's scope, answers exactly like a missing
one, so ids cannot be probed. Engine calls block (SQLite, the model), so each runs on a
worker thread and the event loop keeps serving other calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from cortex.audit.events import set_actor
from cortex.core.errors import CortexError, InvalidInput, MemoryNotFound
from cortex.core.models import Kind, Memory
from cortex.core.validate import MAX_K
from cortex.engine import DEFAULT_NAMESPACE, Cortex
from cortex.mcp.views import (
    Forgotten,
    HitView,
    MemoryPage,
    MemoryView,
    Recalled,
    Remembered,
    SessionContext,
)
from cortex.tenancy import Action, Principal
from cortex.working import WorkingMessage

T = TypeVar("T")
PrincipalSource = Callable[[Context], Principal]
"""How a tool learns who is calling: stdio returns a fixed principal, HTTP reads the request."""
QuotaCheck = Callable[[str, list[dict[str, Any]]], None]
"""Called with the tenant and validated ``remember`` items before they are written; raises
``QuotaExceeded`` to refuse. The API passes its own check so both front ends share one rule."""

Text = Annotated[str, Field(description="The memory itself: one self-contained statement, in plain words.")]
MemoryId = Annotated[str, Field(description="A memory id (26-character ULID) from remember, recall or "
                                            "list_memories.")]
Namespace = Annotated[str, Field(description="Whose or what memory this is, e.g. 'user:alice' or "
                                             "'project:atlas'. Letters, digits and _.:@/+-.")]
SessionName = Annotated[str, Field(description="The conversation's session id, e.g. 'chat-2024-06-01'.")]
Tags = Annotated[list[str] | None, Field(description="Short labels without spaces; filters match all.")]
Kinds = Annotated[list[Kind] | None, Field(description="Only these kinds; omit for every kind.")]
Metadata = Annotated[dict[str, Any] | None, Field(description="Any JSON object, kept as given.")]
Importance = Annotated[float, Field(description="0 (trivia) to 1 (critical); nudges ranking.",
                                    json_schema_extra={"minimum": 0, "maximum": 1})]
When = Annotated[datetime | None, Field(description="ISO-8601 date/time; without a zone it is UTC.")]


def describe(exc: CortexError) -> str:
    """One line an agent can act on: the stable type slug, then the message."""
    return f"{exc.type}: {exc.message}"


class CortexTools:
    """The tool functions, bound to one engine and one way of finding the caller."""

    def __init__(self, engine: Cortex, principal: PrincipalSource, quota: QuotaCheck | None = None) -> None:
        self.engine = engine
        self.principal = principal
        self.quota = quota

    async def _call(self, ctx: Context, action: Action, work: Callable[[Principal], T]) -> T:
        try:
            who = self.principal(ctx)
            set_actor(who.subject)  # audit leaves name the caller (copied into the thread)
            await anyio.to_thread.run_sync(self.engine.governance.authorize, who, action.value)
            return await anyio.to_thread.run_sync(work, who)
        except CortexError as exc:  # the SDK turns a ToolError into an isError result
            raise ToolError(describe(exc)) from exc

    def _allow(self, who: Principal, action: str, namespaces: Sequence[str] | None, kind: str | None = None,
               ) -> None:
        """The constitution's decision per namespace (``*`` across namespaces), as over HTTP."""
        for namespace in namespaces or ("*",):
            self.engine.governance.authorize(who, action, namespace, kind)

    def _visible(self, who: Principal, memory_id: str, action: str = "read") -> Memory:
        memory = self.engine.get(memory_id, tenant=who.tenant)
        self._allow_memory(who, memory, action)
        return memory

    def _allow_memory(self, who: Principal, memory: Memory, action: str) -> None:
        if not who.sees(memory.namespace):
            raise MemoryNotFound(f"no memory {memory.id}", id=memory.id)
        self._allow(who, action, [memory.namespace], memory.kind.value)

    async def remember(
        self, ctx: Context, text: Text, namespace: Namespace = DEFAULT_NAMESPACE,
        kind: Annotated[Kind, Field(description="episode: something that happened; fact: a stable "
                                                "truth; preference: a like or dislike; procedure: "
                                                "how to do something; document: reference text.")]
        = Kind.EPISODE,
        tags: Tags = None, metadata: Metadata = None, importance: Importance = 0.5,
        occurred_at: Annotated[datetime | None, Field(description="When the event happened "
                                                                  "(ISO-8601), if not now.")] = None,
        source: Annotated[dict[str, Any] | None, Field(
            description="Provenance: {agent, session, message, speaker, url}; extra keys are kept.")]
        = None,
        ttl: Annotated[float | None, Field(description="Seconds until Cortex forgets it by itself.",
                                           json_schema_extra={"exclusiveMinimum": 0})] = None,
        subject: Annotated[str | None, Field(
            description="The person this memory is about, as an opaque id (e.g. user:123): "
                        "erasing that subject removes it.")] = None,
    ) -> Remembered:
        item = {"text": text, "namespace": namespace, "kind": kind, "metadata": metadata, "tags": tags,
                "importance": importance, "occurred_at": occurred_at, "source": source, "ttl": ttl,
                "subject": subject}

        def work(who: Principal) -> Remembered:
            who.require_namespace(namespace)
            self._allow(who, "write", [namespace], Kind(kind).value)
            if self.quota is not None:
                self.engine.validate(item)  # bad input is reported before a full quota, as over HTTP
                self.quota(who.tenant, [item])
            return Remembered.of(self.engine.remember_many([item], tenant=who.tenant)[0])
        return await self._call(ctx, Action.WRITE, work)

    async def recall(
        self, ctx: Context,
        query: Annotated[str, Field(description="What you want to know, as a question or keywords.")],
        namespace: Annotated[str | list[str] | None, Field(
            description="One namespace or several; omit to search every namespace you may read.")]
        = None,
        k: Annotated[int, Field(description="How many memories to return.",
                                json_schema_extra={"minimum": 1, "maximum": MAX_K})] = 10,
        kinds: Kinds = None, tags: Tags = None,
        as_of: Annotated[datetime | None, Field(
            description="Recall what was known at this time (ISO-8601), before later updates.")] = None,
        occurred_after: When = None, occurred_before: When = None,
        session: Annotated[str | None, Field(
            description="Also rank this session's recent messages (see session_append).")] = None,
    ) -> Recalled:
        def work(who: Principal) -> Recalled:
            if session is not None:
                who.require_unscoped("sessions")
            self._allow(who, "read", who.scope(namespace))
            hits = self.engine.recall(
                query, namespace=who.scope(namespace), k=k, kinds=kinds, tags=tags, as_of=as_of,
                occurred_after=occurred_after, occurred_before=occurred_before, session=session,
                tenant=who.tenant)
            return Recalled(hits=[HitView.of(hit) for hit in hits])
        return await self._call(ctx, Action.READ, work)

    async def forget(self, ctx: Context, memory_id: MemoryId) -> Forgotten:
        def work(who: Principal) -> Forgotten:
            self._visible(who, memory_id, "write")
            deleted = self.engine.forget(memory_id, tenant=who.tenant)
            if not deleted:  # deleted by someone else since the check
                raise MemoryNotFound(f"no memory {memory_id}", id=memory_id)
            return Forgotten(memory_id=memory_id, deleted=deleted)
        return await self._call(ctx, Action.WRITE, work)

    async def update_memory(
        self, ctx: Context, memory_id: MemoryId,
        text: Annotated[str | None, Field(description="The corrected text; omit to keep it.")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(
            description="Replaces the metadata; omit to keep it.")] = None,
        tags: Annotated[list[str] | None, Field(description="Replaces the tags; omit to keep them.")]
        = None,
        importance: Annotated[float | None, Field(description="0 to 1; omit to keep it.",
                                                  json_schema_extra={"minimum": 0, "maximum": 1})]
        = None,
    ) -> MemoryView:
        def work(who: Principal) -> MemoryView:
            if text is None and metadata is None and tags is None and importance is None:
                raise InvalidInput("give at least one of text, metadata, tags or importance",
                                   field="text")
            self._visible(who, memory_id, "write")
            return MemoryView.of(self.engine.update(
                memory_id, text=text, metadata=metadata, tags=tags, importance=importance,
                tenant=who.tenant))
        return await self._call(ctx, Action.WRITE, work)

    async def list_memories(
        self, ctx: Context,
        namespace: Annotated[str | None, Field(
            description="Only this namespace; omit for every namespace you may read.")] = None,
        kinds: Kinds = None, tags: Tags = None,
        limit: Annotated[int, Field(description="Page size.",
                                    json_schema_extra={"minimum": 1, "maximum": MAX_K})] = 50,
        after: Annotated[str | None, Field(description="`next_after` from the previous page.")] = None,
    ) -> MemoryPage:
        def work(who: Principal) -> MemoryPage:
            self._allow(who, "read", who.scope(namespace))
            # engine.list filters on several namespaces like recall; its annotation says one.
            memories = self.engine.list(
                namespace=who.scope(namespace),
                kinds=kinds, tags=tags, limit=limit, after=after, tenant=who.tenant)
            last = memories[-1].id if len(memories) == limit else None
            return MemoryPage(memories=[MemoryView.of(m) for m in memories], next_after=last)
        return await self._call(ctx, Action.READ, work)

    async def session_append(
        self, ctx: Context, session: SessionName,
        text: Annotated[str, Field(description="The message text.")],
        role: Annotated[str, Field(description="Who spoke: user, assistant, system or tool.")] = "user",
        speaker: Annotated[str | None, Field(description="The speaker's name, if known.")] = None,
    ) -> WorkingMessage:
        def work(who: Principal) -> WorkingMessage:
            who.require_unscoped("sessions")
            self._allow(who, "write", None)
            return self.engine.session_append(session, text, role=role, speaker=speaker,
                                              tenant=who.tenant)
        return await self._call(ctx, Action.WRITE, work)

    async def session_context(self, ctx: Context, session: SessionName) -> SessionContext:
        def work(who: Principal) -> SessionContext:
            who.require_unscoped("sessions")
            self._allow(who, "read", None)
            return SessionContext(session=session,
                                  messages=self.engine.session_messages(session, tenant=who.tenant))
        return await self._call(ctx, Action.READ, work)


__all__ = ["CortexTools", "PrincipalSource", "QuotaCheck", "describe"]
