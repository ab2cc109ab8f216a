"""The ``Cortex`` engine: the one object the HTTP API, MCP server, CLI and tests call."""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import TypeAdapter
from ulid import ULID

from cortex.cache.recall_cache import RecallCache, request_key
from cortex.core import validate
from cortex.core.errors import CortexError, InvalidInput, InvalidQuery, MemoryNotFound, NamespaceNotFound
from cortex.core.models import (
    CheckReport,
    FusionWeights,
    Hit,
    Kind,
    Memory,
    MemoryFilter,
    NamespaceStats,
    NewMemory,
    Receipt,
    RememberResult,
    Usage,
    content_hash,
    utcnow,
)
from cortex.core.textform import index_text
from cortex.embed import CachingEmbedder, Embedder, open_embedder
from cortex.embed.base import Vectors
from cortex.privacy.records import ShieldWrite
from cortex.recall.fuse import fuse
from cortex.recall.pipeline import add_dense, store_candidates, working_memory
from cortex.store import Progress, Store, open_store
from cortex.tenancy.keys import KeyRing
from cortex.working import LocalWorkingMemory, WorkingMemory, WorkingMessage, estimate_tokens

if TYPE_CHECKING:
    from cortex.audit.log import AuditLog
    from cortex.governance.service import Governance
    from cortex.privacy.sealing import Sealer
    from cortex.privacy.service import Privacy

log = logging.getLogger(__name__)
DEFAULT_TENANT = "default"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Limits:
    """Input limits; the service issue exposes them as settings."""

    max_text_bytes: int = validate.MAX_TEXT_BYTES
    max_metadata_bytes: int = validate.MAX_METADATA_BYTES
    batch_size: int = 64


