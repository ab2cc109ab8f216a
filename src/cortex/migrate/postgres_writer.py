"""Writing migrated rows into a PostgreSQL store, each batch one tenant-bound transaction.

Rows go in as the serving role with the tenant bound (row-level security checks every
row). A memory gets what ``PostgresStore.insert`` gives it: text, metadata and vault items
sealed under the target's data key for its tenant (or subject), its blind-index tokens,
tags, its vector as stored, and its search vector: ``rows.SEARCH_VECTOR`` over its index
text and the turns before it in its session, read with the store's own
``memories.previous_turns`` (the inputs ``memories.Writer.insert`` uses; ``cortex check``
recomputes them and finds no stale one). A batch's statements are pipelined
(``executemany``): a round trip per statement kind, not per row. No audit leaf is
appended: the source's leaves are copied verbatim, so the Merkle roots stay the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from cortex.core.errors import ConfigError
from cortex.core.models import Memory, Source
from cortex.core.textform import CONTEXT_TURNS, context_text, index_text
from cortex.migrate.postgres_reader import Pool
from cortex.migrate.records import (
    CheckpointRecord,
    ConstitutionRecord,
    KeyRecord,
    LeafRecord,
    MemoryRecord,
    PoliciesRecord,
    SessionMessage,
    SettingsRecord,
    VaultRecord,
)
from cortex.privacy.sealing import Sealer
from cortex.store.postgres import memories
from cortex.store.postgres.connection import NO_TENANT, transaction, translate_errors
from cortex.store.postgres.lexical import document
from cortex.store.postgres.migrate import ensure_vector_index, vector_index_name
from cortex.store.postgres.rows import SEARCH_VECTOR, from_us

Conn = psycopg.Connection[tuple[Any, ...]]
Turn = tuple[str, str | None]
_COLUMNS = ("id, tenant, namespace, kind, text, metadata, tags, source, importance, created_at,"
            " occurred_at, valid_from, valid_to, expires_at, content_hash, session, supersedes,"
            " superseded_by, bytes")
# float32 values sent as a binary float8[] (exact, and ~3x cheaper than pgvector's text form)
_VECTOR = ("INSERT INTO vectors (seq, tenant, model, dim, embedding)"
           " VALUES (%s, %s, %s, %s, %b::float8[]::vector)")
_TAG = "INSERT INTO memory_tags (tenant, tag, seq) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
_TOKEN = "INSERT INTO memory_meta (tenant, token, seq) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
_VAULT = ("INSERT INTO vault (tenant, memory_id, placeholder, entity, subject, sealed, created_at)"
          " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")


class PostgresWriter:
    def __init__(self, url: str, pool: Pool, where: str, sealer: Sealer, *, subjects: bool,
                 vault: bool) -> None:
        self.url = url
        self.pool = pool
        self.where = where
        self.sealer = sealer
        self.subjects, self.vault = subjects, vault
        columns = _COLUMNS + (", subject" if subjects else "")
        marks = ", ".join(["%s"] * (columns.count(",") + 1))
        self._insert = (f"INSERT INTO memories ({columns}, search) VALUES ({marks}, {SEARCH_VECTOR})"
                        " RETURNING seq")

    def _tx(self, tenant: str) -> Any:
        return transaction(self.pool, self.where, tenant)

    @contextmanager
    def bulk(self, dim: int) -> Iterator[None]:
        """Drop the HNSW index of ``dim`` and build it once at the end, with the store's own
        ``ensure_vector_index``: one CREATE INDEX over N rows is several times faster than N
        inserts into the graph. Searches meanwhile scan exactly (slower, still right). Killed
        meanwhile, the index is back the next time the store is opened (its migrations
        ensure it)."""
        with translate_errors(self.where), psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP INDEX IF EXISTS {vector_index_name(dim)}".encode())
        try:
            yield
        finally:
            with translate_errors(self.where), psycopg.connect(self.url, autocommit=True) as conn:
                ensure_vector_index(conn, dim)

    # ---- memories ------------------------------------------------------------------
    def memories(self, tenant: str, records: Sequence[MemoryRecord]) -> None:
        with self._tx(tenant) as conn, conn.cursor() as cur:
            searched = self._search_inputs(conn, tenant, records)
            cur.executemany(self._insert, [self._row(tenant, r, *inputs)
                                           for r, inputs in zip(records, searched, strict=True)],
                            returning=True)
            written = list(zip(records, _returned(cur), strict=True))
            _many(cur, _VECTOR, [(seq, tenant, r.model, r.dim, np.frombuffer(r.vector, "<f4").tolist())
                                 for r, seq in written if r.vector is not None])
            _many(cur, _TAG, [(tenant, tag, seq) for r, seq in written for tag in r.tags])
            _many(cur, _TOKEN, [(tenant, token, seq) for r, seq in written
                                for token in self.sealer.metadata_tokens(tenant, r.metadata)])
            _many(cur, _VAULT, [self._vault_row(tenant, r, v) for r in records for v in r.vault])

    def _vault_row(self, tenant: str, r: MemoryRecord, v: VaultRecord) -> tuple[Any, ...]:
        sealed = Sealer.seal(self.sealer.key(tenant, r.subject), r.id, "vault:" + v.placeholder,
                             v.value.encode("utf-8"))
        return tenant, r.id, v.placeholder, v.entity, r.subject, sealed, v.created_at

    def _row(self, tenant: str, r: MemoryRecord, body: str, context: str) -> list[Any]:
        if r.subject is not None and not self.subjects:
            raise ConfigError(f"memory {r.id} has a subject, which this PostgreSQL store cannot keep")
        if r.vault and not self.vault:
            raise ConfigError(f"memory {r.id} has vault items, which this PostgreSQL store cannot keep")
        key = self.sealer.key(tenant, r.subject)
        metadata = json.dumps(r.metadata, sort_keys=True, separators=(",", ":"))
        row: list[Any] = [
            r.id, tenant, r.namespace, r.kind, Sealer.seal(key, r.id, "text", r.text.encode("utf-8")),
            Sealer.seal(key, r.id, "metadata", metadata.encode("utf-8")), Jsonb(r.tags), Jsonb(r.source),
            r.importance, r.created_at, r.occurred_at, r.valid_from, r.valid_to, r.expires_at,
            r.content_hash, r.session, r.supersedes, r.superseded_by, r.size_bytes]
        return [*row, *([r.subject] if self.subjects else []), *document(body, context)]

    def _search_inputs(self, conn: Conn, tenant: str,
                       records: Sequence[MemoryRecord]) -> list[tuple[str, str]]:
        """(index text, context) of each record's search vector, in order: the context is the
        session's latest turns before it, read from the store once per session and batch."""
        turns: dict[tuple[str, str], list[Turn]] = {}
        found = []
        for r in records:
            context: list[Turn] = []
            if r.session is not None:
                key = (r.namespace, r.session)
                if key not in turns:
                    turns[key] = memories.previous_turns(conn, tenant, r.namespace, r.session, None,
                                                         self.sealer)
                context = turns[key]
                turns[key] = [(r.text, r.source.get("speaker")), *context][:CONTEXT_TURNS]
            memory = Memory.model_construct(  # only what index_text reads (no default factories)
                text=r.text, occurred_at=from_us(r.occurred_at), source=Source.model_construct(**r.source),
                metadata=r.metadata, tags=r.tags)
            found.append((index_text(memory), "\n".join(context_text(*t) for t in context)))
        return found

    def catch_up(self, tenant: str, records: Sequence[MemoryRecord]) -> None:
        with self._tx(tenant) as conn:
            for r in records:
                conn.execute("UPDATE memories SET valid_to = %s, superseded_by = %s WHERE id = %s"
                             " AND tenant = %s", (r.valid_to, r.superseded_by, r.id, tenant))

    # ---- the audit log, accounts, settings -----------------------------------------
    def leaves(self, tenant: str, leaves: Sequence[LeafRecord]) -> None:
        with self._tx(tenant) as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO audit_log (tenant, idx, leaf_hash, event, memory_id)"
                            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            [(tenant, x.idx, x.leaf_hash, x.event, x.memory_id) for x in leaves])

    def checkpoints(self, tenant: str, checkpoints: Sequence[CheckpointRecord]) -> None:
        with self._tx(tenant) as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO audit_checkpoints (tenant, size, root, note, created_at)"
                            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            [(tenant, c.size, c.root, c.note, c.created_at) for c in checkpoints])

    def keys(self, tenant: str, keys: Sequence[KeyRecord]) -> None:
        with self._tx(tenant) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO api_keys (id, tenant, role, namespaces, name, secret_sha256, created_at,"
                " expires_at, revoked_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id)"
                " DO UPDATE SET revoked_at = coalesce(api_keys.revoked_at, excluded.revoked_at)",
                [(k.id, tenant, k.role, None if k.namespaces is None else Jsonb(k.namespaces), k.name,
                  k.secret_sha256, k.created_at, k.expires_at, k.revoked_at) for k in keys])

    def settings(self, record: SettingsRecord) -> None:
        with self._tx(record.tenant) as conn:
            conn.execute("INSERT INTO tenant_settings (tenant, fusion_weights) VALUES (%s, %s)"
                         " ON CONFLICT (tenant) DO UPDATE SET fusion_weights = excluded.fusion_weights",
                         (record.tenant, record.fusion_weights))

    def policies(self, record: PoliciesRecord) -> None:
        with self._tx(record.tenant) as conn:
            conn.execute("INSERT INTO tenant_policies (tenant, policies, updated_at) VALUES (%s, %s, %s)"
                         " ON CONFLICT (tenant) DO UPDATE SET policies = excluded.policies,"
                         " updated_at = excluded.updated_at",
                         (record.tenant, record.policies, record.updated_at))

    def constitutions(self, records: Sequence[ConstitutionRecord]) -> None:
        with self._tx(NO_TENANT) as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO constitutions (version, envelope, applied_at) VALUES (%s, %s, %s)"
                            " ON CONFLICT DO NOTHING",
                            [(c.version, c.envelope, c.applied_at) for c in records])

    def sessions(self, tenant: str, messages: Sequence[SessionMessage]) -> None:
        with self._tx(tenant) as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO session_messages (tenant, session, id, role, text, speaker, at,"
                            " tokens) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                            [(tenant, m.session, m.id, m.role, m.text, m.speaker, m.at, m.tokens)
                             for m in messages])


def _many(cur: psycopg.Cursor[tuple[Any, ...]], sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        cur.executemany(sql, rows)


def _returned(cur: psycopg.Cursor[tuple[Any, ...]]) -> list[int]:
    """The ``RETURNING seq`` of each statement of an ``executemany(..., returning=True)``."""
    seqs = []
    while True:
        row = cur.fetchone()
        assert row is not None
        seqs.append(int(row[0]))
        if not cur.nextset():
            return seqs


__all__ = ["PostgresWriter"]
