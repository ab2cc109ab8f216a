"""Writing migrated rows into a SQLite store, with everything its own writes derive.

A memory gets what ``SQLiteStore.insert`` gives it, in one transaction per batch: text
and metadata sealed under the target's data key for its tenant (or subject), blind-index
tokens (``memory_meta``), its full-text row (``fulltext.write``, the store's own code),
tags, its vector as stored, vault items sealed again, and a change-log entry so every
process's vector index picks it up. No audit leaf is appended: the source's leaves are
copied verbatim instead, so the Merkle roots stay the same.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from cortex.core.models import Source
from cortex.migrate.records import (
    CheckpointRecord,
    ConstitutionRecord,
    KeyRecord,
    LeafRecord,
    MemoryRecord,
    PoliciesRecord,
    SessionMessage,
    SettingsRecord,
)
from cortex.privacy.sealing import Sealer
from cortex.store.sqlite import fulltext
from cortex.store.sqlite.connection import connect, write_transaction
from cortex.store.sqlite.store import SQLiteStore

_INSERT = (
    "INSERT INTO memories (id, tenant, namespace, kind, text, metadata, tags, source, importance,"
    " created_at, occurred_at, valid_from, valid_to, expires_at, content_hash, session, supersedes,"
    " superseded_by, bytes, subject) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING seq"
)


class SQLiteWriter:
    """Writes through its own connection to the store's file (``BEGIN IMMEDIATE`` per call)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.path = store.path
        self.sealer: Sealer = store.sealer
        self._conn = connect(store.path, busy_timeout_ms=store.busy_timeout_ms)

    def close(self) -> None:
        self._conn.close()

    # ---- memories ------------------------------------------------------------------
    def memories(self, tenant: str, records: Sequence[MemoryRecord]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            for record in records:
                self._insert(conn, tenant, record)

    def _insert(self, conn: sqlite3.Connection, tenant: str, r: MemoryRecord) -> None:
        key = self.sealer.key(tenant, r.subject)
        metadata = json.dumps(r.metadata, sort_keys=True, separators=(",", ":"))
        source = Source.model_validate(r.source).model_dump_json(exclude_none=True)
        seq = conn.execute(_INSERT, (
            r.id, tenant, r.namespace, r.kind, Sealer.seal(key, r.id, "text", r.text.encode("utf-8")),
            Sealer.seal(key, r.id, "metadata", metadata.encode("utf-8")), json.dumps(r.tags), source,
            r.importance, r.created_at, r.occurred_at, r.valid_from, r.valid_to, r.expires_at,
            r.content_hash, r.session, r.supersedes, r.superseded_by, r.size_bytes, r.subject)).fetchone()[0]
        if r.vector is not None:
            conn.execute("INSERT INTO vectors (seq, model, dim, vector) VALUES (?, ?, ?, ?)",
                         (seq, r.model, r.dim, r.vector))
        conn.executemany("INSERT OR IGNORE INTO memory_meta (tenant, token, seq) VALUES (?, ?, ?)",
                         [(tenant, t, seq) for t in self.sealer.metadata_tokens(tenant, r.metadata)])
        fulltext.write(conn, seq, self.sealer)
        conn.executemany("INSERT OR IGNORE INTO memory_tags (tenant, tag, seq) VALUES (?, ?, ?)",
                         [(tenant, tag, seq) for tag in r.tags])
        conn.executemany(
            "INSERT OR IGNORE INTO vault (tenant, memory_id, placeholder, entity, subject, sealed,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(tenant, r.id, v.placeholder, v.entity, r.subject,
              Sealer.seal(key, r.id, "vault:" + v.placeholder, v.value.encode("utf-8")), v.created_at)
             for v in r.vault])
        conn.execute("INSERT INTO changes (tenant, memory, op) VALUES (?, ?, 'put')", (tenant, seq))

    def catch_up(self, tenant: str, records: Sequence[MemoryRecord]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            for r in records:
                row = conn.execute("UPDATE memories SET valid_to = ?, superseded_by = ?"
                                   " WHERE id = ? AND tenant = ? RETURNING seq",
                                   (r.valid_to, r.superseded_by, r.id, tenant)).fetchone()
                if row is not None:
                    conn.execute("INSERT INTO changes (tenant, memory, op) VALUES (?, ?, 'put')",
                                 (tenant, row[0]))

    # ---- the audit log, accounts, settings -----------------------------------------
    def leaves(self, tenant: str, leaves: Sequence[LeafRecord]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.executemany("INSERT OR IGNORE INTO audit_log (tenant, idx, leaf_hash, event, memory_id)"
                             " VALUES (?, ?, ?, ?, ?)",
                             [(tenant, x.idx, x.leaf_hash, x.event, x.memory_id) for x in leaves])

    def checkpoints(self, tenant: str, checkpoints: Sequence[CheckpointRecord]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.executemany("INSERT OR IGNORE INTO audit_checkpoints (tenant, size, root, note, created_at)"
                             " VALUES (?, ?, ?, ?, ?)",
                             [(tenant, c.size, c.root, c.note, c.created_at) for c in checkpoints])

    def keys(self, tenant: str, keys: Sequence[KeyRecord]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.executemany(
                "INSERT INTO api_keys (id, tenant, role, namespaces, name, secret_sha256, created_at,"
                " expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id)"
                " DO UPDATE SET revoked_at = coalesce(api_keys.revoked_at, excluded.revoked_at)",
                [(k.id, tenant, k.role, None if k.namespaces is None else json.dumps(k.namespaces), k.name,
                  k.secret_sha256, k.created_at, k.expires_at, k.revoked_at) for k in keys])

    def settings(self, record: SettingsRecord) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.execute("INSERT INTO tenant_settings (tenant, fusion_weights) VALUES (?, ?)"
                         " ON CONFLICT (tenant) DO UPDATE SET fusion_weights = excluded.fusion_weights",
                         (record.tenant, record.fusion_weights))

    def policies(self, record: PoliciesRecord) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.execute("INSERT INTO tenant_policies (tenant, policies, updated_at) VALUES (?, ?, ?)"
                         " ON CONFLICT (tenant) DO UPDATE SET policies = excluded.policies,"
                         " updated_at = excluded.updated_at",
                         (record.tenant, record.policies, record.updated_at))

    def constitutions(self, records: Sequence[ConstitutionRecord]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.executemany("INSERT OR IGNORE INTO constitutions (version, envelope, applied_at)"
                             " VALUES (?, ?, ?)", [(c.version, c.envelope, c.applied_at) for c in records])

    def bulk(self, dim: int) -> AbstractContextManager[None]:
        """Nothing to defer: vector indexes are built in memory, from the change log."""
        return nullcontext()

    def sessions(self, tenant: str, messages: Sequence[SessionMessage]) -> None:
        with write_transaction(self._conn, self.path) as conn:
            conn.executemany("INSERT INTO session_messages (tenant, session, id, role, text, speaker, at,"
                             " tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             [(tenant, m.session, m.id, m.role, m.text, m.speaker, m.at, m.tokens)
                              for m in messages])


__all__ = ["SQLiteWriter"]