class Cortex:
    """A governed memory engine over one ``Store`` and one ``Embedder``.

    Every call is scoped to a tenant: ``tenant=`` on the call, else the engine's default.
    Open one with ``Cortex.open("sqlite:///agent.db")``; close it (or use ``with``).
    """

    def __init__(self, store: Store, embedder: Embedder, *, tenant: str = DEFAULT_TENANT,
                 working: WorkingMemory | None = None, limits: Limits | None = None,
                 audit_key: str | Path | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.tenant = tenant
        self.working = working if working is not None else LocalWorkingMemory()
        self.limits = limits or Limits()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._keys: KeyRing | None = None
        self._audit: AuditLog | None = None
        self._governance: Governance | None = None
        self._privacy: Privacy | None = None
        self.audit_key: str | Path | None = audit_key
        self.on_write: list[Callable[[str | None], None]] = []  # hooks run after every write
        self.recall_cache: RecallCache | None = None  # hot recalls (Redis: shared by API nodes)
        from cortex.privacy.egress import guard_egress

        guard_egress(self)

    @classmethod
    def open(cls, url: str = "sqlite:///cortex.db", *, embedder: Embedder | str = "minilm",
             embedder_api_key: str | None = None, tenant: str = DEFAULT_TENANT,
             working: WorkingMemory | None = None, limits: Limits | None = None,
             audit_key: str | Path | None = None, sealer: Sealer | None = None) -> Cortex:
        """Open (creating if needed) the store at ``url``. The model loads on first use.

        ``embedder`` is an ``Embedder`` or a spec: ``"minilm"`` (local, default) or
        ``"openai+https://host/v1?model=NAME"`` (key in ``embedder_api_key``).
        ``sealer`` encrypts text and metadata at rest (default: a master key file and a
        keystore beside the SQLite file, ``<db>.master-key`` and ``<db>.keys``; for
        PostgreSQL under ``~/.cortex/``).
        """
        model = (open_embedder(embedder, api_key=embedder_api_key) if isinstance(embedder, str)
                 else embedder)
        if not isinstance(model, CachingEmbedder):
            model = CachingEmbedder(model)
        return cls(open_store(url, dim=model.dim, sealer=sealer), model, tenant=tenant,
                   working=working, limits=limits, audit_key=audit_key)

    @property
    def audit(self) -> AuditLog:
        """Checkpoints and proofs of this store's audit log, signed with the key in
        ``audit_key`` (default: a file beside the SQLite database, created on first use)."""
        if self._audit is None:
            from cortex.audit.log import AuditLog, open_signer

            self._audit = AuditLog(self.store, open_signer(self.audit_key_path()))
        return self._audit

    def audit_key_path(self) -> Path:
        if self.audit_key is not None:
            return Path(self.audit_key)
        database = getattr(self.store, "path", None)
        return Path(f"{database}.audit-key") if database is not None else Path("cortex-audit.key")

    @property
    def governance(self) -> Governance:
        """The signed constitution in force for this store, and its policy decisions."""
        if self._governance is None:
            from cortex.governance.service import Governance

            self._governance = Governance(self.store)
        return self._governance

    @property
    def privacy(self) -> Privacy:
        """The privacy shield: actions on writes, subject erasure and export, the vault."""
        if self._privacy is None:
            from cortex.privacy.service import Privacy

            self._privacy = Privacy(self)
        return self._privacy

    def invalidate(self, tenant: str | None) -> None:
        """After a write or erasure commits: drop derived copies (cached recalls) of the
        tenant's data (``None``: every tenant, e.g. after a sweep)."""
        if self.recall_cache is not None:
            for each in [tenant] if tenant is not None else self.store.tenants():
                try:
                    self.recall_cache.invalidate(each)
                except CortexError as exc:  # stale for at most the cache's TTL
                    log.warning("recall cache invalidation failed: %s", exc.message)
        for hook in self.on_write:
            hook(tenant)

    @property
    def keys(self) -> KeyRing:
        """API keys kept in this engine's store (created, listed, revoked, checked)."""
        if self._keys is None:
            self._keys = KeyRing(self.store)
        return self._keys

    def usage(self, *, tenant: str | None = None) -> Usage:
        """Current memories and text bytes of a tenant: what quotas count."""
        return self.store.usage(self._tenant(tenant))

    def _workers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cortex-recall")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.store.close()
        close_working = getattr(self.working, "close", None)
        if callable(close_working):
            close_working()
        close_embedder = getattr(self.embedder, "close", None)
        if callable(close_embedder):  # e.g. an HTTP provider's connection pool
            close_embedder()

    def __enter__(self) -> Cortex:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- writing -----------------------------------------------------------------
    def remember(self, text: str, *, namespace: str = DEFAULT_NAMESPACE,
                 kind: Kind | str = Kind.EPISODE, metadata: Mapping[str, Any] | None = None,
                 tags: Sequence[str] | None = None, source: Mapping[str, Any] | None = None,
                 importance: float = 0.5, occurred_at: datetime | str | None = None,
                 valid_from: datetime | str | None = None,
                 expires_at: datetime | str | None = None, ttl: float | None = None,
                 subject: str | None = None, tenant: str | None = None) -> RememberResult:
        """Store one memory; returns once row, full-text entry and vector are committed.

        An exact duplicate — same text in the same namespace, from the same speaker at the
        same ``occurred_at``, still current — is not stored twice: the result has
        ``created=False`` and the existing memory. ``subject`` names the person the memory
        is about (``privacy.erase_subject`` removes it with the subject's data key). The
        constitution's privacy actions apply first: a blocked type raises ``PrivacyBlocked``.
        """
        item = dict(text=text, namespace=namespace, kind=kind, metadata=metadata, tags=tags,
                    source=source, importance=importance, occurred_at=occurred_at,
                    valid_from=valid_from, expires_at=expires_at, ttl=ttl, subject=subject)
        return self.remember_many([item], tenant=tenant)[0]

    def validate(self, item: Mapping[str, Any]) -> None:
        """Raise the typed error ``remember(**item)`` would raise, without writing anything."""
        self._prepare(item, utcnow())

    def remember_many(self, items: Iterable[Mapping[str, Any]], *, tenant: str | None = None,
                      vectors: Vectors | None = None, batch_size: int | None = None,
                      progress: Progress | None = None,
                      on_batch: Callable[[list[RememberResult]], None] | None = None,
                      ) -> builtins.list[RememberResult]:
        """Validate every item first (nothing is written if one is bad), then write in batches.

        Each batch is one transaction; ``on_batch`` is called after each commit with that
        batch's results. ``vectors`` (one L2-normalised row per item, from this engine's
        model) skips embedding, e.g. when copying between stores. Results keep input order.
        """
        tenant = self._tenant(tenant)
        now = utcnow()
        prepared = []
        for position, raw in enumerate(items):
            try:
                prepared.append(self._prepare(raw, now))
            except InvalidInput as exc:
                exc.detail.setdefault("index", position)
                raise
        prepared, shielded = self.privacy.shield_all(tenant, prepared)
        if vectors is not None and getattr(vectors, "shape", None) != (len(prepared),
                                                                       self.embedder.dim):
            raise InvalidInput(f"vectors must have shape ({len(prepared)}, {self.embedder.dim})",
                               field="vectors")
        results: builtins.list[RememberResult] = []
        size = batch_size or self.limits.batch_size
        if size < 1:
            raise InvalidInput("batch_size must be at least 1", field="batch_size")
        for start in range(0, len(prepared), size):
            given = None if vectors is None else vectors[start:start + size]
            batch = self._write_batch(tenant, prepared[start:start + size], now, given, shielded)
            results.extend(batch)
            if on_batch is not None:
                on_batch(batch)
            if progress is not None:
                progress(len(results), len(prepared))
        return results

    def _write_batch(self, tenant: str, batch: builtins.list[NewMemory], now: datetime,
                     given: Vectors | None,
                     shielded: Mapping[str, ShieldWrite]) -> builtins.list[RememberResult]:
        outcome: builtins.list[RememberResult | NewMemory] = []
        fresh: dict[tuple[Any, ...], NewMemory] = {}
        for item in batch:
            existing = next((m for m in self.store.find_by_hash(
                tenant, item.namespace, item.content_hash, now) if _same_event(m, item)), None)
            twin = fresh.get(_event_key(item))
            if existing is not None:
                outcome.append(RememberResult(memory=existing, created=False,
                                              duplicate_of=existing.id))
            elif twin is not None:
                outcome.append(twin)
            else:
                fresh[_event_key(item)] = item
                outcome.append(item)
        new_items = list(fresh.values())
        stored = {}
        if new_items:
            if given is None:
                vectors = self.embedder.embed_batch([index_text(i) for i in new_items])
            else:
                position = {item.id: n for n, item in enumerate(batch)}
                vectors = given[[position[i.id] for i in new_items]]
            stored = {m.id: m for m in self.store.insert(
                tenant, new_items, vectors, self.embedder.name,
                {i.id: shielded[i.id] for i in new_items if i.id in shielded})}
            self.invalidate(tenant)
        results: builtins.list[RememberResult] = []
        reported: set[str] = set()
        for entry in outcome:
            if isinstance(entry, RememberResult):
                results.append(entry.model_copy(update={"receipt": self._receipt(tenant, entry.memory.id)}))
                continue
            memory = stored[entry.id]
            repeat = entry.id in reported
            reported.add(entry.id)
            results.append(RememberResult(memory=memory, created=not repeat,
                                          duplicate_of=memory.id if repeat else None,
                                          receipt=self._receipt(tenant, memory.id)))
        return results

    def _receipt(self, tenant: str, memory_id: str) -> Receipt | None:
        """The leaf that recorded this memory version's creation (proofs: ``engine.audit``)."""
        for leaf in self.store.audit_leaves_for(tenant, memory_id):
            return Receipt(tenant=tenant, memory_id=memory_id, leaf_index=leaf.index,
                           leaf_hash=leaf.leaf_hash.hex(), event=leaf.event)
        return None  # written before the audit log existed

    def _prepare(self, raw: Mapping[str, Any], now: datetime) -> NewMemory:
        unknown = set(raw) - _REMEMBER_FIELDS
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
        text = validate.text(raw.get("text"), max_bytes=self.limits.max_text_bytes)
        valid_from = validate.timestamp(raw.get("valid_from"), "valid_from") or now
        return NewMemory(
            id=str(ULID()), namespace=validate.namespace(raw.get("namespace", DEFAULT_NAMESPACE)),
            kind=validate.kind(raw.get("kind", Kind.EPISODE)), text=text,
            metadata=validate.metadata(raw.get("metadata"),
                                       max_bytes=self.limits.max_metadata_bytes),
            tags=validate.tags(raw.get("tags")), source=validate.source(raw.get("source")),
            importance=validate.importance(raw.get("importance", 0.5)), created_at=now,
            occurred_at=validate.timestamp(raw.get("occurred_at"), "occurred_at"),
            valid_from=valid_from,
            expires_at=validate.expiry(raw.get("expires_at"), raw.get("ttl"), now),
            content_hash=content_hash(text), subject=validate.subject(raw.get("subject")),
        )

    def update(self, memory_id: str, *, text: str | None = None,
               metadata: Mapping[str, Any] | None = None, tags: Sequence[str] | None = None,
               importance: float | None = None, kind: Kind | str | None = None,
               source: Mapping[str, Any] | None = None, tenant: str | None = None) -> Memory:
        """Write a new version; the old one stays (superseded, visible with ``as_of``)."""
        tenant = self._tenant(tenant)
        old = self.get(memory_id, tenant=tenant)
        now = utcnow()
        raw = {
            "text": old.text if text is None else text, "namespace": old.namespace,
            "kind": old.kind if kind is None else kind,
            "metadata": old.metadata if metadata is None else metadata,
            "tags": old.tags if tags is None else tags,
            "source": old.source.model_dump(exclude_none=True) if source is None else source,
            "importance": old.importance if importance is None else importance,
            "occurred_at": old.occurred_at, "expires_at": old.expires_at, "subject": old.subject,
        }
        new = self._prepare(raw, now).model_copy(update={"supersedes": old.id})
        new, shielded = self.privacy.shield_one(tenant, new)
        vector = self.embedder.embed_batch([index_text(new)])
        memory = self.store.supersede(tenant, old.id, new, vector, self.embedder.name, now, shielded)
        self.invalidate(tenant)
        return memory

    def forget(self, memory_ids: str | Sequence[str], *, tenant: str | None = None) -> int:
        """Hard-delete memories (every version): text, vector and full-text rows.

        Returns the number of stored versions deleted (an updated memory counts each).
        """
        ids = [memory_ids] if isinstance(memory_ids, str) else list(memory_ids)
        checked = [validate.memory_id(i) for i in ids]
        deleted = self.store.delete(self._tenant(tenant), checked)
        self.invalidate(self._tenant(tenant))
        return deleted

    def forget_where(self, *, namespace: str | None = None, kinds: Sequence[str] | None = None,
                     tags: Sequence[str] | None = None,
                     metadata: Mapping[str, Any] | None = None,
                     occurred_before: datetime | str | None = None,
                     tenant: str | None = None) -> int:
        """Hard-delete every current memory matching all the given filters (at least one)."""
        if not any([namespace, kinds, tags, metadata, occurred_before]):
            raise InvalidInput("forget_where needs at least one filter; "
                               "refusing to delete a whole tenant")
        flt = self._filter(namespace=namespace, kinds=kinds, tags=tags, metadata=metadata,
                           occurred_before=occurred_before)
        deleted = self.store.delete_where(self._tenant(tenant), flt)
        self.invalidate(self._tenant(tenant))
        return deleted

    def sweep(self) -> int:
        """Hard-delete memories whose TTL has passed, and erase those past their kind's
        retention in the constitution (every tenant). Returns how many were removed."""
        return sum(self.sweep_detail().values())

    def sweep_detail(self) -> dict[str, int]:
        """``sweep`` by cause: ``expired`` (TTL) and ``retention`` (the constitution)."""
        now = utcnow()
        expired = self.store.expire(now)
        if expired:
            self.invalidate(None)
        return {"expired": expired, "retention": self.privacy.sweep_retention(now)}

    # ---- reading -----------------------------------------------------------------
    def get(self, memory_id: str, *, tenant: str | None = None) -> Memory:
        memory = self.store.get(self._tenant(tenant), validate.memory_id(memory_id))
        if memory is None:
            raise MemoryNotFound(f"no memory {memory_id}", id=memory_id)
        return memory

    def history(self, memory_id: str, *, tenant: str | None = None) -> builtins.list[Memory]:
        """Every version of a memory, oldest first."""
        self.get(memory_id, tenant=tenant)
        return self.store.history(self._tenant(tenant), memory_id)

    def list(self, *, namespace: str | Sequence[str] | None = None, kinds: Sequence[str] | None = None,
             tags: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None,
             limit: int = 50, after: str | None = None, include_superseded: bool = False,
             tenant: str | None = None) -> builtins.list[Memory]:
        """Newest first; pass the last id as ``after`` for the next page."""
        validate.k(limit)
        flt = self._filter(namespace=namespace, kinds=kinds, tags=tags, metadata=metadata,
                           include_superseded=include_superseded)
        cursor = validate.memory_id(after) if after is not None else None
        return self.store.list(self._tenant(tenant), flt, utcnow(), limit, cursor)

    def recall(self, query: str, *, namespace: str | Sequence[str] | None = None, k: int = 10,
               kinds: Sequence[str] | None = None, tags: Sequence[str] | None = None,
               metadata: Mapping[str, Any] | None = None, as_of: datetime | str | None = None,
               occurred_after: datetime | str | None = None,
               occurred_before: datetime | str | None = None, session: str | None = None,
               query_vector: Vectors | None = None, tenant: str | None = None) -> builtins.list[Hit]:
        """Hybrid recall: dense ∪ BM25 candidates fused with recency and importance.

        With ``session``, that session's working memory competes in the same ranking.
        ``query_vector`` (from this engine's model) skips embedding the query.
        """
        tenant = self._tenant(tenant)
        query = validate.query(query)
        k = validate.k(k)
        flt = self._filter(namespace=namespace, kinds=kinds, tags=tags, metadata=metadata,
                           as_of=as_of, occurred_after=occurred_after,
                           occurred_before=occurred_before)
        self._require_namespaces(tenant, flt, session)
        weights = self.store.get_weights(tenant)
        if self.recall_cache is None or session is not None or query_vector is not None:
            return self._recall(tenant, query, k, flt, weights, session, query_vector)
        # Working memory and given vectors change without a write: those are never cached.
        key = request_key(v=1, query=query, k=k, filter=flt, weights=weights)
        found = _cache_call(self.recall_cache.get, tenant, key)
        if found is not None and found.payload is not None:
            return _HITS.validate_json(found.payload)
        hits = self._recall(tenant, query, k, flt, weights, session, query_vector)
        if found is not None:
            _cache_call(self.recall_cache.put, tenant, key, _HITS.dump_json(hits),
                        generation=found.generation)
        return hits

    def _recall(self, tenant: str, query: str, k: int, flt: MemoryFilter, weights: FusionWeights,
                session: str | None, query_vector: Vectors | None) -> builtins.list[Hit]:
        now = utcnow()
        if query_vector is not None and getattr(query_vector, "shape", None) != (
                self.embedder.dim,):
            raise InvalidQuery(f"query_vector must have shape ({self.embedder.dim},)",
                               field="query_vector")
        # Never fewer candidates per signal than hits asked for.
        weights = weights.model_copy(update={"candidates": max(weights.candidates, k)})
        # BM25 runs on a worker thread while the query is embedded: both release the GIL.
        lexical = (self._workers().submit(self.store.text_search, tenant, query,
                                          weights.candidates, flt, now) if weights.bm25 else None)
        if query_vector is None and (weights.dense or session is not None):
            query_vector = self.embedder.embed_batch([query])[0]
        elif query_vector is None:  # a BM25-only tenant: no need to run the model
            query_vector = np.zeros(self.embedder.dim, dtype=np.float32)
        found = lexical.result() if lexical is not None else []
        candidates = store_candidates(self.store, tenant, found, query_vector, flt, weights, now)
        working = self._working_candidates(tenant, session, flt)
        vectors = self.embedder.embed_batch([m.text for m in working]) if working else None
        add_dense(candidates, working, vectors if vectors is not None else query_vector[:0],
                  query_vector)
        return fuse(list(candidates.values()), weights, flt.as_of or now, k)

    def _working_candidates(self, tenant: str, session: str | None,
                            flt: MemoryFilter) -> builtins.list[Memory]:
        if session is None or flt.needs_sql() or (flt.kinds and Kind.EPISODE not in flt.kinds):
            return []
        memories = working_memory(tenant, self.working.messages(tenant, session))
        cutoff = flt.as_of
        return [m for m in memories if cutoff is None or m.created_at <= cutoff]

    def _require_namespaces(self, tenant: str, flt: MemoryFilter, session: str | None) -> None:
        if flt.namespaces is None or session is not None:
            return
        if flt.as_of is None and not self.store.has_namespace(tenant, flt.namespaces):
            raise NamespaceNotFound(
                f"no memories in namespace {', '.join(flt.namespaces)}", namespace=flt.namespaces)

    def namespaces(self, *, tenant: str | None = None) -> builtins.list[NamespaceStats]:
        return self.store.namespaces(self._tenant(tenant))

    def stats(self, *, tenant: str | None = None) -> dict[str, Any]:
        spaces = self.namespaces(tenant=tenant)
        return {
            "tenant": self._tenant(tenant), "store": self.store.url,
            "embedder": self.embedder.name, "dim": self.embedder.dim,
            "memories": sum(s.memories for s in spaces), "bytes": sum(s.bytes for s in spaces),
            "namespaces": [s.model_dump() for s in spaces],
        }

    # ---- working memory ----------------------------------------------------------
    def session_append(self, session: str, text: str, *, role: str = "user",
                       speaker: str | None = None, tenant: str | None = None) -> WorkingMessage:
        message = WorkingMessage(
            id=str(ULID()), session=validate.namespace(session), role=role,
            text=validate.text(text, max_bytes=self.limits.max_text_bytes), speaker=speaker,
            at=utcnow(), tokens=estimate_tokens(text))
        self.working.append(self._tenant(tenant), message)
        return message

    def session_messages(self, session: str, *, tenant: str | None = None) -> builtins.list[WorkingMessage]:
        return self.working.messages(self._tenant(tenant), session)

    def session_clear(self, session: str, *, tenant: str | None = None) -> int:
        return self.working.clear(self._tenant(tenant), session)

    # ---- settings and maintenance ------------------------------------------------
    def fusion_weights(self, *, tenant: str | None = None) -> FusionWeights:
        return self.store.get_weights(self._tenant(tenant))

    def set_fusion_weights(self, weights: FusionWeights, *, tenant: str | None = None) -> None:
        self.store.set_weights(self._tenant(tenant), weights)
        self.invalidate(self._tenant(tenant))

    def warm(self, *, tenant: str | None = None) -> None:
        """Load the model and the tenant's indexes now instead of on the first call."""
        self.embedder.embed_batch(["warm up"])
        self.store.warm(self._tenant(tenant))

    def check(self) -> CheckReport:
        return self.store.check()

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> None:
        self.store.reindex(progress)

    # ---- helpers -----------------------------------------------------------------
    def _tenant(self, tenant: str | None) -> str:
        value = self.tenant if tenant is None else tenant
        if not isinstance(value, str) or not value or len(value) > 128:
            raise InvalidInput("tenant must be a non-empty string of at most 128 characters",
                               field="tenant")
        return value

    @staticmethod
    def _filter(*, namespace: str | Sequence[str] | None = None,
                kinds: Sequence[str] | None = None, tags: Sequence[str] | None = None,
                metadata: Mapping[str, Any] | None = None, as_of: datetime | str | None = None,
                occurred_after: datetime | str | None = None,
                occurred_before: datetime | str | None = None,
                include_superseded: bool = False) -> MemoryFilter:
        spaces = [namespace] if isinstance(namespace, str) else namespace
        return MemoryFilter(
            namespaces=None if spaces is None else tuple(validate.namespace(n) for n in spaces),
            kinds=None if not kinds else tuple(validate.kind(x) for x in kinds),
            tags_all=tuple(validate.tags(tags)),
            metadata=validate.metadata(metadata),
            as_of=validate.timestamp(as_of, "as_of"),
            occurred_after=validate.timestamp(occurred_after, "occurred_after"),
            occurred_before=validate.timestamp(occurred_before, "occurred_before"),
            include_superseded=include_superseded,
        )


_REMEMBER_FIELDS = frozenset({"text", "namespace", "kind", "metadata", "tags", "source",
                              "importance", "occurred_at", "valid_from", "expires_at", "ttl",
                              "subject"})


_HITS: TypeAdapter[builtins.list[Hit]] = TypeAdapter(builtins.list[Hit])
T = TypeVar("T")


def _cache_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """A cache that fails is a miss, never an error: the store answers."""
    try:
        return fn(*args, **kwargs)
    except CortexError as exc:
        log.warning("recall cache unavailable: %s", exc.message)
        return None


def _event_key(item: NewMemory | Memory) -> tuple[Any, ...]:
    """Exact duplicates: same text in the same namespace, said by the same speaker at the
    same time. "Thanks!" from two people on two days is two memories, not one."""
    return (item.namespace, item.content_hash, item.source.speaker, item.occurred_at)


def _same_event(existing: Memory, item: NewMemory) -> bool:
    return _event_key(existing) == _event_key(item)
